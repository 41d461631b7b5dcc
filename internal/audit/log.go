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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for Options.
const (
	DefaultSegmentSize     = 1000
	DefaultCheckpointEvery = 100
	DefaultRecentKeys      = 10000
)

// Errors returned by the Log.
var (
	// ErrUnavailable wraps a store failure: the entry was not (or not surely) written, and the
	// action it was to record must not be taken.
	ErrUnavailable = errors.New("audit store unavailable")
	// ErrBroken is returned by Open when the stored chain's head is inconsistent: an object is
	// missing or altered, or the chain is shorter than its last checkpoint. Run Verify.
	ErrBroken = errors.New("stored audit chain is broken")
	// ErrConflict is returned when an object the log is about to write already holds different
	// content: another writer is appending to the same chain. The Log stops writing; reopen it.
	ErrConflict = errors.New("another writer is appending to the audit log")
	// ErrIdempotencyConflict is returned when an idempotency key is reused for a different action,
	// object or stage.
	ErrIdempotencyConflict = errors.New("idempotency key already used for a different entry")
)

// reservedKeyPrefix starts the idempotency keys the log makes itself.
const reservedKeyPrefix = "@"

// Options configure a Log. Zero values take the defaults.
type Options struct {
	// SegmentSize is the number of entries in a sealed segment.
	SegmentSize int
	// CheckpointEvery is the number of entries between checkpoints of the chain head.
	CheckpointEvery int
	// RecentKeys is how many recent entries' idempotency keys are remembered. A retry must come
	// within this many entries of the original.
	RecentKeys int
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.SegmentSize <= 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.RecentKeys <= 0 {
		o.RecentKeys = DefaultRecentKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Checkpoint records the chain head at one point: the entry at Seq has hash Hash.
type Checkpoint struct {
	// Seq is the sequence number of the entry the checkpoint records.
	Seq int64 `json:"seq"`
	// Hash is that entry's hash.
	Hash string `json:"hash"`
	// Time is when the checkpoint was written.
	Time time.Time `json:"time"`
}

// ParseCheckpoint decodes a checkpoint object.
func ParseCheckpoint(data []byte) (Checkpoint, error) {
	var c Checkpoint
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return Checkpoint{}, fmt.Errorf("decoding checkpoint: %w", err)
	}
	if c.Seq < 1 || !validDigest(c.Hash) {
		return Checkpoint{}, errors.New("decoding checkpoint: sequence number or hash missing or malformed")
	}
	return c, nil
}

func validDigest(s string) bool {
	h, ok := strings.CutPrefix(s, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

type ringSlot struct {
	key string
	seq int64
}

type record struct {
	entry Entry
	line  []byte // stored line without the newline
}

// Log appends entries to one hash chain in a Store. It is safe for concurrent use; appends are
// chained in the order they are written, concurrent ones grouped into one store write, and each
// is durable before it returns. Only one Log may write a chain at a time.
type Log struct {
	store Store
	opts  Options

	mu           sync.Mutex
	head         Entry    // Seq 0 while the chain is empty
	sealed       int64    // last sequence number in a sealed segment
	unsealed     []record // entries after sealed, in order
	uncertain    []record // one tail object's entries, written with an unknown outcome
	queue        []*pending
	queued       map[string]*pending // queued or being written, by idempotency key
	writing      bool                // a writer goroutine is draining the queue
	recent       map[string]Entry
	ring         []ringSlot // idempotency keys of recent entries, oldest overwritten first
	ringNext     int
	checkpointed int64 // sequence number of the last checkpoint written or found
	fatal        error // set once another writer is detected
	maintErr     error // last error sealing or checkpointing
}

// Open reads the head of the chain stored in s (the last sealed segment, the tail objects after
// it and the last checkpoint) and returns a Log that continues it. It checks the part it reads;
// Verify checks the whole chain.
func Open(ctx context.Context, s Store, opts Options) (*Log, error) {
	l := &Log{store: s, opts: opts.withDefaults(), recent: map[string]Entry{}, queued: map[string]*pending{}}
	l.ring = make([]ringSlot, l.opts.RecentKeys)

	segs, err := s.List(ctx, SegmentPrefix, "")
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w: %w", ErrUnavailable, err)
	}
	var lastName string
	var lastFirst, lastLast int64
	for _, n := range segs {
		if first, last, ok := parseSegmentName(n); ok && last > lastLast {
			lastName, lastFirst, lastLast = n, first, last
		}
	}
	if lastName != "" {
		data, err := s.Get(ctx, lastName)
		if err != nil {
			return nil, fmt.Errorf("opening audit log: %w: %w", ErrUnavailable, err)
		}
		recs, err := splitRecords(data)
		if err != nil {
			return nil, fmt.Errorf("opening audit log: %w: %s: %w", ErrBroken, lastName, err)
		}
		if int64(len(recs)) != lastLast-lastFirst+1 || recs[0].entry.Seq != lastFirst {
			return nil, fmt.Errorf("opening audit log: %w: %s does not hold entries %d to %d", ErrBroken, lastName, lastFirst, lastLast)
		}
		prev := recs[0].entry.Prev
		for i, r := range recs {
			if r.entry.Seq != lastFirst+int64(i) || r.entry.Prev != prev {
				return nil, fmt.Errorf("opening audit log: %w: %s is not a chain at entry %d", ErrBroken, lastName, lastFirst+int64(i))
			}
			prev = r.entry.Hash
			l.remember(r.entry)
		}
		l.head = recs[len(recs)-1].entry
		l.sealed = lastLast
	}

	tails, err := s.List(ctx, TailPrefix, TailName(l.sealed))
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w: %w", ErrUnavailable, err)
	}
	for _, n := range tails {
		seq, ok := parseTailName(n)
		if !ok {
			continue
		}
		if seq != l.head.Seq+1 {
			return nil, fmt.Errorf("opening audit log: %w: entry %d is missing (found %s after entry %d)", ErrBroken, l.head.Seq+1, n, l.head.Seq)
		}
		data, err := s.Get(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("opening audit log: %w: %w", ErrUnavailable, err)
		}
		recs, err := splitRecords(data)
		if err != nil {
			return nil, fmt.Errorf("opening audit log: %w: %s: %w", ErrBroken, n, err)
		}
		for _, r := range recs {
			if r.entry.Seq != l.head.Seq+1 || r.entry.Prev != l.headHash() {
				return nil, fmt.Errorf("opening audit log: %w: entry %d in %s does not follow entry %d", ErrBroken, r.entry.Seq, n, l.head.Seq)
			}
			l.advance(r)
		}
	}

	cps, err := s.List(ctx, CheckpointPrefix, "")
	if err != nil {
		return nil, fmt.Errorf("opening audit log: %w: %w", ErrUnavailable, err)
	}
	for i := len(cps) - 1; i >= 0; i-- {
		if _, ok := parseCheckpointName(cps[i]); !ok {
			continue
		}
		data, err := s.Get(ctx, cps[i])
		if err != nil {
			return nil, fmt.Errorf("opening audit log: %w: %w", ErrUnavailable, err)
		}
		cp, err := ParseCheckpoint(data)
		if err != nil {
			return nil, fmt.Errorf("opening audit log: %w: %s: %w", ErrBroken, cps[i], err)
		}
		if cp.Seq > l.head.Seq {
			return nil, fmt.Errorf("opening audit log: %w: the chain ends at entry %d but %s records entry %d (truncated)", ErrBroken, l.head.Seq, cps[i], cp.Seq)
		}
		if e, ok := l.lookup(cp.Seq); ok && e.Hash != cp.Hash {
			return nil, fmt.Errorf("opening audit log: %w: entry %d does not match %s", ErrBroken, cp.Seq, cps[i])
		}
		l.checkpointed = cp.Seq
		break
	}
	l.maintain(ctx)
	return l, nil
}

// splitRecords parses an object of stored lines.
func splitRecords(data []byte) ([]record, error) {
	var recs []record
	for n := 1; len(data) > 0; n++ {
		line, rest, _ := bytes.Cut(data, []byte{'\n'})
		data = rest
		if len(line) == 0 {
			continue
		}
		e, err := ParseLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		recs = append(recs, record{entry: e, line: line})
	}
	if len(recs) == 0 {
		return nil, errors.New("no entries")
	}
	return recs, nil
}

// lookup finds entry seq among the entries held in memory.
func (l *Log) lookup(seq int64) (Entry, bool) {
	if seq == l.head.Seq && seq > 0 {
		return l.head, true
	}
	if len(l.unsealed) > 0 {
		if i := seq - l.unsealed[0].entry.Seq; i >= 0 && i < int64(len(l.unsealed)) {
			return l.unsealed[i].entry, true
		}
	}
	return Entry{}, false
}

func (l *Log) headHash() string {
	if l.head.Seq == 0 {
		return GenesisHash
	}
	return l.head.Hash
}

// Head returns the sequence number and hash of the last entry written; Seq is 0 and Hash is
// GenesisHash for an empty log.
func (l *Log) Head() Checkpoint {
	l.mu.Lock()
	defer l.mu.Unlock()
	return Checkpoint{Seq: l.head.Seq, Hash: l.headHash(), Time: l.head.Time}
}

func (l *Log) remember(e Entry) {
	if e.IdempotencyKey == "" {
		return
	}
	if old := l.ring[l.ringNext]; old.key != "" {
		if x, ok := l.recent[old.key]; ok && x.Seq == old.seq {
			delete(l.recent, old.key)
		}
	}
	l.ring[l.ringNext] = ringSlot{key: e.IdempotencyKey, seq: e.Seq}
	l.ringNext = (l.ringNext + 1) % len(l.ring)
	l.recent[e.IdempotencyKey] = e
}

func (l *Log) advance(r record) {
	l.head = r.entry
	l.unsealed = append(l.unsealed, r)
	l.remember(r.entry)
}

// Append writes one entry recording something that happened (StageRecorded) and returns it once
// it is stored. On error nothing is recorded and the action must not be taken; with
// ErrUnavailable, retry later (with the same idempotency key).
func (l *Log) Append(ctx context.Context, in EntryInput) (Entry, error) {
	if strings.HasPrefix(in.IdempotencyKey, reservedKeyPrefix) {
		return Entry{}, invalid("idempotency keys starting with %q are reserved", reservedKeyPrefix)
	}
	return l.append(ctx, in, StageRecorded, 0)
}

// Intend writes an entry saying the action in is about to be taken, and returns it once it is
// stored. Take the action only after Intend succeeds, then call Complete. After a crash, calling
// Intend again with the same idempotency key returns the earlier intention, so the action can be
// re-checked and completed under it.
func (l *Log) Intend(ctx context.Context, in EntryInput) (Entry, error) {
	if strings.HasPrefix(in.IdempotencyKey, reservedKeyPrefix) {
		return Entry{}, invalid("idempotency keys starting with %q are reserved", reservedKeyPrefix)
	}
	return l.append(ctx, in, StageIntended, 0)
}

// Outcome is how an intended action ended.
type Outcome struct {
	// Failed says the action was not taken or did not succeed.
	Failed bool
	// Decision is the outcome in a word, e.g. Released.
	Decision string
	// Details are digests and counts describing what was done.
	Details map[string]any
}

// Complete writes the outcome of an intention returned by Intend: an entry with the intention's
// actor, action and object, stage done or failed, and Intent set to the intention's sequence
// number. Each intention is completed at most once: a retried Complete returns the entry already
// written.
func (l *Log) Complete(ctx context.Context, intent Entry, out Outcome) (Entry, error) {
	if intent.Stage != StageIntended || intent.Seq < 1 {
		return Entry{}, invalid("complete needs an entry with stage %s", StageIntended)
	}
	stage := StageDone
	if out.Failed {
		stage = StageFailed
	}
	in := EntryInput{
		Actor:          intent.Actor,
		Action:         intent.Action,
		Object:         intent.Object,
		Decision:       out.Decision,
		Details:        out.Details,
		IdempotencyKey: reservedKeyPrefix + "outcome/" + strconv.FormatInt(intent.Seq, 10),
	}
	return l.append(ctx, in, stage, intent.Seq)
}

// pending is an entry waiting to be written, and, once done is closed, its outcome.
type pending struct {
	in     EntryInput
	stage  Stage
	intent int64
	done   chan struct{}
	entry  Entry
	err    error
}

// maxBatch is the most entries one tail object holds.
const maxBatch = 256

// batchTimeout bounds one write of a batch to the store.
const batchTimeout = 30 * time.Second

// append queues the entry and waits until it is stored. Appends are written in batches (group
// commit): while one batch is being written, the entries that arrive queue up and go together in
// the next tail object, so the log's throughput grows with the number of writers instead of being
// one store write per entry. Each caller still returns only once its entry is durable.
func (l *Log) append(ctx context.Context, in EntryInput, stage Stage, intent int64) (Entry, error) {
	if err := in.validate(); err != nil {
		return Entry{}, err
	}
	l.mu.Lock()
	if l.fatal != nil {
		l.mu.Unlock()
		return Entry{}, l.fatal
	}
	if err := ctx.Err(); err != nil {
		l.mu.Unlock()
		return Entry{}, fmt.Errorf("appending audit entry: %w", err)
	}
	if intent > l.head.Seq {
		l.mu.Unlock()
		return Entry{}, invalid("intention %d is not in this log", intent)
	}
	p := &pending{in: in, stage: stage, intent: intent, done: make(chan struct{})}
	if in.IdempotencyKey != "" {
		if e, ok := l.recent[in.IdempotencyKey]; ok {
			l.mu.Unlock()
			return sameEntry(e, p)
		}
		if q, ok := l.queued[in.IdempotencyKey]; ok {
			// The same entry is already on its way: its outcome is this one's.
			l.mu.Unlock()
			select {
			case <-q.done:
			case <-ctx.Done():
				return Entry{}, fmt.Errorf("%w: waiting for entry to be stored: %w", ErrUnavailable, ctx.Err())
			}
			if q.err != nil {
				return Entry{}, q.err
			}
			return sameEntry(q.entry, p)
		}
		l.queued[in.IdempotencyKey] = p
	}
	l.queue = append(l.queue, p)
	if l.writing {
		l.mu.Unlock()
	} else {
		// Nobody is writing: this caller writes, so a lone append costs one store write and no
		// hand-off.
		l.writing = true
		l.mu.Unlock()
		l.lead(p)
	}
	select {
	case <-p.done:
		return p.entry, p.err
	case <-ctx.Done():
		// The entry may still be stored; a retry with the same idempotency key finds it.
		return Entry{}, fmt.Errorf("%w: waiting for entry to be stored: %w", ErrUnavailable, ctx.Err())
	}
}

// sameEntry returns e, the entry stored earlier under p's idempotency key, when it records the
// same action, object and stage, and ErrIdempotencyConflict otherwise.
func sameEntry(e Entry, p *pending) (Entry, error) {
	if e.Action != p.in.Action || e.Object != p.in.Object || e.Stage != p.stage {
		return Entry{}, fmt.Errorf("%w: entry %d", ErrIdempotencyConflict, e.Seq)
	}
	return e, nil
}

// finish gives p its outcome. Called with l.mu held.
func (l *Log) finish(p *pending, e Entry, err error) {
	p.entry, p.err = e, err
	if k := p.in.IdempotencyKey; k != "" && l.queued[k] == p {
		delete(l.queued, k)
	}
	close(p.done)
}

// lead writes batches until p's entry is settled, then leaves whatever else is queued to a
// goroutine of its own.
func (l *Log) lead(p *pending) {
	for l.writeBatch() {
		select {
		case <-p.done:
			go l.writeQueued()
			return
		default:
		}
	}
}

// writeQueued writes the queue in batches until it is empty.
func (l *Log) writeQueued() {
	for l.writeBatch() {
	}
}

// more reports whether entries are queued, and otherwise ends the writing. Called with l.mu held.
func (l *Log) more() bool {
	if len(l.queue) == 0 {
		l.writing = false
		return false
	}
	return true
}

// writeBatch takes the queued entries (as many as fit before the next segment boundary, so that
// no tail object straddles a sealed segment), chains them after the head, writes them as one
// tail object named by the first, and settles their callers. It reports whether to go on.
func (l *Log) writeBatch() bool {
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	l.mu.Lock()
	defer l.mu.Unlock()
	failAll := func(err error) bool {
		for _, p := range l.queue {
			l.finish(p, Entry{}, err)
		}
		l.queue = nil
		l.writing = false
		return false
	}
	if l.fatal != nil {
		return failAll(l.fatal)
	}
	if !l.more() {
		// An uncertain write is settled by the next append, not here: until then the head
		// stays where it surely is.
		return false
	}
	if err := l.settle(ctx); err != nil {
		return failAll(err)
	}
	limit := maxBatch
	if boundary := l.sealed + int64(l.opts.SegmentSize); l.head.Seq < boundary {
		limit = int(min(int64(limit), boundary-l.head.Seq))
	} else {
		limit = 1
	}
	var batch []*pending
	var recs []record
	prev := l.head
	taken := 0
	for _, p := range l.queue {
		if len(recs) == limit {
			break
		}
		taken++
		if k := p.in.IdempotencyKey; k != "" {
			// A retry of an entry that an earlier, uncertain write did store.
			if e, ok := l.recent[k]; ok {
				e, err := sameEntry(e, p)
				l.finish(p, e, err)
				continue
			}
		}
		r, err := l.chain(p, prev)
		if err != nil {
			l.finish(p, Entry{}, err)
			continue
		}
		batch, recs = append(batch, p), append(recs, r)
		prev = r.entry
	}
	l.queue = l.queue[taken:]
	if len(recs) == 0 {
		return l.more()
	}
	data := tailObject(recs)
	l.mu.Unlock()
	err := l.putOnce(ctx, TailName(recs[0].entry.Seq), data)
	l.mu.Lock()
	if err != nil {
		if errors.Is(err, ErrConflict) {
			l.fatal = err
		} else {
			l.uncertain = recs
			err = fmt.Errorf("%w: writing entries %d to %d: %w", ErrUnavailable, recs[0].entry.Seq, recs[len(recs)-1].entry.Seq, err)
		}
		for _, p := range batch {
			l.finish(p, Entry{}, err)
		}
		return l.more()
	}
	for _, r := range recs {
		l.advance(r)
	}
	l.maintain(ctx)
	for i, p := range batch {
		l.finish(p, recs[i].entry, nil)
	}
	return l.more()
}

// chain makes p's entry, following prev, as the line it is stored as.
func (l *Log) chain(p *pending, prev Entry) (record, error) {
	now := l.opts.Now().UTC()
	if now.Before(prev.Time) {
		now = prev.Time
	}
	prevHash := prev.Hash
	if prev.Seq == 0 {
		prevHash = GenesisHash
	}
	e := Entry{
		Seq:            prev.Seq + 1,
		Time:           now,
		Actor:          p.in.Actor,
		Action:         p.in.Action,
		Object:         p.in.Object,
		Decision:       p.in.Decision,
		Details:        p.in.Details,
		Stage:          p.stage,
		Intent:         p.intent,
		IdempotencyKey: p.in.IdempotencyKey,
		Prev:           prevHash,
	}
	line, err := e.seal()
	if err != nil {
		return record{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if len(line) > MaxLineBytes {
		return record{}, invalid("entry is longer than %d bytes", MaxLineBytes)
	}
	// Read the entry back from its line so that the caller and the idempotency cache hold what
	// a reader of the store will see.
	stored, err := ParseLine(line)
	if err != nil {
		return record{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return record{entry: stored, line: line}, nil
}

// tailObject is the content of an object holding recs, a tail object or a segment: each line and
// a newline.
func tailObject(recs []record) []byte {
	n := 0
	for _, r := range recs {
		n += len(r.line) + 1
	}
	b := make([]byte, 0, n)
	for _, r := range recs {
		b = append(b, r.line...)
		b = append(b, '\n')
	}
	return b
}

// putOnce writes an object that must hold exactly data. A name already holding data counts as
// written (a retried write that had landed); one holding anything else is a conflict.
func (l *Log) putOnce(ctx context.Context, name string, data []byte) error {
	err := l.store.Put(ctx, name, data)
	if err == nil || !errors.Is(err, fs.ErrExist) {
		return err
	}
	got, gerr := l.store.Get(ctx, name)
	if gerr != nil {
		return fmt.Errorf("reading back %s: %w", name, gerr)
	}
	if !bytes.Equal(got, data) {
		return fmt.Errorf("%w: %s already holds other content", ErrConflict, name)
	}
	return nil
}

// settle finds out whether an entry whose write failed was stored after all, and adopts it if
// so. Until it knows, nothing more is written.
func (l *Log) settle(ctx context.Context) error {
	u := l.uncertain
	if u == nil {
		return nil
	}
	name := TailName(u[0].entry.Seq)
	got, err := l.store.Get(ctx, name)
	switch {
	case err == nil && bytes.Equal(got, tailObject(u)):
		l.uncertain = nil
		for _, r := range u {
			l.advance(r)
		}
		l.maintain(ctx)
		return nil
	case err == nil:
		l.fatal = fmt.Errorf("%w: %s holds entries this log did not write", ErrConflict, name)
		return l.fatal
	case errors.Is(err, fs.ErrNotExist):
		l.uncertain = nil
		return nil
	default:
		return fmt.Errorf("%w: checking whether entries %d to %d were stored: %w", ErrUnavailable, u[0].entry.Seq, u[len(u)-1].entry.Seq, err)
	}
}

// maintain seals full segments and writes a checkpoint when one is due. Failures do not undo the
// append that was already stored; they are kept for Flush and retried on the next append.
func (l *Log) maintain(ctx context.Context) {
	l.maintErr = nil
	if err := l.sealFull(ctx); err != nil {
		l.maintErr = err
		return
	}
	if l.head.Seq-l.checkpointed >= int64(l.opts.CheckpointEvery) {
		if err := l.writeCheckpoint(ctx); err != nil {
			l.maintErr = err
		}
	}
}

func (l *Log) sealFull(ctx context.Context) error {
	size := l.opts.SegmentSize
	for len(l.unsealed) >= size {
		recs := l.unsealed[:size]
		first, last := recs[0].entry.Seq, recs[size-1].entry.Seq
		data := tailObject(recs)
		if err := l.putOnce(ctx, SegmentName(first, last), data); err != nil {
			if errors.Is(err, ErrConflict) {
				l.fatal = err
			}
			return fmt.Errorf("sealing entries %d to %d: %w", first, last, err)
		}
		l.sealed = last
		l.unsealed = append([]record(nil), l.unsealed[size:]...)
	}
	return nil
}

func (l *Log) writeCheckpoint(ctx context.Context) error {
	if l.head.Seq == 0 || l.head.Seq == l.checkpointed {
		return nil
	}
	cp := Checkpoint{Seq: l.head.Seq, Hash: l.head.Hash, Time: l.opts.Now().UTC()}
	data, err := json.Marshal(cp)
	if err != nil {
		return fmt.Errorf("encoding checkpoint %d: %w", cp.Seq, err)
	}
	err = l.store.Put(ctx, CheckpointName(cp.Seq), append(data, '\n'))
	if err != nil && errors.Is(err, fs.ErrExist) {
		// A checkpoint of this entry was written before (a retry that had landed); it is valid
		// if it records the same hash.
		got, gerr := l.store.Get(ctx, CheckpointName(cp.Seq))
		if gerr != nil {
			return fmt.Errorf("reading back checkpoint %d: %w", cp.Seq, gerr)
		}
		old, perr := ParseCheckpoint(got)
		if perr != nil || old.Hash != cp.Hash {
			l.fatal = fmt.Errorf("%w: checkpoint %d records another hash", ErrConflict, cp.Seq)
			return l.fatal
		}
		err = nil
	}
	if err != nil {
		return fmt.Errorf("writing checkpoint %d: %w", cp.Seq, err)
	}
	l.checkpointed = cp.Seq
	return nil
}

// Flush seals any full segment still unsealed and writes a checkpoint of the head. Call it on a
// timer and at shutdown so that a truncated tail can be detected; it returns the first failure.
func (l *Log) Flush(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fatal != nil {
		return l.fatal
	}
	if err := l.settle(ctx); err != nil {
		return err
	}
	if err := l.sealFull(ctx); err != nil {
		l.maintErr = err
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	if err := l.writeCheckpoint(ctx); err != nil {
		l.maintErr = err
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	l.maintErr = nil
	return nil
}

// MaintenanceErr returns the last error sealing a segment or writing a checkpoint after an
// append, or nil when the last attempt succeeded. Entries are durable regardless; Flush retries.
func (l *Log) MaintenanceErr() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.maintErr
}

// Prune deletes tail objects that sealed segments cover, where the store can delete. It returns
// how many it deleted; objects that cannot be deleted (for example under object lock) are left,
// and readers ignore them.
func (l *Log) Prune(ctx context.Context) (int, error) {
	d, ok := l.store.(Deleter)
	if !ok {
		return 0, nil
	}
	l.mu.Lock()
	sealed := l.sealed
	l.mu.Unlock()
	if sealed == 0 {
		return 0, nil
	}
	names, err := l.store.List(ctx, TailPrefix, "")
	if err != nil {
		return 0, fmt.Errorf("pruning audit tail: %w", err)
	}
	deleted := 0
	var firstErr error
	for _, n := range names {
		seq, ok := parseTailName(n)
		if !ok || seq > sealed {
			continue
		}
		if err := d.Delete(ctx, n); err != nil {
			if firstErr == nil {
				firstErr = fmt.Errorf("pruning %s: %w", n, err)
			}
			continue
		}
		deleted++
	}
	return deleted, firstErr
}
