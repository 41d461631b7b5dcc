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

// Package extract makes a dataset copy for one agreement from a CSV source, as a stream: only the
// approved columns, in the approved order; NHS numbers validated, and identifiers replaced by the
// agreement's pseudonyms; opted-out people removed when the agreement honours opt-outs; and every
// row accounted for. It knows nothing of Kubernetes or object storage: it reads an io.Reader and
// writes an io.Writer.
//
// Pseudonyms are computed a batch of rows at a time, so that a remote pseudonymiser (Vault
// transit) costs one request per batch, and several batches are pseudonymised at once while the
// next is parsed; memory stays bounded by the batch size.
package extract

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// Defaults for Config.
const (
	// DefaultBatchSize is the number of rows pseudonymised together.
	DefaultBatchSize = 1024
	// DefaultConcurrency is the number of batches pseudonymised at once.
	DefaultConcurrency = 2
	// MaxMalformedLines is how many malformed rows' line numbers are kept.
	MaxMalformedLines = 100
)

// Bounds that keep a batch's offsets and indices within 32 bits.
const (
	// maxBatchBytes ends a batch early when its rows hold this many bytes, bounding memory for
	// wide rows.
	maxBatchBytes = 4 << 20
	// MaxBatchSize is the largest BatchSize; larger ones are lowered to it.
	MaxBatchSize = 1 << 16
	// MaxColumns is the most approved columns a copy can have.
	MaxColumns = 4096
	// MaxRecordSizeLimit is the largest MaxRecordSize; larger ones are lowered to it.
	MaxRecordSizeLimit = 64 << 20
)

// Pseudonymiser turns normalised identifiers into pseudonyms, a batch at a time. It returns one
// pseudonym per identifier, in order. pseudonym.Local and pseudonym.Transit implement it.
type Pseudonymiser interface {
	Pseudonymise(ctx context.Context, ids [][]byte) ([][]byte, error)
}

// OptOuts is a set of NHS numbers, as nhsnumber.Number.Uint64 gives them, of people who have
// opted out. optout.Set implements it.
type OptOuts interface {
	Contains(nhsNumber uint64) bool
}

// Column is one column of the dataset's schema.
type Column struct {
	// Name is the column's header in the source.
	Name string
	// Identifier says whether and how the column identifies a person.
	Identifier fivesafesv1alpha1.IdentifierKind
}

// Config says how to make a copy.
type Config struct {
	// Schema is the dataset's schema. Every approved column must be in it. Its NHSNumber columns
	// are checked against OptOuts whether or not they are approved.
	Schema []Column
	// Columns are the approved columns, in output order.
	Columns []string
	// Pseudonymiser computes pseudonyms. It is required when an approved column is an identifier.
	Pseudonymiser Pseudonymiser
	// OptOuts, when not nil, is applied: rows whose NHS number is in it are dropped. When nil,
	// opt-outs are not applied. A nil *optout.Set in a non-nil OptOuts is an empty set, so applied.
	OptOuts OptOuts
	// BatchSize is the number of rows pseudonymised together (DefaultBatchSize when 0, at most
	// MaxBatchSize).
	BatchSize int
	// Concurrency is the number of batches pseudonymised at once (DefaultConcurrency when 0).
	Concurrency int
	// MaxRecordSize is the largest source record in bytes (DefaultMaxRecordSize when 0, at most
	// MaxRecordSizeLimit).
	MaxRecordSize int
	// PseudonymMemo is how many pseudonyms of numeric identifiers the copy remembers so that
	// each distinct identifier is pseudonymised once (DefaultPseudonymMemo when 0; negative
	// remembers none). A pseudonymiser that computes locally (ComputesLocally reports true) is
	// never memoised: its HMAC costs about as much as a lookup in a large memo.
	PseudonymMemo int
}

// Counts accounts for every data row read: Read = Written + OptedOut + Malformed.
type Counts struct {
	// Read is the number of data rows (records after the header) in the source.
	Read int64
	// Written is the number of rows written to the copy.
	Written int64
	// OptedOut is the number of rows dropped because an NHS number in them is in the opt-out set.
	OptedOut int64
	// InvalidIdentifier is the number of written rows in which an NHS number column that is
	// approved or checked for opt-outs held no valid NHS number. Such a cell, where approved, is
	// left empty: an invalid number is never pseudonymised as if it were valid.
	InvalidIdentifier int64
	// Malformed is the number of rows that could not be parsed, or had the wrong number of
	// fields, and were not copied.
	Malformed int64
}

// RowCounts returns the counts as a DatasetExtract's status records them.
func (c Counts) RowCounts() fivesafesv1alpha1.RowCounts {
	return fivesafesv1alpha1.RowCounts{
		Read:              c.Read,
		Written:           c.Written,
		OptedOut:          c.OptedOut,
		InvalidIdentifier: c.InvalidIdentifier,
		Malformed:         c.Malformed,
	}
}

// Result is what a copy holds.
type Result struct {
	// Counts accounts for every row read.
	Counts Counts
	// MalformedLines are the source lines on which the first MaxMalformedLines malformed rows start.
	MalformedLines []int64
	// SHA256 is the digest of the bytes written, "sha256:" and 64 lower-case hex characters.
	SHA256 string
	// Size is the number of bytes written.
	Size int64
}

// plan maps the source header onto the output.
type plan struct {
	width   int      // fields per source record
	out     []outCol // output columns in order
	nhsCols []int    // source indices of NHS number columns to parse (output or opt-out checked)
	nhsSlot []int    // for each source index, its slot in nhsCols, or -1
	header  []byte   // the output header line
	hasIDs  bool     // some output column is an identifier
}

type outCol struct {
	src  int
	kind fivesafesv1alpha1.IdentifierKind
}

// newPlan checks cfg against the source header and works out what to do with each field.
func newPlan(cfg *Config, header [][]byte) (*plan, error) {
	if len(cfg.Columns) == 0 {
		return nil, errors.New("no approved columns")
	}
	if len(cfg.Columns) > MaxColumns {
		return nil, fmt.Errorf("%d approved columns, more than %d", len(cfg.Columns), MaxColumns)
	}
	kinds := make(map[string]fivesafesv1alpha1.IdentifierKind, len(cfg.Schema))
	for _, c := range cfg.Schema {
		k := c.Identifier
		if k == "" {
			k = fivesafesv1alpha1.IdentifierNone
		}
		switch k {
		case fivesafesv1alpha1.IdentifierNone, fivesafesv1alpha1.IdentifierNHSNumber, fivesafesv1alpha1.IdentifierLocal:
		default:
			return nil, fmt.Errorf("schema column %q has unknown identifier kind %q", c.Name, k)
		}
		if _, dup := kinds[c.Name]; dup {
			return nil, fmt.Errorf("schema names column %q twice", c.Name)
		}
		kinds[c.Name] = k
	}
	index := make(map[string]int, len(header))
	dupes := make(map[string]bool)
	for i, h := range header {
		name := string(bytes.TrimSpace(h))
		if _, ok := index[name]; ok {
			dupes[name] = true
		}
		index[name] = i
	}
	find := func(name, role string) (int, error) {
		i, ok := index[name]
		switch {
		case !ok:
			return 0, fmt.Errorf("%s column %q is not in the source header", role, name)
		case dupes[name]:
			return 0, fmt.Errorf("%s column %q appears more than once in the source header", role, name)
		}
		return i, nil
	}
	p := &plan{width: len(header), nhsSlot: make([]int, len(header))}
	for i := range p.nhsSlot {
		p.nhsSlot[i] = -1
	}
	useNHS := func(src int) {
		if p.nhsSlot[src] < 0 {
			p.nhsSlot[src] = len(p.nhsCols)
			p.nhsCols = append(p.nhsCols, src)
		}
	}
	seen := make(map[string]bool, len(cfg.Columns))
	var hdr []byte
	for n, name := range cfg.Columns {
		if seen[name] {
			return nil, fmt.Errorf("approved column %q is listed twice", name)
		}
		seen[name] = true
		kind, ok := kinds[name]
		if !ok {
			return nil, fmt.Errorf("approved column %q is not in the dataset schema", name)
		}
		src, err := find(name, "approved")
		if err != nil {
			return nil, err
		}
		p.out = append(p.out, outCol{src: src, kind: kind})
		switch kind {
		case fivesafesv1alpha1.IdentifierNHSNumber:
			useNHS(src)
			p.hasIDs = true
		case fivesafesv1alpha1.IdentifierLocal:
			p.hasIDs = true
		}
		if n > 0 {
			hdr = append(hdr, ',')
		}
		hdr = appendField(hdr, []byte(name))
	}
	p.header = append(hdr, '\n')
	if cfg.OptOuts != nil {
		checked := 0
		for _, c := range cfg.Schema {
			if c.Identifier != fivesafesv1alpha1.IdentifierNHSNumber {
				continue
			}
			src, err := find(c.Name, "NHS number")
			if err != nil {
				return nil, fmt.Errorf("opt-outs cannot be applied: %w", err)
			}
			useNHS(src)
			checked++
		}
		if checked == 0 {
			return nil, errors.New("opt-outs cannot be applied: the schema has no NHS number column")
		}
	}
	if p.hasIDs && cfg.Pseudonymiser == nil {
		return nil, errors.New("an approved column is an identifier but no pseudonymiser was given")
	}
	return p, nil
}

// batch is a run of rows on their way to the output.
type batch struct {
	rows  int
	arena []byte // the bytes of every literal cell and identifier
	cells []cell // rows × output columns
	idRef []span // each identifier's place in arena
	ids   [][]byte
	outs  [][]byte
	done  chan struct{}
	err   error

	// Opt-out lookups are made together when the batch is full, so that their cache misses
	// overlap; opted-out rows are then removed before anything is pseudonymised.
	firstID []int32 // per row, the index of its first identifier
	invalid []bool  // per row, whether an NHS number in it was missing or invalid
	checks  []check // NHS numbers to look up
	drop    []bool  // per row, whether it is dropped
}

type check struct {
	row int32
	nhs uint64
}

type span struct{ off, n uint32 }

// cell is one output field: a literal in arena, or (id >= 0) the pseudonym of identifier id.
type cell struct {
	off, n uint32
	id     int32
}

func (b *batch) reset() {
	b.rows = 0
	b.arena = b.arena[:0]
	b.cells = b.cells[:0]
	b.idRef = b.idRef[:0]
	b.ids = b.ids[:0]
	b.outs = nil
	b.err = nil
	b.done = make(chan struct{})
	b.firstID = b.firstID[:0]
	b.invalid = b.invalid[:0]
	b.checks = b.checks[:0]
}

func (b *batch) literal(f []byte) {
	b.cells = append(b.cells, cell{off: uint32(len(b.arena)), n: uint32(len(f)), id: -1}) //nolint:gosec // bounded by maxBatchBytes and MaxRecordSizeLimit
	b.arena = append(b.arena, f...)
}

func (b *batch) identifier(f []byte) {
	b.cells = append(b.cells, cell{id: int32(len(b.idRef))})                      //nolint:gosec // at most MaxBatchSize × MaxColumns
	b.idRef = append(b.idRef, span{off: uint32(len(b.arena)), n: uint32(len(f))}) //nolint:gosec // bounded by maxBatchBytes and MaxRecordSizeLimit
	b.arena = append(b.arena, f...)
}

// applyOptOuts looks up the batch's NHS numbers, removes the rows of people who opted out, and
// counts what it removed and the invalid identifiers in what it kept.
func (b *batch) applyOptOuts(set OptOuts, width int, c *Counts) {
	b.drop = append(b.drop[:0], make([]bool, b.rows)...)
	for _, ch := range b.checks {
		if set.Contains(ch.nhs) {
			b.drop[ch.row] = true
		}
	}
	b.firstID = append(b.firstID, int32(len(b.idRef))) //nolint:gosec // at most MaxBatchSize × MaxColumns
	kept, ids := 0, int32(0)
	for r := range b.rows {
		if b.drop[r] {
			c.OptedOut++
			continue
		}
		if b.invalid[r] {
			c.InvalidIdentifier++
		}
		first, next := b.firstID[r], b.firstID[r+1]
		copy(b.idRef[ids:], b.idRef[first:next])
		row := b.cells[r*width : (r+1)*width]
		dst := b.cells[kept*width : (kept+1)*width]
		for k, cl := range row {
			if cl.id >= 0 {
				cl.id += ids - first
			}
			dst[k] = cl
		}
		ids += next - first
		kept++
	}
	b.rows = kept
	b.cells = b.cells[:kept*width]
	b.idRef = b.idRef[:ids]
}

// seal fixes the identifier slices once the arena no longer moves.
func (b *batch) seal() {
	for _, s := range b.idRef {
		b.ids = append(b.ids, b.arena[s.off:s.off+s.n:s.off+s.n])
	}
}

// Transform copies the CSV in src to dst as cfg says and accounts for every row. The output is
// CSV with a header, LF line endings and fields quoted where needed. It fails on an input it
// cannot read at all (no header, a required column missing, a read or write error, a
// pseudonymiser error, ctx cancelled); malformed rows are counted, not fatal. On error the output
// is incomplete and must be discarded.
func Transform(ctx context.Context, src io.Reader, dst io.Writer, cfg Config) (Result, error) {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	cfg.BatchSize = min(cfg.BatchSize, MaxBatchSize)
	cfg.MaxRecordSize = min(cfg.MaxRecordSize, MaxRecordSizeLimit)
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	rd := NewReader(src)
	if cfg.MaxRecordSize > 0 {
		rd.MaxRecordSize = cfg.MaxRecordSize
	}
	dw := NewDigestWriter(dst)
	var res Result
	header, err := rd.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = errors.New("the source is empty: no header row")
		}
		return res, fmt.Errorf("reading header: %w", err)
	}
	p, err := newPlan(&cfg, header)
	if err != nil {
		return res, err
	}
	if _, err := dw.Write(p.header); err != nil {
		return res, fmt.Errorf("writing header: %w", err)
	}

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ps := cfg.Pseudonymiser
	if local, ok := ps.(interface{ ComputesLocally() bool }); ok && local.ComputesLocally() {
		// A local HMAC costs about as much as a lookup in a large memo: remember nothing.
		cfg.PseudonymMemo = -1
	}
	if ps != nil && cfg.PseudonymMemo >= 0 {
		size := cfg.PseudonymMemo
		if size == 0 {
			size = DefaultPseudonymMemo
		}
		ps = newMemo(ps, size)
	}
	nbatches := cfg.Concurrency + 2
	free := make(chan *batch, nbatches)
	for range nbatches {
		free <- &batch{}
	}
	work := make(chan *batch, nbatches)
	ordered := make(chan *batch, nbatches)
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for b := range work {
				b.err = pseudonymise(ctx, ps, b)
				close(b.done)
			}
		})
	}
	var written int64
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		out := make([]byte, 0, 256<<10)
		failed := false
		for b := range ordered {
			<-b.done
			if !failed && b.err != nil {
				cancel(b.err)
				failed = true
			}
			if !failed {
				out = p.render(out[:0], b)
				if _, err := dw.Write(out); err != nil {
					cancel(fmt.Errorf("writing rows: %w", err))
					failed = true
				} else {
					written += int64(b.rows)
				}
			}
			free <- b
		}
	}()

	readErr := p.produce(ctx, rd, &cfg, free, work, ordered, &res)
	close(work)
	close(ordered)
	wg.Wait()
	<-writerDone
	res.Counts.Written = written
	res.SHA256, res.Size = dw.Digest(), dw.Size()
	if err := context.Cause(ctx); err != nil {
		return res, err
	}
	if readErr != nil {
		return res, readErr
	}
	return res, nil
}

// pseudonymise fills b.outs.
func pseudonymise(ctx context.Context, ps Pseudonymiser, b *batch) error {
	if len(b.ids) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	outs, err := ps.Pseudonymise(ctx, b.ids)
	if err != nil {
		return fmt.Errorf("pseudonymising a batch: %w", err)
	}
	if len(outs) != len(b.ids) {
		return fmt.Errorf("pseudonymiser returned %d pseudonyms for %d identifiers", len(outs), len(b.ids))
	}
	b.outs = outs
	return nil
}

// produce reads rows into batches and sends each to be pseudonymised and written, in order.
func (p *plan) produce(ctx context.Context, rd *Reader, cfg *Config, free <-chan *batch, work, ordered chan<- *batch, res *Result) error {
	c := &res.Counts
	var b *batch
	w := len(p.out)
	send := func() {
		if cfg.OptOuts != nil {
			b.applyOptOuts(cfg.OptOuts, w, c)
		}
		b.seal()
		if len(b.ids) > 0 {
			work <- b
		} else {
			close(b.done)
		}
		ordered <- b
		b = nil
	}
	nums := make([]nhsnumber.Number, len(p.nhsCols))
	valid := make([]bool, len(p.nhsCols))
	for {
		if b == nil {
			select {
			case b = <-free:
				b.reset()
			case <-ctx.Done():
				return nil
			}
		}
		fields, err := rd.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				return err
			}
			c.Read++
			res.malformed(pe.Line)
			continue
		}
		c.Read++
		if len(fields) != p.width {
			res.malformed(rd.Line())
			continue
		}
		invalid := false
		for k, src := range p.nhsCols {
			n, err := nhsnumber.ParseBytes(fields[src])
			nums[k], valid[k] = n, err == nil
			if err != nil {
				invalid = true
			} else if cfg.OptOuts != nil {
				b.checks = append(b.checks, check{row: int32(b.rows), nhs: n.Uint64()}) //nolint:gosec // at most MaxBatchSize
			}
		}
		if cfg.OptOuts != nil {
			b.invalid = append(b.invalid, invalid)
			b.firstID = append(b.firstID, int32(len(b.idRef))) //nolint:gosec // at most MaxBatchSize × MaxColumns
		} else if invalid {
			c.InvalidIdentifier++
		}
		for _, oc := range p.out {
			f := fields[oc.src]
			switch oc.kind {
			case fivesafesv1alpha1.IdentifierNHSNumber:
				if k := p.nhsSlot[oc.src]; valid[k] {
					b.identifier(nums[k][:])
				} else {
					b.literal(nil)
				}
			case fivesafesv1alpha1.IdentifierLocal:
				if t := bytes.TrimSpace(f); len(t) > 0 {
					b.identifier(t)
				} else {
					b.literal(nil)
				}
			default:
				b.literal(f)
			}
		}
		b.rows++
		if b.rows >= cfg.BatchSize || len(b.arena) >= maxBatchBytes {
			send()
		}
	}
	if b != nil && b.rows > 0 {
		send()
	}
	return nil
}

func (r *Result) malformed(line int64) {
	r.Counts.Malformed++
	if len(r.MalformedLines) < MaxMalformedLines {
		r.MalformedLines = append(r.MalformedLines, line)
	}
}

// render appends b's rows as CSV to out.
func (p *plan) render(out []byte, b *batch) []byte {
	w := len(p.out)
	for r := 0; r < b.rows; r++ {
		row := b.cells[r*w : (r+1)*w]
		for i, c := range row {
			if i > 0 {
				out = append(out, ',')
			}
			if c.id >= 0 {
				out = append(out, b.outs[c.id]...)
			} else {
				out = appendField(out, b.arena[c.off:c.off+c.n])
			}
		}
		out = append(out, '\n')
	}
	return out
}

// needsQuote marks the bytes that force a field to be quoted.
var needsQuote = [256]bool{',': true, '"': true, '\n': true, '\r': true}

// appendField appends f as a CSV field, quoted when it holds a comma, quote, CR or LF or starts
// with a space or tab.
func appendField(out, f []byte) []byte {
	quote := len(f) > 0 && (f[0] == ' ' || f[0] == '\t')
	if !quote {
		for _, c := range f {
			if needsQuote[c] {
				quote = true
				break
			}
		}
	}
	if !quote {
		return append(out, f...)
	}
	out = append(out, '"')
	for {
		i := bytes.IndexByte(f, '"')
		if i < 0 {
			break
		}
		out = append(out, f[:i+1]...)
		out = append(out, '"')
		f = f[i+1:]
	}
	out = append(out, f...)
	return append(out, '"')
}
