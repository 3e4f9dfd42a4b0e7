package registry

import (
	"bytes"
	"hash/crc32"
	"strconv"
	"strings"
)

// iniCheckName is the section that ends every stored INI file.
const iniCheckName = ".check"

const iniCheckHeader = "[" + iniCheckName + "]\n"

// iniTrailer returns the `[.check]` section for body: its length and IEEE CRC-32.
func iniTrailer(body []byte) []byte {
	const hex = "0123456789ABCDEF"
	t := make([]byte, 0, 48)
	t = append(t, iniCheckHeader+"length="...)
	t = strconv.AppendInt(t, int64(len(body)), 10)
	t = append(t, "\ncrc32="...)
	sum := crc32.ChecksumIEEE(body)
	for shift := 28; shift >= 0; shift -= 4 {
		t = append(t, hex[sum>>shift&15])
	}
	return append(t, '\n')
}

// iniFindCheck returns the offset of the last `[.check]` header line, or -1.
func iniFindCheck(data []byte) int {
	for end := len(data); ; {
		i := bytes.LastIndex(data[:end], []byte(iniCheckHeader))
		if i <= 0 || data[i-1] == '\n' {
			return i
		}
		end = i
	}
}

// iniCheckTrailer verifies that data[at:] is the trailer of data[:at].
func iniCheckTrailer(data []byte, at int) error {
	if bytes.Equal(data[at:], iniTrailer(data[:at])) {
		return nil
	}
	where := " in [.check] at offset " + strconv.Itoa(at)
	rest, ok := bytes.CutPrefix(data[at:], []byte(iniCheckHeader))
	lines := strings.Split(string(rest), "\n")
	if !ok || len(lines) != 3 || lines[2] != "" || !strings.HasPrefix(lines[0], "length=") || !strings.HasPrefix(lines[1], "crc32=") {
		return withDetail(ErrCorrupt, "malformed trailer"+where)
	}
	if n := lines[0][len("length="):]; n != strconv.Itoa(at) {
		return withDetail(ErrCorrupt, "length="+n+where)
	}
	want := string(iniTrailer(data[:at])[len(iniCheckHeader)+len(lines[0])+1:])
	return withDetail(ErrCorrupt, "crc32 mismatch: "+lines[1]+where+", content has "+strings.TrimSpace(want))
}

// VerifyINI checks a stored INI file: it must end with a `[.check]` section giving the
// length and CRC-32 of everything before it, and that must parse. It is the Verify of the
// config rotation; errors wrap [ErrCorrupt] or [ErrBadConfig].
//
// # Notes
//
// Rabbit's files had no checksum, so a torn first write was accepted. The trailer is an
// ordinary section (length=, crc32= in upper-case hex), so a Rabbit reader still reads the
// file; it must be last and exact (a torn, extended or edited file fails).
func VerifyINI(data []byte) error {
	_, err := ParseINI(data)
	return err
}

// ParseINI parses a stored INI file after verifying its `[.check]` trailer (see
// [VerifyINI]); the trailer is not part of the result.
func ParseINI(data []byte) (*INI, error) {
	at := iniFindCheck(data)
	if at < 0 {
		return nil, withDetail(ErrCorrupt, "no [.check] trailer (torn, or not written by regwasm)")
	}
	if err := iniCheckTrailer(data, at); err != nil {
		return nil, err
	}
	return parseINI(data[:at])
}

// ImportINI parses a plain Rabbit INI file, which has no trailer. If the file's last
// section is `[.check]` it must verify, and is dropped.
func ImportINI(data []byte) (*INI, error) {
	f, err := parseINI(data)
	if err != nil {
		return nil, err
	}
	last, at, off := -1, 0, 0
	for i, l := range f.lines {
		if l.kind == iniHeader {
			last, at = i, off
		}
		off += len(l.text) + 1
	}
	if last >= 0 && f.lines[last].name() == iniCheckName {
		if err := iniCheckTrailer(data, at); err != nil {
			return nil, err
		}
		f.lines = f.lines[:last]
	}
	return f, nil
}
