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
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
	"github.com/fivesafes/fivesafes/internal/sdc"
)

// reference is an engine loaded with testdata/reference/egress.rego, the plain formulation of
// the egress policy, evaluated by OPA's topdown evaluator.
var reference = lazyEngine("the reference policy", func(ctx context.Context) (*policy.Engine, error) {
	src, err := os.ReadFile("testdata/reference/egress.rego")
	if err != nil {
		return nil, err
	}
	b, err := policy.NewBundle(map[string]string{"egress.rego": string(src)})
	if err != nil {
		return nil, err
	}
	return policy.NewTopdownEngine(ctx, b, PolicyQuery, "input")
})

// jsonInput is the input as the engine reads a Go value: through JSON.
func jsonInput(t testing.TB, in PolicyInput) ast.Value {
	t.Helper()
	res, err := reference(t).EvalValue(context.Background(), "input", in)
	if err != nil {
		t.Fatalf("reading the input through JSON: %v", err)
	}
	return res.Value
}

// jsonDecision is the decision the reference policy gives on in, with the input and the decision
// both going through JSON (Eval and Result.Decode).
func jsonDecision(t testing.TB, in PolicyInput) (Decision, error) {
	t.Helper()
	res, err := reference(t).Eval(context.Background(), PolicyQuery, in)
	if err != nil {
		return Decision{}, err
	}
	var d Decision
	if err := res.Decode(&d); err != nil {
		t.Fatalf("decoding the reference decision: %v", err)
	}
	return d, nil
}

// report analyses content as the file name, with a sidecar when one is given.
func report(t testing.TB, name, content, sidecar string, rules sdc.Rules) FileReport {
	t.Helper()
	opts := Options{Rules: rules}
	if sidecar != "" {
		opts.Sidecar = strings.NewReader(sidecar)
	}
	r, err := Analyse(context.Background(), name, strings.NewReader(content), opts)
	if err != nil {
		t.Fatalf("Analyse(%s): %v", name, err)
	}
	return r
}

// everyField is a report with every field set to something other than its zero value, strings
// holding bytes that are not UTF-8, so that a field the policy input leaves out, or writes
// differently from encoding/json, shows.
func everyField(t testing.TB) FileReport {
	t.Helper()
	var r FileReport
	n := int64(1000)
	var fill func(v reflect.Value)
	fill = func(v reflect.Value) {
		n++
		switch v.Kind() {
		case reflect.String:
			v.SetString(fmt.Sprintf("s%d\xff\xfe<é>", n))
		case reflect.Int, reflect.Int64:
			v.SetInt(-n)
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Slice:
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
			fill(v.Index(0))
			fill(v.Index(1))
		case reflect.Map:
			v.Set(reflect.MakeMap(v.Type()))
			v.SetMapIndex(reflect.ValueOf(fmt.Sprint("k\x80", n)), reflect.ValueOf("row 1, column 2 \"\xc3\x28\""))
		case reflect.Struct:
			for i := range v.NumField() {
				fill(v.Field(i))
			}
		default:
			t.Fatalf("everyField cannot fill a %s", v.Kind())
		}
	}
	fill(reflect.ValueOf(&r).Elem())
	return r
}

// inputCase is a request to evaluate the policy on.
type inputCase struct {
	name string
	in   PolicyInput
}

// inputCases are the hostile corpus, file by file with and without an exception and all at once;
// the table fixtures of the check tests, with sidecars and under other rules; bad, repeated and
// missing paths; files without analyses; and reports with every field set or left nil.
func inputCases(t testing.TB) []inputCase {
	t.Helper()
	acro := sdc.DefaultRules()
	var cases []inputCase
	one := func(name, path string, kind fivesafesv1alpha1.OutputKind, r *FileReport, exception string, rules sdc.Rules) {
		reports := map[string]FileReport{}
		if r != nil {
			reports[path] = *r
		}
		cases = append(cases, inputCase{name, NewPolicyInput(rules, []fivesafesv1alpha1.OutputFile{{Path: path, Kind: kind, ExceptionJustification: exception}}, reports)})
	}

	entries, err := os.ReadDir("testdata/hostile")
	if err != nil {
		t.Fatal(err)
	}
	var all []fivesafesv1alpha1.OutputFile
	allReports := map[string]FileReport{}
	for _, e := range entries {
		name := e.Name()
		r := report(t, name, string(readCorpus(t, name)), "", acro)
		path := "outputs-test/" + name
		one(name, path, kindOf(name), &r, "", acro)
		one(name+" with an exception", path, kindOf(name), &r, "Published already.", acro)
		all = append(all, fivesafesv1alpha1.OutputFile{Path: path, Kind: kindOf(name)})
		allReports[path] = r
	}
	cases = append(cases, inputCase{"the whole corpus", NewPolicyInput(acro, all, allReports)})

	zerosAllowed := acro
	zerosAllowed.ZerosDisclosive = false
	strict := sdc.Rules{MinimumCellCount: 20, ZerosDisclosive: true, DominanceN: 3, DominanceKBasisPoints: 5000, PRatioBasisPoints: 2000}
	tables := []struct{ name, content, sidecar string }{
		{"clean.csv", cleanTable, ""},
		{"cost.csv", costTable, ""},
		{"cost.csv", costTable, goodSidecar},
		{"cost.csv", costTable, dominantSidecar},
		{"cost.csv", costTable, `{"version": 1, "cells": [{"row": 9, "column": 99, "contributors": -1, "largest": [1e99], "total": "x"}]}`},
		{"zeros.csv", "region,n\nNorth,0\nSouth,15\n", ""},
		{"small.csv", "region,n\nNorth,3\nSouth,15\n", ""},
		{"negative.csv", "region,n\nNorth,-3\nSouth,15\n", ""},
		{"notes.md", "| a | b |\n|---|---|\n| 1 | 2 |\n", ""},
		{"table.txt", "region n\nNorth 12\n", ""},
		{"records.csv", "id,age,sex\n1,34,F\n2,51,M\n3,22,F\n4,67,M\n5,45,F\n6,38,M\n7,29,F\n8,71,M\n9,55,F\n10,62,M\n11,33,F\n12,48,M\n", ""},
	}
	for _, rules := range []sdc.Rules{acro, zerosAllowed, strict} {
		for _, tt := range tables {
			r := report(t, tt.name, tt.content, tt.sidecar, rules)
			label := fmt.Sprintf("%s (sidecar %t, threshold %d, zeros %t)", tt.name, tt.sidecar != "", rules.MinimumCellCount, rules.ZerosDisclosive)
			one(label, "tables/"+tt.name, fivesafesv1alpha1.OutputTable, &r, "", rules)
			one(label+" with an exception", "tables/"+tt.name, fivesafesv1alpha1.OutputTable, &r, "  Needed for the paper.  ", rules)
			one(label+" as text", "tables/"+tt.name, fivesafesv1alpha1.OutputText, &r, "", rules)
		}
	}

	clean := report(t, "a.csv", cleanTable, "", acro)
	for _, p := range badPaths(t) {
		one("bad path "+p, p, fivesafesv1alpha1.OutputTable, &clean, "", acro)
	}
	one("no analysis", "tables/a.csv", fivesafesv1alpha1.OutputTable, nil, "", acro)
	cases = append(cases, inputCase{"repeated path", PolicyInput{
		Rules: NewPolicyInput(acro, nil, nil).Rules,
		Files: []PolicyFile{{Path: "a.csv", Kind: "Table", Analysis: &clean}, {Path: "b.csv", Kind: "Table", Analysis: &clean}, {Path: "a.csv", Kind: "Table"}},
	}})
	cases = append(cases, inputCase{"no files", NewPolicyInput(acro, nil, nil)}, inputCase{"nil files", PolicyInput{Rules: NewPolicyInput(acro, nil, nil).Rules}})

	full := everyField(t)
	one("every field set", "tables/full.csv", fivesafesv1alpha1.OutputTable, &full, "why\xff", acro)
	empty := FileReport{Type: TypeCSV}
	one("nil slices and maps", "tables/empty.csv", "", &empty, "", acro)
	return cases
}

// TestPolicyInputValue checks that PolicyInput.Value is exactly the value the engine reads from
// the same input through JSON.
func TestPolicyInputValue(t *testing.T) {
	for _, c := range inputCases(t) {
		got, want := c.in.Value(), jsonInput(t, c.in)
		if got.Compare(want) != 0 || got.String() != want.String() {
			t.Errorf("%s: Value() =\n%v\nthrough JSON =\n%v", c.name, got, want)
		}
	}
}

// TestPolicyMatchesReference checks that the policy, given its input as a Rego value and read
// back with DecisionFromValue, decides exactly as the reference policy given the input and read
// back through JSON.
func TestPolicyMatchesReference(t *testing.T) {
	for _, c := range inputCases(t) {
		comparePolicies(t, c.name, c.in)
	}
	// Generated requests, as the fuzz target makes them, from a fixed seed.
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 400 {
		data := make([]byte, 96)
		for j := range data {
			data[j] = byte(rng.UintN(256))
		}
		comparePolicies(t, fmt.Sprintf("generated request %d", i), generatedInput(data))
	}
}

// FuzzPolicyMatchesReference compares the policy with the reference on requests built from fuzz
// bytes: several files with counters, flags, types, kinds, paths and rules drawn from values on
// both sides of each check.
func FuzzPolicyMatchesReference(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte("\x03\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	f.Add([]byte("\x02\x80\x91\xa2\xb3\xc4\xd5\xe6\xf7\x08\x19\x2a\x3b\x4c\x5d\x6e\x7f\x80\x91\xa2\xb3\xc4\xd5\xe6\xf7"))
	f.Add([]byte(strings.Repeat("\xa0\x10", 64)))
	f.Add([]byte(strings.Repeat("\x7f", 128)))
	reference(f)
	egressEngine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		in := generatedInput(data)
		got, want := in.Value(), jsonInput(t, in)
		if got.Compare(want) != 0 || got.String() != want.String() {
			t.Fatalf("Value() =\n%v\nthrough JSON =\n%v", got, want)
		}
		comparePolicies(t, "fuzzed request", in)
	})
}

// comparePolicies checks that the policy, evaluated from its plan, decides on in exactly as the
// same policy evaluated by topdown, and as the reference policy.
func comparePolicies(t testing.TB, name string, in PolicyInput) {
	t.Helper()
	want, wantErr := jsonDecision(t, in)
	got, rev, gotErr := evaluatePolicy(context.Background(), egressEngine(t), in)
	td, tdRev, tdErr := evaluatePolicy(context.Background(), topdownEngine(t), in)
	switch {
	case (gotErr != nil) != (wantErr != nil):
		t.Errorf("%s: error %v, reference error %v", name, gotErr, wantErr)
	case !reflect.DeepEqual(got, want):
		t.Errorf("%s: decision\n%+v\nreference\n%+v", name, got, want)
	}
	switch {
	case (gotErr != nil) != (tdErr != nil):
		t.Errorf("%s: error %v, topdown error %v", name, gotErr, tdErr)
	case !reflect.DeepEqual(got, td) || rev != tdRev:
		t.Errorf("%s: decision\n%+v\n(policy %s)\ntopdown\n%+v\n(policy %s)", name, got, rev, td, tdRev)
	}
}

// draw reads a request from fuzz bytes, one byte per choice, zeros once they run out.
type draw struct{ data []byte }

func (d *draw) byte() byte {
	if len(d.data) == 0 {
		return 0
	}
	b := d.data[0]
	d.data = d.data[1:]
	return b
}

// pick returns one of vs; the first is the most likely, as in real reports most counters are zero.
func pick[T any](d *draw, vs ...T) T {
	b := int(d.byte())
	if b < 128 {
		return vs[0]
	}
	return vs[(b-128)%len(vs)]
}

// generatedInput builds a request of one to four files from fuzz bytes.
func generatedInput(data []byte) PolicyInput {
	d := &draw{data: data}
	in := PolicyInput{Rules: PolicyRules{
		MinimumCellCount:  pick[int64](d, 10, 0, 1, 5, 20, -3),
		Dominance:         PolicyDominance{Contributors: pick(d, 2, 0, 1, 3), KBasisPoints: pick[int64](d, 9000, 0, 5000, 10000)},
		PRatioBasisPoints: pick[int64](d, 1000, -1, 0, 2500),
		Zeros:             pick[fivesafesv1alpha1.ZeroCells](d, fivesafesv1alpha1.ZerosDisclosive, fivesafesv1alpha1.ZerosAllowed, ""),
	}}
	files := 1 + int(d.byte())%4
	for i := range files {
		f := PolicyFile{
			Path:                   pick(d, fmt.Sprintf("tables/t%d.csv", i), "tables/t0.csv", "../x.csv", "tables/CON.txt", "a//b", "tables/a.", "", "tables/é.csv", strings.Repeat("a", 513)),
			Kind:                   pick[fivesafesv1alpha1.OutputKind](d, "Table", "Figure", "Code", "Text", ""),
			ExceptionJustification: pick(d, "", "Published already.", "   ", "\t\n"),
		}
		if d.byte() < 240 {
			r := generatedReport(d)
			f.Analysis = &r
		}
		in.Files = append(in.Files, f)
	}
	return in
}

func generatedReport(d *draw) FileReport {
	n := func() int64 { return pick[int64](d, 0, 1, 3, 9, 10, 12, -2) }
	types := []Type{TypeCSV, TypeEmpty, TypeTSV, TypeText, TypeMarkdown, TypeJSON, TypeSVG, TypeHTML, TypeScript, TypePNG, TypeJPEG, TypePDF, TypeArchive, TypeExecutable, TypeBinary, "", "weird"}
	r := FileReport{
		Path:           "p",
		Extension:      pick(d, "csv", "tsv", "txt", "png", "", "md"),
		Type:           pick(d, types...),
		Format:         pick(d, "", "zip", "utf-16", "utf-32", "elf"),
		Size:           n(),
		SHA256:         pick(d, "", "sha256:00"),
		Complete:       pick(d, true, false),
		LimitsExceeded: pick(d, []string{}, nil, []string{LimitRows}, []string{LimitSize, LimitColumns}),
		Lines:          n(),
		Rows:           n(),
		Columns:        int(n()),
		Malformed:      n(),
		Counts: Counts{
			Identified:     pick(d, true, false),
			Layout:         pick(d, "long", "wide", "none"),
			Columns:        pick(d, []int{3}, nil, []int{}, []int{2, 4}),
			Cells:          n(),
			MinNonZero:     pick[int64](d, 12, 0, 1, 9, 10, 25),
			Zeros:          n(),
			BelowThreshold: n(),
			Negative:       n(),
			Suppressed:     n(),
			Threshold:      pick[int64](d, 10, 20),
		},
		MagnitudeColumns:   int(n()),
		MagnitudeUnchecked: int(n()),
		Sidecar: SidecarSummary{
			Present:           pick(d, false, true),
			Valid:             pick(d, false, true),
			Error:             pick(d, "", "cells do not match the table"),
			Cells:             n(),
			ThresholdFailures: n(),
			ZeroCells:         n(),
			Inapplicable:      n(),
		},
		DominanceFailures:       n(),
		PRatioFailures:          n(),
		Identifiers:             Identifiers{NHSNumbers: n(), Postcodes: n(), Pseudonyms: n(), DatesOfBirth: n()},
		FormulaCells:            n(),
		NULBytes:                n(),
		InvalidUTF8:             n(),
		Archive:                 pick(d, false, true),
		Executable:              pick(d, false, true),
		Binary:                  pick(d, false, true),
		Embedded:                pick(d, "", "zip", "pdf"),
		TrailingData:            pick(d, false, true),
		ActiveContent:           n(),
		EmbeddedFiles:           n(),
		MarkdownTables:          n(),
		IndividualLevel:         pick(d, false, true),
		IndividualLevelPossible: pick(d, false, true),
		IndividualLevelReasons:  pick(d, []string{}, nil, []string{"column 1 holds identifiers"}),
	}
	// Locations as the analysers write them: present for every counter, or missing altogether.
	r.Locations = pick(d, map[string]string{}, nil)
	if r.Locations != nil {
		for _, k := range []string{LocNULBytes, LocInvalidUTF8, LocNHSNumbers, LocPostcodes, LocPseudonyms, LocDatesOfBirth, LocFormulaCells, LocZeros, LocBelowThreshold, LocNegativeCounts, LocDominance, LocPRatio, LocSidecarThreshold, LocActiveContent, LocMalformed, LimitRows} {
			if d.byte()&1 == 1 {
				r.Locations[k] = "row 2, column 3 \"n\""
			}
		}
	}
	return r
}

func TestDecisionFromValue(t *testing.T) {
	tests := []struct {
		name string
		rego string
		want Decision
		err  bool
	}{
		{
			name: "decision",
			rego: `{"outcome": "review", "files": {"a.csv": {"outcome": "pass", "findings": []}, "b.png": {"outcome": "review", "findings": [{"rule": "egress.review.png", "message": "m", "location": ""}]}}}`,
			want: Decision{Outcome: "review", Files: map[string]FileDecision{
				"a.csv": {Outcome: "pass", Findings: []fivesafesv1alpha1.Finding{}},
				"b.png": {Outcome: "review", Findings: []fivesafesv1alpha1.Finding{{Rule: "egress.review.png", Message: "m"}}},
			}},
		},
		{name: "nulls read as empty", rego: `{"outcome": null, "files": {"a.csv": null, "b.csv": {"outcome": "fail", "findings": [null, {"rule": null}]}}}`, want: Decision{Files: map[string]FileDecision{
			"a.csv": {}, "b.csv": {Outcome: "fail", Findings: []fivesafesv1alpha1.Finding{{}, {}}},
		}}},
		{name: "null decision", rego: `null`, want: Decision{}},
		{name: "other fields ignored", rego: `{"outcome": "pass", "why": 1, "files": {"a.csv": {"outcome": "pass", "findings": null, "extra": [1]}}}`, want: Decision{Outcome: "pass", Files: map[string]FileDecision{"a.csv": {Outcome: "pass"}}}},
		{name: "field of a finding", rego: `{"files": {"a": {"findings": [{"rule": "r", "field": "f", "message": "m", "location": "l"}]}}}`, want: Decision{Files: map[string]FileDecision{"a": {Findings: []fivesafesv1alpha1.Finding{{Rule: "r", Field: "f", Message: "m", Location: "l"}}}}}},
		{name: "decision not an object", rego: `["pass"]`, err: true},
		{name: "outcome not a string", rego: `{"outcome": 1}`, err: true},
		{name: "files an array", rego: `{"files": []}`, err: true},
		{name: "file keyed by a number", rego: `{"files": {1: {"outcome": "pass"}}}`, err: true},
		{name: "file decision a string", rego: `{"files": {"a": "pass"}}`, err: true},
		{name: "file outcome a boolean", rego: `{"files": {"a": {"outcome": true}}}`, err: true},
		{name: "findings a set", rego: `{"files": {"a": {"outcome": "fail", "findings": {{"rule": "r"}}}}}`, err: true},
		{name: "finding a string", rego: `{"files": {"a": {"findings": ["r"]}}}`, err: true},
		{name: "finding message a number", rego: `{"files": {"a": {"findings": [{"message": 2}]}}}`, err: true},
		{name: "field in other case", rego: `{"Outcome": "pass"}`, err: true},
		{name: "file field in other case", rego: `{"files": {"a": {"OUTCOME": "pass"}}}`, err: true},
		{name: "finding key not a string", rego: `{"files": {"a": {"findings": [{1: "r"}]}}}`, err: true},
		// Rego reads .5 as a number; JSON has no such number, and reading the decision through JSON
		// failed on it, wherever it stood.
		{name: "number JSON cannot carry, in a field no one reads", rego: `{"outcome": "pass", "why": {"score": [.5]}}`, err: true},
		{name: "number JSON cannot carry, in a file decision", rego: `{"files": {"a": {"outcome": "pass", "score": -.5}}}`, err: true},
		{name: "number JSON cannot carry, in a finding", rego: `{"files": {"a": {"findings": [{"rule": "r", "score": {.0}}]}}}`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecisionFromValue(ast.MustParseTerm(tt.rego).Value)
			if tt.err {
				if err == nil || !errors.Is(err, errDecisionShape) {
					t.Fatalf("DecisionFromValue = %+v, %v; want a shape error", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecisionFromValue =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

// FuzzDecisionFromValue reads arbitrary Rego values as decisions: whatever a policy revision
// produces, DecisionFromValue returns an error or the decision encoding/json reads from the same
// value.
func FuzzDecisionFromValue(f *testing.F) {
	for _, s := range []string{
		`{"outcome": "pass", "files": {"a.csv": {"outcome": "pass", "findings": []}}}`,
		`{"outcome": "fail", "files": {"a.csv": {"outcome": "fail", "findings": [{"rule": "r", "message": "m", "location": "l"}]}}}`,
		`{"files": {"a": null, "b": {"findings": null}}}`,
		`{"Outcome": "pass"}`,
		`{"files": {"a": {"findings": {{"rule": "r"}}}}}`,
		`null`, `[]`, `"pass"`, `{"files": {1: {}}}`, `{"outcome": 1.5e300}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		// Only constant values (no calls, references or comprehensions) come out of an evaluation.
		term, err := ast.ParseTerm(s)
		if err != nil || !ast.IsConstant(term.Value) {
			return
		}
		got, err := DecisionFromValue(term.Value)
		if err != nil {
			return
		}
		j, jerr := ast.JSON(term.Value)
		if jerr != nil {
			t.Fatalf("read %q as %+v, but it has no JSON form: %v", s, got, jerr)
		}
		want, werr := decodeThroughJSON(j)
		if werr != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("read %q as\n%+v\nencoding/json reads\n%+v (%v)", s, got, want, werr)
		}
	})
}

// decodeThroughJSON decodes a value converted by ast.JSON as Result.Decode does.
func decodeThroughJSON(v any) (Decision, error) {
	var d Decision
	err := policy.Result{Value: v}.Decode(&d)
	return d, err
}

// TestEvaluatePolicyConcurrently evaluates the policy from several goroutines at once on inputs
// that share the terms made once (keys, empty values): every decision must be the one a single
// evaluation gives. Run with -race.
func TestEvaluatePolicyConcurrently(t *testing.T) {
	ctx := context.Background()
	eng := egressEngine(t)
	cases := inputCases(t)[:40]
	want := make([]Decision, len(cases))
	for i, c := range cases {
		d, _, err := evaluatePolicy(ctx, eng, c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		want[i] = d
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range cases {
				c := cases[(i+g*5)%len(cases)]
				d, _, err := evaluatePolicy(ctx, eng, c.in)
				if err != nil || !reflect.DeepEqual(d, want[(i+g*5)%len(cases)]) {
					errs <- fmt.Errorf("%s: decision %+v, error %v", c.name, d, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
