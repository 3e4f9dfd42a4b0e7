package conformance_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/regwasm/regwasm/host"
	"github.com/regwasm/regwasm/tests/conformance"
)

// wazeroHost runs the vectors on the Go host (host.Open: registry.wasm in wazero, files in a
// directory) with the deterministic options, each fresh start in a new directory.
type wazeroHost struct {
	root   string
	dir    string
	reg    *host.Registry
	starts int
}

var ctx = context.Background()

func (w *wazeroHost) Open(seed uint64, now uint32, fresh bool) (conformance.Answer, error) {
	if err := w.Close(); err != nil {
		return nil, err
	}
	if fresh || w.dir == "" {
		w.starts++
		w.dir = filepath.Join(w.root, fmt.Sprintf("start-%d", w.starts))
	}
	at := time.Unix(int64(now), 0)
	r, err := host.Open(ctx, w.dir, host.WithCompilationCache(testCache),
		host.WithRandSource(conformance.NewStream(seed)), host.WithWalltime(func() time.Time { return at }))
	if err != nil {
		return nil, err
	}
	w.reg = r
	// The Go host does not hand out its load answer; stats answers the same figures.
	st, err := r.Stats(ctx)
	if err != nil {
		return nil, err
	}
	return portable(st), nil
}

func (w *wazeroHost) Request(batch []byte) ([]byte, error) {
	out, err := w.reg.Call(ctx, batch)
	return out, failure(err)
}

func (w *wazeroHost) Save() (conformance.Answer, error) {
	info, err := w.reg.Save(ctx)
	if err != nil {
		return nil, failure(err)
	}
	return decoded[host.SaveInfo]{info}, nil
}

func (w *wazeroHost) Load() (conformance.Answer, error) {
	st, err := w.reg.Load(ctx)
	if err != nil {
		return nil, failure(err)
	}
	return portable(st), nil
}

func (w *wazeroHost) Put(name string, data []byte) error {
	return os.WriteFile(filepath.Join(w.dir, name), data, 0o644)
}

func (w *wazeroHost) Get(name string) ([]byte, error) { return os.ReadFile(filepath.Join(w.dir, name)) }

func (w *wazeroHost) Close() error {
	if w.reg == nil {
		return nil
	}
	err := w.reg.Close()
	w.reg = nil
	return err
}

// portable drops what only the Go host reports (the module's memory size, which depends on the
// Go runtime's heap growth rather than on the registry) so the vectors hold every host's answer.
func portable(st host.Stats) conformance.Answer {
	st.ModuleMemory = 0
	return decoded[host.Stats]{st}
}

// failure turns the Go host's error for a call the module failed into the module's code and
// message (what the vectors record); other errors pass through.
func failure(err error) error {
	for _, k := range []struct {
		err  error
		code string
	}{{host.ErrBadRequest, "malformed"}, {host.ErrStorage, "storage"}, {host.ErrCorrupt, "corrupt"}, {host.ErrInternal, "internal"}} {
		if errors.Is(err, k.err) {
			return &conformance.Failure{Code: k.code, Message: strings.TrimPrefix(err.Error(), k.err.Error()+": ")}
		}
	}
	return err
}

// decoded is an answer the Go host decoded into T: the expected JSON is decoded the same way
// and the values compared.
type decoded[T any] struct{ v T }

func (d decoded[T]) Check(expected string) error {
	var want T
	if err := json.Unmarshal([]byte(expected), &want); err != nil {
		return fmt.Errorf("expected answer %q: %w", expected, err)
	}
	if !reflect.DeepEqual(d.v, want) {
		return fmt.Errorf("answered %+v, want %+v", d.v, want)
	}
	return nil
}
