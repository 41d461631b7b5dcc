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

package egress

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/fivesafes/fivesafes/internal/sdc"
)

// readSize is the size of each read from the file.
const readSize = 64 << 10

// maxEmptyReads is how many reads in a row may return nothing before the reader is given up on.
const maxEmptyReads = 100

// consumer analyses a file's content, fed in chunks after its type is known.
type consumer interface {
	write(b []byte)
	finish()
}

// locList is the first few locations of one kind of finding and how many there are in all.
type locList struct {
	n     int64
	items []string
}

// maxLocationText keeps a location list, with its "and N more", within the 256 bytes the API
// allows a finding's location.
const maxLocationText = 200

func (l *locList) String() string {
	var b strings.Builder
	shown := 0
	for _, it := range l.items {
		if shown > 0 && b.Len()+2+len(it) > maxLocationText {
			break
		}
		if shown > 0 {
			b.WriteString("; ")
		}
		b.WriteString(it)
		shown++
	}
	if more := l.n - int64(shown); more > 0 {
		b.WriteString(" and " + strconv.FormatInt(more, 10) + " more")
	}
	return b.String()
}

// analysis is the state shared by the analysers of one file.
type analysis struct {
	rep   *FileReport
	rules sdc.Rules
	lim   Limits
	locs  map[string]*locList
}

func (a *analysis) list(key string) *locList {
	l := a.locs[key]
	if l == nil {
		l = &locList{}
		a.locs[key] = l
	}
	return l
}

// at records one more finding of a kind, and where it is if few have been recorded.
func (a *analysis) at(key string, where func() string) {
	l := a.list(key)
	l.n++
	if len(l.items) < MaxLocations {
		l.items = append(l.items, where())
	}
}

// setList records locations computed elsewhere.
func (a *analysis) setList(key string, items []string) {
	if len(items) == 0 {
		return
	}
	l := a.list(key)
	l.n = int64(len(items))
	l.items = items[:min(len(items), MaxLocations)]
}

// identifiers records identifier hits at one place.
func (a *analysis) identifiers(h IdentifierHits, where func() string) {
	ids := &a.rep.Identifiers
	if h.NHSNumbers > 0 {
		ids.NHSNumbers += int64(h.NHSNumbers)
		a.at(LocNHSNumbers, where)
	}
	if h.Postcodes > 0 {
		ids.Postcodes += int64(h.Postcodes)
		a.at(LocPostcodes, where)
	}
	if h.Pseudonyms > 0 {
		ids.Pseudonyms += int64(h.Pseudonyms)
		a.at(LocPseudonyms, where)
	}
}

// limit records that a limit stopped the analysis.
func (a *analysis) limit(name string) {
	a.rep.Complete = false
	if !slices.Contains(a.rep.LimitsExceeded, name) {
		a.rep.LimitsExceeded = append(a.rep.LimitsExceeded, name)
	}
}

// binaryConsumer looks inside files that are not text: for embedded archives and executables,
// and in PDFs for active content and attachments.
type binaryConsumer struct {
	a   *analysis
	pdf *patternScanner
}

func (b *binaryConsumer) write(p []byte) {
	if b.pdf != nil {
		b.pdf.write(p)
	}
}

func (b *binaryConsumer) finish() {
	if b.pdf != nil {
		b.pdf.finish()
	}
}

// Analyse reads a file's content from r and summarises what the egress policy needs to decide on
// it. name is the file's path, used in the report and for its extension in messages, never to
// decide its type. Reading stops at opts.Limits.MaxBytes; every parser is capped, so no content,
// however hostile, makes Analyse use unbounded memory or time. Compressed content is never
// decompressed. The error is non-nil only when r fails, the context ends or opts are invalid;
// hostile or broken content is reported, not returned as an error.
func Analyse(ctx context.Context, name string, r io.Reader, opts Options) (FileReport, error) {
	rules, err := opts.rules()
	if err != nil {
		return FileReport{}, err
	}
	lim := opts.Limits.withDefaults()
	rep := FileReport{
		Path:                   name,
		Extension:              strings.ToLower(strings.TrimPrefix(path.Ext(name), ".")),
		Complete:               true,
		LimitsExceeded:         []string{},
		Counts:                 Counts{Layout: layoutNone, Columns: []int{}, Threshold: rules.MinimumCellCount},
		IndividualLevelReasons: []string{},
		Locations:              map[string]string{},
	}
	a := &analysis{rep: &rep, rules: rules, lim: lim, locs: map[string]*locList{}}

	h := sha256.New()
	var tail tailBuffer
	var head []byte
	var cons consumer
	var embedded *patternScanner
	var table *tableAnalyser
	var sniffed sniffResult
	start := func(complete bool) {
		sniffed = sniff(head, complete, lim.MaxJSONDepth)
		rep.Type, rep.Format = sniffed.typ, sniffed.format
		switch {
		case sniffed.typ == TypeCSV || sniffed.typ == TypeTSV:
			table = newTableAnalyser(a, sniffed.delim)
			cons = table
		case sniffed.typ.IsText():
			cons = newTextAnalyser(a, sniffed.typ)
		default:
			b := &binaryConsumer{a: a}
			if sniffed.typ == TypePDF {
				b.pdf = newPatternScanner(pdfPatterns, false, func(p *scanPattern, _ int64) {
					if p.name == LocActiveContent {
						rep.ActiveContent++
					} else {
						rep.EmbeddedFiles++
					}
				})
			}
			cons = b
		}
		if !sniffed.typ.IsText() && sniffed.typ != TypeArchive && sniffed.typ != TypeExecutable {
			embedded = newPatternScanner(embeddedPatterns, true, func(p *scanPattern, _ int64) {
				if rep.Embedded == "" {
					rep.Embedded = p.name
				}
			})
			embedded.write(head)
		}
		cons.write(head)
	}

	buf := make([]byte, readSize)
	var size int64
	over := false
	for empty := 0; ; {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("analysing %q: %w", name, err)
		}
		n, rerr := r.Read(buf)
		if n == 0 && rerr == nil {
			// A reader that keeps returning nothing would otherwise hang the analysis.
			if empty++; empty >= maxEmptyReads {
				return rep, fmt.Errorf("reading %q: %w", name, io.ErrNoProgress)
			}
			continue
		}
		empty = 0
		chunk := buf[:n]
		if size+int64(n) > lim.MaxBytes {
			chunk = chunk[:lim.MaxBytes-size]
			over = true
		}
		size += int64(len(chunk))
		if len(chunk) > 0 {
			h.Write(chunk)
			tail.write(chunk)
			if cons == nil {
				head = append(head, chunk...)
				if len(head) >= sniffSize {
					start(false)
				}
			} else {
				if embedded != nil {
					embedded.write(chunk)
				}
				cons.write(chunk)
			}
		}
		if over {
			a.limit(LimitSize)
			break
		}
		if errors.Is(rerr, io.EOF) {
			break
		}
		if rerr != nil {
			return rep, fmt.Errorf("reading %q: %w", name, rerr)
		}
	}
	readAll := !over
	if cons == nil {
		start(readAll)
	}
	cons.finish()
	if embedded != nil {
		embedded.finish()
	}
	rep.Size = size
	if readAll {
		rep.SHA256 = "sha256:" + hex.EncodeToString(h.Sum(nil))
	}
	switch rep.Type {
	case TypeArchive:
		rep.Archive = true
	case TypeExecutable:
		rep.Executable = true
	case TypeBinary:
		rep.Binary = true
	}
	if readAll && !rep.Archive && rep.Embedded == "" && zipAtEnd(tail.bytes(), size) {
		rep.Embedded = "zip"
	}
	if rep.Type != TypePDF && rep.Embedded == "" &&
		bytes.Contains(head[min(1, len(head)):min(len(head), 1024)], []byte("%PDF-")) {
		rep.Embedded = "pdf"
	}
	if readAll {
		rep.TrailingData = trailingData(rep.Type, tail.bytes())
	}
	if opts.Sidecar != nil {
		if table != nil {
			table.checkSidecar(opts.Sidecar)
		} else {
			rep.Sidecar = SidecarSummary{Present: true, Error: sidecarErr("a sidecar describes a CSV or TSV table, and this file is not one").Error()}
		}
	}
	for k, l := range a.locs {
		if l.n > 0 {
			rep.Locations[k] = l.String()
		}
	}
	return rep, nil
}
