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
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/fivesafes/fivesafes/internal/register"
)

// registerDoc is the part of the register's JSON form the tests read.
type registerDoc struct {
	Summary       register.Summary `json:"summary"`
	Organisations []struct {
		Name       string `json:"name"`
		Agreements []struct {
			Reference       string `json:"reference"`
			Phase           string `json:"phase"`
			OptOutsHonoured string `json:"optOutsHonoured"`
			Datasets        []struct {
				Name            string `json:"name"`
				Title           string `json:"title"`
				OptOutsHonoured string `json:"optOutsHonoured"`
			} `json:"datasets"`
		} `json:"agreements"`
	} `json:"organisations"`
	Flags []struct {
		Kind         string   `json:"kind"`
		Organisation string   `json:"organisation"`
		Dataset      string   `json:"dataset"`
		Month        string   `json:"month"`
		Agreements   []string `json:"agreements"`
	} `json:"flags"`
}

func decodeRegister(t *testing.T, data string) registerDoc {
	t.Helper()
	var doc registerDoc
	if err := json.Unmarshal([]byte(data), &doc); err != nil {
		t.Fatalf("register JSON does not decode: %v\n%s", err, data)
	}
	return doc
}

func TestRegisterFromSamples(t *testing.T) {
	const ccg = "NHS Cambridgeshire and Peterborough CCG"

	md, _ := mustExec(t, ExitOK, "register", "--from", samplesDir)
	for _, want := range []string{"# Data release register", "## " + ccg, "NIC-38002-S3K0V", "Opt-outs not applied"} {
		if !strings.Contains(md, want) {
			t.Errorf("Markdown lacks %q", want)
		}
	}
	if same, _ := mustExec(t, ExitOK, "register", "--from", samplesDir, "--format", "markdown"); same != md {
		t.Error("--format markdown differs from the default")
	}

	js, _ := mustExec(t, ExitOK, "register", "--from", samplesDir, "--format", "json")
	doc := decodeRegister(t, js)
	if len(doc.Organisations) != 1 || doc.Organisations[0].Name != ccg || len(doc.Organisations[0].Agreements) != 1 {
		t.Fatalf("organisations = %+v", doc.Organisations)
	}
	a := doc.Organisations[0].Agreements[0]
	if a.Reference != "NIC-38002-S3K0V" || a.OptOutsHonoured != "Y, N" || len(a.Datasets) != 2 {
		t.Fatalf("agreement = %+v", a)
	}
	if len(doc.Flags) != 1 || doc.Flags[0].Kind != register.FlagOptOutsNotApplied || doc.Flags[0].Dataset != "asc-cld" || doc.Flags[0].Month != "2026-04" {
		t.Fatalf("flags = %+v", doc.Flags)
	}

	site := filepath.Join(t.TempDir(), "site")
	stdout, _ := mustExec(t, ExitOK, "register", "--from", samplesDir, "--format", "html", "--out", site)
	if !strings.Contains(stdout, "Wrote the register (1 organisation, 1 agreement, 1 flag) to "+site) {
		t.Fatalf("output = %q", stdout)
	}
	index, err := os.ReadFile(filepath.Join(site, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	pages, err := filepath.Glob(filepath.Join(site, "organisations", "*.html"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 1 {
		t.Fatalf("%d organisation pages, want 1", len(pages))
	}
	page, err := os.ReadFile(pages[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, doc := range []string{string(index), string(page)} {
		if !strings.Contains(doc, "<html") || strings.Contains(strings.ToLower(doc), "<script") {
			t.Fatalf("page is not a script-free HTML page:\n%s", doc)
		}
	}
	if !strings.Contains(string(page), "NIC-38002-S3K0V") {
		t.Fatal("the organisation page does not list its agreement")
	}

	// Markdown and JSON may go to a directory too.
	dir := t.TempDir()
	mustExec(t, ExitOK, "register", "--from", samplesDir, "--format", "json", "--out", dir)
	written, err := os.ReadFile(filepath.Join(dir, "register.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != js {
		t.Fatal("register.json differs from the JSON on standard output")
	}
}

// TestRegisterFlagsFixture reproduces the NHS register's flagged situation: the mixed opt-outs
// flag appears for the one organisation, dataset and month, and nowhere else.
func TestRegisterFlagsFixture(t *testing.T) {
	js, _ := mustExec(t, ExitOK, "register", "--from", registerFixture, "--format", "json")
	doc := decodeRegister(t, js)
	var mixed []string
	for _, f := range doc.Flags {
		if f.Kind == register.FlagMixedOptOuts {
			mixed = append(mixed, f.Organisation+"|"+f.Dataset+"|"+f.Month+"|"+strings.Join(f.Agreements, ","))
		}
	}
	want := []string{"NHS Cambridgeshire and Peterborough CCG|sus-admitted-patient-care|2017-06|NIC-38002-S3K0V,NIC-61220-T4X9B"}
	if !slices.Equal(mixed, want) {
		t.Fatalf("mixed opt-outs flags = %v, want %v", mixed, want)
	}
	if doc.Summary.Flags != len(doc.Flags) {
		t.Fatalf("summary counts %d flags, the list holds %d", doc.Summary.Flags, len(doc.Flags))
	}
}

func TestRegisterUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown format", []string{"register", "--from", samplesDir, "--format", "pdf"}, `unknown --format "pdf"`},
		{"html to stdout", []string{"register", "--from", samplesDir, "--format", "html"}, "name a directory with --out"},
		{"missing directory", []string{"register", "--from", filepath.Join(t.TempDir(), "missing")}, "reading"},
		{"no cluster", []string{"register", "--kubeconfig", filepath.Join(t.TempDir(), "missing.kubeconfig")}, "kubeconfig"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := mustExec(t, ExitUsage, tc.args...)
			if stdout != "" {
				t.Errorf("wrote %q", stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}
