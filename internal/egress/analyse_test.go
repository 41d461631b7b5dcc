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
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/sdc"
)

func readCorpus(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "hostile", name))
	if err != nil {
		t.Fatalf("reading %s: %v", name, err)
	}
	return b
}

func TestAnalyseDigestAndSize(t *testing.T) {
	body := "region,n\nNorth,12\nSouth,15\n"
	r := analyse(t, "tables/a.csv", body, Options{})
	sum := sha256.Sum256([]byte(body))
	if r.SHA256 != "sha256:"+hex.EncodeToString(sum[:]) || r.Size != int64(len(body)) || !r.Complete {
		t.Errorf("digest %s size %d complete %v", r.SHA256, r.Size, r.Complete)
	}
	if r.Path != "tables/a.csv" || r.Extension != "csv" || r.Type != TypeCSV || r.Rows != 2 || r.Lines != 3 || r.Columns != 2 {
		t.Errorf("report %+v", r)
	}
}

func TestAnalyseTextIdentifiers(t *testing.T) {
	valid := analyse(t, "notes.txt", "Seen: 943 476 5919.\n", Options{})
	if valid.Identifiers.NHSNumbers != 1 || valid.Locations[LocNHSNumbers] != "line 1" {
		t.Errorf("valid NHS number: %+v at %q", valid.Identifiers, valid.Locations[LocNHSNumbers])
	}
	invalid := analyse(t, "notes.txt", "Reference 9434765910.\n", Options{})
	if invalid.Identifiers.Total() != 0 {
		t.Errorf("invalid 10-digit number counted: %+v", invalid.Identifiers)
	}
	dob := analyse(t, "notes.txt", "Intro\nDate of birth: 02/01/1980\n", Options{})
	if dob.Identifiers.DatesOfBirth != 1 || dob.Locations[LocDatesOfBirth] != "line 2" {
		t.Errorf("date of birth: %+v at %q", dob.Identifiers, dob.Locations[LocDatesOfBirth])
	}
}

func TestAnalyseTextFindings(t *testing.T) {
	r := analyse(t, "notes.txt", "ok line\nbad \x00 line\nlatin \xa3 line\r\nend", Options{})
	if r.NULBytes != 1 || r.InvalidUTF8 != 1 || r.Lines != 4 {
		t.Errorf("nul %d invalid %d lines %d", r.NULBytes, r.InvalidUTF8, r.Lines)
	}
	if r.Locations[LocNULBytes] != "line 2" || r.Locations[LocInvalidUTF8] != "line 3" {
		t.Errorf("locations %v", r.Locations)
	}
	md := analyse(t, "r.md", "# Results\n\n| a | n |\n|---|---|\n| x | 3 |\n", Options{})
	if md.Type != TypeMarkdown || md.MarkdownTables != 3 {
		t.Errorf("markdown: type %s, table rows %d", md.Type, md.MarkdownTables)
	}
	svg := analyse(t, "f.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\">\n<a href=\"javascript:alert(1)\">x</a>\n<rect onclick =\"f()\"/>\n</svg>\n", Options{})
	if svg.Type != TypeSVG || svg.ActiveContent != 2 {
		t.Errorf("svg: type %s, active content %d", svg.Type, svg.ActiveContent)
	}
	plain := analyse(t, "f.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\" orient=\"auto\" opacity=\"1\">\n<use href=\"#a\"/>\n</svg>\n", Options{})
	if plain.ActiveContent != 0 {
		t.Errorf("plain svg: active content %d", plain.ActiveContent)
	}
}

func TestAnalyseJSON(t *testing.T) {
	if r := analyse(t, "a.json", `{"a": [1, 2]}`, Options{}); r.Type != TypeJSON {
		t.Errorf("type %s", r.Type)
	}
	// A long file that starts like JSON and breaks later is text.
	broken := `{"a": "` + strings.Repeat("x", sniffSize) + `"} trailing`
	if r := analyse(t, "a.json", broken, Options{}); r.Type != TypeText {
		t.Errorf("broken JSON: type %s", r.Type)
	}
	deep := strings.Repeat("[", 600) + strings.Repeat("]", 600)
	r := analyse(t, "a.json", deep, Options{})
	if r.Complete || !reflect.DeepEqual(r.LimitsExceeded, []string{LimitJSONDepth}) {
		t.Errorf("deep JSON: complete %v, limits %v", r.Complete, r.LimitsExceeded)
	}
}

func TestAnalyseBinaries(t *testing.T) {
	tests := []struct {
		file     string
		typ      Type
		embedded string
		trailing bool
		active   int64
		attached bool
	}{
		{file: "control-figure.png", typ: TypePNG},
		{file: "png-with-zip.png", typ: TypePNG, embedded: "zip", trailing: true},
		{file: "png-with-trailing-data.png", typ: TypePNG, trailing: true},
		{file: "pdf-zip-polyglot.pdf", typ: TypePDF, embedded: "zip", trailing: true},
		{file: "pdf-javascript.pdf", typ: TypePDF, active: 2},
		{file: "pdf-attachment.pdf", typ: TypePDF, attached: true},
		{file: "csv-with-zip.csv", typ: TypeCSV, embedded: "zip"},
		{file: "pdf-header-in-text.txt", typ: TypeText, embedded: "pdf"},
		{file: "archive-renamed.csv", typ: TypeArchive},
		{file: "elf-renamed.csv", typ: TypeExecutable},
	}
	for _, tt := range tests {
		r := analyse(t, tt.file, string(readCorpus(t, tt.file)), Options{})
		if r.Type != tt.typ || r.Embedded != tt.embedded || r.TrailingData != tt.trailing ||
			r.ActiveContent != tt.active || (r.EmbeddedFiles > 0) != tt.attached {
			t.Errorf("%s: type %s embedded %q trailing %v active %d attached %d", tt.file, r.Type, r.Embedded, r.TrailingData, r.ActiveContent, r.EmbeddedFiles)
		}
	}
}

func TestAnalyseEmbeddedAcrossReads(t *testing.T) {
	// A zip local header split across two reads, deep inside a PNG, is still found.
	png := readCorpus(t, "control-figure.png")
	zip := readCorpus(t, "archive-renamed.csv")
	body := append(append(append([]byte{}, png[:len(png)-12]...), bytes.Repeat([]byte{0x55}, readSize-2)...), zip...)
	body = append(body, png[len(png)-12:]...)
	r, err := Analyse(context.Background(), "f.png", iotest.HalfReader(bytes.NewReader(body)), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Embedded != "zip" {
		t.Errorf("embedded = %q, want zip", r.Embedded)
	}
}

// TestAnalyseIsIndependentOfReads checks every corpus file gives the same report read whole and
// read one byte at a time.
func TestAnalyseIsIndependentOfReads(t *testing.T) {
	entries, err := os.ReadDir("testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b := readCorpus(t, e.Name())
		whole, err := Analyse(context.Background(), e.Name(), bytes.NewReader(b), Options{})
		if err != nil {
			t.Fatal(err)
		}
		bytewise, err := Analyse(context.Background(), e.Name(), iotest.OneByteReader(bytes.NewReader(b)), Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(whole, bytewise) {
			t.Errorf("%s: read whole\n%+v\nread byte by byte\n%+v", e.Name(), whole, bytewise)
		}
	}
}

func TestAnalyseSizeLimit(t *testing.T) {
	body := strings.Repeat("North,12\n", 1000)
	r := analyse(t, "a.csv", body, Options{Limits: Limits{MaxBytes: 4096}})
	if r.Complete || r.Size != 4096 || r.SHA256 != "" || !reflect.DeepEqual(r.LimitsExceeded, []string{LimitSize}) {
		t.Errorf("complete %v size %d digest %q limits %v", r.Complete, r.Size, r.SHA256, r.LimitsExceeded)
	}
	exact := analyse(t, "a.csv", body[:4096], Options{Limits: Limits{MaxBytes: 4096}})
	if !exact.Complete || exact.SHA256 == "" {
		t.Errorf("a file of exactly the limit: complete %v", exact.Complete)
	}
}

// endless is a reader that never ends.
type endless struct {
	pattern []byte
	off     int
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.pattern[e.off]
		e.off = (e.off + 1) % len(e.pattern)
	}
	return len(p), nil
}

// TestAnalyseEndlessInputIsBounded feeds endless input of each kind: the size limit ends the
// analysis, and memory stays bounded.
func TestAnalyseEndlessInputIsBounded(t *testing.T) {
	inputs := map[string][]byte{
		"csv rows":      []byte("North,F,12\n"),
		"one long line": []byte("abcdefgh"),
		"open quote":    []byte("\"a,b\n"),
		"json nesting":  []byte("[{\"a\":"),
		"zeros":         {0},
		"png":           []byte("\x89PNG\r\n\x1a\nPK\x03"),
	}
	for name, pattern := range inputs {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		r, err := Analyse(context.Background(), "x", &endless{pattern: pattern}, Options{Limits: Limits{MaxBytes: 16 << 20}})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Complete || r.Size != 16<<20 {
			t.Errorf("%s: complete %v size %d", name, r.Complete, r.Size)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 8<<20 {
			t.Errorf("%s: allocated %d bytes reading 16 MiB", name, alloc)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

type stuckReader struct{}

func (stuckReader) Read([]byte) (int, error) { return 0, nil }

func TestAnalyseErrors(t *testing.T) {
	if _, err := Analyse(context.Background(), "x", failingReader{}, Options{}); err == nil {
		t.Error("a failing reader gave no error")
	}
	if _, err := Analyse(context.Background(), "x", stuckReader{}, Options{}); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("a reader returning nothing: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Analyse(ctx, "x", &endless{pattern: []byte("a")}, Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: %v", err)
	}
	bad := sdc.DefaultRules()
	bad.DominanceN = 0
	if _, err := Analyse(context.Background(), "x", strings.NewReader("a"), Options{Rules: bad}); !errors.Is(err, sdc.ErrInvalidRules) {
		t.Errorf("invalid rules: %v", err)
	}
}

func TestAnalyseEmpty(t *testing.T) {
	r := analyse(t, "empty.csv", "", Options{})
	if r.Type != TypeEmpty || !r.Complete || r.SHA256 != "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" {
		t.Errorf("empty: %+v", r)
	}
}

func TestRulesFromAgreement(t *testing.T) {
	if got := RulesFromAgreement(fivesafesv1alpha1.OutputRules{}); got != sdc.DefaultRules() {
		t.Errorf("unset rules = %+v, want ACRO's defaults", got)
	}
	got := RulesFromAgreement(fivesafesv1alpha1.OutputRules{
		MinimumCellCount:  5,
		Dominance:         fivesafesv1alpha1.Dominance{Contributors: 3, KBasisPoints: 8000},
		PRatioBasisPoints: 500,
		Zeros:             fivesafesv1alpha1.ZerosAllowed,
	})
	want := sdc.Rules{MinimumCellCount: 5, DominanceN: 3, DominanceKBasisPoints: 8000, PRatioBasisPoints: 500}
	if got != want {
		t.Errorf("rules = %+v, want %+v", got, want)
	}
}

func FuzzAnalyse(f *testing.F) {
	entries, err := os.ReadDir("testdata/hostile")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join("testdata", "hostile", e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("region,n\nNorth,\"9\"\nSouth,=1\n"))
	f.Add([]byte("a\tb\n1\t2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lim := Limits{MaxBytes: 1 << 16, MaxLineBytes: 512, MaxRows: 50, MaxColumns: 20, MaxJSONDepth: 16}
		whole, err := Analyse(context.Background(), "f", bytes.NewReader(b), Options{Limits: lim})
		if err != nil {
			t.Fatal(err)
		}
		bytewise, err := Analyse(context.Background(), "f", iotest.OneByteReader(bytes.NewReader(b)), Options{Limits: lim})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(whole, bytewise) {
			t.Fatalf("reads change the report:\n%+v\n%+v", whole, bytewise)
		}
		if whole.Complete && whole.SHA256 == "" {
			t.Fatal("complete without a digest")
		}
		if whole.Counts.BelowThreshold > 0 && whole.Counts.MinNonZero >= whole.Counts.Threshold {
			t.Fatalf("cells below threshold but smallest count %d", whole.Counts.MinNonZero)
		}
		for k, v := range whole.Locations {
			if len(v) > 256 {
				t.Fatalf("location %s is %d bytes", k, len(v))
			}
		}
	})
}
