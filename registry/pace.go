package registry

// pace lets a host run other work during the core's long operations (loading or writing a
// snapshot, replaying a log): the work is counted in units (a person-URL decoded or written,
// a key sorted, 64 bytes checksummed) and Config.Yield is called after every paceSlice of
// them, about a millisecond in the WebAssembly module.
//
// # Notes
//
// The Go host runs its checkpointer (a second instance writing snapshots, see
// store_checkpoint.go) on a goroutine beside the serving one. Go cannot preempt a goroutine
// inside wazero's compiled code, so a call that never returns to Go holds its thread and
// makes every stop-the-world of the host's garbage collector wait for it: a save of seconds
// would stall every request. The module's Yield is WASI's sched_yield, a call into the host,
// where the goroutine can be stopped and other goroutines scheduled. Natively Yield is nil
// and step costs an add and a compare.
type pace struct {
	yield func()
	work  int
}

// paceSlice is the work between two yields: ~1 ms through wazero for a slice of
// person-URLs (~30 ns each there).
const paceSlice = 1 << 15

// step counts n units of work, yielding when a slice is done.
func (p *pace) step(n int) {
	if p == nil || p.yield == nil {
		return
	}
	if p.work += n; p.work >= paceSlice {
		p.work = 0
		p.yield()
	}
}
