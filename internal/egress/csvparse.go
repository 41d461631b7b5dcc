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

// csvStop says why a csvParser stopped.
type csvStop uint8

const (
	csvRunning csvStop = iota
	csvStopLine
	csvStopColumns
	csvStopCaller
)

// csvRecord is one parsed record. Its fields alias the parser's buffer and are valid only during
// the callback.
type csvRecord struct {
	fields [][]byte
	// malformed is true for a stray quote or an unterminated quoted field.
	malformed bool
	// quoted is true when any field was quoted.
	quoted bool
	// line is the physical line the record starts on, from 1.
	line int64
}

// blank reports whether the record is an empty line.
func (r *csvRecord) blank() bool {
	return len(r.fields) == 1 && len(r.fields[0]) == 0 && !r.quoted
}

// Parser states.
const (
	stFieldStart = iota
	stUnquoted
	stQuoted
	stQuoteInQuoted
	stCR
	stQuoteCR
)

// csvParser is a streaming RFC 4180 parser fed with chunks of any size. It is lenient like
// encoding/csv with LazyQuotes (a stray quote is kept as a literal and the record marked
// malformed), treats CRLF and LF as line ends and a lone CR as data, and never holds more than one
// record, whose size is capped: a longer physical line or record stops it.
type csvParser struct {
	delim     byte
	maxLine   int
	maxFields int
	emit      func(*csvRecord) bool

	special [256]bool
	state   uint8
	buf     []byte
	ends    []int
	rec     csvRecord
	// lineLen is the length of the current physical line.
	lineLen int
	// lines counts physical lines started.
	lines int64
	// started is true once the current record has any byte.
	started bool
	stop    csvStop
}

func newCSVParser(delim byte, maxLine, maxFields int, emit func(*csvRecord) bool) *csvParser {
	p := &csvParser{delim: delim, maxLine: maxLine, maxFields: maxFields, emit: emit}
	for _, c := range []byte{delim, '\n', '\r', '"'} {
		p.special[c] = true
	}
	p.rec.line = 1
	return p
}

// write parses a chunk. It returns false once the parser has stopped.
func (p *csvParser) write(b []byte) bool {
	if p.stop != csvRunning {
		return false
	}
	if len(b) > 0 && p.lines == 0 {
		p.lines = 1
	}
	i := 0
	for i < len(b) {
		c := b[i]
		switch p.state {
		case stFieldStart, stUnquoted:
			if p.state == stFieldStart && c == '"' {
				p.rec.quoted = true
				p.started = true
				p.state = stQuoted
				i++
				if !p.grow(1) {
					return false
				}
				continue
			}
			if !p.special[c] {
				j := i + 1
				for j < len(b) && !p.special[b[j]] {
					j++
				}
				if !p.grow(j - i) {
					return false
				}
				p.buf = append(p.buf, b[i:j]...)
				p.started = true
				p.state = stUnquoted
				i = j
				continue
			}
			i++
			switch c {
			case p.delim:
				if !p.grow(1) || !p.endField() {
					return false
				}
			case '\n':
				if !p.endRecord() {
					return false
				}
				p.newLine()
			case '\r':
				if !p.grow(1) {
					return false
				}
				p.state = stCR
			case '"':
				// A quote inside an unquoted field is kept.
				if !p.grow(1) {
					return false
				}
				p.rec.malformed = true
				p.buf = append(p.buf, c)
			}
		case stQuoted:
			j := i
			for j < len(b) && b[j] != '"' && b[j] != '\n' {
				j++
			}
			if !p.grow(j - i) {
				return false
			}
			p.buf = append(p.buf, b[i:j]...)
			i = j
			if i == len(b) {
				continue
			}
			i++
			if !p.grow(1) {
				return false
			}
			if b[j] == '\n' {
				p.buf = append(p.buf, '\n')
				p.newLine()
				continue
			}
			p.state = stQuoteInQuoted
		case stQuoteInQuoted:
			switch c {
			case '"':
				i++
				if !p.grow(1) {
					return false
				}
				p.buf = append(p.buf, '"')
				p.state = stQuoted
			case p.delim:
				i++
				if !p.grow(1) || !p.endField() {
					return false
				}
			case '\n':
				i++
				if !p.endRecord() {
					return false
				}
				p.newLine()
			case '\r':
				i++
				if !p.grow(1) {
					return false
				}
				p.state = stQuoteCR
			default:
				// A closing quote followed by data: keep the quote and stay quoted.
				p.rec.malformed = true
				p.buf = append(p.buf, '"')
				p.state = stQuoted
			}
		case stQuoteCR:
			if c == '\n' {
				i++
				if !p.endRecord() {
					return false
				}
				p.newLine()
				continue
			}
			// A closing quote and a lone CR: both are data and the field stays quoted.
			p.rec.malformed = true
			p.buf = append(p.buf, '"', '\r')
			p.state = stQuoted
		case stCR:
			if c == '\n' {
				i++
				if !p.endRecord() {
					return false
				}
				p.newLine()
				continue
			}
			// A lone CR is data.
			p.buf = append(p.buf, '\r')
			p.started = true
			p.state = stUnquoted
		}
	}
	return true
}

// grow accounts for n more bytes of the current line and record, stopping the parser when either
// gets too long.
func (p *csvParser) grow(n int) bool {
	p.lineLen += n
	if p.lineLen > p.maxLine || len(p.buf)+n > p.maxLine {
		p.stop = csvStopLine
		return false
	}
	return true
}

func (p *csvParser) newLine() {
	p.lineLen = 0
	p.lines++
}

func (p *csvParser) endField() bool {
	p.ends = append(p.ends, len(p.buf))
	p.started = true
	p.state = stFieldStart
	if len(p.ends) >= p.maxFields {
		p.stop = csvStopColumns
		return false
	}
	return true
}

func (p *csvParser) endRecord() bool {
	p.ends = append(p.ends, len(p.buf))
	p.rec.fields = p.rec.fields[:0]
	start := 0
	for _, e := range p.ends {
		p.rec.fields = append(p.rec.fields, p.buf[start:e])
		start = e
	}
	ok := p.emit(&p.rec)
	p.buf = p.buf[:0]
	p.ends = p.ends[:0]
	p.rec.malformed = false
	p.rec.quoted = false
	p.rec.line = p.lines + 1
	p.started = false
	p.state = stFieldStart
	if !ok {
		p.stop = csvStopCaller
	}
	return ok
}

// physicalLines is the number of lines seen, a last line without a line end included.
func (p *csvParser) physicalLines() int64 {
	if p.lines > 0 && p.lineLen == 0 {
		return p.lines - 1
	}
	return p.lines
}

// finish ends the input, emitting a last record that has no line end.
func (p *csvParser) finish() {
	if p.stop != csvRunning {
		return
	}
	switch p.state {
	case stQuoted:
		p.rec.malformed = true
		// As in encoding/csv, a CR just before the end of input is dropped.
		if n := len(p.buf); n > 0 && p.buf[n-1] == '\r' && (len(p.ends) == 0 || p.ends[len(p.ends)-1] < n) {
			p.buf = p.buf[:n-1]
		}
	case stCR, stQuoteCR:
		p.endRecord()
		return
	}
	if p.started || len(p.buf) > 0 || len(p.ends) > 0 {
		p.endRecord()
	}
}
