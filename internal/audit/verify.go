/*
Copyright 2026 The Fivesafes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
)

// Result is what Verify found.
type Result struct {
	// OK is true when every entry read is intact, in order, chained, and consistent with every
	// checkpoint.
	OK bool `json:"ok"`
	// Entries is the number of entries verified intact before the first break (all of them when
	// OK).
	Entries int64 `json:"entries"`
	// FirstBroken is the sequence number of the first entry that is missing, altered, out of
	// place, extra, or not the one its successor was chained to; for a truncated tail, the first
	// entry missing from the end. Zero when OK.
	FirstBroken int64 `json:"firstBroken,omitempty"`
	// Reason says what is wrong in words, naming sequence numbers and objects, never values.
	Reason string `json:"reason,omitempty"`
	// Head is the last intact entry's sequence number and hash.
	Head Checkpoint `json:"head"`
}

// VerifyOptions say where a chain starts and what it must agree with.
type VerifyOptions struct {
	// Anchor is the entry just before the first one read, for verifying a range of a log (for
	// example an exported bundle). Nil means the log starts at entry 1 with GenesisHash.
	Anchor *Checkpoint
	// Checkpoints are heads recorded earlier. Each must match the entry at its sequence number,
	// and a log that ends before the last of them was truncated.
	Checkpoints []Checkpoint
}

// Verifier checks a chain one stored line at a time. Use Verify or VerifyStore unless the lines
// come from somewhere else.
type Verifier struct {
	first    int64
	next     int64
	prev     string
	prevPrev string
	prevCP   bool // the entry before next matched a checkpoint
	cps      []Checkpoint
	ci       int
	broken   bool
	res      Result
	pending  *pendingLink
	hist     [3]Checkpoint // the last accepted entries (or the anchor), newest last
}

// pendingLink is an entry whose Prev does not match its predecessor's hash. Whether the entry or
// its predecessor is the altered one is decided by the line after it.
type pendingLink struct {
	fields chainFields
	where  location
}

// location names a line in reasons; it is formatted only when a break is reported.
type location struct {
	object string // object name, or a caller's description when n is 0
	n      int    // line number within object, from 1
}

func (l location) String() string {
	switch {
	case l.n == 0:
		return l.object
	case l.object == "":
		return fmt.Sprintf("line %d", l.n)
	}
	return fmt.Sprintf("%s line %d", l.object, l.n)
}

// NewVerifier returns a Verifier for a chain starting after opts.Anchor.
func NewVerifier(opts VerifyOptions) *Verifier {
	v := &Verifier{first: 1, next: 1, prev: GenesisHash}
	if a := opts.Anchor; a != nil {
		v.first, v.next, v.prev = a.Seq+1, a.Seq+1, a.Hash
	}
	v.hist[2] = Checkpoint{Seq: v.first - 1, Hash: v.prev}
	v.cps = slices.Clone(opts.Checkpoints)
	slices.SortFunc(v.cps, func(a, b Checkpoint) int {
		switch {
		case a.Seq < b.Seq:
			return -1
		case a.Seq > b.Seq:
			return 1
		}
		return 0
	})
	return v
}

func (v *Verifier) breakAt(seq int64, format string, args ...any) {
	v.broken = true
	v.pending = nil
	v.res.FirstBroken = seq
	v.res.Reason = fmt.Sprintf(format, args...)
}

// Broken reports whether a break has been found; later lines are ignored.
func (v *Verifier) Broken() bool { return v.broken }

// Line checks the next stored line; where names it in a reason (e.g. "line 12"). Blank lines are
// skipped. It returns false once the chain is broken.
func (v *Verifier) Line(line []byte, where string) bool {
	return v.check(line, location{object: where})
}

func (v *Verifier) check(line []byte, where location) bool {
	if v.broken {
		return false
	}
	line = bytes.TrimRight(line, "\r\n")
	if len(bytes.TrimSpace(line)) == 0 {
		return true
	}
	var c chainFields
	var err error
	if len(line) > MaxLineBytes {
		err = fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLineBytes)
	} else {
		c, err = parseChain(line)
	}
	if p := v.pending; p != nil {
		v.resolve(p, c, err)
		if v.broken {
			return false
		}
	}
	s := v.next
	switch {
	case err != nil && !errors.Is(err, ErrHashMismatch):
		v.breakAt(s, "%s is not a valid entry where entry %d should be", where, s)
		return false
	case c.Seq != s:
		if c.Seq == s-1 && s-1 >= v.first && err == nil {
			if c.Hash == v.prev {
				v.breakAt(s, "%s repeats entry %d where entry %d should be", where, c.Seq, s)
				return false
			}
			if c.Prev == v.prevPrev {
				v.breakAt(s-1, "%s is a second, different entry %d: an entry was inserted or replaced", where, c.Seq)
				return false
			}
		}
		if c.Seq > s {
			v.breakAt(s, "entry %d is missing or out of order: %s holds entry %d", s, where, c.Seq)
		} else {
			v.breakAt(s, "%s holds entry %d where entry %d should be: entries are out of order or repeated", where, c.Seq, s)
		}
		return false
	case err != nil:
		v.breakAt(s, "entry %d (%s) was altered: its hash does not match its content", s, where)
		return false
	case c.Prev != v.prev:
		if s == v.first {
			v.breakAt(s, "entry %d (%s) does not chain to the start of the log", s, where)
			return false
		}
		if v.prevCP {
			v.breakAt(s, "entry %d (%s) does not chain to entry %d, which matches its checkpoint: entry %d was altered or inserted", s, where, s-1, s)
			return false
		}
		// Entry s or entry s-1 was altered; the next line decides which, unless a checkpoint of
		// entry s shows it is genuine.
		v.pending = &pendingLink{fields: c, where: where}
		v.accept(c)
		if !v.broken && v.prevCP {
			v.breakAt(s-1, "entry %d is not the entry that entry %d (%s), which matches its checkpoint, was chained to: entry %d was altered or replaced", s-1, s, where, s-1)
		}
		return !v.broken
	}
	v.accept(c)
	return !v.broken
}

// accept moves past an entry, checking it against a checkpoint of its sequence number.
func (v *Verifier) accept(c chainFields) {
	for v.ci < len(v.cps) && v.cps[v.ci].Seq < c.Seq {
		v.ci++
	}
	v.prevCP = false
	if v.ci < len(v.cps) && v.cps[v.ci].Seq == c.Seq {
		if v.cps[v.ci].Hash != c.Hash {
			if v.pending != nil {
				// The suspect entry itself disagrees with its checkpoint.
				v.breakAt(c.Seq, "entry %d does not match the checkpoint of entry %d: it was altered", c.Seq, c.Seq)
				return
			}
			v.breakAt(c.Seq, "entry %d does not match the checkpoint of entry %d: it or an earlier entry was altered and re-hashed", c.Seq, c.Seq)
			return
		}
		v.prevCP = true
		v.ci++
	}
	v.prevPrev, v.prev = v.prev, c.Hash
	v.next = c.Seq + 1
	v.hist[0], v.hist[1], v.hist[2] = v.hist[1], v.hist[2], Checkpoint{Seq: c.Seq, Hash: c.Hash}
}

// resolve decides, from the line after an entry s whose Prev did not match entry s-1, which of
// the two was altered: if the next line is another entry s chained to s-1, entry s was
// inserted; if it is entry s+1 chained to s, entry s-1 was altered; if it is entry s+1 not
// chained to s either, entry s was altered.
func (v *Verifier) resolve(p *pendingLink, next chainFields, err error) {
	s := p.fields.Seq
	v.pending = nil
	switch {
	case err == nil && next.Seq == s && next.Prev == v.prevPrev:
		v.breakAt(s, "entry %d (%s) was inserted: the entry after it is entry %d again, chained to entry %d", s, p.where, s, s-1)
	case err == nil && next.Seq == s+1 && next.Prev != p.fields.Hash:
		v.breakAt(s, "entry %d (%s) was altered: it chains neither to entry %d nor from entry %d", s, p.where, s-1, s+1)
	default:
		v.breakAt(s-1, "entry %d is not the entry that entry %d (%s) was chained to: entry %d was altered or replaced", s-1, s, p.where, s-1)
	}
}

// Result finishes verification: a suspect link with no line after it is put down to its
// predecessor, and a log that ends before its last checkpoint is reported truncated.
func (v *Verifier) Result() Result {
	if p := v.pending; p != nil {
		v.resolve(p, chainFields{}, io.EOF)
	}
	if !v.broken {
		last := v.next - 1
		if n := len(v.cps); n > 0 && v.cps[n-1].Seq > last {
			v.breakAt(last+1, "the log ends at entry %d but a checkpoint records entry %d: the tail was truncated", last, v.cps[n-1].Seq)
		}
	}
	res := v.res
	res.OK = !v.broken
	lastGood := v.next - 1
	if !res.OK {
		lastGood = res.FirstBroken - 1
	}
	res.Entries = max(lastGood-(v.first-1), 0)
	res.Head = Checkpoint{Seq: lastGood}
	for _, h := range v.hist {
		if h.Seq == lastGood && h.Hash != "" {
			res.Head = h
		}
	}
	return res
}

// ExpectEnd checks, after the last line of an object that should end at entry last, that it
// did. A suspect link at the end of the object is left for the next object's first line.
func (v *Verifier) ExpectEnd(last int64, where string) {
	if v.broken || v.pending != nil {
		return
	}
	switch got := v.next - 1; {
	case got < last:
		v.breakAt(got+1, "%s should end at entry %d but ends at entry %d: entries were removed", where, last, got)
	case got > last:
		v.breakAt(last+1, "%s should end at entry %d but holds entries up to %d", where, last, got)
	}
}

// Verify checks a JSON-lines log read from r. The error is for failures reading r; a broken
// chain is reported in the Result.
func Verify(r io.Reader, opts VerifyOptions) (Result, error) {
	v := NewVerifier(opts)
	if err := feed(v, r, ""); err != nil {
		return Result{}, err
	}
	return v.Result(), nil
}

// feed passes each line of r to v, naming lines "<object> line N".
func feed(v *Verifier, r io.Reader, object string) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var long []byte
	for n := 1; ; n++ {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it up to the limit, then skip the rest.
			long = append(long[:0], line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				if len(long) <= MaxLineBytes {
					long = append(long, line...)
				}
			}
			line = long
		}
		if len(line) > 0 && !v.check(line, location{object: object, n: n}) {
			return nil
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("reading audit log: %w", err)
		}
	}
}

// storeLayout lists a store's segments (in order, with their ranges), the tail objects after
// the last sealed entry, and the checkpoints.
type storeLayout struct {
	segments []segmentRef
	tail     []string
	cps      []string
}

type segmentRef struct {
	name        string
	first, last int64
}

func readLayout(ctx context.Context, s Store) (storeLayout, error) {
	var lay storeLayout
	segs, err := s.List(ctx, SegmentPrefix, "")
	if err != nil {
		return lay, fmt.Errorf("listing audit segments: %w", err)
	}
	var sealed int64
	for _, n := range segs {
		if first, last, ok := parseSegmentName(n); ok {
			lay.segments = append(lay.segments, segmentRef{name: n, first: first, last: last})
			sealed = max(sealed, last)
		}
	}
	tails, err := s.List(ctx, TailPrefix, TailName(sealed))
	if err != nil {
		return lay, fmt.Errorf("listing audit tail: %w", err)
	}
	for _, n := range tails {
		if _, ok := parseTailName(n); ok {
			lay.tail = append(lay.tail, n)
		}
	}
	cps, err := s.List(ctx, CheckpointPrefix, "")
	if err != nil {
		return lay, fmt.Errorf("listing audit checkpoints: %w", err)
	}
	for _, n := range cps {
		if _, ok := parseCheckpointName(n); ok {
			lay.cps = append(lay.cps, n)
		}
	}
	return lay, nil
}

// ReadCheckpoints returns the checkpoints in a store, in order. A checkpoint that cannot be read
// back as one is an error naming it.
func ReadCheckpoints(ctx context.Context, s Store) ([]Checkpoint, error) {
	lay, err := readLayout(ctx, s)
	if err != nil {
		return nil, err
	}
	cps, bad, err := readCheckpoints(ctx, s, lay.cps)
	if err == nil && bad != "" {
		err = fmt.Errorf("%s is not a valid checkpoint", bad)
	}
	return cps, err
}

// readCheckpoints reads checkpoint objects; bad names the first one that is not a valid
// checkpoint of the entry its name gives.
func readCheckpoints(ctx context.Context, s Store, names []string) (cps []Checkpoint, bad string, err error) {
	cps = make([]Checkpoint, 0, len(names))
	for _, n := range names {
		data, err := s.Get(ctx, n)
		if err != nil {
			return nil, "", fmt.Errorf("reading %s: %w", n, err)
		}
		cp, err := ParseCheckpoint(data)
		if want, _ := parseCheckpointName(n); err != nil || cp.Seq != want {
			return nil, n, nil
		}
		cps = append(cps, cp)
	}
	return cps, "", nil
}

// VerifyStore checks the whole chain in a store: sealed segments in order (each holding exactly
// the range its name gives), then the tail objects after them, against every checkpoint. The
// error is for failures reading the store; a broken chain or an unreadable checkpoint is
// reported in the Result.
func VerifyStore(ctx context.Context, s Store) (Result, error) {
	lay, err := readLayout(ctx, s)
	if err != nil {
		return Result{}, err
	}
	cps, bad, err := readCheckpoints(ctx, s, lay.cps)
	if err != nil {
		return Result{}, err
	}
	if bad != "" {
		seq, _ := parseCheckpointName(bad)
		return Result{FirstBroken: seq, Reason: bad + " is not a valid checkpoint of the entry its name gives"}, nil
	}
	v := NewVerifier(VerifyOptions{Checkpoints: cps})
	for _, seg := range lay.segments {
		data, err := s.Get(ctx, seg.name)
		if err != nil {
			return Result{}, fmt.Errorf("reading %s: %w", seg.name, err)
		}
		if err := feed(v, bytes.NewReader(data), seg.name); err != nil {
			return Result{}, err
		}
		v.ExpectEnd(seg.last, seg.name)
		if v.Broken() {
			return v.Result(), nil
		}
	}
	for _, n := range lay.tail {
		data, err := s.Get(ctx, n)
		if err != nil {
			return Result{}, fmt.Errorf("reading %s: %w", n, err)
		}
		if err := feed(v, bytes.NewReader(data), n); err != nil {
			return Result{}, err
		}
		if v.Broken() {
			break
		}
	}
	return v.Result(), nil
}

// Entries yields every entry in a store in sequence order: sealed segments, then the tail. It
// checks each entry's own hash but not the chain; use VerifyStore for that.
func Entries(ctx context.Context, s Store) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		lay, err := readLayout(ctx, s)
		if err != nil {
			yield(Entry{}, err)
			return
		}
		names := make([]string, 0, len(lay.segments)+len(lay.tail))
		for _, seg := range lay.segments {
			names = append(names, seg.name)
		}
		names = append(names, lay.tail...)
		for _, n := range names {
			data, err := s.Get(ctx, n)
			if err != nil {
				yield(Entry{}, fmt.Errorf("reading %s: %w", n, err))
				return
			}
			for i := 1; len(data) > 0; i++ {
				line, rest, _ := bytes.Cut(data, []byte{'\n'})
				data = rest
				if len(bytes.TrimSpace(line)) == 0 {
					continue
				}
				e, err := ParseLine(line)
				if err != nil {
					err = fmt.Errorf("%s line %d: %w", n, i, err)
				}
				if !yield(e, err) || err != nil {
					return
				}
			}
		}
	}
}

// ReadLines yields the entries of a JSON-lines log, checking each entry's own hash but not the
// chain.
func ReadLines(r io.Reader) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes+2)
		for n := 1; sc.Scan(); n++ {
			if len(bytes.TrimSpace(sc.Bytes())) == 0 {
				continue
			}
			e, err := ParseLine(sc.Bytes())
			if err != nil {
				err = fmt.Errorf("line %d: %w", n, err)
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
		if err := sc.Err(); err != nil {
			yield(Entry{}, fmt.Errorf("reading audit log: %w", err))
		}
	}
}

// Unfinished returns the intentions among entries that have no done or failed entry: actions that
// may or may not have been taken, which an operator or controller must re-check.
func Unfinished(entries []Entry) []Entry {
	done := map[int64]bool{}
	for _, e := range entries {
		if (e.Stage == StageDone || e.Stage == StageFailed) && e.Intent > 0 {
			done[e.Intent] = true
		}
	}
	var out []Entry
	for _, e := range entries {
		if e.Stage == StageIntended && !done[e.Seq] {
			out = append(out, e)
		}
	}
	return out
}
