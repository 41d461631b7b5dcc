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

package extract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// DefaultMaxRecordSize is the largest record, in bytes, a Reader accepts unless told otherwise.
const DefaultMaxRecordSize = 1 << 20

const initialBufferSize = 64 << 10

// Errors a Reader reports for a malformed record, inside a *ParseError.
var (
	// ErrBareQuote is a quote inside a field that does not start with one.
	ErrBareQuote = errors.New(`bare " in non-quoted field`)
	// ErrQuote is a quoted field not closed, or followed by something other than a comma or the
	// end of the line.
	ErrQuote = errors.New(`extraneous or missing " in quoted field`)
	// ErrInvalidUTF8 is a record that is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("record is not valid UTF-8")
	// ErrRecordTooLong is a record longer than the reader's maximum record size.
	ErrRecordTooLong = errors.New("record is too long")
)

// ParseError is a malformed record. The Reader has skipped it and can go on reading. It never
// holds the record's content.
type ParseError struct {
	// Line is the source line on which the record starts, counting from 1.
	Line int64
	// Err is what was wrong.
	Err error
}

// Error says what was wrong and where.
func (e *ParseError) Error() string { return fmt.Sprintf("record on line %d: %v", e.Line, e.Err) }

// Unwrap returns what was wrong.
func (e *ParseError) Unwrap() error { return e.Err }

// Reader reads RFC 4180 records: fields separated by commas, records by LF or CRLF, fields
// optionally quoted with `"` and a quote inside a quoted field written twice. A byte order mark
// at the start is skipped, as are empty lines; inside a quoted field CRLF is read as LF, and a bare
// CR is kept. On valid UTF-8 it reads the records encoding/csv (with LazyQuotes off) reads, and
// finds a malformed record where that package finds one; it also reports records that are not
// valid UTF-8.
//
// A malformed record is reported as a *ParseError and skipped up to the end of the line on which
// the problem was found; any other error is fatal. Reader is not safe for concurrent use.
type Reader struct {
	// MaxRecordSize is the largest record in bytes; set it before the first Read.
	MaxRecordSize int

	r        io.Reader
	buf      []byte
	pos, end int
	eof      bool
	err      error // first read error other than io.EOF
	started  bool
	line     int64 // newlines consumed so far
	recLine  int64
	fields   [][]byte
	scratch  []byte
}

// NewReader returns a Reader reading from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: r, MaxRecordSize: DefaultMaxRecordSize}
}

// Line returns the source line on which the record last returned starts, counting from 1.
func (r *Reader) Line() int64 { return r.recLine }

// Read returns the next record. The fields are valid until the next call to Read. At the end of
// the input it returns io.EOF.
func (r *Reader) Read() ([][]byte, error) {
	if !r.started {
		r.start()
	}
	for {
		if r.err != nil {
			// A failed read may have cut a record short: nothing more is trusted.
			return nil, r.err
		}
		if r.pos == r.end {
			if r.eof {
				return nil, io.EOF
			}
			r.fill() // The buffer is empty, so there is room.
			continue
		}
		r.recLine = r.line + 1
		res := r.parse()
		switch res.status {
		case needMore:
			if !r.fill() {
				return nil, r.skipTooLong()
			}
		case emptyLine:
			r.pos = res.next
			r.line += int64(res.newlines)
		case malformed:
			r.line += int64(bytes.Count(r.buf[r.pos:res.next], nl))
			r.pos = res.next
			r.skipLine()
			return nil, &ParseError{Line: r.recLine, Err: res.err}
		default:
			raw := r.buf[r.pos:res.next]
			r.pos = res.next
			r.line += int64(res.newlines)
			if !utf8.Valid(raw) {
				return nil, &ParseError{Line: r.recLine, Err: ErrInvalidUTF8}
			}
			return r.fields, nil
		}
	}
}

var nl = []byte{'\n'}

// start reads enough to see whether the input begins with a byte order mark, and skips it.
func (r *Reader) start() {
	r.started = true
	if r.MaxRecordSize <= 0 {
		r.MaxRecordSize = DefaultMaxRecordSize
	}
	r.buf = make([]byte, min(initialBufferSize, r.MaxRecordSize+1))
	for r.end < 3 && !r.eof {
		r.fill()
	}
	if bytes.HasPrefix(r.buf[:r.end], []byte("\xef\xbb\xbf")) {
		r.pos = 3
	}
}

// fill moves unread bytes to the front of the buffer, grows it if full, and reads more. A read
// error is kept in r.err. It reports false, reading nothing, when the buffer is full and already
// larger than the maximum record size.
func (r *Reader) fill() bool {
	if r.pos > 0 {
		r.end = copy(r.buf, r.buf[r.pos:r.end])
		r.pos = 0
	}
	if r.end == len(r.buf) {
		if len(r.buf) > r.MaxRecordSize {
			return false
		}
		nb := make([]byte, min(2*len(r.buf), r.MaxRecordSize+1))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	for range 100 {
		n, err := r.r.Read(r.buf[r.end:])
		r.end += n
		if err == io.EOF {
			r.eof = true
			return true
		}
		if err != nil {
			r.eof = true
			r.err = fmt.Errorf("reading csv: %w", err)
			return true
		}
		if n > 0 {
			return true
		}
	}
	r.eof = true
	r.err = fmt.Errorf("reading csv: %w", io.ErrNoProgress)
	return true
}

// skipTooLong drops the buffered part of an over-long record and the rest of its line.
func (r *Reader) skipTooLong() error {
	r.line += int64(bytes.Count(r.buf[r.pos:r.end], nl))
	r.pos = r.end
	r.skipLine()
	return &ParseError{Line: r.recLine, Err: ErrRecordTooLong}
}

// skipLine consumes input up to and including the next LF.
func (r *Reader) skipLine() {
	for {
		if i := bytes.IndexByte(r.buf[r.pos:r.end], '\n'); i >= 0 {
			r.pos += i + 1
			r.line++
			return
		}
		r.pos = r.end
		if r.eof {
			return
		}
		r.fill() // The buffer is empty, so there is room.
	}
}

type status int

const (
	complete status = iota
	needMore
	emptyLine
	malformed
)

type result struct {
	status   status
	next     int // where the next record starts (or, for malformed, where the problem was found)
	newlines int
	err      error
}

// parse parses one record starting at r.pos from the buffered bytes.
func (r *Reader) parse() result {
	b := r.buf[:r.end]
	p := r.pos
	r.fields = r.fields[:0]
	var line []byte
	res := result{status: complete}
	if i := bytes.IndexByte(b[p:], '\n'); i >= 0 {
		line, res.next, res.newlines = b[p:p+i], p+i+1, 1
	} else if r.eof {
		line, res.next = b[p:], len(b)
	} else {
		return result{status: needMore}
	}
	if bytes.IndexByte(line, '"') >= 0 {
		return r.parseQuoted()
	}
	// Fast path: a line with no quotes is split at commas.
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	if len(line) == 0 {
		res.status = emptyLine
		return res
	}
	for {
		j := bytes.IndexByte(line, ',')
		if j < 0 {
			r.fields = append(r.fields, line)
			return res
		}
		r.fields = append(r.fields, line[:j])
		line = line[j+1:]
	}
}

// parseQuoted parses a record that has at least one quote, field by field.
func (r *Reader) parseQuoted() result {
	b := r.buf[:r.end]
	i := r.pos
	r.scratch = r.scratch[:0]
	done := func(next int) result {
		return result{status: complete, next: next, newlines: bytes.Count(b[r.pos:next], nl)}
	}
	for {
		if i < len(b) && b[i] == '"' {
			i++
			start := i
			unescape := false
			for {
				q := bytes.IndexByte(b[i:], '"')
				if q < 0 {
					if r.eof {
						return result{status: malformed, next: len(b), err: ErrQuote}
					}
					return result{status: needMore}
				}
				i += q
				if i+1 == len(b) && !r.eof {
					return result{status: needMore}
				}
				if i+1 < len(b) && b[i+1] == '"' {
					unescape = true
					i += 2
					continue
				}
				break
			}
			field := b[start:i]
			i++ // The closing quote.
			if unescape || bytes.Contains(field, []byte("\r\n")) {
				field = r.unescape(field)
			}
			if i == len(b) { // Only reached at the end of the input.
				r.fields = append(r.fields, field)
				return done(i)
			}
			switch b[i] {
			case ',':
				r.fields = append(r.fields, field)
				i++
				continue
			case '\n':
				r.fields = append(r.fields, field)
				return done(i + 1)
			case '\r':
				if i+1 == len(b) {
					if !r.eof {
						return result{status: needMore}
					}
					r.fields = append(r.fields, field)
					return done(i + 1)
				}
				if b[i+1] == '\n' {
					r.fields = append(r.fields, field)
					return done(i + 2)
				}
			}
			return result{status: malformed, next: i, err: ErrQuote}
		}
		j := i
		for ; j < len(b); j++ {
			c := b[j]
			if c == ',' || c == '\n' {
				break
			}
			if c == '"' {
				return result{status: malformed, next: j, err: ErrBareQuote}
			}
		}
		if j == len(b) && !r.eof {
			return result{status: needMore}
		}
		field := b[i:j]
		if j == len(b) || b[j] == '\n' {
			if n := len(field); n > 0 && field[n-1] == '\r' {
				field = field[:n-1]
			}
			r.fields = append(r.fields, field)
			return done(min(j+1, len(b)))
		}
		r.fields = append(r.fields, field)
		i = j + 1
	}
}

// unescape copies a quoted field's content into scratch, turning "" into " and CRLF into LF.
func (r *Reader) unescape(f []byte) []byte {
	start := len(r.scratch)
	for k := 0; k < len(f); k++ {
		c := f[k]
		switch {
		case c == '"':
			k++ // The content only holds quotes in pairs.
		case c == '\r' && k+1 < len(f) && f[k+1] == '\n':
			continue
		}
		r.scratch = append(r.scratch, c)
	}
	return r.scratch[start:len(r.scratch):len(r.scratch)]
}
