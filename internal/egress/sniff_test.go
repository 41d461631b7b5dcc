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
	"strings"
	"testing"
)

func TestSniff(t *testing.T) {
	tarHead := make([]byte, 512)
	copy(tarHead[257:], "ustar\x0000")
	iso := make([]byte, 32774)
	copy(iso[32769:], "CD001")
	tests := []struct {
		name   string
		in     []byte
		typ    Type
		format string
	}{
		{name: "empty", in: nil, typ: TypeEmpty},
		{name: "csv", in: []byte("region,n\nNorth,12\nSouth,15\n"), typ: TypeCSV},
		{name: "csv with BOM and CRLF", in: []byte("\xef\xbb\xbfregion,n\r\nNorth,12\r\n"), typ: TypeCSV},
		{name: "csv with quoted newline", in: []byte("a,b\n\"x\ny\",2\n"), typ: TypeCSV},
		{name: "header only csv", in: []byte("a,b,c"), typ: TypeCSV},
		{name: "tsv", in: []byte("region\tn\nNorth\t12\n"), typ: TypeTSV},
		{name: "prose with commas", in: []byte("Hello, world.\nThis line, unlike the first, has two commas.\nNone here.\n"), typ: TypeText},
		{name: "text", in: []byte("Just a note.\n"), typ: TypeText},
		{name: "markdown heading", in: []byte("# Results\n\nSome text.\n"), typ: TypeMarkdown},
		{name: "markdown table", in: []byte("Intro\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"), typ: TypeMarkdown},
		{name: "markdown fence", in: []byte("Code:\n```r\nx <- 1\n```\n"), typ: TypeMarkdown},
		{name: "json", in: []byte(" {\"a\": [1, 2]}\n"), typ: TypeJSON},
		{name: "json lines", in: []byte("{\"a\":1}\n{\"a\":2}\n"), typ: TypeJSON},
		{name: "invalid json is text", in: []byte("{not json}\n"), typ: TypeText},
		{name: "svg", in: []byte("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>"), typ: TypeSVG},
		{name: "html", in: []byte("<!DOCTYPE html><html><body>x</body></html>"), typ: TypeHTML},
		{name: "script", in: []byte("#!/bin/sh\necho hi\n"), typ: TypeScript},
		{name: "png", in: []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), typ: TypePNG},
		{name: "jpeg", in: []byte("\xff\xd8\xff\xe0\x00\x10JFIF"), typ: TypeJPEG},
		{name: "pdf", in: []byte("%PDF-1.7\n"), typ: TypePDF},
		{name: "zip", in: []byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), typ: TypeArchive, format: "zip"},
		{name: "empty zip", in: []byte("PK\x05\x06" + strings.Repeat("\x00", 18)), typ: TypeArchive, format: "zip"},
		{name: "gzip", in: []byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"), typ: TypeArchive, format: "gzip"},
		{name: "bzip2", in: []byte("BZh91AY&SY"), typ: TypeArchive, format: "bzip2"},
		{name: "text starting BZh", in: []byte("BZh is not a block size\n"), typ: TypeText},
		{name: "xz", in: []byte("\xfd7zXZ\x00\x00\x04"), typ: TypeArchive, format: "xz"},
		{name: "zstd", in: []byte("\x28\xb5\x2f\xfd\x04\x58"), typ: TypeArchive, format: "zstd"},
		{name: "7z", in: []byte("7z\xbc\xaf\x27\x1c\x00\x04"), typ: TypeArchive, format: "7z"},
		{name: "rar", in: []byte("Rar!\x1a\x07\x01\x00"), typ: TypeArchive, format: "rar"},
		{name: "tar", in: tarHead, typ: TypeArchive, format: "tar"},
		{name: "iso", in: iso, typ: TypeArchive, format: "iso9660"},
		{name: "ole2", in: []byte("\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00"), typ: TypeArchive, format: "ole2"},
		{name: "elf", in: []byte("\x7fELF\x02\x01\x01\x00"), typ: TypeExecutable, format: "elf"},
		{name: "pe", in: append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 56)...), typ: TypeExecutable, format: "pe"},
		{name: "text starting MZ", in: []byte("MZ region,n\nNorth,12\n"), typ: TypeCSV},
		{name: "macho", in: []byte("\xcf\xfa\xed\xfe\x07\x00\x00\x01"), typ: TypeExecutable, format: "macho"},
		{name: "wasm", in: []byte("\x00asm\x01\x00\x00\x00"), typ: TypeExecutable, format: "wasm"},
		{name: "pickle", in: []byte("\x80\x04\x95\x00"), typ: TypeExecutable, format: "pickle"},
		{name: "sqlite", in: []byte("SQLite format 3\x00\x10\x00"), typ: TypeBinary, format: "sqlite"},
		{name: "gif", in: []byte("GIF89a\x01\x00\x01\x00"), typ: TypeBinary, format: "gif"},
		{name: "parquet", in: []byte("PAR1\x15\x04\x15\x00\x00"), typ: TypeBinary, format: "parquet"},
		{name: "text starting PAR1", in: []byte("PAR1 is a code\n"), typ: TypeText},
		{name: "utf-16", in: []byte("\xff\xfer\x00e\x00g\x00"), typ: TypeText, format: "utf-16"},
		{name: "utf-32", in: []byte("\xff\xfe\x00\x00r\x00\x00\x00"), typ: TypeText, format: "utf-32"},
		{name: "random binary", in: []byte{0x01, 0x02, 0x03, 0x00, 0xff, 0x10, 0x00, 0x00}, typ: TypeBinary},
		{name: "text with one NUL", in: append([]byte(strings.Repeat("abc def ", 20)), 0), typ: TypeText},
		{name: "latin-1 text", in: []byte("cost,region\n\xa312,North\n\xa315,South\n"), typ: TypeCSV},
	}
	for _, tt := range tests {
		typ, format := Sniff(tt.in, true)
		if typ != tt.typ || format != tt.format {
			t.Errorf("%s: Sniff = %s/%s, want %s/%s", tt.name, typ, format, tt.typ, tt.format)
		}
	}
}

func TestSniffIgnoresCutRecordAndRune(t *testing.T) {
	// The sample ends inside a record and inside a multi-byte rune: neither counts against it.
	head := []byte("region,n\nNorth,12\nSouth,1\xc2")
	if typ, _ := Sniff(head, false); typ != TypeCSV {
		t.Errorf("Sniff = %s, want csv", typ)
	}
	// Incomplete JSON is still JSON while the file goes on.
	if typ, _ := Sniff([]byte(`{"a": [1, 2,`), false); typ != TypeJSON {
		t.Errorf("Sniff of a JSON prefix = %s, want json", typ)
	}
}

func FuzzSniff(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "PK\x03\x04", "\x89PNG\r\n\x1a\n", "%PDF-", "{\"a\":", "<svg", "#!", "\xef\xbb\xbf",
		"\xff\xfe", "MZ", "BZh9", "\x00\x00\x00", "a\tb\n", "| a |\n|---|\n", "\"\n\"\n,", "\x80\x03",
	} {
		f.Add([]byte(s), true)
	}
	known := map[Type]bool{
		TypeEmpty: true, TypeCSV: true, TypeTSV: true, TypeText: true, TypeMarkdown: true, TypeJSON: true,
		TypeSVG: true, TypeHTML: true, TypeScript: true, TypePNG: true, TypeJPEG: true, TypePDF: true,
		TypeArchive: true, TypeExecutable: true, TypeBinary: true,
	}
	f.Fuzz(func(t *testing.T, b []byte, complete bool) {
		typ, format := Sniff(b, complete)
		if !known[typ] {
			t.Fatalf("Sniff(%q) = unknown type %q", b, typ)
		}
		if (typ == TypeArchive || typ == TypeExecutable) && format == "" {
			t.Fatalf("Sniff(%q) = %s without a format", b, typ)
		}
		if typ2, format2 := Sniff(bytes.Clone(b), complete); typ2 != typ || format2 != format {
			t.Fatal("Sniff is not deterministic")
		}
		if len(b) == 0 && typ != TypeEmpty {
			t.Fatalf("empty input sniffed as %s", typ)
		}
	})
}
