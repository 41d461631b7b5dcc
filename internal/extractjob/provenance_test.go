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

package extractjob

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/extract"
)

func baseProvenance() Provenance {
	return Provenance{
		Agreement: "nic-1", Dataset: "hes-apc", Columns: []string{"nhs_number", "sex"},
		SchemaDigest: "sha256:aa", PseudonymMode: "Envelope", KeyVersion: 1, DataKeyDigest: "sha256:bb",
		OptOuts:      OptOutRecord{Applied: true, List: "ndoo", SnapshotDate: "2026-11-01", Digest: "sha256:cc"},
		SourceBucket: "catalogue", SourcePrefix: "hes-apc/", SourceDigest: "sha256:dd",
	}
}

func TestExtractProvenanceChanges(t *testing.T) {
	notApplied := func(p *Provenance) {
		p.OptOuts = OptOutRecord{Justification: "Section 251 support covers this flow."}
	}
	tests := []struct {
		name   string
		change func(*Provenance)
		was    func(*Provenance)
		want   []string
	}{
		{"same", func(*Provenance) {}, nil, nil},
		{"same, not applied", notApplied, notApplied, nil},
		{"source objects", func(p *Provenance) { p.SourceDigest = "sha256:ee" }, nil, []string{"the source objects changed"}},
		{"source location", func(p *Provenance) { p.SourcePrefix = "hes/" }, nil, []string{"the source location changed"}},
		{"columns reordered", func(p *Provenance) { p.Columns = []string{"sex", "nhs_number"} }, nil, []string{"the approved columns changed"}},
		{"column dropped", func(p *Provenance) { p.Columns = p.Columns[:1] }, nil, []string{"the approved columns changed"}},
		{"schema", func(p *Provenance) { p.SchemaDigest = "sha256:ff" }, nil, []string{"the dataset's schema changed"}},
		{"mode", func(p *Provenance) { p.PseudonymMode = "Transit"; p.DataKeyDigest = "" }, nil,
			[]string{"the pseudonymisation mode changed", "the data key changed"}},
		{"key version", func(p *Provenance) { p.KeyVersion = 2 }, nil, []string{"the key version changed"}},
		{"data key", func(p *Provenance) { p.DataKeyDigest = "sha256:00" }, nil, []string{"the data key changed"}},
		{"snapshot digest", func(p *Provenance) { p.OptOuts.Digest = "sha256:01" }, nil, []string{"the opt-out snapshot changed"}},
		{"snapshot date", func(p *Provenance) { p.OptOuts.SnapshotDate = "2026-12-01" }, nil, []string{"the opt-out snapshot changed"}},
		{"opt-out list", func(p *Provenance) { p.OptOuts.List = "other" }, nil, []string{"the opt-out list changed"}},
		{"now applied", func(*Provenance) {}, notApplied, []string{"opt-outs are now applied"}},
		{"no longer applied", notApplied, nil, []string{"opt-outs are no longer applied"}},
		{"justification", notApplied, func(p *Provenance) { notApplied(p); p.OptOuts.Justification = "Consent." },
			[]string{"the justification for not applying opt-outs changed"}},
		{"agreement and dataset", func(p *Provenance) { p.Agreement, p.Dataset = "nic-2", "asc-cld" }, nil,
			[]string{"the agreement changed", "the dataset changed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			now, was := baseProvenance(), baseProvenance()
			tc.change(&now)
			if tc.was != nil {
				tc.was(&was)
			}
			if got := now.Changes(was); !slices.Equal(got, tc.want) {
				t.Errorf("Changes = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestExtractSchemaDigest(t *testing.T) {
	a := []extract.Column{{Name: "nhs_number", Identifier: fivesafesv1alpha1.IdentifierNHSNumber}, {Name: "sex", Identifier: fivesafesv1alpha1.IdentifierNone}}
	b := []extract.Column{{Name: "nhs_number", Identifier: fivesafesv1alpha1.IdentifierNone}, {Name: "sex", Identifier: fivesafesv1alpha1.IdentifierNone}}
	c := []extract.Column{{Name: "nhs_numbe", Identifier: "rNHSNumber"}, {Name: "sex", Identifier: fivesafesv1alpha1.IdentifierNone}}
	da, db, dc := SchemaDigest(a), SchemaDigest(b), SchemaDigest(c)
	if da == db || da == dc || db == dc {
		t.Errorf("schemas that differ share a digest: %s %s %s", da, db, dc)
	}
	if da != SchemaDigest(slices.Clone(a)) {
		t.Error("the same schema gave two digests")
	}
	if !strings.HasPrefix(da, "sha256:") || len(da) != len("sha256:")+64 {
		t.Errorf("digest %q is not sha256:<64 hex>", da)
	}
}

func TestExtractSourceDigest(t *testing.T) {
	objs := []SourceObject{{Key: "hes/part-1.csv", ETag: "e1"}, {Key: "hes/part-2.csv", ETag: "e2"}}
	base := SourceDigest("cat", "hes/", objs)
	variants := map[string]string{
		"other bucket": SourceDigest("cat2", "hes/", objs),
		"other prefix": SourceDigest("cat", "he", objs),
		"other etag":   SourceDigest("cat", "hes/", []SourceObject{objs[0], {Key: objs[1].Key, ETag: "e3"}}),
		"one fewer":    SourceDigest("cat", "hes/", objs[:1]),
		"boundary":     SourceDigest("cat", "hes/", []SourceObject{{Key: "hes/part-1.csve1", ETag: ""}, objs[1]}),
	}
	for name, d := range variants {
		if d == base {
			t.Errorf("%s: same digest as the base", name)
		}
	}
}

func TestExtractRunIDs(t *testing.T) {
	for _, ok := range []string{"20261122t090000z-0a1b2c3d", "a", "run-1"} {
		if err := CheckRunID(ok); err != nil {
			t.Errorf("CheckRunID(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "-a", "A", "a/b", "..", "manifest.json", strings.Repeat("a", 64)} {
		if CheckRunID(bad) == nil {
			t.Errorf("CheckRunID(%q) accepted", bad)
		}
	}
	if got := PartKey("hes-apc", "r1", 7); got != "datasets/hes-apc/r1/part-0007.csv" {
		t.Errorf("PartKey = %q", got)
	}
}

func validManifest(t testing.TB) []byte {
	t.Helper()
	m := Manifest{Version: FormatVersion, Provenance: baseProvenance(), RunID: "r1",
		Objects: []Object{{Path: PartKey("hes-apc", "r1", 1), SHA256: "sha256:00", Size: 10, Rows: 1}}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestExtractDecodeManifest(t *testing.T) {
	good := validManifest(t)
	m, err := DecodeManifest("hes-apc", good)
	if err != nil {
		t.Fatal(err)
	}
	if m.RunID != "r1" || m.OptOuts.Digest != "sha256:cc" || len(m.Objects) != 1 || !strings.HasPrefix(m.SHA256, "sha256:") {
		t.Errorf("decoded %+v", m)
	}
	tests := map[string]string{
		"other dataset":   strings.Replace(string(good), `"dataset":"hes-apc"`, `"dataset":"asc-cld"`, 1),
		"bad run id":      strings.Replace(string(good), `"runId":"r1"`, `"runId":"../x"`, 1),
		"object outside":  strings.Replace(string(good), "datasets/hes-apc/r1/part-0001.csv", "datasets/hes-apc/r0/part-0001.csv", 1),
		"object deeper":   strings.Replace(string(good), "datasets/hes-apc/r1/part-0001.csv", "datasets/hes-apc/r1/x/part-0001.csv", 1),
		"dot-dot":         strings.Replace(string(good), "datasets/hes-apc/r1/part-0001.csv", "datasets/hes-apc/r1/..", 1),
		"another dataset": strings.Replace(string(good), "datasets/hes-apc/r1/part-0001.csv", "datasets/asc-cld/r1/part-0001.csv", 1),
		"not json":        "{",
		"wrong type":      `{"dataset":"hes-apc","runId":"r1","objects":{}}`,
	}
	for name, doc := range tests {
		if _, err := DecodeManifest("hes-apc", []byte(doc)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzDecodeManifest checks that a manifest read back from storage is either refused or names
// only objects of its own run.
func FuzzDecodeManifest(f *testing.F) {
	f.Add(validManifest(f))
	f.Add([]byte(`{"dataset":"hes-apc","runId":"r1","objects":[{"path":"datasets/hes-apc/r1/../../x"}]}`))
	f.Add([]byte(`{"dataset":"hes-apc","runId":"r1","objects":[{"path":"datasets/hes-apc/r1/"}]}`))
	f.Add([]byte(`{"dataset":"hes-apc","runId":"","objects":null}`))
	f.Add([]byte("\xef\xbb\xbf{}"))
	f.Add([]byte(`{"dataset":"hes-apc","runId":"r1","rows":{"read":-1}}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := DecodeManifest("hes-apc", b)
		if err != nil {
			return
		}
		if CheckRunID(m.RunID) != nil || m.Dataset != "hes-apc" {
			t.Fatalf("accepted run %q of dataset %q", m.RunID, m.Dataset)
		}
		gen := GenerationPrefix("hes-apc", m.RunID)
		for _, o := range m.Objects {
			rest, ok := strings.CutPrefix(o.Path, gen)
			if !ok || rest == "" || rest == "." || rest == ".." || strings.Contains(rest, "/") {
				t.Fatalf("accepted object %q outside %q", o.Path, gen)
			}
		}
	})
}
