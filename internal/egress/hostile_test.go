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
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
	"github.com/fivesafes/fivesafes/internal/sdc"
)

// hostileFiles are the committed files of testdata/hostile/ that must be refused, each with the
// rule that must be among the reasons.
var hostileFiles = map[string]string{
	"archive-renamed.csv":        "egress.archive",
	"gzip-renamed.csv":           "egress.archive",
	"tar-renamed.txt":            "egress.archive",
	"bzip2-renamed.csv":          "egress.archive",
	"xz-renamed.csv":             "egress.archive",
	"7z-renamed.csv":             "egress.archive",
	"rar-renamed.csv":            "egress.archive",
	"elf-renamed.csv":            "egress.executable",
	"pe-renamed.png":             "egress.executable",
	"pickle-renamed.json":        "egress.executable",
	"sqlite-renamed.csv":         "egress.binary",
	"png-with-zip.png":           "egress.embedded",
	"png-with-trailing-data.png": "egress.trailing_data",
	"pdf-zip-polyglot.pdf":       "egress.embedded",
	"pdf-javascript.pdf":         "egress.active_content",
	"pdf-attachment.pdf":         "egress.embedded_files",
	"csv-with-zip.csv":           "egress.embedded",
	"pdf-header-in-text.txt":     "egress.embedded",
	"svg-script.svg":             "egress.active_content",
	"svg-onload.svg":             "egress.active_content",
	"formula-injection.csv":      "egress.formula_injection",
	"nul-bytes.csv":              "egress.nul_bytes",
	"non-utf8.csv":               "egress.invalid_utf8",
	"utf16.csv":                  "egress.encoding",
	"nhs-number.txt":             "egress.identifier.nhs_number",
	"nhs-number-bare.csv":        "egress.identifier.nhs_number",
	"pseudonyms.csv":             "egress.identifier.pseudonym",
	"postcode.txt":               "egress.identifier.postcode",
	"dates-of-birth.csv":         "egress.identifier.date_of_birth",
	"small-cells.csv":            "egress.threshold",
	"zero-cells.csv":             "egress.zeros",
}

// controlFiles are committed files that must not be refused, with their outcome.
var controlFiles = map[string]fivesafesv1alpha1.CheckOutcome{
	"control-invalid-nhs-number.txt": fivesafesv1alpha1.OutcomePass,
	"control-table.csv":              fivesafesv1alpha1.OutcomePass,
	"control-figure.png":             fivesafesv1alpha1.OutcomeReview,
}

// lazyEngine returns a function that starts an engine with start the first time it is called, and
// gives the same engine after; what names the engine in a failure.
func lazyEngine(what string, start func(context.Context) (*policy.Engine, error)) func(testing.TB) *policy.Engine {
	var (
		once sync.Once
		e    *policy.Engine
		err  error
	)
	return func(t testing.TB) *policy.Engine {
		t.Helper()
		once.Do(func() { e, err = start(context.Background()) })
		if err != nil {
			t.Fatalf("starting %s: %v", what, err)
		}
		return e
	}
}

// egressEngine is the platform's policy engine with the built-in policies, which evaluates the
// egress policy from its plan.
var egressEngine = lazyEngine("the policy engine", func(ctx context.Context) (*policy.Engine, error) {
	e, err := policy.NewDefaultEngine(ctx, PolicyQuery)
	if err != nil {
		return nil, err
	}
	if planned, err := e.Planned(ctx, PolicyQuery); err != nil || !planned {
		return nil, fmt.Errorf("the egress policy is not evaluated from its plan (%v)", err)
	}
	return e, nil
})

// topdownEngine is egressEngine with the policy evaluated by OPA's topdown evaluator.
var topdownEngine = lazyEngine("the topdown policy engine", func(ctx context.Context) (*policy.Engine, error) {
	b, err := policy.DefaultBundle()
	if err != nil {
		return nil, err
	}
	return policy.NewTopdownEngine(ctx, b, PolicyQuery)
})

// kindOf is the kind a researcher would give a file of this name.
func kindOf(name string) fivesafesv1alpha1.OutputKind {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".tsv":
		return fivesafesv1alpha1.OutputTable
	case ".png", ".jpg", ".svg", ".pdf":
		return fivesafesv1alpha1.OutputFigure
	}
	return fivesafesv1alpha1.OutputText
}

// decide runs the egress policy on one file.
func decide(t testing.TB, path string, kind fivesafesv1alpha1.OutputKind, report *FileReport, exception string) FileDecision {
	t.Helper()
	reports := map[string]FileReport{}
	if report != nil {
		reports[path] = *report
	}
	files := []fivesafesv1alpha1.OutputFile{{Path: path, Kind: kind, Description: "test", ExceptionJustification: exception}}
	in := NewPolicyInput(sdc.DefaultRules(), files, reports)
	d, _, err := evaluatePolicy(context.Background(), egressEngine(t), in)
	if err != nil {
		t.Fatalf("evaluating the egress policy: %v", err)
	}
	if got := d.Overall([]string{path}); got != d.Outcome {
		t.Errorf("overall outcome %s, policy says %s", got, d.Outcome)
	}
	return d.ForFile(path)
}

func ruleNames(fd FileDecision) []string {
	var rules []string
	for _, f := range fd.Findings {
		rules = append(rules, f.Rule)
	}
	return rules
}

// assertRefused checks a file fails with the rule among its findings, exception or not.
func assertRefused(t *testing.T, name string, report FileReport, rule string) {
	t.Helper()
	for _, exception := range []string{"", "Please release it anyway."} {
		fd := decide(t, "outputs-test/"+strings.ReplaceAll(name, " ", "-"), kindOf(name), &report, exception)
		if rule == "egress.threshold" || rule == "egress.zeros" {
			// Disclosure control failures alone may be turned into a review by an exception.
			if exception != "" {
				if fd.Outcome != fivesafesv1alpha1.OutcomeReview {
					t.Errorf("%s with an exception: outcome %s, want review", name, fd.Outcome)
				}
				continue
			}
		}
		if fd.Outcome != fivesafesv1alpha1.OutcomeFail || !slices.Contains(ruleNames(fd), rule) {
			t.Errorf("%s (exception %q): outcome %s, rules %v; want fail with %s", name, exception, fd.Outcome, ruleNames(fd), rule)
		}
		for _, f := range fd.Findings {
			if len(f.Location) > 256 || len(f.Message) > 2048 {
				t.Errorf("%s: finding %s too long for the API", name, f.Rule)
			}
		}
	}
}

func TestHostileCorpusIsRefused(t *testing.T) {
	entries, err := os.ReadDir("testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if name == "bad-paths.json" || name == "README.md" {
			continue
		}
		rule, hostile := hostileFiles[name]
		want, control := controlFiles[name]
		if !hostile && !control {
			t.Errorf("%s is in the corpus but no test says what must happen to it", name)
			continue
		}
		report := analyse(t, name, string(readCorpus(t, name)), Options{})
		if hostile {
			assertRefused(t, name, report, rule)
			continue
		}
		if fd := decide(t, "outputs-test/"+name, kindOf(name), &report, ""); fd.Outcome != want {
			t.Errorf("control %s: outcome %s (%v), want %s", name, fd.Outcome, ruleNames(fd), want)
		}
	}
}

// deflateBomb compresses n zero bytes into a zip (as table.csv) or a gzip stream.
func deflateBomb(t *testing.T, n int64, asZip bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	var w io.WriteCloser
	var zw *zip.Writer
	if asZip {
		zw = zip.NewWriter(&buf)
		f, err := zw.Create("table.csv")
		if err != nil {
			t.Fatal(err)
		}
		w = nopCloser{f}
	} else {
		gz, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		w = gz
	}
	if _, err := io.CopyN(w, &endless{pattern: []byte{0}}, n); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return buf.Bytes()
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

// TestGeneratedHostileInputsAreRefused covers inputs too large to commit: decompression bombs,
// which are never decompressed, and inputs that must hit a limit.
func TestGeneratedHostileInputsAreRefused(t *testing.T) {
	const bombSize = 64 << 20
	wide := strings.Repeat(strings.Repeat("1,", DefaultMaxColumns)+"1\n", 5)
	var rows strings.Builder
	rows.WriteString("region,n\n")
	for range DefaultMaxRows {
		rows.WriteString("North,12\n")
	}
	tests := []struct {
		name   string
		open   func() io.Reader
		rule   string
		allocs uint64
	}{
		{name: "zip bomb.csv", open: func() io.Reader { return bytes.NewReader(deflateBomb(t, bombSize, true)) }, rule: "egress.archive", allocs: 2 << 20},
		{name: "gzip bomb.csv", open: func() io.Reader { return bytes.NewReader(deflateBomb(t, bombSize, false)) }, rule: "egress.archive", allocs: 2 << 20},
		{name: "huge line.csv", open: func() io.Reader {
			return strings.NewReader("a,b\n" + strings.Repeat("x", 2*DefaultMaxLineBytes) + ",1\n")
		}, rule: "egress.limit.line_length"},
		{name: "huge line.txt", open: func() io.Reader { return strings.NewReader(strings.Repeat("word ", DefaultMaxLineBytes)) }, rule: "egress.limit.line_length", allocs: 8 << 20},
		{name: "too many columns.csv", open: func() io.Reader { return strings.NewReader(wide) }, rule: "egress.limit.columns"},
		{name: "too many rows.csv", open: func() io.Reader { return strings.NewReader(rows.String()) }, rule: "egress.limit.rows"},
		{name: "deep nesting.json", open: func() io.Reader { return strings.NewReader(strings.Repeat("[", 100_000)) }, rule: "egress.limit.json_depth"},
		{name: "endless stream.csv", open: func() io.Reader { return &endless{pattern: []byte("North,F,12\n")} }, rule: "egress.limit.size", allocs: 8 << 20},
	}
	for _, tt := range tests {
		r := tt.open()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		report, err := Analyse(context.Background(), tt.name, r, Options{})
		runtime.ReadMemStats(&after)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if alloc := after.TotalAlloc - before.TotalAlloc; tt.allocs > 0 && alloc > tt.allocs {
			t.Errorf("%s: analysis allocated %d bytes, more than %d", tt.name, alloc, tt.allocs)
		}
		assertRefused(t, tt.name, report, tt.rule)
	}
}

func TestBadPathsAreRefused(t *testing.T) {
	report := analyse(t, "a.csv", "region,n\nNorth,12\n", Options{})
	for _, p := range badPaths(t) {
		if err := ValidPath(p); err == nil {
			t.Errorf("ValidPath accepted %q", p)
		}
		fd := decide(t, p, fivesafesv1alpha1.OutputTable, &report, "")
		if fd.Outcome != fivesafesv1alpha1.OutcomeFail || !slices.Contains(ruleNames(fd), "egress.path") {
			t.Errorf("policy on path %q: %s %v", p, fd.Outcome, ruleNames(fd))
		}
	}
}

func TestFileWithoutAnalysisFails(t *testing.T) {
	fd := decide(t, "tables/a.csv", fivesafesv1alpha1.OutputTable, nil, "")
	if fd.Outcome != fivesafesv1alpha1.OutcomeFail || !slices.Contains(ruleNames(fd), "egress.no_analysis") {
		t.Errorf("no analysis: %s %v", fd.Outcome, ruleNames(fd))
	}
}
