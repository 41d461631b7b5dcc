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
	"encoding/json"
	"testing"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/sdc"
)

func TestNewPolicyInput(t *testing.T) {
	rules := sdc.DefaultRules()
	rules.ZerosDisclosive = false
	report := FileReport{Path: "a.csv", Type: TypeCSV}
	in := NewPolicyInput(rules, []fivesafesv1alpha1.OutputFile{
		{Path: "a.csv", Kind: fivesafesv1alpha1.OutputTable, Description: "d", ExceptionJustification: "why"},
		{Path: "b.png", Kind: fivesafesv1alpha1.OutputFigure, Description: "d"},
	}, map[string]FileReport{"a.csv": report})
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	r := got["rules"].(map[string]any)
	if r["minimumCellCount"] != 10.0 || r["pRatioBasisPoints"] != 1000.0 || r["zeros"] != "Allowed" {
		t.Errorf("rules %v", r)
	}
	if d := r["dominance"].(map[string]any); d["contributors"] != 2.0 || d["kBasisPoints"] != 9000.0 {
		t.Errorf("dominance %v", d)
	}
	files := got["files"].([]any)
	a, b2 := files[0].(map[string]any), files[1].(map[string]any)
	if a["path"] != "a.csv" || a["kind"] != "Table" || a["exceptionJustification"] != "why" || a["analysis"] == nil {
		t.Errorf("file a %v", a)
	}
	if _, ok := b2["analysis"]; ok {
		t.Errorf("file without a report has an analysis: %v", b2)
	}
}

func TestDecisionFailsClosed(t *testing.T) {
	d := Decision{Outcome: fivesafesv1alpha1.OutcomePass, Files: map[string]FileDecision{
		"a.csv": {Outcome: fivesafesv1alpha1.OutcomePass},
		"b.png": {Outcome: fivesafesv1alpha1.OutcomeReview},
		"c.csv": {Outcome: "maybe"},
	}}
	if got := d.ForFile("a.csv").Outcome; got != fivesafesv1alpha1.OutcomePass {
		t.Errorf("a.csv: %s", got)
	}
	if got := d.ForFile("missing.csv"); got.Outcome != fivesafesv1alpha1.OutcomeFail || got.Findings[0].Rule != RuleNoDecision {
		t.Errorf("missing file: %+v", got)
	}
	if got := d.ForFile("c.csv").Outcome; got != fivesafesv1alpha1.OutcomeFail {
		t.Errorf("unknown outcome: %s", got)
	}
	tests := []struct {
		paths []string
		want  fivesafesv1alpha1.CheckOutcome
	}{
		{paths: []string{"a.csv"}, want: fivesafesv1alpha1.OutcomePass},
		{paths: []string{"a.csv", "b.png"}, want: fivesafesv1alpha1.OutcomeReview},
		{paths: []string{"a.csv", "b.png", "missing.csv"}, want: fivesafesv1alpha1.OutcomeFail},
		{paths: nil, want: fivesafesv1alpha1.OutcomeFail},
	}
	for _, tt := range tests {
		if got := d.Overall(tt.paths); got != tt.want {
			t.Errorf("Overall(%v) = %s, want %s", tt.paths, got, tt.want)
		}
	}
}
