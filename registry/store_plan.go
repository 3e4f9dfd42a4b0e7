package registry

import "strconv"

// loadPlan is what a load does with the files it found: the snapshot it starts from, the log
// records it replays after it, the segment later appends continue, and what it found wrong.
//
// # Notes
//
// Snapshots and segments are joined by sequence numbers, not by names: a load may start from
// any snapshot whose changes after it some segments hold without a gap, and picks the one
// that reaches furthest (the newest of those). So one damaged file costs nothing while the
// previous generation and the log since it are kept (a save keeps them until the next save):
// a rotted newest snapshot is replaced by the previous one plus the log.
//
// Every file also says what existed: a verified snapshot header its sequence number, a verified
// record its own. When the files prove a change
// that no chain reaches, acknowledged data is gone, and the load refuses (a salvage goes on
// and reports the range), naming the files. A newest snapshot names the segment its later
// changes went to (Next): that segment is created before the snapshot is written, so a
// missing one is a loss too.
type loadPlan struct {
	start *snapFile // nil: the empty registry at change 0
	parts []chainPart
	end   uint64 // the last change the load reaches
	// current is the segment later appends continue: the last of the chain, or an empty
	// segment a save created at end. nil when none fits (a new one must be made).
	current *segFile
	cut     bool // current has bytes after its verified records (a torn tail): cut them

	evidence    uint64   // the newest change the files prove was made
	missingNext string   // the newest snapshot's log segment is missing (its description)
	problems    []string // damage, each naming its file: the store is not healthy
	notes       []string // what a crash leaves and a load clears: torn tails, unfinished saves
	dropped     int      // unsynced records after damage that a crash lost (log sync allows it)
}

// chainPart is a segment's records that a load replays.
type chainPart struct {
	seg  *segFile
	recs []logRecord
}

// lost reports whether the files prove acknowledged changes that the chain does not reach.
func (p *loadPlan) lost() bool { return p.evidence > p.end || p.missingNext != "" }

// lossMessage describes a loss, naming the files: what a refusal says.
func (p *loadPlan) lossMessage() string {
	msg := ""
	if p.evidence > p.end {
		msg = "changes " + uitoa(p.end+1) + " to " + uitoa(p.evidence) + " are proven by the files but no snapshot and log chain reaches them"
	}
	if p.missingNext != "" {
		if msg != "" {
			msg += "; "
		}
		msg += p.missingNext
	}
	if len(p.problems) > 0 {
		msg += " (" + joinProblems(p.problems) + ")"
	}
	return msg
}

func joinProblems(ps []string) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "; "
		}
		s += p
	}
	return s
}

// planLoad plans the load of d. verify reads and verifies a whole snapshot (it is called only
// for snapshots the plan would start from, newest first) and returns its data.
func planLoad(d *dirFiles, verify func(*snapFile) ([]byte, error)) (*loadPlan, []byte) {
	p := &loadPlan{}

	// Candidates: snapshots whose header verifies, by how far their chain reaches, then
	// newest first; the empty registry last.
	type cand struct {
		f     *snapFile
		seq   uint64
		parts []chainPart
		end   uint64
	}
	var cands []cand
	for _, f := range d.snaps {
		if f.headerErr == nil && f.header.Version >= 2 {
			parts, end := chainFrom(d.segs, f.header.Seq)
			cands = append(cands, cand{f: f, seq: f.header.Seq, parts: parts, end: end})
		}
	}
	// At most three: an insertion sort (slices.SortFunc's generic code was 19 KB of module).
	before := func(a, b *cand) bool {
		if a.end != b.end {
			return a.end > b.end
		}
		if a.seq != b.seq {
			return a.seq > b.seq
		}
		return a.f.header.Gen > b.f.header.Gen
	}
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && before(&cands[j], &cands[j-1]); j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	var data []byte
	chosen := false
	for _, c := range cands {
		b, err := verify(c.f)
		if err != nil {
			continue
		}
		p.start, p.parts, p.end, data, chosen = c.f, c.parts, c.end, b, true
		break
	}
	if !chosen {
		p.parts, p.end = chainFrom(d.segs, 0)
	}
	p.current, p.cut = currentSegment(d.segs, p)
	p.weigh(d)
	return p, data
}

// chainFrom follows the records after seq through the segments, as far as they go without a
// gap, and returns the parts to replay and the last change reached.
//
// # Notes
//
// A segment's verified records are consecutive (scanSegment stops at a jump), so the one
// holding change n is found from its first record's number, without indexing every record
// (a map of a million records cost tens of megabytes of the module's memory at load).
func chainFrom(segs []*segFile, seq uint64) ([]chainPart, uint64) {
	var parts []chainPart
	for {
		var best *segFile // of the segments holding seq+1, the one that goes furthest
		for _, sf := range segs {
			recs := sf.scan.recs
			if len(recs) > 0 && recs[0].seq <= seq+1 && seq+1 <= recs[len(recs)-1].seq &&
				(best == nil || sf.scan.last() > best.scan.last()) {
				best = sf
			}
		}
		if best == nil {
			return parts, seq
		}
		recs := best.scan.recs[seq+1-best.scan.recs[0].seq:]
		parts = append(parts, chainPart{seg: best, recs: recs})
		seq = recs[len(recs)-1].seq
	}
}

// currentSegment picks the segment that appends continue: one that ends at the chain's end,
// preferring an empty one a save created there (the newest base), and says whether it has a
// torn tail to cut.
func currentSegment(segs []*segFile, p *loadPlan) (*segFile, bool) {
	var cur *segFile
	for _, sf := range segs {
		if (!sf.scan.headerOK && len(sf.scan.recs) == 0) || sf.scan.last() != p.end {
			continue
		}
		if d := sf.scan.damage; d != nil && !d.lostToCrash() {
			continue // appends never follow damage
		}
		if p.start == nil && len(sf.scan.recs) == 0 && sf.scan.base != 0 {
			continue // an empty segment continuing a snapshot the load does not have
		}
		if cur == nil || sf.scan.base > cur.scan.base || (sf.scan.base == cur.scan.base && sf.scan.gen > cur.scan.gen) {
			cur = sf
		}
	}
	if cur == nil {
		// An empty segment whose header rotted still takes appends: records verify on their
		// own, and a later load reads their sequence numbers.
		for _, sf := range segs {
			if !sf.scan.headerOK && len(sf.scan.recs) == 0 && sf.scan.size >= segHeaderLen && sf.scan.damage == nil {
				return sf, sf.scan.tail() > 0
			}
		}
		return nil, false
	}
	d := cur.scan.damage
	return cur, cur.scan.tail() > 0 && (d == nil || d.lostToCrash())
}

// weigh works out what the files prove (evidence), what is damaged and what a crash left.
func (p *loadPlan) weigh(d *dirFiles) {
	var newest *snapFile // the newest snapshot whose header verifies
	for _, f := range d.snaps {
		switch {
		case f.headerErr != nil && f.torn():
			p.notes = append(p.notes, f.name()+" is cut short (a save that did not finish); the next save replaces it")
		case f.headerErr != nil:
			p.problems = append(p.problems, f.name()+": "+trimErr(f.headerErr))
		case f.header.Version == 1:
			p.notes = append(p.notes, f.name()+" is in the first snapshot format; the next save replaces it")
		case f.bodyErr != nil && f.torn() && !p.appendedAfter(d, f):
			// Cut short: a save that did not finish, never acknowledged. Not evidence.
			p.notes = append(p.notes, f.name()+" is cut short (a save that did not finish); the next save replaces it")
		case f.bodyErr != nil && f.torn():
			// Changes were appended after it: its save had finished, so it was whole once.
			p.problems = append(p.problems, f.name()+" is cut short after its save finished ("+trimErr(f.bodyErr)+")")
		default:
			p.evidence = max(p.evidence, f.header.Seq)
			if newest == nil || f.header.Seq > newest.header.Seq || (f.header.Seq == newest.header.Seq && f.header.Gen > newest.header.Gen) {
				newest = f
			}
			if f.bodyErr != nil {
				p.problems = append(p.problems, f.name()+": "+trimErr(f.bodyErr))
			}
		}
	}
	for _, sf := range d.segs {
		sc := &sf.scan
		// A segment's base is not evidence: a save creates the segment before its snapshot,
		// and an unfinished save's segment continues a state that was never acknowledged. The
		// snapshots' Next and the records are.
		if len(sc.recs) > 0 {
			p.evidence = max(p.evidence, sc.last())
		}
		switch {
		case !sc.headerOK && len(sc.recs) == 0 && sc.size < segHeaderLen:
			p.notes = append(p.notes, sf.name()+" is cut short (a save that did not finish)")
		case !sc.headerOK:
			p.problems = append(p.problems, sf.name()+": segment header damaged")
		}
		if dm := sc.damage; dm != nil {
			if sf == p.current && dm.lostToCrash() {
				p.dropped += 1 + len(dm.later)
				p.problems = append(p.problems, sf.name()+": "+strconv.Itoa(1+len(dm.later))+" unsynced changes from offset "+strconv.Itoa(dm.off)+
					" never reached the disk before a crash; the log sync setting allowed their loss")
			} else {
				p.evidence = max(p.evidence, dm.last())
				p.problems = append(p.problems, sf.name()+": damaged at offset "+strconv.Itoa(dm.off)+" ("+dm.msg+"), "+
					strconv.Itoa(len(dm.later))+" verified records after it")
			}
		} else if sc.tail() > 0 {
			if sf == p.current {
				p.notes = append(p.notes, sf.name()+": "+strconv.Itoa(sc.tail())+" bytes of an unfinished append at offset "+strconv.Itoa(sc.valid)+" (cut at open)")
			} else if sc.size >= segHeaderLen {
				p.problems = append(p.problems, sf.name()+": "+strconv.Itoa(sc.tail())+" bytes that do not verify at offset "+strconv.Itoa(sc.valid))
			}
		}
	}
	if newest != nil && !p.hasSegmentAfter(d, newest) {
		p.missingNext = "the log segment that changes after " + newest.name() + " (change " + uitoa(newest.header.Seq) + ") went to is missing"
	}
	if p.start != nil && p.start != newest && p.end < p.evidence && !p.hasSegmentAfter(d, p.start) {
		// Why the chain stops: name the snapshot whose log is gone.
		p.problems = append(p.problems, "the log segment after "+p.start.name()+" (change "+uitoa(p.start.header.Seq)+") is missing")
	}
}

// appendedAfter reports whether changes were logged after snapshot f in the segment its save
// made for them: appends start only once the snapshot is durable.
//
// A segment whose appends may precede its snapshot (segDeferred) proves it only with the
// record that says the save finished.
func (p *loadPlan) appendedAfter(d *dirFiles, f *snapFile) bool {
	for _, sf := range d.segs {
		if sf.scan.headerOK && sf.scan.base == f.header.Next && f.header.Next == f.header.Seq && len(sf.scan.recs) > 0 {
			return sf.scan.flags&segDeferred == 0 || committedIn(sf, f.header.Gen)
		}
	}
	return false
}

// hasSegmentAfter reports whether the segment that the changes after snapshot f went to is
// present: one whose verified header continues f.Next, or any record after f.
func (p *loadPlan) hasSegmentAfter(d *dirFiles, f *snapFile) bool {
	for _, sf := range d.segs {
		if sf.scan.headerOK && sf.scan.base == f.header.Next {
			return true
		}
		if !sf.scan.headerOK && sf.scan.size >= segHeaderLen && len(sf.scan.recs) == 0 {
			return true // its header rotted, nothing was in it
		}
		if len(sf.scan.recs) > 0 && sf.scan.last() > f.header.Seq {
			return true
		}
	}
	return false
}

func trimErr(err error) string {
	s := err.Error()
	for _, p := range []string{"registry: corrupt data at ", "registry: "} {
		if len(s) > len(p) && s[:len(p)] == p {
			return s[len(p):]
		}
	}
	return s
}
