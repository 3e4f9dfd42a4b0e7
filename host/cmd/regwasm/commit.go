package main

import (
	"context"
	"errors"
	"sync"

	"github.com/regwasm/regwasm/host"
)

// maxGroup bounds how many waiting actions one module call carries.
const maxGroup = 512

// groupCommit runs concurrent actions in shared module calls. The module acknowledges a call
// only once its changes are in the change log, synced ("log sync = always"): one sync per
// call. Actions that arrive while a call runs wait and then go together in the next one, so a
// busy server pays one sync for many requests, and an idle one adds no delay.
type groupCommit struct {
	reg     *host.Registry
	queue   chan *pendingAction
	quit    chan struct{}
	stopped sync.WaitGroup
	once    sync.Once
}

type pendingAction struct {
	ctx  context.Context
	req  host.Request
	resp host.Response
	err  error
	done chan struct{}
}

var errStopped = errors.New("registry server is stopping")

func newGroupCommit(reg *host.Registry) *groupCommit {
	g := &groupCommit{reg: reg, queue: make(chan *pendingAction, maxGroup), quit: make(chan struct{})}
	g.stopped.Add(1)
	go g.loop()
	return g
}

// do queues one action and waits for its answer.
func (g *groupCommit) do(ctx context.Context, req host.Request) (host.Response, error) {
	p := &pendingAction{ctx: ctx, req: req, done: make(chan struct{})}
	select {
	case g.queue <- p:
	case <-g.quit:
		return host.Response{}, errStopped
	case <-ctx.Done():
		return host.Response{}, ctx.Err()
	}
	// Once queued the action is answered even if the caller goes: it may already be in a call.
	<-p.done
	return p.resp, p.err
}

// stop ends the loop after the actions already queued; later ones fail with errStopped.
func (g *groupCommit) stop() {
	g.once.Do(func() { close(g.quit) })
	g.stopped.Wait()
}

func (g *groupCommit) loop() {
	defer g.stopped.Done()
	group := make([]*pendingAction, 0, maxGroup)
	for {
		var first *pendingAction
		select {
		case first = <-g.queue:
		case <-g.quit:
			// Answer what raced in before quit.
			for {
				select {
				case p := <-g.queue:
					g.run([]*pendingAction{p})
				default:
					return
				}
			}
		}
		group = append(group[:0], first)
	drain:
		for len(group) < maxGroup {
			select {
			case p := <-g.queue:
				group = append(group, p)
			default:
				break drain
			}
		}
		g.run(group)
	}
}

// run sends a group as one batch. Callers that gave up before it was sent are answered with
// their context's error and left out.
func (g *groupCommit) run(group []*pendingAction) {
	live := group[:0:0]
	for _, p := range group {
		if err := p.ctx.Err(); err != nil {
			p.err = err
			close(p.done)
			continue
		}
		live = append(live, p)
	}
	if len(live) == 0 {
		return
	}
	reqs := make([]host.Request, len(live))
	for i, p := range live {
		reqs[i] = p.req
	}
	// The batch is the server's, not one request's: no single caller's context may cut it.
	resps, err := g.reg.Do(context.Background(), reqs)
	if err != nil && len(live) > 1 && (errors.Is(err, host.ErrBadRequest) || errors.Is(err, host.ErrTrapped)) {
		// A request the module refuses whole, or one that traps it, must not fail the others:
		// the batch changed nothing (its changes are logged only at its end), so each goes
		// again alone.
		for _, p := range live {
			g.run([]*pendingAction{p})
		}
		return
	}
	for i, p := range live {
		if err != nil {
			p.err = err
		} else {
			p.resp = resps[i]
		}
		close(p.done)
	}
}
