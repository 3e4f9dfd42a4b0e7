package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/regwasm/regwasm/host"
)

// moduleRegistry is the registry of a data directory, run by the module through package
// host: the server's backend and what check, import, export and stats open.
type moduleRegistry struct {
	reg     *host.Registry
	commits *groupCommit
}

// openRegistry opens dir with the compilation cache in the user's cache directory (host's
// default), so that only the first start of a build compiles the module; where that cache
// cannot be made, the module is compiled in every start and host says so once, on opts'
// logger (host.WithLogger) or slog's default. A directory another process serves is refused
// (host.ErrLocked).
func openRegistry(ctx context.Context, dir string, opts ...host.Option) (*moduleRegistry, error) {
	reg, err := host.Open(ctx, dir, opts...)
	if err != nil {
		if errors.Is(err, host.ErrLocked) {
			return nil, fmt.Errorf("%s is locked: another regwasm (or program) has it open: %w", dir, err)
		}
		return nil, err
	}
	return &moduleRegistry{reg: reg, commits: newGroupCommit(reg)}, nil
}

// openReadOnly opens dir without its lock and without writing (host.WithReadOnly): what
// stats and export read, on a directory a server may be serving.
func openReadOnly(ctx context.Context, dir string) (*host.Registry, error) {
	return host.Open(ctx, dir, host.WithReadOnly())
}

// do runs one action of the HTTP API. Concurrent actions share module calls (groupCommit).
func (m *moduleRegistry) do(ctx context.Context, a action) (answer, error) {
	r, err := m.commits.do(ctx, host.Request{Op: a.op, MachineOnly: a.machineOnly, Person: a.person, Machine: a.machine, URL: a.url, Arg: a.arg})
	return answer{status: r.Status, person: r.Person, body: r.Body}, err
}

// one runs a single request.
func (m *moduleRegistry) one(ctx context.Context, req host.Request) (host.Response, error) {
	resps, err := m.reg.Do(ctx, []host.Request{req})
	if err != nil {
		return host.Response{}, err
	}
	if len(resps) != 1 {
		return host.Response{}, fmt.Errorf("module answered %d responses to one request", len(resps))
	}
	return resps[0], nil
}

func (m *moduleRegistry) settings(ctx context.Context) ([]byte, error) {
	r, err := m.one(ctx, host.Request{Op: host.OpConfig})
	if err != nil {
		return nil, err
	}
	if r.Status != 200 {
		return nil, fmt.Errorf("config answered %d: %s", r.Status, r.Body)
	}
	return r.Body, nil
}

// configure applies a netdata.conf file's [registry] section; a bad file changes nothing.
// It returns the lines it ignored.
func (m *moduleRegistry) configure(ctx context.Context, file string) ([]host.IgnoredLine, error) {
	text, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	set, err := m.reg.Configure(ctx, string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return set.Ignored, nil
}

func (m *moduleRegistry) stats(ctx context.Context) (host.Stats, error) { return m.reg.Stats(ctx) }

func (m *moduleRegistry) dir() string { return m.reg.Dir() }

func (m *moduleRegistry) save(ctx context.Context) error {
	_, err := m.reg.Save(ctx)
	return err
}

func (m *moduleRegistry) close(context.Context) error {
	m.commits.stop()
	return m.reg.Close()
}
