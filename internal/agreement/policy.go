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

package agreement

import (
	"context"
	"fmt"
	"sort"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
)

// PolicyQuery is the Rego query that yields an agreement's governance violations
// (policies/agreement).
const PolicyQuery = "data.fivesafes.agreement.violations"

// Params are the platform's governance settings the agreement policy applies. Start from
// DefaultParams and change what the platform needs: a zero field means zero, not "default".
type Params struct {
	// MinimumCellCountFloor is the smallest outputRules.minimumCellCount an agreement may set.
	MinimumCellCountFloor int32 `json:"minimumCellCountFloor"`
	// MaxValidityYears is the longest an agreement may last, in whole years.
	MaxValidityYears int32 `json:"maxValidityYears"`
	// OptOutOverrideBases are the legal bases that can set the national data opt-out aside.
	OptOutOverrideBases []fivesafesv1alpha1.LegalBasis `json:"optOutOverrideBases"`
	// MinimumReviewers is how many output checkers a NonSensitive agreement must require at least.
	MinimumReviewers int32 `json:"minimumReviewers"`
	// MinimumReviewersSensitive is how many output checkers a Sensitive agreement must require at
	// least.
	MinimumReviewersSensitive int32 `json:"minimumReviewersSensitive"`
}

// DefaultParams returns the platform defaults, the same as the policy's own default_params: a
// floor of 10, at most 3 years, Section251 or Consent to set opt-outs aside, and 2 output checkers
// for Sensitive agreements (1 otherwise).
func DefaultParams() Params {
	return Params{
		MinimumCellCountFloor:     10,
		MaxValidityYears:          3,
		OptOutOverrideBases:       []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisSection251, fivesafesv1alpha1.LegalBasisConsent},
		MinimumReviewers:          1,
		MinimumReviewersSensitive: 2,
	}
}

// Catalogue maps a catalogue Dataset's name to its spec. A nil Catalogue means no catalogue is
// known and the policy's catalogue rules are skipped; an empty one means no dataset exists.
type Catalogue map[string]fivesafesv1alpha1.DatasetSpec

// Evaluation is the outcome of the governance policy for one agreement.
type Evaluation struct {
	// Findings are the rules the agreement breaks, in SortFindings order. Empty when
	// the agreement passes.
	Findings []fivesafesv1alpha1.Finding
	// PolicyDigest identifies the policy revision that judged the agreement.
	PolicyDigest fivesafesv1alpha1.Digest
}

// Option changes how an agreement is judged.
type Option func(*options)

type options struct {
	params Params
}

// WithParams judges the agreement with p instead of DefaultParams.
func WithParams(p Params) Option {
	return func(o *options) { o.params = p }
}

// Validate runs the governance policy on a and returns the rules it breaks. Catalogue rules run
// only when cat is not nil. An error means the policy could not judge the agreement (it never
// means the agreement passed).
func Validate(ctx context.Context, eng *policy.Engine, a *fivesafesv1alpha1.DataAccessAgreement, cat Catalogue, opts ...Option) ([]fivesafesv1alpha1.Finding, error) {
	ev, err := Evaluate(ctx, eng, a, cat, opts...)
	if err != nil {
		return nil, err
	}
	return ev.Findings, nil
}

// Evaluate is Validate that also says which policy revision judged the agreement, as
// status.policyDigest records.
func Evaluate(ctx context.Context, eng *policy.Engine, a *fivesafesv1alpha1.DataAccessAgreement, cat Catalogue, opts ...Option) (Evaluation, error) {
	o := options{params: DefaultParams()}
	for _, opt := range opts {
		opt(&o)
	}
	res, err := eng.Eval(ctx, PolicyQuery, policyInput(a, cat, o.params))
	if err != nil {
		return Evaluation{}, fmt.Errorf("judging agreement %s against the governance policy: %w", a.Name, err)
	}
	var findings []fivesafesv1alpha1.Finding
	if err := res.Decode(&findings); err != nil {
		return Evaluation{}, fmt.Errorf("reading the governance policy's verdict on agreement %s: %w", a.Name, err)
	}
	for i, f := range findings {
		if f.Rule == "" || f.Message == "" {
			return Evaluation{}, fmt.Errorf("the governance policy gave agreement %s a finding (%d) without rule or message", a.Name, i)
		}
	}
	SortFindings(findings)
	if findings == nil {
		findings = []fivesafesv1alpha1.Finding{}
	}
	return Evaluation{Findings: findings, PolicyDigest: fivesafesv1alpha1.Digest(res.Revision)}, nil
}

// SortFindings sorts findings by field, rule and message; findings about no one field (an empty
// field) come last.
func SortFindings(fs []fivesafesv1alpha1.Finding) {
	sort.Slice(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if (a.Field == "") != (b.Field == "") {
			return b.Field == ""
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		return a.Message < b.Message
	})
}

// agreementInput is the agreement as the policy sees it: its type, name and labels, and spec. The
// status, managed fields and annotations (which may hold a whole copy of the object) are left out.
type agreementInput struct {
	APIVersion string                                    `json:"apiVersion"`
	Kind       string                                    `json:"kind"`
	Metadata   metadataInput                             `json:"metadata"`
	Spec       fivesafesv1alpha1.DataAccessAgreementSpec `json:"spec"`
}

type metadataInput struct {
	Name   string            `json:"name,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

type inputDoc struct {
	Agreement agreementInput `json:"agreement"`
	Catalogue *Catalogue     `json:"catalogue,omitempty"`
	Params    Params         `json:"params"`
}

// policyInput builds the policy's input. Only the catalogue entries the agreement names are passed:
// no rule looks at any other, and a cluster's catalogue may be large.
func policyInput(a *fivesafesv1alpha1.DataAccessAgreement, cat Catalogue, p Params) inputDoc {
	in := inputDoc{
		Agreement: agreementInput{
			APIVersion: fivesafesv1alpha1.GroupVersion.String(),
			Kind:       "DataAccessAgreement",
			Metadata:   metadataInput{Name: a.Name, Labels: a.Labels},
			Spec:       a.Spec,
		},
		Params: p,
	}
	if cat != nil {
		named := Catalogue{}
		for _, d := range a.Spec.Datasets {
			if spec, ok := cat[d.Name]; ok {
				named[d.Name] = spec
			}
		}
		in.Catalogue = &named
	}
	return in
}
