package registry

import (
	"bytes"
	"errors"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rtSeal makes a verifiable file: payload, '|', its CRC-32 in decimal.
func rtSeal(payload string) []byte {
	return []byte(payload + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE([]byte(payload))), 10))
}

func rtVerify(data []byte) error {
	i := bytes.LastIndexByte(data, '|')
	if i < 0 || string(data[i+1:]) != strconv.FormatUint(uint64(crc32.ChecksumIEEE(data[:i])), 10) {
		return errors.New("registry: test seal mismatch")
	}
	return nil
}

func rtPayload(data []byte) string {
	if data == nil {
		return "<none>"
	}
	return string(data[:bytes.LastIndexByte(data, '|')])
}

var errRTIO = errors.New("registry: test I/O error")

// rtUnreadable fails ReadFile of some names.
type rtUnreadable struct {
	*MemStorage
	bad map[string]bool
}

func (u rtUnreadable) ReadFile(name string) ([]byte, error) {
	if u.bad[name] {
		return nil, &FileError{Op: "read", Name: name, Err: errRTIO}
	}
	return u.MemStorage.ReadFile(name)
}

func rtRotation(t *testing.T, st Storage) *Rotation {
	t.Helper()
	r, err := NewRotation(st, "reg", rtVerify)
	stOK(t, err)
	return r
}

// rtStore returns a store holding reg.N = rtSeal("gen-N") for each N in exts, synced.
func rtStore(t *testing.T, exts ...int) *MemStorage {
	t.Helper()
	s := &MemStorage{}
	for _, ext := range exts {
		name := "reg." + strconv.Itoa(ext)
		stOK(t, s.WriteFile(name, rtSeal("gen-"+strconv.Itoa(ext))))
		stOK(t, s.Sync(name))
	}
	return s
}

// rtSnapshot returns every file's content, to check that nothing changed.
func rtSnapshot(t *testing.T, s Storage) map[string]string {
	t.Helper()
	names, err := s.List()
	stOK(t, err)
	m := map[string]string{}
	for _, n := range names {
		m[n] = memGet(t, s, n)
	}
	return m
}

// rabbitTable is Rabbit's registry_prep_read table, each set with its order of rotationOrder.
var rabbitTable = []struct{ found, order []int }{
	{nil, nil},
	{[]int{1}, []int{1}},
	{[]int{2}, []int{2}},
	{[]int{3}, []int{3}},
	{[]int{1, 2}, []int{1, 2}},
	{[]int{2, 3}, []int{2, 3}},
	{[]int{1, 3}, []int{3, 1}},
	{[]int{1, 2, 3}, []int{1, 2, 3}},
}

func TestRotationRabbitTable(t *testing.T) {
	for _, row := range rabbitTable {
		t.Run(rtExts(row.found), func(t *testing.T) {
			s := rtStore(t, row.found...)
			before := rtSnapshot(t, s)
			data, c, err := rtRotation(t, s).Read()
			stOK(t, err)
			want := 0
			if len(row.order) > 0 {
				want = row.order[0]
			}
			if c.Ext != want || !slices.Equal(c.Found, row.found) || len(c.Rejected) != 0 {
				t.Fatalf("choice %+v, want ext %d found %v", c, want, row.found)
			}
			if want == 0 && data != nil || want != 0 && rtPayload(data) != "gen-"+strconv.Itoa(want) {
				t.Fatalf("data %q", data)
			}
			if after := rtSnapshot(t, s); !rtSameFiles(before, after) {
				t.Fatalf("Read changed the files: %v -> %v", before, after)
			}
		})
	}
}

func rtExts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, " ")
}

func rtSameFiles(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// rtDamages break a file's content; "unreadable" makes ReadFile fail instead.
var rtDamages = map[string]func([]byte) []byte{
	"torn":       func(d []byte) []byte { return d[:len(d)/2] },
	"torn-last":  func(d []byte) []byte { return d[:len(d)-1] },
	"bitflip":    func(d []byte) []byte { d = slices.Clone(d); d[2] ^= 0x10; return d },
	"empty":      func([]byte) []byte { return []byte{} },
	"extended":   func(d []byte) []byte { return append(slices.Clone(d), '0') },
	"unreadable": nil,
}

func TestRotationFallback(t *testing.T) {
	for _, row := range rabbitTable[1:] {
		for dname, damage := range rtDamages {
			for bad := 1; bad <= len(row.order); bad++ {
				t.Run(rtExts(row.found)+"/"+dname+"/"+strconv.Itoa(bad), func(t *testing.T) {
					ms := rtStore(t, row.found...)
					var st Storage = ms
					u := rtUnreadable{ms, map[string]bool{}}
					for _, ext := range row.order[:bad] {
						name := "reg." + strconv.Itoa(ext)
						if damage == nil {
							u.bad[name], st = true, u
							continue
						}
						data, _ := ms.ReadFile(name)
						stOK(t, ms.WriteFile(name, damage(data)))
						stOK(t, ms.Sync(name))
					}
					before := rtSnapshot(t, ms)
					data, c, err := rtRotation(t, st).Read()
					if after := rtSnapshot(t, ms); !rtSameFiles(before, after) {
						t.Fatalf("Read changed the files: %v -> %v", before, after)
					}
					if len(c.Rejected) != bad {
						t.Fatalf("rejected %+v, want the first %d of %v", c.Rejected, bad, row.order)
					}
					for i, rj := range c.Rejected {
						if rj.Ext != row.order[i] || rj.Err == nil {
							t.Fatalf("rejection %d: %+v, want ext %d", i, rj, row.order[i])
						}
						if damage == nil && !errors.Is(rj.Err, errRTIO) || damage != nil && !errors.Is(rj.Err, ErrCorrupt) {
							t.Fatalf("rejection %d: %v", i, rj.Err)
						}
					}
					if bad < len(row.order) {
						stOK(t, err)
						if want := row.order[bad]; c.Ext != want || rtPayload(data) != "gen-"+strconv.Itoa(want) {
							t.Fatalf("chose %d (%q), want %d", c.Ext, data, want)
						}
						return
					}
					if err == nil || c.Ext != 0 || data != nil {
						t.Fatalf("no file is valid, yet Read chose %d: %v", c.Ext, err)
					}
					if errors.Is(err, ErrCorrupt) != (damage != nil) {
						t.Fatalf("error %v: ErrCorrupt should mean a verification failed", err)
					}
					for _, ext := range row.found {
						if !strings.Contains(err.Error(), "reg."+strconv.Itoa(ext)) {
							t.Fatalf("error %q does not name reg.%d", err, ext)
						}
					}
				})
			}
		}
	}
}

// rtSizeFails fails Size with an I/O error.
type rtSizeFails struct{ *MemStorage }

func (s rtSizeFails) Size(name string) (int64, error) {
	return 0, &FileError{Op: "size", Name: name, Err: errRTIO}
}

func TestRotationReadStorageError(t *testing.T) {
	_, _, err := rtRotation(t, rtSizeFails{rtStore(t, 1)}).Read()
	if !errors.Is(err, errRTIO) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read = %v, want the storage error, not ErrCorrupt", err)
	}
}

func TestRotationWriteCycle(t *testing.T) {
	s := &MemStorage{}
	r := rtRotation(t, s)
	_, c, err := r.Read()
	stOK(t, err)
	for i, want := range []int{1, 2, 3, 1, 2, 3, 1} {
		payload := "v" + strconv.Itoa(i)
		if c, err = r.Write(c, rtSeal(payload)); err != nil {
			t.Fatal(err)
		}
		names, _ := s.List()
		if c.Ext != want || !slices.Equal(names, []string{"reg." + strconv.Itoa(want)}) {
			t.Fatalf("write %d: chose %d, files %v; want only reg.%d", i, c.Ext, names, want)
		}
		data, c2, err := rtRotation(t, s.Crash()).Read()
		if err != nil || c2.Ext != want || rtPayload(data) != payload {
			t.Fatalf("write %d after a crash: %q from %d, %v", i, data, c2.Ext, err)
		}
	}
}

func TestRotationWriteGuards(t *testing.T) {
	s := rtStore(t, 1)
	r := rtRotation(t, s)
	before := rtSnapshot(t, s)
	if _, err := r.Write(Choice{Base: "reg"}, rtSeal("x")); !errors.Is(err, ErrStale) {
		t.Errorf("Write after no Read: %v, want ErrStale", err)
	}
	if _, err := r.Write(Choice{Base: "other"}, rtSeal("x")); !errors.Is(err, ErrStale) {
		t.Errorf("Write with another base's choice: %v", err)
	}
	if _, err := r.Write(Choice{Base: "reg", Found: []int{1}, Ext: 2}, rtSeal("x")); !errors.Is(err, ErrStale) {
		t.Errorf("Write with a made-up choice: %v", err)
	}
	if !rtSameFiles(before, rtSnapshot(t, s)) {
		t.Error("refused writes changed the files")
	}
	_, c, _ := r.Read()
	if _, err := rtRotation(t, s).Write(c, rtSeal("other writer")); err != nil {
		t.Fatal(err)
	}
	before = rtSnapshot(t, s)
	if _, err := r.Write(c, rtSeal("x")); !errors.Is(err, ErrStale) {
		t.Errorf("Write after another writer: %v, want ErrStale", err)
	}
	if !rtSameFiles(before, rtSnapshot(t, s)) {
		t.Error("a refused Write changed the files")
	}

	// Nothing is deleted before a verified choice exists.
	stOK(t, s.WriteFile("reg.2", []byte("rotten")))
	stOK(t, s.WriteFile("reg.3", []byte("rotten too")))
	before = rtSnapshot(t, s)
	_, c, err := r.Read()
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Read of rotten files: %v", err)
	}
	if _, err := r.Write(c, rtSeal("x")); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Write after a failed Read: %v, want ErrCorrupt", err)
	}
	if _, err := r.Cleanup(c); err == nil {
		t.Error("Cleanup without a verified choice")
	}
	if _, err := r.Update(func([]byte) ([]byte, error) { return rtSeal("x"), nil }); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Update over rotten files: %v", err)
	}
	if !rtSameFiles(before, rtSnapshot(t, s)) {
		t.Error("files changed without a verified choice")
	}
	if _, err := NewRotation(s, "../reg", nil); !errors.Is(err, ErrBadName) {
		t.Errorf("NewRotation with a path: %v", err)
	}
}

func TestRotationWriteRemovesStale(t *testing.T) {
	s := rtStore(t, 1, 2)
	stOK(t, s.WriteFile("reg.1", []byte("rotten")))
	r := rtRotation(t, s)
	_, c, err := r.Read()
	stOK(t, err)
	if c.Ext != 2 {
		t.Fatalf("chose %d", c.Ext)
	}
	if c, err = r.Write(c, rtSeal("new")); err != nil || c.Ext != 3 {
		t.Fatalf("Write: %v, %+v", err, c)
	}
	if names, _ := s.List(); !slices.Equal(names, []string{"reg.3"}) {
		t.Fatalf("files %v, want reg.3 only", names)
	}
}

func TestRotationCleanupAndUpdate(t *testing.T) {
	s := rtStore(t, 2, 3)
	r := rtRotation(t, s)
	_, c, err := r.Read()
	stOK(t, err)
	if c, err = r.Cleanup(c); err != nil || c.Ext != 2 {
		t.Fatalf("Cleanup: %+v, %v", c, err)
	}
	if names, _ := s.List(); !slices.Equal(names, []string{"reg.2"}) {
		t.Fatalf("files after Cleanup %v", names)
	}
	c, err = r.Update(func(old []byte) ([]byte, error) { return rtSeal(rtPayload(old) + "+1"), nil })
	if data, _, _ := r.Read(); err != nil || c.Ext != 3 || rtPayload(data) != "gen-2+1" {
		t.Fatalf("Update: %q, %+v, %v", data, c, err)
	}
	if _, err := r.Update(func([]byte) ([]byte, error) { return nil, errRTIO }); !errors.Is(err, errRTIO) {
		t.Fatalf("Update with failing fn: %v", err)
	}
	if names, _ := s.List(); !slices.Equal(names, []string{"reg.3"}) {
		t.Fatalf("a failed Update wrote: %v", names)
	}
}

func TestChoiceString(t *testing.T) {
	s := rtStore(t, 1, 2)
	stOK(t, s.WriteFile("reg.1", []byte("rotten")))
	_, c, _ := rtRotation(t, s).Read()
	if got, want := c.String(), "reg.2 (found .1 .2; .1 rejected: registry: corrupt data: test seal mismatch)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	if got := (Choice{Base: "reg"}).String(); got != "reg: no file (new)" {
		t.Errorf("new: %q", got)
	}
	_, c, _ = rtRotation(t, &MemStorage{files: map[string]*memFile{"reg.3": {data: []byte("x")}}}).Read()
	if got, want := c.String(), "reg: no valid file (found .3; .3 rejected: registry: corrupt data: test seal mismatch)"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
