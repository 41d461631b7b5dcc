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
	"slices"
	"strings"
	"testing"
	"time"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// memFile is a file to check whose content is held in memory, as an object from storage would be
// streamed.
func memFile(path, content string) CheckFile {
	return CheckFile{Path: path, Open: func() (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(content)), nil
	}}
}

// withSidecar gives f a sidecar held in memory.
func withSidecar(f CheckFile, sidecar string) CheckFile {
	f.Sidecar = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(sidecar)), nil }
	return f
}

// brokenReader returns some content and then an error.
type brokenReader struct{ sent bool }

func (r *brokenReader) Read(p []byte) (int, error) {
	if !r.sent {
		r.sent = true
		return copy(p, "region,n\nNorth,12\n"), nil
	}
	return 0, errors.New("connection reset")
}

func findingRules(fs []fivesafesv1alpha1.Finding) []string {
	rules := []string{}
	for _, f := range fs {
		rules = append(rules, f.Rule)
	}
	return rules
}

const (
	cleanTable  = "region,sex,n\nNorth,F,12\nNorth,M,15\nSouth,F,20\nSouth,M,31\n"
	costTable   = "region,n,total_cost\nNorth,12,1000.00\nSouth,15,2000.00\n"
	goodSidecar = `{"version": 1, "cells": [
		{"row": 1, "column": "total_cost", "contributors": 12, "largest": [300, 250], "total": 1000},
		{"row": 2, "column": "total_cost", "contributors": 15, "largest": [500, 400], "total": 2000}]}`
	dominantSidecar = `{"version": 1, "cells": [
		{"row": 1, "column": "total_cost", "contributors": 12, "largest": [950, 30], "total": 1000},
		{"row": 2, "column": "total_cost", "contributors": 15, "largest": [500, 400], "total": 2000}]}`
)

func TestCheck(t *testing.T) {
	type want struct {
		outcome fivesafesv1alpha1.CheckOutcome
		kind    fivesafesv1alpha1.OutputKind
		typ     Type
		rule    string // a rule that must be among the findings, or "" for none at all
		err     bool   // FileResult.Err is set
	}
	tests := []struct {
		name  string
		file  CheckFile
		rules fivesafesv1alpha1.OutputRules
		want  want
	}{
		{"clean table", memFile("tables/a.csv", cleanTable), fivesafesv1alpha1.OutputRules{},
			want{fivesafesv1alpha1.OutcomePass, fivesafesv1alpha1.OutputTable, TypeCSV, "", false}},
		{"count of 10 at threshold 10", memFile("tables/a.csv", "region,n\nNorth,10\nSouth,11\n"), fivesafesv1alpha1.OutputRules{MinimumCellCount: 10},
			want{fivesafesv1alpha1.OutcomePass, fivesafesv1alpha1.OutputTable, TypeCSV, "", false}},
		{"count of 9 at threshold 10", memFile("tables/a.csv", "region,n\nNorth,9\nSouth,11\n"), fivesafesv1alpha1.OutputRules{MinimumCellCount: 10},
			want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputTable, TypeCSV, "egress.threshold", false}},
		{"clean table at a higher threshold", memFile("tables/a.csv", cleanTable), fivesafesv1alpha1.OutputRules{MinimumCellCount: 20},
			want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputTable, TypeCSV, "egress.threshold", false}},
		{"small cell with an exception", CheckFile{Path: "tables/a.csv", ExceptionJustification: "Published elsewhere.", Open: memFile("", "region,n\nNorth,9\n").Open},
			fivesafesv1alpha1.OutputRules{}, want{fivesafesv1alpha1.OutcomeReview, fivesafesv1alpha1.OutputTable, TypeCSV, "egress.threshold", false}},
		{"kind given", CheckFile{Path: "notes/a.txt", Kind: fivesafesv1alpha1.OutputTable, Open: memFile("", "Admissions rose.\n").Open},
			fivesafesv1alpha1.OutputRules{}, want{fivesafesv1alpha1.OutcomeReview, fivesafesv1alpha1.OutputTable, TypeText, "egress.not_a_table", false}},
		{"valid NHS number in text", memFile("notes/a.txt", "Patient 943 476 5919 was seen.\n"), fivesafesv1alpha1.OutputRules{},
			want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputText, TypeText, "egress.identifier.nhs_number", false}},
		{"invalid ten-digit number in text", memFile("notes/a.txt", "Reference 9434765910 is not one.\n"), fivesafesv1alpha1.OutputRules{},
			want{fivesafesv1alpha1.OutcomePass, fivesafesv1alpha1.OutputText, TypeText, "", false}},
		{"archive named as a table", memFile("tables/a.csv", "PK\x03\x04\x14\x00\x00\x00\x08\x00"+strings.Repeat("\x00", 64)), fivesafesv1alpha1.OutputRules{},
			want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputText, TypeArchive, "egress.archive", false}},
		{"magnitudes without a sidecar", memFile("tables/cost.csv", costTable), fivesafesv1alpha1.OutputRules{},
			want{fivesafesv1alpha1.OutcomeReview, fivesafesv1alpha1.OutputTable, TypeCSV, "", false}},
		{"magnitudes with a sidecar", withSidecar(memFile("tables/cost.csv", costTable), goodSidecar), fivesafesv1alpha1.OutputRules{},
			want{fivesafesv1alpha1.OutcomePass, fivesafesv1alpha1.OutputTable, TypeCSV, "", false}},
		{"magnitudes with a dominant contributor", withSidecar(memFile("tables/cost.csv", costTable), dominantSidecar), fivesafesv1alpha1.OutputRules{},
			want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputTable, TypeCSV, "egress.dominance", false}},
		{"file cannot be opened", CheckFile{Path: "tables/a.csv", Open: func() (io.ReadCloser, error) { return nil, errors.New("no such object") }},
			fivesafesv1alpha1.OutputRules{}, want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputText, "", RuleAnalysisError, true}},
		{"read fails part way", CheckFile{Path: "tables/a.csv", Open: func() (io.ReadCloser, error) { return io.NopCloser(&brokenReader{}), nil }},
			fivesafesv1alpha1.OutputRules{}, want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputText, "", "egress.no_analysis", true}},
		{"sidecar cannot be opened", CheckFile{Path: "tables/cost.csv", Open: memFile("", magnitudeTable).Open,
			Sidecar: func() (io.ReadCloser, error) { return nil, errors.New("permission denied") }},
			fivesafesv1alpha1.OutputRules{}, want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputText, "", RuleAnalysisError, true}},
		{"opening panics", CheckFile{Path: "tables/a.csv", Open: func() (io.ReadCloser, error) { panic("boom") }},
			fivesafesv1alpha1.OutputRules{}, want{fivesafesv1alpha1.OutcomeFail, fivesafesv1alpha1.OutputText, "", RuleAnalysisError, true}},
	}
	eng := egressEngine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(context.Background(), eng, []CheckFile{tt.file}, tt.rules, Limits{})
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if len(res.Files) != 1 {
				t.Fatalf("%d results, want 1", len(res.Files))
			}
			fr := res.Files[0]
			rules := findingRules(fr.Findings)
			if res.Outcome != tt.want.outcome || fr.Outcome != tt.want.outcome {
				t.Errorf("outcome %s, file %s (%v), want %s", res.Outcome, fr.Outcome, rules, tt.want.outcome)
			}
			if fr.Kind != tt.want.kind || fr.Type != tt.want.typ || fr.Path != tt.file.Path {
				t.Errorf("kind %s, type %s, path %q; want %s, %s, %q", fr.Kind, fr.Type, fr.Path, tt.want.kind, tt.want.typ, tt.file.Path)
			}
			if (fr.Err != nil) != tt.want.err {
				t.Errorf("Err = %v, want an error: %v", fr.Err, tt.want.err)
			}
			if fr.Findings == nil {
				t.Error("findings are nil, want an empty list")
			}
			switch {
			case tt.want.rule == "" && tt.want.outcome == fivesafesv1alpha1.OutcomePass && len(rules) > 0:
				t.Errorf("findings %v on a file that passes", rules)
			case tt.want.rule != "" && !slices.Contains(rules, tt.want.rule):
				t.Errorf("findings %v, want %s among them", rules, tt.want.rule)
			}
			if res.PolicyDigest != eng.Revision() || !strings.HasPrefix(res.PolicyDigest, "sha256:") {
				t.Errorf("policy digest %q, engine revision %q", res.PolicyDigest, eng.Revision())
			}
		})
	}
}

func TestCheckDigestsAndSeveralFiles(t *testing.T) {
	small := "region,n\nNorth,9\nSouth,11\n"
	files := []CheckFile{
		memFile("tables/clean.csv", cleanTable),
		memFile("tables/small.csv", small),
		{Path: "tables/gone.csv", Open: func() (io.ReadCloser, error) { return nil, errors.New("no such object") }},
		memFile("figures/plot.png", string(readCorpus(t, "control-figure.png"))),
	}
	res, err := Check(context.Background(), egressEngine(t), files, fivesafesv1alpha1.OutputRules{}, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		outcome fivesafesv1alpha1.CheckOutcome
		content string
	}{
		{fivesafesv1alpha1.OutcomePass, cleanTable},
		{fivesafesv1alpha1.OutcomeFail, small},
		{fivesafesv1alpha1.OutcomeFail, ""},
		{fivesafesv1alpha1.OutcomeReview, string(readCorpus(t, "control-figure.png"))},
	}
	if res.Outcome != fivesafesv1alpha1.OutcomeFail || len(res.Files) != len(want) {
		t.Fatalf("outcome %s with %d files", res.Outcome, len(res.Files))
	}
	for i, w := range want {
		fr := res.Files[i]
		if fr.Path != files[i].Path || fr.Outcome != w.outcome {
			t.Errorf("file %d: %s %s, want %s %s", i+1, fr.Path, fr.Outcome, files[i].Path, w.outcome)
		}
		if fr.Err != nil {
			if fr.SHA256 != "" || fr.Size != 0 {
				t.Errorf("file %d: digest %q, size %d of a file that was not read", i+1, fr.SHA256, fr.Size)
			}
			continue
		}
		sum := sha256.Sum256([]byte(w.content))
		if fr.SHA256 != "sha256:"+hex.EncodeToString(sum[:]) || fr.Size != int64(len(w.content)) {
			t.Errorf("file %d: digest %s, size %d", i+1, fr.SHA256, fr.Size)
		}
	}
}

func TestCheckRefuses(t *testing.T) {
	clean := memFile("tables/a.csv", cleanTable)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		files []CheckFile
		rules fivesafesv1alpha1.OutputRules
	}{
		{"no files", context.Background(), nil, fivesafesv1alpha1.OutputRules{}},
		{"traversal", context.Background(), []CheckFile{memFile("../etc/passwd", cleanTable)}, fivesafesv1alpha1.OutputRules{}},
		{"absolute path", context.Background(), []CheckFile{memFile("/etc/passwd", cleanTable)}, fivesafesv1alpha1.OutputRules{}},
		{"duplicate paths", context.Background(), []CheckFile{clean, memFile("tables/A.csv", cleanTable)}, fivesafesv1alpha1.OutputRules{}},
		{"no content", context.Background(), []CheckFile{{Path: "tables/a.csv"}}, fivesafesv1alpha1.OutputRules{}},
		{"rules out of bounds", context.Background(), []CheckFile{clean}, fivesafesv1alpha1.OutputRules{Dominance: fivesafesv1alpha1.Dominance{KBasisPoints: 20000}}},
		{"cancelled", cancelled, []CheckFile{clean}, fivesafesv1alpha1.OutputRules{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Check(tt.ctx, egressEngine(t), tt.files, tt.rules, Limits{})
			if err == nil {
				t.Fatalf("Check gave %+v, want an error", res)
			}
			if len(res.Files) != 0 || res.Outcome != "" {
				t.Errorf("result %+v alongside error %v", res, err)
			}
		})
	}
	if _, err := Check(context.Background(), nil, []CheckFile{clean}, fivesafesv1alpha1.OutputRules{}, Limits{}); err == nil {
		t.Error("Check without a policy engine gave no error")
	}
}

func TestCheckCapsReading(t *testing.T) {
	endlessFile := CheckFile{Path: "tables/endless.csv", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(&endless{pattern: []byte("North,F,12\n")}), nil
	}}
	res, err := Check(context.Background(), egressEngine(t), []CheckFile{endlessFile}, fivesafesv1alpha1.OutputRules{}, Limits{MaxBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	fr := res.Files[0]
	if fr.Outcome != fivesafesv1alpha1.OutcomeFail || !slices.Contains(findingRules(fr.Findings), "egress.limit.size") ||
		fr.Size != 1<<20 || fr.SHA256 != "" {
		t.Errorf("endless file: %s %v, size %d, digest %q", fr.Outcome, findingRules(fr.Findings), fr.Size, fr.SHA256)
	}
}

func TestKindForType(t *testing.T) {
	for typ, want := range map[Type]fivesafesv1alpha1.OutputKind{
		TypeCSV: fivesafesv1alpha1.OutputTable, TypeTSV: fivesafesv1alpha1.OutputTable,
		TypePNG: fivesafesv1alpha1.OutputFigure, TypeJPEG: fivesafesv1alpha1.OutputFigure,
		TypePDF: fivesafesv1alpha1.OutputFigure, TypeSVG: fivesafesv1alpha1.OutputFigure,
		TypeScript: fivesafesv1alpha1.OutputCode, TypeText: fivesafesv1alpha1.OutputText,
		TypeMarkdown: fivesafesv1alpha1.OutputText, TypeJSON: fivesafesv1alpha1.OutputText,
		TypeArchive: fivesafesv1alpha1.OutputText, TypeBinary: fivesafesv1alpha1.OutputText, TypeEmpty: fivesafesv1alpha1.OutputText,
	} {
		if got := KindForType(typ); got != want {
			t.Errorf("KindForType(%s) = %s, want %s", typ, got, want)
		}
	}
}

// BenchmarkCheck10MB checks a 10 MB table end to end (analysis, policy input, one policy
// evaluation) and reports the time as a multiple of reading and hashing the same bytes, measured
// in the same run.
func BenchmarkCheck10MB(b *testing.B) {
	data := benchCSV(10 << 20)
	files := []CheckFile{{Path: "tables/big.csv", Open: func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	}}}
	eng := egressEngine(b)
	const baselineRuns = 5
	start := time.Now()
	for range baselineRuns {
		hashOnly(data)
	}
	baseline := time.Since(start) / baselineRuns

	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		res, err := Check(context.Background(), eng, files, fivesafesv1alpha1.OutputRules{}, Limits{})
		if err != nil || res.Files[0].Err != nil || res.Files[0].SHA256 == "" {
			b.Fatalf("check failed: %v %+v", err, res)
		}
	}
	perOp := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perOp)/float64(baseline), "x-sha256")
	b.ReportMetric(float64(perOp.Microseconds())/1000, "ms/check")
}

// FuzzCheck runs whole checks on hostile content and sidecars: a check must always decide, never
// return an error for what a file holds, and never pass a file it could not read to the end.
func FuzzCheck(f *testing.F) {
	for _, name := range []string{"control-table.csv", "small-cells.csv", "csv-with-zip.csv", "nhs-number.txt", "png-with-zip.png", "pdf-javascript.pdf", "utf16.csv"} {
		f.Add(readCorpus(f, name), []byte(nil))
	}
	f.Add([]byte(costTable), []byte(goodSidecar))
	f.Add([]byte(costTable), []byte(dominantSidecar))
	f.Add([]byte(costTable), []byte(`{"version": 1, "cells": [{"row": 9, "column": 99, "contributors": -1, "largest": [1e99], "total": "x"}]}`))
	f.Add([]byte("region,n\n=HYPERLINK(\"x\"),12\n"), []byte("[[[[[[[["))
	eng := egressEngine(f)
	f.Fuzz(func(t *testing.T, content, sidecar []byte) {
		file := CheckFile{Path: "tables/fuzz.csv", Open: func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(content)), nil
		}}
		if sidecar != nil {
			file = withSidecar(file, string(sidecar))
		}
		res, err := Check(context.Background(), eng, []CheckFile{file}, fivesafesv1alpha1.OutputRules{}, Limits{MaxBytes: 1 << 20})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		fr := res.Files[0]
		switch fr.Outcome {
		case fivesafesv1alpha1.OutcomePass, fivesafesv1alpha1.OutcomeReview, fivesafesv1alpha1.OutcomeFail:
		default:
			t.Fatalf("outcome %q", fr.Outcome)
		}
		if fr.Outcome != res.Outcome || fr.Findings == nil || fr.Err != nil {
			t.Fatalf("result %+v, overall %s", fr, res.Outcome)
		}
		if fr.Outcome == fivesafesv1alpha1.OutcomePass && (fr.SHA256 == "" || len(fr.Findings) > 0) {
			t.Fatalf("passed with digest %q and findings %v", fr.SHA256, findingRules(fr.Findings))
		}
	})
}
