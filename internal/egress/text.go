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
	"strconv"
	"unicode/utf8"
)

// textAnalyser checks text files line by line: NUL bytes, UTF-8, identifiers, dates of birth,
// Markdown tables and, in SVG and HTML, active content. JSON is also validated as a stream.
type textAnalyser struct {
	a       *analysis
	typ     Type
	json    *jsonValidator
	partial []byte
	lineNo  int64
	stopped bool
	scratch []byte
}

func newTextAnalyser(a *analysis, typ Type) *textAnalyser {
	t := &textAnalyser{a: a, typ: typ}
	if typ == TypeJSON {
		t.json = newJSONValidator(a.lim.MaxJSONDepth)
	}
	return t
}

func (t *textAnalyser) write(b []byte) {
	if t.json != nil {
		t.json.write(b)
	}
	maxLine := t.a.lim.MaxLineBytes
	for len(b) > 0 && !t.stopped {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(t.partial)+len(b) > maxLine {
				t.tooLong()
				return
			}
			t.partial = append(t.partial, b...)
			return
		}
		seg := b[:i]
		b = b[i+1:]
		if len(t.partial)+len(seg) > maxLine {
			t.tooLong()
			return
		}
		if len(t.partial) == 0 {
			t.line(seg)
			continue
		}
		t.partial = append(t.partial, seg...)
		t.line(t.partial)
		t.partial = t.partial[:0]
	}
}

func (t *textAnalyser) tooLong() {
	t.stopped = true
	no := t.lineNo + 1
	t.a.limit(LimitLineLength)
	t.a.at(LocLineLength, func() string { return "line " + strconv.FormatInt(no, 10) })
}

func (t *textAnalyser) finish() {
	if !t.stopped && len(t.partial) > 0 {
		t.line(t.partial)
	}
	r := t.a.rep
	r.Lines = t.lineNo
	if t.json != nil {
		if t.json.tooDeep {
			t.a.limit(LimitJSONDepth)
		}
		if !t.json.valid() && !t.json.tooDeep {
			// Not JSON after all: it was analysed as text all the same.
			r.Type = TypeText
		}
	}
}

// line checks one line, without its line end.
func (t *textAnalyser) line(l []byte) {
	t.lineNo++
	no := t.lineNo
	where := func() string { return "line " + strconv.FormatInt(no, 10) }
	if n := len(l); n > 0 && l[n-1] == '\r' {
		l = l[:n-1]
	}
	r := t.a.rep
	if nul := bytes.Count(l, []byte{0}); nul > 0 {
		r.NULBytes += int64(nul)
		t.a.at(LocNULBytes, where)
	}
	if !utf8.Valid(l) {
		r.InvalidUTF8++
		t.a.at(LocInvalidUTF8, where)
	}
	t.a.identifiers(ScanIdentifiers(l), where)
	if n := datesOfBirthInText(l, &t.scratch); n > 0 {
		r.Identifiers.DatesOfBirth += int64(n)
		t.a.at(LocDatesOfBirth, where)
	}
	switch t.typ {
	case TypeMarkdown:
		if isMarkdownTableRow(l) {
			r.MarkdownTables++
		}
	case TypeSVG, TypeHTML:
		if n := activeContent(lowerInto(&t.scratch, l)); n > 0 {
			r.ActiveContent += int64(n)
			t.a.at(LocActiveContent, where)
		}
	}
}

// activeMarkup are lower-case markup fragments that run code or embed other documents.
var activeMarkup = [][]byte{
	[]byte("<script"), []byte("javascript:"), []byte("vbscript:"), []byte("<foreignobject"),
	[]byte("<iframe"), []byte("<object"), []byte("<embed"), []byte("data:text/html"),
}

// activeContent counts scripts, embedded documents and event handler attributes (onload= and the
// like) in a lower-case line of SVG or HTML.
func activeContent(low []byte) int {
	n := 0
	for _, m := range activeMarkup {
		n += bytes.Count(low, m)
	}
	for i := 1; i+2 < len(low); i++ {
		if low[i] != 'o' || low[i+1] != 'n' {
			continue
		}
		if p := low[i-1]; p != ' ' && p != '\t' && p != '/' && p != '"' && p != '\'' {
			continue
		}
		j := i + 2
		for j < len(low) && low[j] >= 'a' && low[j] <= 'z' {
			j++
		}
		if j-i-2 < 3 {
			continue
		}
		for j < len(low) && (low[j] == ' ' || low[j] == '\t') {
			j++
		}
		if j < len(low) && low[j] == '=' {
			n++
		}
	}
	return n
}
