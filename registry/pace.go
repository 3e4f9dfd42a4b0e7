package registry

// pace lets a host run other work during the core's long operations (loading or writing a
// snapshot, replaying a log): the work is counted in units of about 30 ns in the WebAssembly
// module (half a person-URL decoded or written, a key sorted, 16 bytes checksummed, half a
// byte of log replayed) and Config.Yield is called after every paceSlice of them, about a
// millisecond there.
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

// paceSlice is the work between two yields: ~0.5 ms through wazero (measured on a busy
// machine, the gaps between yields were mostly 2-5 ms at twice as much).
const paceSlice = 1 << 14

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

// perEntity is the work of a person or machine with n URLs, in units: one costs about as
// much as 32 of its URLs (measured: with one unit each, slices of persons with one URL took
// 15-28 ms through wazero instead of one).
func perEntity(n uint32) int { return 32 + 2*int(n) }
