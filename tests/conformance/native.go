package conformance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/regwasm/regwasm/registry"
	"github.com/regwasm/regwasm/registry/dirfs"
)

// Native is the registry core run directly (registry.Store), the generator's reference: over
// registry.MemStorage, or over a directory (registry/dirfs, what the module uses) when Dir is
// set, each fresh start in a new subdirectory of it.
type Native struct {
	Dir string

	st     registry.Storage
	store  *registry.Store
	now    uint32
	starts int
}

// Open implements Host.
func (n *Native) Open(seed uint64, now uint32, fresh bool) (Answer, error) {
	n.store = nil // a Store holds nothing that needs closing; its directory may (closeDir)
	if fresh || n.st == nil {
		n.closeDir()
		n.starts++
		if n.Dir == "" {
			n.st = &registry.MemStorage{}
		} else {
			dir := filepath.Join(n.Dir, fmt.Sprintf("start-%d", n.starts))
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, err
			}
			d, err := dirfs.Open(dir)
			if err != nil {
				return nil, err
			}
			n.st = d
		}
	}
	n.now = now
	s, err := registry.OpenStore(n.st, &registry.Config{Rand: NewStream(seed), Now: func() uint32 { return n.now }, MemoryLimit: MemoryLimit})
	if err != nil {
		return nil, err
	}
	n.store = s
	// What the module's load export answers when it opens the store.
	return RawAnswer(s.AppendStatsJSON(nil)), nil
}

// MemoryLimit is the module's memory limit every host of the vectors gives it, 4 GiB: the Go
// host's default and V8's bound for a WebAssembly memory (the JS hosts give the engine's),
// so that stats answer the same memory budget everywhere (FORMAT.md).
const MemoryLimit = 4 << 30

// Request implements Host.
func (n *Native) Request(batch []byte) ([]byte, error) {
	out, err := n.store.Handle(batch, nil)
	if err != nil {
		return nil, failure(err)
	}
	return out, nil
}

// Save implements Host.
func (n *Native) Save() (Answer, error) {
	info, err := n.store.Save()
	if err != nil {
		return nil, failure(err)
	}
	return RawAnswer(info.AppendJSON(nil)), nil
}

// Load implements Host.
func (n *Native) Load() (Answer, error) {
	if err := n.store.Load(); err != nil {
		return nil, failure(err)
	}
	return RawAnswer(n.store.AppendStatsJSON(nil)), nil
}

// Put implements Host.
func (n *Native) Put(name string, data []byte) error {
	if err := n.st.WriteFile(name, data); err != nil {
		return err
	}
	return n.st.Sync(name)
}

// Get implements Host.
func (n *Native) Get(name string) ([]byte, error) { return n.st.ReadFile(name) }

// Close implements Host.
func (n *Native) Close() error {
	n.store = nil
	return n.closeDir()
}

// closeDir closes the file a dirfs.Dir keeps open for appends (the log), if n.st is one.
func (n *Native) closeDir() error {
	if d, ok := n.st.(*dirfs.Dir); ok {
		return d.Close()
	}
	return nil
}

// failure is what the module reports for err: wasm/main.go's codes under the JS hosts' names,
// and the error's text as the message.
func failure(err error) *Failure {
	code := "storage"
	switch {
	case errors.Is(err, registry.ErrBadRequest):
		code = "malformed"
	case errors.Is(err, registry.ErrCorrupt), errors.Is(err, registry.ErrBadConfig):
		code = "corrupt"
	}
	return &Failure{Code: code, Message: err.Error()}
}
