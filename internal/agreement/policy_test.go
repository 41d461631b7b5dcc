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
	"reflect"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
)

func defaultEngine(t testing.TB) *policy.Engine {
	t.Helper()
	e, err := policy.NewDefaultEngine(context.Background(), PolicyQuery)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func sampleAgreement() *fivesafesv1alpha1.DataAccessAgreement {
	return &fivesafesv1alpha1.DataAccessAgreement{
		TypeMeta:   metav1.TypeMeta{APIVersion: "fivesafes.io/v1alpha1", Kind: "DataAccessAgreement"},
		ObjectMeta: metav1.ObjectMeta{Name: "nic-38002-s3k0v"},
		Spec:       sampleSpec(),
	}
}

func sampleCatalogue(t testing.TB) Catalogue {
	t.Helper()
	cat, err := LoadCatalogue(context.Background(), "testdata/catalogue")
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// TestDefaultParamsMatchPolicy keeps the Go defaults and the policy's own defaults in step.
func TestDefaultParamsMatchPolicy(t *testing.T) {
	ctx := context.Background()
	e, err := policy.NewDefaultEngine(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Eval(ctx, "data.fivesafes.agreement.default_params", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got Params
	if err := res.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if want := DefaultParams(); !reflect.DeepEqual(got, want) {
		t.Errorf("policy default_params = %+v, Go DefaultParams = %+v", got, want)
	}
}

type rulesAt map[string]string // field -> rule

func findingsAt(fs []fivesafesv1alpha1.Finding) rulesAt {
	m := rulesAt{}
	for _, f := range fs {
		m[f.Field] = f.Rule
	}
	return m
}

func TestValidate(t *testing.T) {
	ctx := context.Background()
	eng := defaultEngine(t)
	cat := sampleCatalogue(t)
	tests := []struct {
		name   string
		change func(*fivesafesv1alpha1.DataAccessAgreement)
		cat    Catalogue
		opts   []Option
		want   rulesAt
	}{
		{name: "valid", want: rulesAt{}},
		{name: "valid with catalogue", cat: cat, want: rulesAt{}},
		{
			name:   "bad reference",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) { a.Spec.Reference = "NIC-38002" },
			want:   rulesAt{"spec.reference": "agreement.reference-format"},
		},
		{
			name: "expired accreditation and duplicate researcher",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) {
				a.Spec.Researchers[1].AccreditationExpires = "2026-03-31"
				a.Spec.Researchers = append(a.Spec.Researchers, fivesafesv1alpha1.Researcher{Name: "amara@example.nhs.uk", AccreditationExpires: "2029-01-01"})
			},
			want: rulesAt{
				"spec.researchers[1].accreditationExpires": "agreement.accreditation-expired",
				"spec.researchers[2].name":                 "agreement.researcher-duplicate",
			},
		},
		{
			name: "opt-outs set aside on the wrong basis",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) {
				a.Spec.LegalBases = []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisPublicTask}
			},
			want: rulesAt{"spec.datasets[1].optOuts": "agreement.opt-out-legal-basis"},
		},
		{
			name: "params passed to the policy",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) {
				a.Spec.LegalBases = []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisPublicTask}
			},
			opts: []Option{WithParams(Params{
				MinimumCellCountFloor: 20, MaxValidityYears: 1,
				OptOutOverrideBases: []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisPublicTask},
				MinimumReviewers:    1, MinimumReviewersSensitive: 3,
			})},
			want: rulesAt{
				"spec.outputRules.minimumCellCount": "agreement.minimum-cell-count-floor",
				"spec.outputRules.reviewers":        "agreement.reviewers-quorum",
				"spec.validity.end":                 "agreement.validity-too-long",
			},
		},
		{
			name:   "zero output rules read as the CRD defaults",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) { a.Spec.OutputRules = fivesafesv1alpha1.OutputRules{} },
			want:   rulesAt{},
		},
		{
			name: "low output rules",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) {
				a.Spec.OutputRules = fivesafesv1alpha1.OutputRules{MinimumCellCount: 5, Reviewers: 1}
			},
			want: rulesAt{
				"spec.outputRules.minimumCellCount": "agreement.minimum-cell-count-floor",
				"spec.outputRules.reviewers":        "agreement.reviewers-quorum",
			},
		},
		{
			name:   "unknown dataset skipped without a catalogue",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) { a.Spec.Datasets[0].Name = "not-catalogued" },
			want:   rulesAt{},
		},
		{
			name:   "unknown dataset with a catalogue",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) { a.Spec.Datasets[0].Name = "not-catalogued" },
			cat:    cat,
			want:   rulesAt{"spec.datasets[0].name": "agreement.dataset-unknown"},
		},
		{
			name: "empty catalogue knows no dataset",
			cat:  Catalogue{},
			want: rulesAt{"spec.datasets[0].name": "agreement.dataset-unknown", "spec.datasets[1].name": "agreement.dataset-unknown"},
		},
		{
			name: "unknown column",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) {
				a.Spec.Datasets[1].Columns = append(a.Spec.Datasets[1].Columns, "postcode")
			},
			cat:  cat,
			want: rulesAt{"spec.datasets[1].columns[2]": "agreement.column-unknown"},
		},
		{
			name: "identifier columns under the Anonymised basis",
			change: func(a *fivesafesv1alpha1.DataAccessAgreement) {
				a.Spec.LegalBases = []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisAnonymised}
			},
			cat: cat,
			want: rulesAt{
				"spec.datasets[0].columns[0]": "agreement.identifier-anonymised-basis",
				"spec.datasets[1].columns[0]": "agreement.identifier-anonymised-basis",
				"spec.datasets[1].optOuts":    "agreement.opt-out-legal-basis",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := sampleAgreement()
			if tt.change != nil {
				tt.change(a)
			}
			got, err := Validate(ctx, eng, a, tt.cat, tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Error("findings are nil, want an empty list")
			}
			if !reflect.DeepEqual(findingsAt(got), tt.want) {
				t.Errorf("findings = %+v, want rules at %v", got, tt.want)
			}
			if !slices.IsSortedFunc(got, func(a, b fivesafesv1alpha1.Finding) int {
				if a.Field < b.Field {
					return -1
				}
				if a.Field > b.Field {
					return 1
				}
				return 0
			}) {
				t.Errorf("findings are not sorted by field: %+v", got)
			}
		})
	}
}

func TestEvaluateRecordsPolicyDigest(t *testing.T) {
	eng := defaultEngine(t)
	ev, err := Evaluate(context.Background(), eng, sampleAgreement(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(ev.PolicyDigest) != eng.Revision() {
		t.Errorf("PolicyDigest = %s, want %s", ev.PolicyDigest, eng.Revision())
	}
}

// TestValidateFailsClosed checks that a policy that cannot judge, or judges in a shape Validate
// does not understand, is an error and never an empty list of findings.
func TestValidateFailsClosed(t *testing.T) {
	ctx := context.Background()
	for name, src := range map[string]string{
		"undefined":          "package fivesafes.agreement\n\nviolations := input.nothing\n",
		"wrong shape":        "package fivesafes.agreement\n\nviolations := \"none\"\n",
		"finding of nothing": "package fivesafes.agreement\n\nviolations contains {\"field\": \"spec\"} if true\n",
		"builtin error":      "package fivesafes.agreement\n\nviolations contains {\"rule\": \"r\", \"message\": \"m\"} if to_number(input.agreement.spec.title) > 1\n",
	} {
		t.Run(name, func(t *testing.T) {
			b, err := policy.NewBundle(map[string]string{"agreement.rego": src})
			if err != nil {
				t.Fatal(err)
			}
			eng, err := policy.NewEngine(ctx, b, PolicyQuery)
			if err != nil {
				t.Fatal(err)
			}
			if fs, err := Validate(ctx, eng, sampleAgreement(), nil); err == nil {
				t.Errorf("Validate = %+v, want an error", fs)
			}
		})
	}
}

// TestPolicyInputTrimsCatalogueAndMetadata checks what the policy is shown: only the catalogue
// entries the agreement names, and no status or annotations.
func TestPolicyInputTrimsCatalogueAndMetadata(t *testing.T) {
	a := sampleAgreement()
	a.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"}
	a.Status.Phase = fivesafesv1alpha1.AgreementActive
	cat := sampleCatalogue(t)
	cat["unrelated"] = fivesafesv1alpha1.DatasetSpec{Title: "Unrelated"}
	in := policyInput(a, cat, DefaultParams())
	if in.Catalogue == nil || len(*in.Catalogue) != 2 {
		t.Fatalf("catalogue in input = %v, want the agreement's two datasets", in.Catalogue)
	}
	if _, ok := (*in.Catalogue)["unrelated"]; ok {
		t.Error("input holds a dataset the agreement does not name")
	}
	if in.Agreement.Metadata.Name != a.Name {
		t.Errorf("input name = %q", in.Agreement.Metadata.Name)
	}
	if in := policyInput(a, nil, DefaultParams()); in.Catalogue != nil {
		t.Error("no catalogue became an empty one")
	}
}
