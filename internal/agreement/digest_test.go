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
	"bytes"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// sampleSpec is a spec with every field set, defaults left out.
func sampleSpec() fivesafesv1alpha1.DataAccessAgreementSpec {
	return fivesafesv1alpha1.DataAccessAgreementSpec{
		Reference:        "NIC-38002-S3K0V",
		Title:            "Commissioning intelligence",
		Organisation:     fivesafesv1alpha1.Organisation{Name: "NHS Cambridgeshire and Peterborough CCG", Code: "06H", Type: "CCG"},
		LegalBases:       []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisSection251, fivesafesv1alpha1.LegalBasisHealthAndSocialCareAct2012},
		Purposes:         []string{"Commissioning", "Joint Strategic Needs Assessment"},
		Sensitivity:      fivesafesv1alpha1.SensitivitySensitive,
		Objectives:       "Follow people across health and social-care pathways.",
		ExpectedBenefits: []string{"Better discharge planning."},
		ExpectedOutputs:  []string{"Readmissions analysis.", "Delayed discharge reporting."},
		Researchers: []fivesafesv1alpha1.Researcher{
			{Name: "amara@example.nhs.uk", DisplayName: "Amara Okafor", AccreditationExpires: "2028-06-30"},
			{Name: "tom@example.nhs.uk", AccreditationExpires: "2027-12-31"},
		},
		Datasets: []fivesafesv1alpha1.AgreementDataset{
			{Name: "hes-apc", Columns: []string{"nhs_number", "sex", "admission_date"}, OptOuts: fivesafesv1alpha1.OptOutsHonoured},
			{Name: "asc-cld", Columns: []string{"nhs_number", "service_type"}, OptOuts: fivesafesv1alpha1.OptOutsNotApplied, OptOutJustification: "Section 251 support."},
		},
		Validity:  fivesafesv1alpha1.Validity{Start: "2026-04-01", End: "2028-03-31"},
		Workspace: fivesafesv1alpha1.WorkspaceResources{Images: []string{"registry.example/rstudio", "registry.example/jupyter"}},
	}
}

func mustDigest(t testing.TB, s fivesafesv1alpha1.DataAccessAgreementSpec) fivesafesv1alpha1.Digest {
	t.Helper()
	d, err := SpecDigest(s)
	if err != nil {
		t.Fatalf("SpecDigest: %v", err)
	}
	return d
}

type specChange func(*fivesafesv1alpha1.DataAccessAgreementSpec)

// sameMeaning are changes that keep what the spec means.
var sameMeaning = map[string]specChange{
	"nothing": func(*fivesafesv1alpha1.DataAccessAgreementSpec) {},
	"defaults written out": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.AccessMethod = fivesafesv1alpha1.AccessOngoing
		s.Sublicensing = fivesafesv1alpha1.SublicensingNotAllowed
		s.OutputRules = fivesafesv1alpha1.OutputRules{
			MinimumCellCount: 10, Reviewers: 2, PRatioBasisPoints: 1000, Zeros: fivesafesv1alpha1.ZerosDisclosive,
			Dominance: fivesafesv1alpha1.Dominance{Contributors: 2, KBasisPoints: 9000},
		}
		s.Workspace.CPU = resource.MustParse("4")
		s.Workspace.Memory = resource.MustParse("16Gi")
		s.Workspace.Storage = resource.MustParse("50Gi")
	},
	"quantities written otherwise": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Workspace.CPU = resource.MustParse("4000m")
		s.Workspace.Memory = resource.MustParse("17179869184")
		s.Workspace.Storage = resource.MustParse("51200Mi")
	},
	"legal bases reordered": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { slices.Reverse(s.LegalBases) },
	"images reordered":      func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { slices.Reverse(s.Workspace.Images) },
	"columns reordered":     func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { slices.Reverse(s.Datasets[0].Columns) },
	"researchers reordered": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { slices.Reverse(s.Researchers) },
	"datasets reordered":    func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { slices.Reverse(s.Datasets) },
	"revoked": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Revocation = &fivesafesv1alpha1.Revocation{Reason: "Breach of the agreement.", Reference: "DAC minutes 2027-03"}
	},
}

// differentMeaning are substantive changes.
var differentMeaning = map[string]specChange{
	"reference":           func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Reference = "NIC-38002-S3K0W" },
	"title":               func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Title += "." },
	"organisation name":   func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Organisation.Name = "NHS Other CCG" },
	"organisation code":   func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Organisation.Code = "" },
	"legal basis added":   func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.LegalBases = append(s.LegalBases, "Consent") },
	"legal basis removed": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.LegalBases = s.LegalBases[:1] },
	"purposes reordered":  func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { slices.Reverse(s.Purposes) },
	"purpose changed":     func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Purposes[0] = "Research" },
	"sensitivity": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Sensitivity = fivesafesv1alpha1.SensitivityNonSensitive
	},
	"access method": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.AccessMethod = fivesafesv1alpha1.AccessOneOff },
	"objectives":    func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Objectives += " " },
	"benefits reordered": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.ExpectedBenefits = append(s.ExpectedBenefits, "More")
	},
	"outputs reordered": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { slices.Reverse(s.ExpectedOutputs) },
	"outputs dropped":   func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.ExpectedOutputs = nil },
	"researcher added": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Researchers = append(s.Researchers, fivesafesv1alpha1.Researcher{Name: "eve", AccreditationExpires: "2029-01-01"})
	},
	"accreditation changed": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Researchers[1].AccreditationExpires = "2028-01-01"
	},
	"display name changed": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Researchers[0].DisplayName = "A. Okafor" },
	"column added": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Datasets[1].Columns = append(s.Datasets[1].Columns, "cost_band")
	},
	"column moved to another dataset": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Datasets[0].Columns = []string{"nhs_number", "admission_date"}
		s.Datasets[1].Columns = append(s.Datasets[1].Columns, "sex")
	},
	"opt-outs": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Datasets[0].OptOuts = fivesafesv1alpha1.OptOutsNotApplied
	},
	"justification":   func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Datasets[1].OptOutJustification = "Consent." },
	"dataset removed": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Datasets = s.Datasets[1:] },
	"start":           func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Validity.Start = "2026-04-02" },
	"end":             func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Validity.End = "2028-04-01" },
	"cpu":             func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Workspace.CPU = resource.MustParse("4001m") },
	"memory":          func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Workspace.Memory = resource.MustParse("16G") },
	"storage":         func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Workspace.Storage = resource.MustParse("5Gi") },
	"image added": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Workspace.Images = append(s.Workspace.Images, "registry.example/vscode")
	},
	"minimum cell count": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.OutputRules.MinimumCellCount = 11 },
	"reviewers":          func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.OutputRules.Reviewers = 3 },
	"dominance n":        func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.OutputRules.Dominance.Contributors = 3 },
	"dominance k":        func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.OutputRules.Dominance.KBasisPoints = 8000 },
	"p-ratio":            func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.OutputRules.PRatioBasisPoints = 500 },
	"zeros": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.OutputRules.Zeros = fivesafesv1alpha1.ZerosAllowed
	},
	"sublicensing": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Sublicensing = fivesafesv1alpha1.SublicensingAllowed
	},
	"text moved between fields": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
		s.Purposes = []string{"Commissioning Joint", "Strategic Needs Assessment"}
	},
}

func TestSpecDigest(t *testing.T) {
	want := mustDigest(t, sampleSpec())
	if !regexp.MustCompile(`^sha256:[a-f0-9]{64}$`).MatchString(string(want)) {
		t.Fatalf("digest %q is not sha256: and 64 lower-case hex characters", want)
	}
	for name, change := range sameMeaning {
		t.Run("same/"+name, func(t *testing.T) {
			s := sampleSpec()
			change(&s)
			if got := mustDigest(t, s); got != want {
				t.Errorf("digest changed: %s, want %s", got, want)
			}
		})
	}
	seen := map[fivesafesv1alpha1.Digest]string{want: "sample"}
	for name, change := range differentMeaning {
		t.Run("different/"+name, func(t *testing.T) {
			s := sampleSpec()
			change(&s)
			got := mustDigest(t, s)
			if prev, ok := seen[got]; ok {
				t.Errorf("digest equals that of %s", prev)
			}
			seen[got] = name
		})
	}
}

func TestSpecDigestEmptyIsAbsent(t *testing.T) {
	none := sampleSpec()
	none.ExpectedBenefits, none.ExpectedOutputs, none.Organisation.Code = nil, nil, ""
	empty := sampleSpec()
	empty.ExpectedBenefits, empty.ExpectedOutputs, empty.Organisation.Code = []string{}, []string{}, ""
	if a, b := mustDigest(t, none), mustDigest(t, empty); a != b {
		t.Errorf("nil and empty lists digest differently: %s and %s", a, b)
	}
}

func TestSpecDigestLeavesSpecAlone(t *testing.T) {
	s := sampleSpec()
	s.Revocation = &fivesafesv1alpha1.Revocation{Reason: "r"}
	before := fmt.Sprintf("%#v", s)
	mustDigest(t, s)
	if after := fmt.Sprintf("%#v", s); after != before {
		t.Error("SpecDigest changed its argument")
	}
}

func TestSpecDigestRefusesInvalidUTF8(t *testing.T) {
	for name, change := range map[string]specChange{
		"title":   func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Title = "\xff" },
		"purpose": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Purposes[1] = "a\xc3" },
		"column":  func(s *fivesafesv1alpha1.DataAccessAgreementSpec) { s.Datasets[1].Columns[0] = "\xed\xa0\x80" },
		"revocated": func(s *fivesafesv1alpha1.DataAccessAgreementSpec) {
			s.Revocation = &fivesafesv1alpha1.Revocation{Reason: "\xfe"}
		},
	} {
		s := sampleSpec()
		change(&s)
		if d, err := SpecDigest(s); err == nil {
			t.Errorf("%s: digest %s of invalid UTF-8, want an error", name, d)
		}
	}
}

func TestCanonicalSpec(t *testing.T) {
	s := sampleSpec()
	s.Revocation = &fivesafesv1alpha1.Revocation{Reason: "revoked for a reason"}
	s.Title = "<b>&</b>"
	b, err := CanonicalSpec(s)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, canonicalPrefix) {
		t.Errorf("encoding does not start with %q", canonicalPrefix)
	}
	for _, want := range []string{
		`"accessMethod":"Ongoing"`,
		`"legalBases":["HealthAndSocialCareAct2012","Section251"]`,
		`"purposes":["Commissioning","Joint Strategic Needs Assessment"]`,
		`"cpu":"4","images":["registry.example/jupyter","registry.example/rstudio"],"memory":"17179869184","storage":"53687091200"`,
		`"dominance":{"contributors":2,"kBasisPoints":9000}`,
		`"title":"<b>&</b>"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("encoding lacks %s:\n%s", want, text)
		}
	}
	for _, unwanted := range []string{"revocation", "revoked for a reason", `""`, "null", "[]"} {
		if strings.Contains(text, unwanted) {
			t.Errorf("encoding holds %s:\n%s", unwanted, text)
		}
	}
	if strings.Index(text, `"name":"asc-cld"`) > strings.Index(text, `"name":"hes-apc"`) {
		t.Error("datasets are not sorted by name")
	}
}

// TestSpecDigestGolden pins the canonical encoding: if this digest changes, every approval ever
// given is void. Change it only with a new canonicalPrefix version, on purpose.
func TestSpecDigestGolden(t *testing.T) {
	const want = "sha256:8dc1e4dbd4084a20ae7dbccd421eafd3f2ea551407e64dcdfcb2c6deb69beb78"
	if got := mustDigest(t, sampleSpec()); got != want {
		t.Errorf("digest of the sample spec = %s, want %s", got, want)
	}
}

// TestSpecDigestOfFiles checks that two files written differently but meaning the same agreement
// (defaults written out, sets reordered, quantities in other units, JSON instead of YAML) digest
// the same.
func TestSpecDigestOfFiles(t *testing.T) {
	a, err := ParseFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	b, err := ParseFile("testdata/valid-explicit-defaults.json")
	if err != nil {
		t.Fatal(err)
	}
	if da, db := mustDigest(t, a.Spec), mustDigest(t, b.Spec); da != db {
		t.Errorf("digests differ: %s and %s", da, db)
	}
}

// FuzzSpecDigest builds a random spec from seed, with text from the fuzzer in its fields, and
// checks that rewriting it without changing its meaning keeps the digest, and that the change
// picked by change alters it.
func FuzzSpecDigest(f *testing.F) {
	for i, text := range []string{"", "a", " ", "\x00", "é", "e\u0301", "\"\\", "<&>", "\u2028", "null", "[]", "{}", "sha256:", strings.Repeat("x", 300), "🙂", "\t\n"} {
		f.Add(uint64(i), uint8(i), text)
	}
	f.Fuzz(func(t *testing.T, seed uint64, change uint8, text string) {
		r := rand.New(rand.NewPCG(seed, seed>>32^0x5a5a))
		s := randomSpec(r, text)
		if !utf8.ValidString(text) {
			if _, err := SpecDigest(s); err == nil {
				t.Fatal("digest of a spec holding invalid UTF-8")
			}
			return
		}
		want := mustDigest(t, s)
		if again := mustDigest(t, s); again != want {
			t.Fatal("digest is not deterministic")
		}

		same := rewrite(r, s, text)
		if got := mustDigest(t, same); got != want {
			a, _ := CanonicalSpec(s)
			b, _ := CanonicalSpec(same)
			t.Fatalf("rewriting changed the digest:\n%s\n%s", a, b)
		}

		changed, what := substantiveChange(s, change, text)
		if got := mustDigest(t, changed); got == want {
			a, _ := CanonicalSpec(s)
			b, _ := CanonicalSpec(changed)
			if bytes.Equal(a, b) {
				t.Fatalf("changing %s did not change the canonical encoding:\n%s", what, a)
			}
			t.Fatalf("changing %s did not change the digest", what)
		}
	})
}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

var allBases = []fivesafesv1alpha1.LegalBasis{"Consent", "Section251", "HealthAndSocialCareAct2012", "DirectCare", "PublicTask", "Anonymised"}

func randomSpec(r *rand.Rand, text string) fivesafesv1alpha1.DataAccessAgreementSpec {
	s := fivesafesv1alpha1.DataAccessAgreementSpec{
		Reference:    fmt.Sprintf("NIC-%d-ABCDE", r.IntN(100000)),
		Title:        "Title " + text,
		Organisation: fivesafesv1alpha1.Organisation{Name: text + "org", Code: pick(r, []string{"", "06H", text})},
		Sensitivity:  pick(r, []fivesafesv1alpha1.Sensitivity{"Sensitive", "NonSensitive"}),
		AccessMethod: pick(r, []fivesafesv1alpha1.AccessMethod{"", "Ongoing", "OneOff"}),
		Objectives:   text + " objectives",
		Validity:     fivesafesv1alpha1.Validity{Start: "2026-01-01", End: fmt.Sprintf("2027-%02d-01", 1+r.IntN(12))},
		Sublicensing: pick(r, []fivesafesv1alpha1.Sublicensing{"", "Allowed", "NotAllowed"}),
	}
	for _, b := range allBases {
		if r.IntN(2) == 0 {
			s.LegalBases = append(s.LegalBases, b)
		}
	}
	for i := range 1 + r.IntN(4) {
		s.Purposes = append(s.Purposes, fmt.Sprintf("purpose %d %s", i, text))
	}
	for i := range r.IntN(3) {
		s.ExpectedBenefits = append(s.ExpectedBenefits, fmt.Sprintf("benefit %d", i))
	}
	if r.IntN(2) == 0 {
		s.ExpectedOutputs = []string{text + "output"}
	}
	for i := range 1 + r.IntN(5) {
		s.Researchers = append(s.Researchers, fivesafesv1alpha1.Researcher{
			Name:                 fmt.Sprintf("r%d-%s", i, text),
			DisplayName:          pick(r, []string{"", "Dr " + text}),
			AccreditationExpires: fmt.Sprintf("2028-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28)),
		})
	}
	for i := range 1 + r.IntN(4) {
		d := fivesafesv1alpha1.AgreementDataset{Name: fmt.Sprintf("ds%d%s", i, text), OptOuts: pick(r, []fivesafesv1alpha1.OptOutHandling{"Honoured", "NotApplied"})}
		for j := range 1 + r.IntN(6) {
			d.Columns = append(d.Columns, fmt.Sprintf("c%d%s", j, text))
		}
		if d.OptOuts == fivesafesv1alpha1.OptOutsNotApplied {
			d.OptOutJustification = "because " + text
		}
		s.Datasets = append(s.Datasets, d)
	}
	for i := range 1 + r.IntN(3) {
		s.Workspace.Images = append(s.Workspace.Images, fmt.Sprintf("registry.example/img%d%s", i, text))
	}
	if r.IntN(2) == 0 {
		s.Workspace.CPU = resource.MustParse(pick(r, []string{"1", "2500m", "4", "16"}))
		s.Workspace.Memory = resource.MustParse(pick(r, []string{"1Gi", "16Gi", "100G"}))
	}
	if r.IntN(2) == 0 {
		s.OutputRules = fivesafesv1alpha1.OutputRules{MinimumCellCount: int32(r.IntN(3) * 10), Reviewers: int32(r.IntN(4)), Zeros: pick(r, []fivesafesv1alpha1.ZeroCells{"", "Allowed", "Disclosive"})}
	}
	return s
}

// rewrite returns s written otherwise with the same meaning: sets shuffled, defaults written out
// or left out, quantities in other units, a revocation added.
func rewrite(r *rand.Rand, s fivesafesv1alpha1.DataAccessAgreementSpec, text string) fivesafesv1alpha1.DataAccessAgreementSpec {
	out := *s.DeepCopy()
	shuffle := func(n int, swap func(i, j int)) { r.Shuffle(n, swap) }
	shuffle(len(out.LegalBases), func(i, j int) { out.LegalBases[i], out.LegalBases[j] = out.LegalBases[j], out.LegalBases[i] })
	shuffle(len(out.Researchers), func(i, j int) { out.Researchers[i], out.Researchers[j] = out.Researchers[j], out.Researchers[i] })
	shuffle(len(out.Datasets), func(i, j int) { out.Datasets[i], out.Datasets[j] = out.Datasets[j], out.Datasets[i] })
	for k := range out.Datasets {
		c := out.Datasets[k].Columns
		shuffle(len(c), func(i, j int) { c[i], c[j] = c[j], c[i] })
	}
	shuffle(len(out.Workspace.Images), func(i, j int) {
		out.Workspace.Images[i], out.Workspace.Images[j] = out.Workspace.Images[j], out.Workspace.Images[i]
	})
	if r.IntN(2) == 0 {
		out = WithDefaults(out)
	}
	// The same quantity in milli-units, or in plain units.
	if !out.Workspace.CPU.IsZero() {
		out.Workspace.CPU = *resource.NewMilliQuantity(out.Workspace.CPU.MilliValue(), resource.DecimalSI)
	}
	if !out.Workspace.Memory.IsZero() {
		out.Workspace.Memory = *resource.NewQuantity(out.Workspace.Memory.Value(), resource.DecimalSI)
	}
	if len(out.ExpectedBenefits) == 0 {
		out.ExpectedBenefits = []string{}
	}
	if r.IntN(2) == 0 {
		out.Revocation = &fivesafesv1alpha1.Revocation{Reason: "revoked: " + text}
	}
	return out
}

// substantiveChange changes one thing about what s means, picked by which.
func substantiveChange(s fivesafesv1alpha1.DataAccessAgreementSpec, which uint8, text string) (fivesafesv1alpha1.DataAccessAgreementSpec, string) {
	out := *s.DeepCopy()
	changes := []struct {
		name string
		do   func()
	}{
		{"reference", func() { out.Reference += "X" }},
		{"title", func() { out.Title += text + "!" }},
		{"organisation", func() { out.Organisation.Type += "x" }},
		{"legal bases", func() {
			if len(out.LegalBases) == len(allBases) {
				out.LegalBases = out.LegalBases[1:]
				return
			}
			for _, b := range allBases {
				if !slices.Contains(out.LegalBases, b) {
					out.LegalBases = append(out.LegalBases, b)
					return
				}
			}
		}},
		{"purposes", func() { out.Purposes = append(out.Purposes, text) }},
		{"purpose order", func() {
			if len(out.Purposes) > 1 {
				out.Purposes[0], out.Purposes[1] = out.Purposes[1], out.Purposes[0]
			} else {
				out.Purposes[0] += "."
			}
		}},
		{"sensitivity", func() {
			out.Sensitivity = map[fivesafesv1alpha1.Sensitivity]fivesafesv1alpha1.Sensitivity{"Sensitive": "NonSensitive", "NonSensitive": "Sensitive"}[out.Sensitivity]
		}},
		{"access method", func() {
			if out.AccessMethod == fivesafesv1alpha1.AccessOneOff {
				out.AccessMethod = ""
			} else {
				out.AccessMethod = fivesafesv1alpha1.AccessOneOff
			}
		}},
		{"objectives", func() { out.Objectives = text + out.Objectives + "." }},
		{"benefits", func() { out.ExpectedBenefits = append(out.ExpectedBenefits, "x"+text) }},
		{"researcher expiry", func() { out.Researchers[0].AccreditationExpires = "2031-01-01" }},
		{"researcher removed or added", func() {
			if len(out.Researchers) > 1 {
				out.Researchers = out.Researchers[1:]
			} else {
				out.Researchers = append(out.Researchers, fivesafesv1alpha1.Researcher{Name: "new" + text, AccreditationExpires: "2029-01-01"})
			}
		}},
		{"column", func() { out.Datasets[0].Columns = append(out.Datasets[0].Columns, "new"+text) }},
		{"opt-outs", func() {
			if out.Datasets[0].OptOuts == fivesafesv1alpha1.OptOutsHonoured {
				out.Datasets[0].OptOuts = fivesafesv1alpha1.OptOutsNotApplied
			} else {
				out.Datasets[0].OptOuts = fivesafesv1alpha1.OptOutsHonoured
			}
		}},
		{"dataset name", func() { out.Datasets[0].Name += "-2" }},
		{"validity end", func() { out.Validity.End = "2029-12-31" }},
		{"cpu", func() {
			out.Workspace.CPU = WithDefaults(out).Workspace.CPU
			out.Workspace.CPU.Add(resource.MustParse("1m"))
		}},
		{"image", func() { out.Workspace.Images = append(out.Workspace.Images, "other/"+text) }},
		{"minimum cell count", func() { out.OutputRules.MinimumCellCount = WithDefaults(out).OutputRules.MinimumCellCount + 1 }},
		{"zeros", func() {
			if WithDefaults(out).OutputRules.Zeros == fivesafesv1alpha1.ZerosAllowed {
				out.OutputRules.Zeros = fivesafesv1alpha1.ZerosDisclosive
			} else {
				out.OutputRules.Zeros = fivesafesv1alpha1.ZerosAllowed
			}
		}},
		{"sublicensing", func() {
			if WithDefaults(out).Sublicensing == fivesafesv1alpha1.SublicensingAllowed {
				out.Sublicensing = fivesafesv1alpha1.SublicensingNotAllowed
			} else {
				out.Sublicensing = fivesafesv1alpha1.SublicensingAllowed
			}
		}},
	}
	c := changes[int(which)%len(changes)]
	c.do()
	return out, c.name
}
