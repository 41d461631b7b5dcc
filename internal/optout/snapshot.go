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

package optout

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

var bom = []byte("\xef\xbb\xbf")

// MaxLineLength is the longest line, in bytes without its line ending, that can hold an NHS
// number; longer lines are counted as invalid.
const MaxLineLength = 4096

// Snapshot is what was read from one opt-out snapshot.
type Snapshot struct {
	// Set holds the distinct valid NHS numbers.
	Set *Set
	// Count is the number of distinct valid NHS numbers.
	Count int64
	// Invalid is the number of lines that were not valid NHS numbers. Empty lines and a header
	// are not counted.
	Invalid int64
	// Header reports whether the first line was taken as a header and skipped.
	Header bool
	// Digest is the sha256 of the snapshot's bytes: "sha256:" and 64 lower-case hex characters.
	Digest string
	// Size is the snapshot's size in bytes.
	Size int64
}

// Parse reads a snapshot: one NHS number a line, or CSV whose first column is the NHS number
// (optionally quoted). A leading byte order mark and CRLF line endings are accepted, empty lines
// are skipped, and an NHS number may be written with spaces or dashes. The first non-empty line is
// taken as a header, not counted as invalid, when it is not a valid NHS number and has a letter
// in it. Parse fails only when r fails or ctx is done; the digest covers every byte read.
func Parse(ctx context.Context, r io.Reader) (*Snapshot, error) {
	h := sha256.New()
	counter := &countingWriter{w: h}
	br := bufio.NewReaderSize(io.TeeReader(r, counter), 64<<10)
	if p, _ := br.Peek(len(bom)); bytes.Equal(p, bom) {
		_, _ = br.Discard(len(bom))
	}
	b := NewBuilder()
	snap := &Snapshot{}
	first := true
	for lines := 0; ; lines++ {
		if lines%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		line, tooLong, err := readLine(br)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("reading opt-out snapshot: %w", err)
		}
		if len(bytes.TrimSpace(line)) > 0 || tooLong {
			switch v, ok := numberOnLine(line, tooLong); {
			case ok:
				if !b.Add(v) {
					return nil, fmt.Errorf("opt-out snapshot holds more than %d numbers", MaxLen)
				}
			case first && isHeader(line):
				snap.Header = true
			default:
				snap.Invalid++
			}
			first = false
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	snap.Set = b.Set()
	snap.Count = int64(snap.Set.Len())
	snap.Digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	snap.Size = counter.n
	return snap, nil
}

// readLine returns the next line without its line ending (LF or CRLF). A line longer than
// MaxLineLength is consumed and reported as too long, with no content. At the end of the input
// err is io.EOF, possibly with a last line.
func readLine(br *bufio.Reader) (line []byte, tooLong bool, err error) {
	line, err = br.ReadSlice('\n')
	for errors.Is(err, bufio.ErrBufferFull) {
		tooLong = true
		_, err = br.ReadSlice('\n')
	}
	if tooLong {
		return nil, true, err
	}
	line = bytes.TrimSuffix(line, []byte{'\n'})
	line = bytes.TrimSuffix(line, []byte{'\r'})
	if len(line) > MaxLineLength {
		return nil, true, err
	}
	return line, false, err
}

// numberOnLine returns the NHS number in the line's first field.
func numberOnLine(line []byte, tooLong bool) (uint64, bool) {
	if tooLong {
		return 0, false
	}
	field := line
	if rest, quoted := bytes.CutPrefix(bytes.TrimLeft(line, " \t"), []byte{'"'}); quoted {
		end := bytes.IndexByte(rest, '"')
		if end < 0 {
			return 0, false
		}
		if tail := bytes.TrimLeft(rest[end+1:], " \t"); len(tail) > 0 && tail[0] != ',' {
			return 0, false
		}
		field = rest[:end]
	} else if i := bytes.IndexByte(line, ','); i >= 0 {
		field = line[:i]
	}
	n, err := nhsnumber.ParseBytes(bytes.TrimSpace(field))
	if err != nil {
		return 0, false
	}
	return n.Uint64(), true
}

// isHeader reports whether a line that is not an NHS number looks like a header: it has a letter.
func isHeader(line []byte) bool {
	for _, c := range line {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return true
		}
	}
	return false
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
