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
	"encoding/binary"
)

// scanPattern is a byte pattern looked for anywhere in a stream.
type scanPattern struct {
	prefix string
	pb     []byte
	// need is how many bytes from the start of the match check looks at (at least len(prefix)).
	need int
	// check, when set, must hold for the match to count.
	check func(b []byte) bool
	// name is what the match is reported as.
	name string
}

// embeddedPatterns are archive and executable signatures strong enough to look for past the start
// of a file without false alarms: six or more fixed bytes, or a fixed prefix and header fields
// that must hold plausible values. Four-byte magics with no such fields (zstd, lz4) are only
// detected at offset 0.
var embeddedPatterns = []scanPattern{
	{prefix: "PK\x03\x04", need: 10, check: zipLocalHeader, name: "zip"},
	{prefix: "PK\x05\x06\x00\x00\x00\x00", name: "zip"},
	{prefix: "7z\xbc\xaf\x27\x1c", name: "7z"},
	{prefix: "Rar!\x1a\x07\x00", name: "rar"},
	{prefix: "Rar!\x1a\x07\x01\x00", name: "rar"},
	{prefix: "\xfd7zXZ\x00", name: "xz"},
	{prefix: "BZh", need: 10, check: bzip2Header, name: "bzip2"},
	{prefix: "\x1f\x8b\x08", need: 10, check: gzipHeader, name: "gzip"},
	{prefix: "ustar\x0000", name: "tar"},
	{prefix: "ustar  \x00", name: "tar"},
	{prefix: "MSCF\x00\x00\x00\x00", name: "cab"},
	{prefix: "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", name: "ole2"},
	{prefix: "\x7fELF", need: 7, check: elfHeader, name: "elf"},
}

// zipLocalHeader checks the version and compression method of a zip local file header.
func zipLocalHeader(b []byte) bool {
	version := binary.LittleEndian.Uint16(b[4:6])
	flags := binary.LittleEndian.Uint16(b[6:8])
	method := binary.LittleEndian.Uint16(b[8:10])
	if version > 63 || flags&0xd780 != 0 {
		return false
	}
	switch method {
	case 0, 1, 6, 8, 9, 12, 14, 19, 93, 95, 96, 97, 98, 99:
		return true
	}
	return false
}

// bzip2Header checks the block size digit and the first block's magic.
func bzip2Header(b []byte) bool {
	return b[3] >= '1' && b[3] <= '9' && string(b[4:10]) == "1AY&SY"
}

// gzipHeader checks the flag, extra-flag and operating system fields of a gzip member header.
func gzipHeader(b []byte) bool {
	return b[3]&0xe0 == 0 && (b[8] == 0 || b[8] == 2 || b[8] == 4) && (b[9] <= 13 || b[9] == 255)
}

// elfHeader checks the class, byte order and version of an ELF header.
func elfHeader(b []byte) bool {
	return (b[4] == 1 || b[4] == 2) && (b[5] == 1 || b[5] == 2) && b[6] == 1
}

// pdfPatterns are PDF names for active content and attached files. Names written with #xx escapes
// or inside compressed object streams are not seen; PDFs always go to a person for review.
var pdfPatterns = []scanPattern{
	{prefix: "/JavaScript", need: 12, check: pdfNameEnds, name: LocActiveContent},
	{prefix: "/JS", need: 4, check: pdfNameEnds, name: LocActiveContent},
	{prefix: "/Launch", need: 8, check: pdfNameEnds, name: LocActiveContent},
	{prefix: "/RichMedia", need: 11, check: pdfNameEnds, name: LocActiveContent},
	{prefix: "/EmbeddedFile", name: "embedded_files"},
	{prefix: "/FileAttachment", need: 16, check: pdfNameEnds, name: "embedded_files"},
}

// pdfNameEnds checks that the PDF name matched ends where the pattern does.
func pdfNameEnds(b []byte) bool {
	c := b[len(b)-1]
	return !isAlnum(c) && c != '_' && c != '.' && c != '-' && c != '#'
}

// patternScanner finds patterns in a stream fed in chunks, matches straddling chunks included.
// It copies each chunk once and keeps only the few bytes a match may straddle.
type patternScanner struct {
	patterns []scanPattern
	maxNeed  int
	buf      []byte
	// base is the stream offset of buf[0].
	base int64
	// skipZero ignores matches at offset 0, where the file's own signature is.
	skipZero bool
	onMatch  func(p *scanPattern, offset int64)
}

func newPatternScanner(patterns []scanPattern, skipZero bool, onMatch func(*scanPattern, int64)) *patternScanner {
	s := &patternScanner{patterns: append([]scanPattern(nil), patterns...), skipZero: skipZero, onMatch: onMatch}
	for i := range s.patterns {
		p := &s.patterns[i]
		p.pb = []byte(p.prefix)
		if p.need < len(p.prefix) {
			p.need = len(p.prefix)
		}
		s.maxNeed = max(s.maxNeed, p.need)
	}
	return s
}

func (s *patternScanner) write(chunk []byte) {
	s.buf = append(s.buf, chunk...)
	last := len(s.buf) - s.maxNeed // the last start with every pattern's bytes available
	if last < 0 {
		return
	}
	s.scan(0, last)
	keep := s.maxNeed - 1
	drop := len(s.buf) - keep
	copy(s.buf, s.buf[drop:])
	s.buf = s.buf[:keep]
	s.base += int64(drop)
}

// finish scans the starts left at the end of the stream.
func (s *patternScanner) finish() {
	s.scan(0, len(s.buf)-1)
	s.buf = s.buf[:0]
}

// scan looks for matches starting at from..to inclusive.
func (s *patternScanner) scan(from, to int) {
	for i := range s.patterns {
		p := &s.patterns[i]
		end := min(len(s.buf), to+len(p.prefix))
		for off := from; off < end; {
			j := bytes.Index(s.buf[off:end], p.pb)
			if j < 0 {
				break
			}
			at := off + j
			off = at + 1
			if at+p.need > len(s.buf) {
				continue
			}
			if s.skipZero && s.base+int64(at) == 0 {
				continue
			}
			if p.check != nil && !p.check(s.buf[at:at+p.need]) {
				continue
			}
			s.onMatch(p, s.base+int64(at))
		}
	}
}

// tailSize is how much of the end of a file is kept: enough for a zip end-of-central-directory
// record with the longest comment.
const tailSize = 22 + 65535

// tailBuffer keeps the last tailSize bytes of a stream.
type tailBuffer struct {
	buf []byte
}

func (t *tailBuffer) write(b []byte) {
	if len(b) >= tailSize {
		t.buf = append(t.buf[:0], b[len(b)-tailSize:]...)
		return
	}
	if len(t.buf)+len(b) > 2*tailSize {
		keep := tailSize - len(b)
		copy(t.buf, t.buf[len(t.buf)-keep:])
		t.buf = t.buf[:keep]
	}
	t.buf = append(t.buf, b...)
}

func (t *tailBuffer) bytes() []byte {
	if len(t.buf) > tailSize {
		return t.buf[len(t.buf)-tailSize:]
	}
	return t.buf
}

// zipAtEnd reports whether the stream, of the given size, ends with a zip end-of-central-directory
// record that starts past offset 0: an archive appended to another file.
func zipAtEnd(tail []byte, size int64) bool {
	for i := len(tail) - 22; i >= 0; i-- {
		if tail[i] != 'P' || string(tail[i:i+4]) != "PK\x05\x06" {
			continue
		}
		comment := int(binary.LittleEndian.Uint16(tail[i+20 : i+22]))
		if i+22+comment == len(tail) && size-int64(len(tail)-i) > 0 {
			return true
		}
	}
	return false
}

// trailingData reports whether bytes follow the logical end of a PNG, JPEG or PDF.
func trailingData(t Type, tail []byte) bool {
	switch t {
	case TypePNG:
		return !bytes.HasSuffix(tail, []byte("IEND\xaeB`\x82"))
	case TypeJPEG:
		return !bytes.HasSuffix(tail, []byte("\xff\xd9"))
	case TypePDF:
		end := tail[max(0, len(tail)-1024):]
		i := bytes.LastIndex(end, []byte("%%EOF"))
		return i < 0 || len(bytes.TrimRight(end[i+5:], " \t\r\n\f\x00")) != 0
	}
	return false
}
