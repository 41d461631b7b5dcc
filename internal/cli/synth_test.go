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
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
	"github.com/fivesafes/fivesafes/internal/synth"
)

// TestSynthDeterministic shows that the same seed gives byte-identical output through the CLI,
// and another seed gives other output.
func TestSynthDeterministic(t *testing.T) {
	for _, ds := range synth.Datasets() {
		t.Run(ds, func(t *testing.T) {
			args := []string{"synth", "--dataset", ds, "--rows", "500", "--seed", "42"}
			first, _ := mustExec(t, ExitOK, args...)
			second, _ := mustExec(t, ExitOK, args...)
			if first != second {
				t.Fatal("the same seed gave different output")
			}
			other, _ := mustExec(t, ExitOK, "synth", "--dataset", ds, "--rows", "500", "--seed", "43")
			if other == first {
				t.Fatal("another seed gave the same output")
			}
			rows, err := csv.NewReader(strings.NewReader(first)).ReadAll()
			if err != nil {
				t.Fatalf("output is not CSV: %v", err)
			}
			header, err := synth.Columns(ds)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 501 || strings.Join(rows[0], ",") != strings.Join(header, ",") {
				t.Fatalf("got %d rows with header %v, want 501 with header %v", len(rows), rows[0], header)
			}
		})
	}
}

// TestSynthOut shows that --out writes the same bytes as standard output, replaces an existing
// file, and leaves no temporary file behind.
func TestSynthOut(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hes-apc.csv")
	if err := os.WriteFile(path, []byte("old content\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{"synth", "--dataset", "hes-apc", "--rows", "200", "--seed", "7"}
	want, _ := mustExec(t, ExitOK, args...)
	stdout, _ := mustExec(t, ExitOK, append(args, "--out", path)...)
	if stdout != "" {
		t.Fatalf("--out also wrote to standard output: %q", stdout)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatal("the file differs from standard output")
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the output file", len(entries))
	}
}

// TestSynthInvalidShare shows that --invalid-nhs-share is passed on only when given: asc-cld's
// default share of malformed NHS numbers applies without it, and an explicit 0 removes them.
func TestSynthInvalidShare(t *testing.T) {
	invalid := func(csvText string) int {
		t.Helper()
		rows, err := csv.NewReader(strings.NewReader(csvText)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rows[1:] {
			if !nhsnumber.Valid(r[0]) {
				n++
			}
		}
		return n
	}
	base := []string{"synth", "--dataset", "asc-cld", "--rows", "5000", "--seed", "3"}
	def, _ := mustExec(t, ExitOK, base...)
	zero, _ := mustExec(t, ExitOK, append(base, "--invalid-nhs-share", "0")...)
	half, _ := mustExec(t, ExitOK, append(base, "--invalid-nhs-share", "0.5")...)
	if n := invalid(def); n == 0 {
		t.Fatal("the default asc-cld share gave no malformed NHS numbers")
	}
	if n := invalid(zero); n != 0 {
		t.Fatalf("--invalid-nhs-share 0 gave %d malformed NHS numbers", n)
	}
	if n := invalid(half); n < 2000 || n > 3000 {
		t.Fatalf("--invalid-nhs-share 0.5 gave %d malformed NHS numbers in 5000 rows", n)
	}
}

func TestSynthUsageErrors(t *testing.T) {
	missingDir := filepath.Join(t.TempDir(), "no", "such", "dir", "out.csv")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown dataset", []string{"synth", "--dataset", "hes", "--rows", "1", "--seed", "1"}, `unknown dataset "hes": use one of hes-apc, asc-cld, opt-outs`},
		{"no dataset", []string{"synth", "--rows", "1", "--seed", "1"}, `"dataset" not set`},
		{"no rows", []string{"synth", "--dataset", "hes-apc", "--seed", "1"}, `"rows" not set`},
		{"negative rows", []string{"synth", "--dataset", "hes-apc", "--rows", "-1", "--seed", "1"}, "must not be negative"},
		{"share above one", []string{"synth", "--dataset", "asc-cld", "--rows", "1", "--seed", "1", "--invalid-nhs-share", "1.5"}, "must be from 0 to 1"},
		{"share for opt-outs", []string{"synth", "--dataset", "opt-outs", "--rows", "1", "--seed", "1", "--invalid-nhs-share", "0.1"}, "does not apply to opt-outs"},
		{"rows not a number", []string{"synth", "--dataset", "hes-apc", "--rows", "ten", "--seed", "1"}, "invalid argument"},
		{"unwritable out", []string{"synth", "--dataset", "hes-apc", "--rows", "1", "--seed", "1", "--out", missingDir}, "no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := mustExec(t, ExitUsage, tc.args...)
			if stdout != "" {
				t.Errorf("wrote to standard output: %q", stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}
