package main

import (
	"fmt"
	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// progress shows how far a long job is, on stderr: on a terminal one line redrawn with \r
// (at most ten times a second), elsewhere (logs, pipes, CI) a plain line each
// plainPrintEvery and one when the job ends, so that a log holds a few lines, not every
// update.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	tty     bool
	label   string
	total   int64 // 0 if unknown
	unit    func(int64) string
	done    int64
	started time.Time
	drawn   time.Time // last redraw (tty) or line (plain)
	printed int64     // done as of the last plain line, -1 before the first
	width   int       // length of the last tty line, to blank it out
}

const (
	ttyRedrawEvery  = 100 * time.Millisecond
	plainPrintEvery = 10 * time.Second
	barWidth        = 30
)

func newProgress(w io.Writer, label string, total int64, unit func(int64) string) *progress {
	if unit == nil {
		unit = func(n int64) string { return fmt.Sprint(n) }
	}
	p := &progress{w: w, tty: isTerminal(w), label: label, total: total, unit: unit, started: time.Now(), printed: -1}
	if !p.tty {
		p.drawn = p.started // the first plain line comes after plainPrintEvery, if at all
	}
	return p
}

// isTerminal reports whether w is a character device (a terminal), with the standard library
// only: a terminal is where \r redraws make sense.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// set records that done units are finished and redraws if it is time to.
func (p *progress) set(done int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	now := time.Now()
	every := plainPrintEvery
	if p.tty {
		every = ttyRedrawEvery
	}
	if now.Sub(p.drawn) < every {
		return
	}
	p.drawn = now
	p.draw(false)
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.draw(true)
}

func (p *progress) draw(final bool) {
	line := p.label + " " + p.unit(p.done)
	if p.total > 0 {
		frac := min(float64(p.done)/float64(p.total), 1)
		fill := int(frac * barWidth)
		bar := strings.Repeat("=", fill)
		if fill < barWidth {
			bar += ">" + strings.Repeat(" ", barWidth-fill-1)
		}
		line = fmt.Sprintf("%s [%s] %3.0f%% %s/%s", p.label, bar, frac*100, p.unit(p.done), p.unit(p.total))
	}
	if !p.tty {
		if p.printed != p.done {
			fmt.Fprintln(p.w, line)
			p.printed = p.done
		}
		return
	}
	pad := ""
	if n := p.width - len(line); n > 0 {
		pad = strings.Repeat(" ", n)
	}
	p.width = len(line)
	end := ""
	if final {
		end, p.width = "\n", 0
	}
	fmt.Fprint(p.w, "\r"+line+pad+end)
}

// counted is n with its noun: "1 person", "2 persons", "1.2K persons".
func counted(n uint64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return human.Count(n) + " " + many
}

// plural is n, exact, with its noun: "1 record", "4096 bytes".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
