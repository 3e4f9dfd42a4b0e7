package host

import (
	"context"
	"errors"
	"fmt"
)

// instanceRole says what an instance of the module is for.
type instanceRole int

const (
	serving      instanceRole = iota // the registry's instance: loads the files, answers calls
	checkpointer                     // writes one snapshot of a save, then goes
)

// flagSaveDue, in the result slot's flags, says a save is due (wasm/ABI.md rule 4).
const flagSaveDue = 1

// Save writes a snapshot of the registry as it is now (the next free registry.db.N, synced,
// after a new log segment for the changes that follow) and removes the generation before
// the previous one. With WithBackgroundSaves other calls go on while it runs; otherwise they
// wait for it. One save runs at a time: a second waits for the first.
//
// # Notes
//
// In the background (wasm/ABI.md "Saves in three steps"), the instance that answers calls
// only begins the save (a log sync and a new log segment: milliseconds) and commits it (a
// header check and one log record). In between, a second instance of the module,
// instantiated for the save and discarded after it, loads the files as far as the save's
// change (the previous snapshot and the log after it) and writes the snapshot on its own
// goroutine: another core. It costs that instance's memory for the length of the save,
// about as much as the registry's (see BENCHMARKS.md), and its CPU. The saves that "registry
// save db every new entries" calls for run the same way, started by the call that reached
// the count, which does not wait for them.
func (r *Registry) Save(ctx context.Context) (SaveInfo, error) {
	r.saveMu.Lock()
	defer r.saveMu.Unlock()
	if !r.opts.background {
		var info SaveInfo
		out, err := r.exec(ctx, func(in *instance) (int32, error) { return in.call(ctx, in.save) })
		if err != nil {
			return info, err
		}
		return info, decodeJSON(out, &info)
	}
	return r.saveInBackground(ctx)
}

// saveInBackground runs a save's three steps; saveMu is held.
func (r *Registry) saveInBackground(ctx context.Context) (SaveInfo, error) {
	var info SaveInfo
	plan, err := r.exec(ctx, func(in *instance) (int32, error) { return in.call(ctx, in.saveBegin) })
	if err != nil {
		return info, err
	}
	// Begun, a save is ended (committed or aborted) whatever the caller's context does: the
	// registry starts no other save until then.
	bg := context.WithoutCancel(ctx)
	if _, err := r.writeCheckpoint(bg, plan); err != nil {
		r.abortSave(bg, err)
		return info, err
	}
	out, err := r.exec(bg, func(in *instance) (int32, error) { return in.call(bg, in.saveCommit) })
	if err != nil {
		// A commit that fails aborts the save in the module (or the instance that began it
		// is gone, a trap: nothing is left to abort).
		return info, err
	}
	return info, decodeJSON(out, &info)
}

// abortSave ends a save whose snapshot was not written, reporting cause in the stats.
func (r *Registry) abortSave(ctx context.Context, cause error) {
	msg := []byte("checkpoint: " + cause.Error())
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	_, err := r.exec(ctx, func(in *instance) (int32, error) { return in.callWith(ctx, in.saveAbort, msg) })
	if err != nil {
		r.opts.logger.Warn("host: ending a failed save", "dir", r.dir, "err", err)
	}
}

// writeCheckpoint runs a save's second step in an instance of its own: it writes the
// snapshot plan describes into the directory and is discarded.
func (r *Registry) writeCheckpoint(ctx context.Context, plan []byte) (SaveInfo, error) {
	var info SaveInfo
	in, err := r.eng.instantiate(ctx, r.dir, &r.opts, checkpointer)
	if err != nil {
		return info, err
	}
	defer in.close(ctx)
	ret, err := in.callWith(ctx, in.checkpoint, plan)
	if me := (*moduleError)(nil); errors.As(err, &me) {
		return info, err
	}
	if err != nil {
		return info, &trapError{cause: err, stderr: in.stderr.String(), during: "checkpoint"}
	}
	out, err := in.result(ret)
	if err != nil {
		return info, fmt.Errorf("host: writing the snapshot: %w", err)
	}
	return info, decodeJSON(out, &info)
}

// saveSoon starts the save the module says is due (a result flag: "registry save db every
// new entries" was reached), in the background, unless one is running.
func (r *Registry) saveSoon() {
	if !r.autoSaving.CompareAndSwap(false, true) {
		return
	}
	go func() {
		defer r.autoSaving.Store(false)
		if !r.saveMu.TryLock() {
			return // a save is running: it holds the changes so far
		}
		defer r.saveMu.Unlock()
		if _, err := r.saveInBackground(context.Background()); err != nil && !errors.Is(err, ErrClosed) {
			// The module reports it in the stats too (storage.save_error).
			r.opts.logger.Warn("host: automatic save failed", "dir", r.dir, "err", err)
		}
	}()
}
