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
	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/sdc"
)

// PolicyQuery is the query whose value is the egress policy's Decision.
const PolicyQuery = "data.fivesafes.egress.decision"

// PolicyInput is the input document of the egress policy.
type PolicyInput struct {
	// Rules are the agreement's output rules, defaults filled in.
	Rules PolicyRules `json:"rules"`
	// Files are the requested files with their analyses.
	Files []PolicyFile `json:"files"`
}

// PolicyRules are output rules as the policy reads them; the field names follow the agreement's
// outputRules.
type PolicyRules struct {
	// MinimumCellCount is the threshold.
	MinimumCellCount int64 `json:"minimumCellCount"`
	// Dominance is the n-k rule.
	Dominance PolicyDominance `json:"dominance"`
	// PRatioBasisPoints is the p-ratio.
	PRatioBasisPoints int64 `json:"pRatioBasisPoints"`
	// Zeros is "Disclosive" or "Allowed".
	Zeros fivesafesv1alpha1.ZeroCells `json:"zeros"`
}

// PolicyDominance is the n-k rule as the policy reads it.
type PolicyDominance struct {
	// Contributors is n.
	Contributors int `json:"contributors"`
	// KBasisPoints is k.
	KBasisPoints int64 `json:"kBasisPoints"`
}

// PolicyFile is one requested file.
type PolicyFile struct {
	// Path is the path under outputs/.
	Path string `json:"path"`
	// Kind is what the researcher says the file is: Table, Figure, Code or Text.
	Kind fivesafesv1alpha1.OutputKind `json:"kind"`
	// ExceptionJustification is the researcher's case for releasing a file that breaks a
	// threshold rule, or empty.
	ExceptionJustification string `json:"exceptionJustification,omitempty"`
	// Analysis is the file's report; a file without one fails.
	Analysis *FileReport `json:"analysis,omitempty"`
}

// NewPolicyInput builds the policy input from the rules the files were analysed with, the
// requested files, and their reports keyed by path. A requested file with no report is passed
// without an analysis, and the policy fails it.
func NewPolicyInput(rules sdc.Rules, files []fivesafesv1alpha1.OutputFile, reports map[string]FileReport) PolicyInput {
	in := PolicyInput{
		Rules: PolicyRules{
			MinimumCellCount:  rules.MinimumCellCount,
			Dominance:         PolicyDominance{Contributors: rules.DominanceN, KBasisPoints: rules.DominanceKBasisPoints},
			PRatioBasisPoints: rules.PRatioBasisPoints,
			Zeros:             fivesafesv1alpha1.ZerosDisclosive,
		},
		Files: make([]PolicyFile, 0, len(files)),
	}
	if !rules.ZerosDisclosive {
		in.Rules.Zeros = fivesafesv1alpha1.ZerosAllowed
	}
	for _, f := range files {
		pf := PolicyFile{Path: f.Path, Kind: f.Kind, ExceptionJustification: f.ExceptionJustification}
		if r, ok := reports[f.Path]; ok {
			pf.Analysis = &r
		}
		in.Files = append(in.Files, pf)
	}
	return in
}

// Decision is the egress policy's decision, the value of PolicyQuery.
type Decision struct {
	// Outcome is the worst of the files' outcomes.
	Outcome fivesafesv1alpha1.CheckOutcome `json:"outcome"`
	// Files holds each file's outcome, keyed by path.
	Files map[string]FileDecision `json:"files"`
}

// FileDecision is the decision on one file.
type FileDecision struct {
	// Outcome is pass, review or fail.
	Outcome fivesafesv1alpha1.CheckOutcome `json:"outcome"`
	// Findings explain an outcome other than pass.
	Findings []fivesafesv1alpha1.Finding `json:"findings"`
}

// RuleNoDecision is the finding given to a file the policy returned no decision for.
const RuleNoDecision = "egress.no_decision"

// ForFile returns the decision on a file, failing closed: a file the policy did not decide on, or
// decided on with an unknown outcome, fails.
func (d Decision) ForFile(path string) FileDecision {
	fd, ok := d.Files[path]
	switch {
	case !ok:
		return FileDecision{Outcome: fivesafesv1alpha1.OutcomeFail, Findings: []fivesafesv1alpha1.Finding{{
			Rule: RuleNoDecision, Message: "The egress policy gave no decision on this file.",
		}}}
	case fd.Outcome != fivesafesv1alpha1.OutcomePass && fd.Outcome != fivesafesv1alpha1.OutcomeReview && fd.Outcome != fivesafesv1alpha1.OutcomeFail:
		return FileDecision{Outcome: fivesafesv1alpha1.OutcomeFail, Findings: append(fd.Findings, fivesafesv1alpha1.Finding{
			Rule: RuleNoDecision, Message: "The egress policy gave an unknown outcome for this file.",
		})}
	}
	return fd
}

// Overall is the worst outcome over the given paths, each taken with ForFile, so that a decision
// missing a file, or with no files at all, fails.
func (d Decision) Overall(paths []string) fivesafesv1alpha1.CheckOutcome {
	if len(paths) == 0 {
		return fivesafesv1alpha1.OutcomeFail
	}
	out := fivesafesv1alpha1.OutcomePass
	for _, p := range paths {
		switch d.ForFile(p).Outcome {
		case fivesafesv1alpha1.OutcomeFail:
			return fivesafesv1alpha1.OutcomeFail
		case fivesafesv1alpha1.OutcomeReview:
			out = fivesafesv1alpha1.OutcomeReview
		}
	}
	return out
}
