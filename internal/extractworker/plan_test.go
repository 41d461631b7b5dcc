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

package extractworker

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fivesafes/fivesafes/internal/extractjob"
)

func validPlan() Plan {
	return Plan{
		Version: PlanVersion,
		Provenance: extractjob.Provenance{
			Agreement: "nic-1", Dataset: "hes-apc", PseudonymMode: "Envelope", KeyVersion: 1,
			OptOuts: extractjob.OptOutRecord{Applied: true, List: "ndoo", Digest: "sha256:01"},
		},
		Objects: []extractjob.SourceObject{{Key: "hes-apc/part-0001.csv", ETag: "e1", Size: 10}},
		OptOuts: &OptOutSource{Bucket: "catalogue", Key: "opt-outs.csv", ETag: "e2", Digest: "sha256:01"},
	}
}

// A plan survives encoding; one from another version, with no objects, or whose opt-out
// snapshot is not the one its provenance names is refused, with the reason.
func TestDecodePlan(t *testing.T) {
	p := validPlan()
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlan(b)
	if err != nil || got.Objects[0] != p.Objects[0] || *got.OptOuts != *p.OptOuts {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		mutate func(*Plan)
		want   string
	}{
		"version":            {func(p *Plan) { p.Version = 99 }, "version 99"},
		"no objects":         {func(p *Plan) { p.Objects = nil }, "no source objects"},
		"snapshot missing":   {func(p *Plan) { p.OptOuts = nil }, "exactly when opt-outs are applied"},
		"snapshot not asked": {func(p *Plan) { p.Provenance.OptOuts = extractjob.OptOutRecord{Justification: "s251"} }, "exactly when opt-outs are applied"},
		"other snapshot":     {func(p *Plan) { p.OptOuts.Digest = "sha256:02" }, "not the one its provenance names"},
	} {
		t.Run(name, func(t *testing.T) {
			p := validPlan()
			tc.mutate(&p)
			b, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := DecodePlan(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodePlan: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := DecodePlan([]byte("{")); err == nil {
		t.Fatal("a truncated plan was accepted")
	}
}

// The worker's command line refuses to run without an index or a readable plan.
func TestMainUsage(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "")
	var out, errOut bytes.Buffer
	if code := Main(t.Context(), []string{"--plan", "/nonexistent"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "JOB_COMPLETION_INDEX") {
		t.Fatalf("no index: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main(t.Context(), []string{"--plan", "/nonexistent", "--index", "0"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "nonexistent") {
		t.Fatalf("no plan: exit %d, %q", code, errOut.String())
	}
}
