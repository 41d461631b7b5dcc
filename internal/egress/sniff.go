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
	"unicode/utf8"
)

// sniffSize is how much of the start of a file type detection looks at. It covers the tar header
// (offset 257) and the ISO 9660 volume descriptor (offset 32769).
const sniffSize = 64 << 10

// magic is a signature at a fixed offset.
type magic struct {
	off    int
	sig    string
	typ    Type
	format string
	// weak signatures are short enough to begin ordinary text, so they count only when the
	// content is not text.
	weak bool
	// check, when set, must also hold for the signature to count.
	check func(head []byte) bool
}

var magics = []magic{
	// Archives and compressed files.
	{sig: "PK\x03\x04", typ: TypeArchive, format: "zip"},
	{sig: "PK\x05\x06", typ: TypeArchive, format: "zip"},
	{sig: "PK\x07\x08", typ: TypeArchive, format: "zip"},
	{sig: "\x1f\x8b", typ: TypeArchive, format: "gzip"},
	{sig: "BZh", typ: TypeArchive, format: "bzip2", check: func(h []byte) bool { return len(h) > 3 && h[3] >= '1' && h[3] <= '9' }},
	{sig: "\xfd7zXZ\x00", typ: TypeArchive, format: "xz"},
	{sig: "\x28\xb5\x2f\xfd", typ: TypeArchive, format: "zstd"},
	{sig: "7z\xbc\xaf\x27\x1c", typ: TypeArchive, format: "7z"},
	{sig: "Rar!\x1a\x07", typ: TypeArchive, format: "rar"},
	{off: 257, sig: "ustar", typ: TypeArchive, format: "tar"},
	{sig: "\x04\x22\x4d\x18", typ: TypeArchive, format: "lz4"},
	{sig: "\x1f\x9d", typ: TypeArchive, format: "compress"},
	{sig: "\x1f\xa0", typ: TypeArchive, format: "compress"},
	{sig: "LZIP", typ: TypeArchive, format: "lzip"},
	{sig: "\x89LZO\x00\r\n\x1a\n", typ: TypeArchive, format: "lzop"},
	{sig: "\x5d\x00\x00", typ: TypeArchive, format: "lzma"},
	{sig: "MSCF\x00\x00\x00\x00", typ: TypeArchive, format: "cab"},
	{sig: "!<arch>\n", typ: TypeArchive, format: "ar"},
	{sig: "070701", typ: TypeArchive, format: "cpio"},
	{sig: "070702", typ: TypeArchive, format: "cpio"},
	{sig: "070707", typ: TypeArchive, format: "cpio"},
	{sig: "\xc7\x71", typ: TypeArchive, format: "cpio", weak: true},
	{sig: "\x71\xc7", typ: TypeArchive, format: "cpio", weak: true},
	{off: 32769, sig: "CD001", typ: TypeArchive, format: "iso9660"},
	{sig: "\xed\xab\xee\xdb", typ: TypeArchive, format: "rpm"},
	{sig: "xar!", typ: TypeArchive, format: "xar"},
	{sig: "MSWIM\x00\x00\x00", typ: TypeArchive, format: "wim"},
	{sig: "\x60\xea", typ: TypeArchive, format: "arj", weak: true},
	{sig: "\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", typ: TypeArchive, format: "ole2"},
	{sig: "\x78\x01", typ: TypeArchive, format: "zlib", weak: true},
	{sig: "\x78\x9c", typ: TypeArchive, format: "zlib"},
	{sig: "\x78\xda", typ: TypeArchive, format: "zlib"},

	// Executables.
	{sig: "\x7fELF", typ: TypeExecutable, format: "elf"},
	{sig: "MZ", typ: TypeExecutable, format: "pe", weak: true},
	{sig: "\xfe\xed\xfa\xce", typ: TypeExecutable, format: "macho"},
	{sig: "\xfe\xed\xfa\xcf", typ: TypeExecutable, format: "macho"},
	{sig: "\xce\xfa\xed\xfe", typ: TypeExecutable, format: "macho"},
	{sig: "\xcf\xfa\xed\xfe", typ: TypeExecutable, format: "macho"},
	{sig: "\xca\xfe\xba\xbe", typ: TypeExecutable, format: "macho-or-java-class"},
	{sig: "\x00asm", typ: TypeExecutable, format: "wasm"},
	{sig: "dex\n", typ: TypeExecutable, format: "dex"},
	{sig: "\x80", typ: TypeExecutable, format: "pickle", check: func(h []byte) bool { return len(h) > 1 && h[1] >= 2 && h[1] <= 5 }},

	// Accepted for review.
	{sig: "\x89PNG\r\n\x1a\n", typ: TypePNG},
	{sig: "\xff\xd8\xff", typ: TypeJPEG},
	{sig: "%PDF-", typ: TypePDF},

	// Binaries refused by name.
	{sig: "GIF87a", typ: TypeBinary, format: "gif"},
	{sig: "GIF89a", typ: TypeBinary, format: "gif"},
	{sig: "BM", typ: TypeBinary, format: "bmp", weak: true},
	{sig: "II*\x00", typ: TypeBinary, format: "tiff"},
	{sig: "MM\x00*", typ: TypeBinary, format: "tiff"},
	{sig: "RIFF", typ: TypeBinary, format: "riff", weak: true},
	{sig: "\x00\x00\x01\x00", typ: TypeBinary, format: "ico"},
	{off: 4, sig: "ftyp", typ: TypeBinary, format: "iso-media", weak: true},
	{sig: "OggS", typ: TypeBinary, format: "ogg", weak: true},
	{sig: "ID3", typ: TypeBinary, format: "mp3", weak: true},
	{sig: "fLaC", typ: TypeBinary, format: "flac", weak: true},
	{sig: "\x1a\x45\xdf\xa3", typ: TypeBinary, format: "matroska"},
	{sig: "SQLite format 3\x00", typ: TypeBinary, format: "sqlite"},
	{sig: "PAR1", typ: TypeBinary, format: "parquet", weak: true},
	{sig: "ARROW1", typ: TypeBinary, format: "arrow", weak: true},
	{sig: "\x89HDF\r\n\x1a\n", typ: TypeBinary, format: "hdf5"},
	{sig: "\x93NUMPY", typ: TypeBinary, format: "npy"},
	{sig: "RDX2\n", typ: TypeBinary, format: "rdata"},
	{sig: "RDX3\n", typ: TypeBinary, format: "rdata"},
	{sig: "RDA2\n", typ: TypeBinary, format: "rdata"},
	{sig: "RDA3\n", typ: TypeBinary, format: "rdata"},
	{sig: "X\n", typ: TypeBinary, format: "rds", weak: true},
	{sig: "$FL2", typ: TypeBinary, format: "spss", weak: true},
	{sig: "$FL3", typ: TypeBinary, format: "spss", weak: true},
	{sig: "<stata_dta>", typ: TypeBinary, format: "stata"},
}

// sniffResult is what type detection found.
type sniffResult struct {
	typ    Type
	format string
	// delim is the CSV or TSV delimiter.
	delim byte
	// bom is the length of a UTF-8 byte order mark to skip.
	bom int
}

// Sniff detects a file's type from the first bytes of its content (up to 64 KiB are used) and
// never from its name. complete says whether head is the whole file. The format names an archive,
// executable or binary format, or a text encoding other than UTF-8.
func Sniff(head []byte, complete bool) (Type, string) {
	s := sniff(head, complete, DefaultMaxJSONDepth)
	return s.typ, s.format
}

func sniff(head []byte, complete bool, maxDepth int) sniffResult {
	if len(head) > sniffSize {
		head = head[:sniffSize]
		complete = false
	}
	if len(head) == 0 {
		return sniffResult{typ: TypeEmpty}
	}
	text := looksLikeText(head, complete)
	for _, m := range magics {
		if m.off+len(m.sig) > len(head) || string(head[m.off:m.off+len(m.sig)]) != m.sig {
			continue
		}
		if (m.weak && text) || (m.check != nil && !m.check(head)) {
			continue
		}
		return sniffResult{typ: m.typ, format: m.format}
	}
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xfe\x00\x00")), bytes.HasPrefix(head, []byte("\x00\x00\xfe\xff")):
		return sniffResult{typ: TypeText, format: "utf-32"}
	case bytes.HasPrefix(head, []byte("\xff\xfe")), bytes.HasPrefix(head, []byte("\xfe\xff")):
		return sniffResult{typ: TypeText, format: "utf-16"}
	}
	if !text {
		return sniffResult{typ: TypeBinary}
	}
	r := sniffResult{typ: TypeText}
	if bytes.HasPrefix(head, []byte("\xef\xbb\xbf")) {
		r.bom = 3
	}
	body := head[r.bom:]
	if bytes.HasPrefix(body, []byte("#!")) {
		r.typ = TypeScript
		return r
	}
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		v := newJSONValidator(maxDepth)
		v.write(body)
		// Nesting past the limit is still JSON, refused for its depth.
		if v.tooDeep || (complete && v.valid()) || (!complete && v.plausible()) {
			r.typ = TypeJSON
			return r
		}
	}
	if len(trimmed) > 0 && trimmed[0] == '<' {
		if t := sniffMarkup(trimmed); t != "" {
			r.typ = t
			return r
		}
	}
	if d := sniffDelimiter(body, complete); d != 0 {
		r.delim = d
		r.typ = TypeCSV
		if d == '\t' {
			r.typ = TypeTSV
		}
		return r
	}
	if looksLikeMarkdown(body) {
		r.typ = TypeMarkdown
	}
	return r
}

// looksLikeText reports whether head is mostly UTF-8 text: at most one byte in ten is a control
// character (other than tab, line ends, form feed, vertical tab and escape) or part of an invalid
// UTF-8 sequence. A file can be text and still hold NUL bytes or invalid UTF-8, which are findings.
func looksLikeText(head []byte, complete bool) bool {
	bad := 0
	for i := 0; i < len(head); {
		c := head[i]
		if c < utf8.RuneSelf {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' && c != '\v' && c != 0x1b) || c == 0x7f {
				bad++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(head[i:])
		if r == utf8.RuneError && size <= 1 {
			if !complete && !utf8.FullRune(head[i:]) {
				break // a rune cut by the end of the sample
			}
			bad++
			i++
			continue
		}
		i += size
	}
	return bad*10 <= len(head)
}

// sniffMarkup recognises SVG and HTML from text starting with "<".
func sniffMarkup(b []byte) Type {
	n := min(len(b), 4096)
	var scratch []byte
	low := lowerInto(&scratch, b[:n])
	switch {
	case bytes.Contains(low, []byte("<svg")):
		return TypeSVG
	case bytes.HasPrefix(low, []byte("<!doctype html")), bytes.Contains(low, []byte("<html")):
		return TypeHTML
	}
	return ""
}

// sniffDelimiter returns the delimiter of a CSV (comma) or TSV (tab) table: the header has at
// least two fields and at least nine records in ten of the sample have as many. It returns 0 for
// anything else.
func sniffDelimiter(b []byte, complete bool) byte {
	for _, d := range []byte{'\t', ','} {
		if bytes.IndexByte(b, d) < 0 {
			continue
		}
		var records, matching, header int
		p := newCSVParser(d, len(b)+1, len(b)+1, func(r *csvRecord) bool {
			if r.blank() {
				return true
			}
			if header == 0 {
				header = len(r.fields)
			}
			records++
			if len(r.fields) == header {
				matching++
			}
			return records < 200
		})
		p.write(b)
		if complete {
			// Otherwise the last record, which may be cut by the end of the sample, is left out.
			p.finish()
		}
		if header < 2 || records == 0 {
			continue
		}
		if matching*10 >= records*9 {
			return d
		}
	}
	return 0
}

// looksLikeMarkdown looks for an ATX heading, a fenced code block or a table separator row.
func looksLikeMarkdown(b []byte) bool {
	lines := 0
	for len(b) > 0 && lines < 200 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		lines++
		line = bytes.TrimRight(line, "\r")
		switch {
		case bytes.HasPrefix(line, []byte("```")), bytes.HasPrefix(line, []byte("~~~")):
			return true
		case len(line) > 1 && line[0] == '#':
			j := 0
			for j < len(line) && j < 7 && line[j] == '#' {
				j++
			}
			if j <= 6 && j < len(line) && line[j] == ' ' {
				return true
			}
		case isMarkdownTableSeparator(line):
			return true
		}
	}
	return false
}

// isMarkdownTableSeparator matches rows such as "|---|:---:|" and "--- | ---".
func isMarkdownTableSeparator(line []byte) bool {
	line = bytes.TrimSpace(line)
	if bytes.IndexByte(line, '|') < 0 || bytes.IndexByte(line, '-') < 0 {
		return false
	}
	for _, c := range line {
		switch c {
		case '|', '-', ':', ' ', '\t':
		default:
			return false
		}
	}
	return true
}

// isMarkdownTableRow matches rows that begin or end with a pipe, or separator rows.
func isMarkdownTableRow(line []byte) bool {
	t := bytes.TrimSpace(line)
	if len(t) < 2 {
		return false
	}
	return t[0] == '|' || t[len(t)-1] == '|' || isMarkdownTableSeparator(t)
}
