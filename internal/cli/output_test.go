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

package cli

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// hostileCorpus is the egress package's corpus of files that must be refused.
var hostileCorpus = filepath.Join("..", "egress", "testdata", "hostile")

// outputCheckJSON is the documented JSON shape of "output check".
type outputCheckJSON struct {
	Outcome string `json:"outcome"`
	Files   []struct {
		Path     string `json:"path"`
		Outcome  string `json:"outcome"`
		Type     string `json:"type"`
		SHA256   string `json:"sha256"`
		Findings []struct {
			Rule     string `json:"rule"`
			Message  string `json:"message"`
			Location string `json:"location"`
		} `json:"findings"`
	} `json:"files"`
}

// writeOutputFile writes content to name under dir and returns its path.
func writeOutputFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// rulesWithThreshold writes a copy of the sample agreement with another minimum cell count.
func rulesWithThreshold(t *testing.T, dir, threshold string) string {
	t.Helper()
	data, err := os.ReadFile(sampleAgreement)
	if err != nil {
		t.Fatal(err)
	}
	const line = "minimumCellCount: 10"
	if !strings.Contains(string(data), line) {
		t.Fatalf("the sample agreement no longer says %q", line)
	}
	return writeOutputFile(t, dir, "agreement-"+threshold+".yaml", strings.Replace(string(data), line, "minimumCellCount: "+threshold, 1))
}

// checkOutputs runs "output check --format json" and decodes the report strictly.
func checkOutputs(t *testing.T, want int, args ...string) outputCheckJSON {
	t.Helper()
	stdout, _ := mustExec(t, want, append([]string{"output", "check", "--format", "json"}, args...)...)
	var r outputCheckJSON
	decodeStrict(t, stdout, &r)
	if r.Files == nil {
		t.Fatalf("no files in %s", stdout)
	}
	for _, f := range r.Files {
		if f.Findings == nil {
			t.Fatalf("findings of %s are null, want a list: %s", f.Path, stdout)
		}
		for _, x := range f.Findings {
			if x.Rule == "" || x.Message == "" {
				t.Errorf("finding without rule or message in %s: %+v", f.Path, x)
			}
		}
	}
	return r
}

func rulesOf(r outputCheckJSON, file int) []string {
	var rules []string
	for _, x := range r.Files[file].Findings {
		rules = append(rules, x.Rule)
	}
	return rules
}

func TestOutputCheckVerdicts(t *testing.T) {
	const (
		validNHS   = "9434765919"
		invalidNHS = "9434765910"
	)
	if !nhsnumber.Valid(validNHS) || nhsnumber.Valid(invalidNHS) {
		t.Fatal("the test's NHS numbers are not what they say")
	}
	dir := t.TempDir()
	clean := writeOutputFile(t, dir, "clean.csv", "region,sex,n\nNorth,F,12\nNorth,M,15\nSouth,F,20\nSouth,M,31\n")
	large := writeOutputFile(t, dir, "large.csv", "region,sex,n\nNorth,F,22\nNorth,M,25\nSouth,F,20\nSouth,M,31\n")
	nine := writeOutputFile(t, dir, "nine.csv", "region,n\nNorth,9\nSouth,14\n")
	ten := writeOutputFile(t, dir, "ten.csv", "region,n\nNorth,10\nSouth,14\n")
	nhsText := writeOutputFile(t, dir, "notes/nhs.txt", "The patient with NHS number "+validNHS[:3]+" "+validNHS[3:6]+" "+validNHS[6:]+" was readmitted.\n")
	invalidText := writeOutputFile(t, dir, "notes/reference.txt", "Reference "+invalidNHS+" is a ten-digit number that fails the check.\n")
	costTable := "region,n,total_cost\nNorth,12,1000.00\nSouth,15,2000.00\n"
	costGood := writeOutputFile(t, dir, "cost-good/cost.csv", costTable)
	writeOutputFile(t, dir, "cost-good/cost.csv.sdc.json", `{"version": 1, "cells": [
		{"row": 1, "column": "total_cost", "contributors": 12, "largest": [300, 250], "total": 1000},
		{"row": 2, "column": "total_cost", "contributors": 15, "largest": [500, 400], "total": 2000}]}`)
	costDominant := writeOutputFile(t, dir, "cost-dominant/cost.csv", costTable)
	writeOutputFile(t, dir, "cost-dominant/cost.csv.sdc.json", `{"version": 1, "cells": [
		{"row": 1, "column": "total_cost", "contributors": 12, "largest": [950, 30], "total": 1000},
		{"row": 2, "column": "total_cost", "contributors": 15, "largest": [500, 400], "total": 2000}]}`)
	costBare := writeOutputFile(t, dir, "cost-bare/cost.csv", costTable)
	rules20 := rulesWithThreshold(t, dir, "20")

	for _, tc := range []struct {
		name    string
		args    []string
		code    int
		outcome string
		typ     string
		rule    string // a rule that must be among the findings, or "" for no findings at all
	}{
		{"clean aggregate table", []string{clean}, ExitOK, "pass", "csv", ""},
		{"count of 9 at threshold 10", []string{nine}, ExitFindings, "fail", "csv", "egress.threshold"},
		{"count of 10 at threshold 10", []string{ten}, ExitOK, "pass", "csv", ""},
		{"clean table at threshold 20", []string{"--rules", rules20, clean}, ExitFindings, "fail", "csv", "egress.threshold"},
		{"count of 10 at threshold 20", []string{"--rules", rules20, ten}, ExitFindings, "fail", "csv", "egress.threshold"},
		{"counts of 20 and more at threshold 20", []string{"--rules", rules20, large}, ExitOK, "pass", "csv", ""},
		{"sample agreement's rules", []string{"--rules", sampleAgreement, clean}, ExitOK, "pass", "csv", ""},
		{"valid NHS number in text", []string{nhsText}, ExitFindings, "fail", "text", "egress.identifier.nhs_number"},
		{"invalid ten-digit number in text", []string{invalidText}, ExitOK, "pass", "text", ""},
		{"table declared a figure still has its cells checked", []string{"--kind", "figure", nine}, ExitFindings, "fail", "csv", "egress.threshold"},
		{"text checked as a table", []string{"--kind", "table", invalidText}, ExitFindings, "review", "text", "egress.not_a_table"},
		{"magnitudes without a sidecar", []string{costBare}, ExitFindings, "review", "csv", ""},
		{"sidecar next to the table", []string{costGood}, ExitOK, "pass", "csv", ""},
		{"sidecar named too is not an output", []string{costGood, costGood + ".sdc.json"}, ExitOK, "pass", "csv", ""},
		{"sidecar with a dominant contributor", []string{costDominant}, ExitFindings, "fail", "csv", "egress.dominance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := checkOutputs(t, tc.code, tc.args...)
			file := tc.args[len(tc.args)-1]
			if strings.HasSuffix(file, ".sdc.json") {
				file = tc.args[len(tc.args)-2]
			}
			if r.Outcome != tc.outcome || len(r.Files) != 1 {
				t.Fatalf("outcome %s with %d files, want %s with 1", r.Outcome, len(r.Files), tc.outcome)
			}
			f := r.Files[0]
			rules := rulesOf(r, 0)
			if f.Path != file || f.Outcome != tc.outcome || f.Type != tc.typ {
				t.Errorf("file %s: %s, type %s (%v); want %s: %s, type %s", f.Path, f.Outcome, f.Type, rules, file, tc.outcome, tc.typ)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if sum := sha256.Sum256(data); f.SHA256 != "sha256:"+hex.EncodeToString(sum[:]) {
				t.Errorf("sha256 %s, want the file's", f.SHA256)
			}
			switch {
			case tc.rule == "" && tc.outcome == "pass" && len(rules) > 0:
				t.Errorf("findings %v on a file that passes", rules)
			case tc.rule != "" && !slices.Contains(rules, tc.rule):
				t.Errorf("findings %v, want %s among them", rules, tc.rule)
			}
		})
	}
}

func TestOutputCheckHostileCorpus(t *testing.T) {
	entries, err := os.ReadDir(hostileCorpus)
	if err != nil {
		t.Fatal(err)
	}
	var hostile []string
	for _, e := range entries {
		name := e.Name()
		if name == "README.md" || name == "bad-paths.json" || strings.HasPrefix(name, "control-") {
			continue
		}
		hostile = append(hostile, filepath.Join(hostileCorpus, name))
	}
	if len(hostile) < 30 {
		t.Fatalf("only %d hostile files found in %s", len(hostile), hostileCorpus)
	}
	for _, p := range hostile {
		t.Run(filepath.Base(p), func(t *testing.T) {
			r := checkOutputs(t, ExitFindings, p)
			if r.Outcome != "fail" || len(r.Files) != 1 {
				t.Fatalf("outcome %s with %d files, want fail with 1", r.Outcome, len(r.Files))
			}
			f := r.Files[0]
			if f.Path != p || f.Outcome != "fail" || f.Type == "" || !strings.HasPrefix(f.SHA256, "sha256:") || len(f.Findings) == 0 {
				t.Errorf("file %+v, want it refused with findings", f)
			}
			text, _ := mustExec(t, ExitFindings, "output", "check", p)
			if !strings.Contains(text, p+": fail") || !strings.HasSuffix(text, "\n") {
				t.Errorf("text report:\n%s", text)
			}
		})
	}

	t.Run("all together", func(t *testing.T) {
		controls := []string{"control-table.csv", "control-invalid-nhs-number.txt", "control-figure.png"}
		args := slices.Clone(hostile)
		for _, c := range controls {
			args = append(args, filepath.Join(hostileCorpus, c))
		}
		r := checkOutputs(t, ExitFindings, args...)
		if r.Outcome != "fail" || len(r.Files) != len(args) {
			t.Fatalf("outcome %s with %d files, want fail with %d", r.Outcome, len(r.Files), len(args))
		}
		got := map[string]string{}
		for _, f := range r.Files {
			got[filepath.Base(f.Path)] = f.Outcome
		}
		for name, want := range map[string]string{"control-table.csv": "pass", "control-invalid-nhs-number.txt": "pass", "control-figure.png": "review"} {
			if got[name] != want {
				t.Errorf("%s: %s, want %s", name, got[name], want)
			}
		}
	})

	for name, want := range map[string]int{"control-table.csv": ExitOK, "control-invalid-nhs-number.txt": ExitOK, "control-figure.png": ExitFindings} {
		checkOutputs(t, want, filepath.Join(hostileCorpus, name))
	}
}

func TestOutputCheckJSONKeys(t *testing.T) {
	dir := t.TempDir()
	clean := writeOutputFile(t, dir, "clean.csv", "region,n\nNorth,12\nSouth,14\n")
	nine := writeOutputFile(t, dir, "nine.csv", "region,n\nNorth,9\nSouth,14\n")
	stdout, _ := mustExec(t, ExitFindings, "output", "check", "--format", "json", clean, nine)
	var doc map[string]any
	if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, stdout)
	}
	keys := func(m map[string]any) string {
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, ",")
	}
	if got := keys(doc); got != "files,outcome" {
		t.Fatalf("top-level keys %s", got)
	}
	files, ok := doc["files"].([]any)
	if !ok || len(files) != 2 {
		t.Fatalf("files = %v", doc["files"])
	}
	for i, f := range files {
		fm, ok := f.(map[string]any)
		if !ok || keys(fm) != "findings,outcome,path,sha256,type" {
			t.Fatalf("file %d = %v", i, f)
		}
		fs, ok := fm["findings"].([]any)
		if !ok {
			t.Fatalf("file %d: findings = %v, want a list", i, fm["findings"])
		}
		if (i == 0) != (len(fs) == 0) {
			t.Errorf("file %d: %d findings", i, len(fs))
		}
		for _, x := range fs {
			if xm, ok := x.(map[string]any); !ok || keys(xm) != "location,message,rule" {
				t.Errorf("file %d: finding %v", i, x)
			}
		}
	}
	if !strings.Contains(stdout, `"findings": []`) {
		t.Errorf("a file without findings does not have an empty list:\n%s", stdout)
	}
}

func TestOutputCheckNames(t *testing.T) {
	dirA, dirB := t.TempDir(), t.TempDir()
	table := "region,n\nNorth,12\nSouth,14\n"
	a := writeOutputFile(t, dirA, "table.csv", table)
	b := writeOutputFile(t, dirB, "table.csv", table)
	r := checkOutputs(t, ExitOK, a, b)
	if r.Outcome != "pass" || len(r.Files) != 2 || r.Files[0].Path != a || r.Files[1].Path != b {
		t.Errorf("two files of one base name: %+v", r)
	}

	spaced := writeOutputFile(t, dirA, "my table.csv", table)
	r = checkOutputs(t, ExitFindings, spaced)
	if r.Outcome != "fail" || r.Files[0].Type != "csv" || !slices.Contains(rulesOf(r, 0), "egress.path") {
		t.Errorf("a name that cannot be requested: %+v", r)
	}

	text, _ := mustExec(t, ExitOK, "output", "check", a)
	for _, want := range []string{a + ": pass (csv, sha256:", "outcome: pass (1 files, egress policy sha256:"} {
		if !strings.Contains(text, want) {
			t.Errorf("text report lacks %q:\n%s", want, text)
		}
	}
}

func TestOutputCheckUsageErrors(t *testing.T) {
	dir := t.TempDir()
	clean := writeOutputFile(t, dir, "clean.csv", "region,n\nNorth,12\nSouth,14\n")
	withDirSidecar := writeOutputFile(t, dir, "odd.csv", "region,n\nNorth,12\nSouth,14\n")
	if err := os.Mkdir(withDirSidecar+".sdc.json", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", nil, "requires at least 1 arg"},
		{"missing file", []string{clean, filepath.Join(dir, "no-such.csv")}, "no-such.csv"},
		{"directory", []string{dir}, "not a regular file"},
		{"sidecar is a directory", []string{withDirSidecar}, "not a regular file"},
		{"unknown format", []string{"--format", "yaml", clean}, `unknown --format "yaml"`},
		{"unknown kind", []string{"--kind", "archive", clean}, `unknown --kind "archive"`},
		{"missing rules file", []string{"--rules", filepath.Join(dir, "no-such.yaml"), clean}, "reading the rules"},
		{"rules file not an agreement", []string{"--rules", clean, clean}, "reading the rules"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := mustExec(t, ExitUsage, append([]string{"output", "check", "--format", "json"}, tc.args...)...)
			if stdout != "" {
				t.Errorf("wrote a report although nothing was checked: %q", stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}
