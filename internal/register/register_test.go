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

package register

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/release"
)

const fixture = "testdata/cambridge-peterborough"

func buildFixture(t *testing.T) *Register {
	t.Helper()
	in, err := LoadDir(fixture)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := Build(in)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

func flagsOf(reg *Register, kind string) []Flag {
	var out []Flag
	for _, f := range reg.Flags {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// TestCambridgePeterborough reproduces the register's flagged situation: the flag for the same
// dataset in the same month with and without opt-outs appears for that organisation, dataset and
// month, and nowhere else.
func TestCambridgePeterborough(t *testing.T) {
	reg := buildFixture(t)

	const ccg = "NHS Cambridgeshire and Peterborough CCG"
	mixed := flagsOf(reg, FlagMixedOptOuts)
	if len(mixed) != 1 {
		t.Fatalf("mixed opt-out flags = %+v, want exactly one", mixed)
	}
	f := mixed[0]
	if f.Organisation != ccg || f.Dataset != "sus-admitted-patient-care" || f.Month != "2017-06" ||
		!slices.Equal(f.Agreements, []string{"NIC-38002-S3K0V", "NIC-61220-T4X9B"}) {
		t.Fatalf("mixed opt-out flag = %+v", f)
	}

	var notApplied []string
	for _, f := range flagsOf(reg, FlagOptOutsNotApplied) {
		notApplied = append(notApplied, f.Agreements[0]+"/"+f.Dataset+"/"+f.Month)
	}
	if want := []string{
		"NIC-90210-C7V1L/sus-admitted-patient-care/2017-06",
		"NIC-38002-S3K0V/local-provider-data-acute/2017-06",
		"NIC-61220-T4X9B/sus-admitted-patient-care/2017-06",
	}; !slices.Equal(notApplied, want) {
		t.Fatalf("opt-outs-not-applied flags = %v, want %v", notApplied, want)
	}
	late := flagsOf(reg, FlagReleasedAfterEnd)
	if len(late) != 1 || late[0].Organisation != "University of Cambridge" || late[0].Month != "2018-01" ||
		!slices.Equal(late[0].Agreements, []string{"NIC-80417-P3M6N"}) {
		t.Fatalf("released-after-end flags = %+v", late)
	}
	if len(reg.Flags) != 5 || reg.Summary.Flags != 5 {
		t.Fatalf("%d flags, want 5: %+v", len(reg.Flags), reg.Flags)
	}

	var names []string
	for _, o := range reg.Organisations {
		names = append(names, o.Name)
	}
	if want := []string{"Cambridgeshire County Council", ccg, "University of Cambridge"}; !slices.Equal(names, want) {
		t.Fatalf("organisations = %v, want %v", names, want)
	}
	o := reg.Organisations[1]
	if len(o.Agreements) != 3 || o.Code != "06H" || o.Type != "CCG" {
		t.Fatalf("CCG = %+v", o)
	}
	a := o.Agreements[0]
	if a.Reference != "NIC-38002-S3K0V" || a.OptOutsHonoured != "Y, N" || a.Releases != 1 || a.ReleasedOutputs != 2 ||
		a.Sensitivity != "Sensitive" || a.AccessMethod != "Ongoing" || a.Sublicensing != "No" || len(a.Purposes) != 0 {
		t.Fatalf("NIC-38002-S3K0V = %+v", a)
	}
	if !slices.Equal(a.LegalBases, []string{
		"Section 251 approval is in place for the flow of identifiable data (NHS Act 2006)",
		"Health and Social Care Act 2012",
	}) {
		t.Fatalf("legal bases = %v", a.LegalBases)
	}
	if a.Datasets[0].Title != "SUS Admitted Patient Care data" || a.Datasets[0].OptOutsHonoured != "Y" ||
		a.Datasets[1].OptOutsHonoured != "N" || a.Datasets[1].OptOutJustification == "" {
		t.Fatalf("datasets = %+v", a.Datasets)
	}
	if s := reg.Summary; s.Organisations != 3 || s.Agreements != 5 || s.Releases != 2 || s.ReleasedFiles != 3 {
		t.Fatalf("summary = %+v", s)
	}
}

func TestRenderFormats(t *testing.T) {
	reg := buildFixture(t)
	for _, f := range Formats() {
		files, err := Render(reg, f)
		if err != nil {
			t.Fatalf("Render %s: %v", f, err)
		}
		if len(files) == 0 {
			t.Fatalf("Render %s produced nothing", f)
		}
	}
	if _, err := Render(reg, "pdf"); err == nil {
		t.Fatal("Render of an unknown format succeeded")
	}

	// JSON: flags as a top-level list in the agreed shape.
	files, _ := Render(reg, FormatJSON)
	var doc struct {
		Flags []map[string]any `json:"flags"`
	}
	if err := json.Unmarshal(files["register.json"], &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Flags) != 5 {
		t.Fatalf("JSON flags = %v", doc.Flags)
	}
	first := doc.Flags[0]
	if first["kind"] != FlagMixedOptOuts || first["organisation"] != "NHS Cambridgeshire and Peterborough CCG" ||
		first["dataset"] != "sus-admitted-patient-care" || first["month"] != "2017-06" {
		t.Fatalf("first JSON flag = %v", first)
	}
	if ags, ok := first["agreements"].([]any); !ok || len(ags) != 2 {
		t.Fatalf("first JSON flag agreements = %v", first["agreements"])
	}

	// Markdown: the flag is raised once in the flags list and once under the organisation.
	files, _ = Render(reg, FormatMarkdown)
	md := string(files["register.md"])
	if n := strings.Count(md, "both with opt-outs honoured"); n != 2 {
		t.Fatalf("mixed flag appears %d times in Markdown, want 2:\n%s", n, md)
	}
	for _, want := range []string{"# Data release register", "## NHS Cambridgeshire and Peterborough CCG", "### NIC-38002-S3K0V", "| Opt-outs honoured | Y, N |", "🚩"} {
		if !strings.Contains(md, want) {
			t.Fatalf("Markdown lacks %q:\n%s", want, md)
		}
	}

	// HTML: an index and one page per organisation, linked, with no scripts.
	files, _ = Render(reg, FormatHTML)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{
		"index.html",
		"organisations/cambridgeshire-county-council.html",
		"organisations/nhs-cambridgeshire-and-peterborough-ccg.html",
		"organisations/university-of-cambridge.html",
	}; !slices.Equal(names, want) {
		t.Fatalf("HTML files = %v, want %v", names, want)
	}
	index := string(files["index.html"])
	for _, n := range names[1:] {
		if !strings.Contains(index, `href="`+n+`"`) {
			t.Fatalf("index does not link to %s", n)
		}
		if !strings.Contains(string(files[n]), `href="../index.html"`) {
			t.Fatalf("%s does not link back to the index", n)
		}
	}
	for n, b := range files {
		if bytes.Contains(bytes.ToLower(b), []byte("<script")) {
			t.Fatalf("%s contains a script", n)
		}
		if bytes.Contains(b, []byte("http://")) || bytes.Contains(b, []byte("https://")) {
			t.Fatalf("%s refers to an external resource", n)
		}
	}
	ccg := string(files["organisations/nhs-cambridgeshire-and-peterborough-ccg.html"])
	if strings.Count(ccg, "🚩") != 3 || !strings.Contains(ccg, `id="agreement-nic-38002-s3k0v"`) {
		t.Fatalf("CCG page:\n%s", ccg)
	}
	if uni := string(files["organisations/university-of-cambridge.html"]); strings.Count(uni, "🚩") != 1 || strings.Contains(uni, "both with opt-outs honoured") {
		t.Fatalf("university page carries the wrong flags:\n%s", uni)
	}
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := Render(buildFixture(t), FormatHTML)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	if err := WriteFiles(dir, map[string][]byte{"../escape.html": nil}); err == nil {
		t.Fatal("WriteFiles wrote outside its directory")
	}
}

func agreement(name, ref, org string, start, end string, ds ...fivesafesv1alpha1.AgreementDataset) fivesafesv1alpha1.DataAccessAgreement {
	d := fivesafesv1alpha1.DataAccessAgreement{}
	d.Name = name
	d.Spec = fivesafesv1alpha1.DataAccessAgreementSpec{
		Reference: ref, Title: "Title of " + ref, Organisation: fivesafesv1alpha1.Organisation{Name: org},
		LegalBases: []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisConsent}, Purposes: []string{"Research"},
		Sensitivity: fivesafesv1alpha1.SensitivitySensitive, Objectives: "Objectives of " + ref,
		Datasets: ds, Validity: fivesafesv1alpha1.Validity{Start: start, End: end},
	}
	return d
}

func ds(name string, h fivesafesv1alpha1.OptOutHandling) fivesafesv1alpha1.AgreementDataset {
	return fivesafesv1alpha1.AgreementDataset{Name: name, Columns: []string{"c"}, OptOuts: h}
}

const (
	yes = fivesafesv1alpha1.OptOutsHonoured
	no  = fivesafesv1alpha1.OptOutsNotApplied
)

func manifest(agreement, request string, at time.Time) release.Manifest {
	return release.Manifest{
		APIVersion: release.APIVersion, Kind: release.Kind, Agreement: agreement, Namespace: "ws", Request: request,
		Requester: "r", Files: []release.File{{Path: "a.csv", SHA256: "sha256:" + fivesafesv1alpha1.Digest(strings.Repeat("a", 64)), Type: "text/csv", Outcome: fivesafesv1alpha1.OutcomePass}},
		ContentDigest: "sha256:" + fivesafesv1alpha1.Digest(strings.Repeat("b", 64)), ReleasedAt: at,
	}
}

func TestFlags(t *testing.T) {
	day := func(s string) time.Time { t, _ := time.Parse(time.RFC3339, s); return t }
	tests := []struct {
		name string
		in   Input
		want []string // kind/organisation/dataset/month/agreements
		warn int
	}{
		{
			name: "mixed by validity month",
			in: Input{Agreements: []fivesafesv1alpha1.DataAccessAgreement{
				agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes)),
				agreement("b", "B", "org ", "2024-03-31", "2024-12-31", ds("hes", no)),
			}},
			want: []string{"mixed-opt-outs/Org/hes/2024-03/A,B", "opt-outs-not-applied/Org/hes/2024-03/B"},
		},
		{
			name: "different months",
			in: Input{Agreements: []fivesafesv1alpha1.DataAccessAgreement{
				agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes)),
				agreement("b", "B", "Org", "2024-04-01", "2024-12-31", ds("hes", no)),
			}},
			want: []string{"opt-outs-not-applied/Org/hes/2024-04/B"},
		},
		{
			name: "different organisations",
			in: Input{Agreements: []fivesafesv1alpha1.DataAccessAgreement{
				agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes)),
				agreement("b", "B", "Other Org", "2024-03-01", "2024-12-31", ds("hes", no)),
			}},
			want: []string{"opt-outs-not-applied/Other Org/hes/2024-03/B"},
		},
		{
			name: "different datasets",
			in: Input{Agreements: []fivesafesv1alpha1.DataAccessAgreement{
				agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes), ds("csc", no)),
			}},
			want: []string{"opt-outs-not-applied/Org/csc/2024-03/A"},
		},
		{
			name: "copies in different months despite the same start month",
			in: Input{
				Agreements: []fivesafesv1alpha1.DataAccessAgreement{
					agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes)),
					agreement("b", "B", "Org", "2024-03-01", "2024-12-31", ds("hes", no)),
				},
				Extracts: []ExtractRecord{
					{Agreement: "a", Dataset: "hes", OptOuts: yes, Month: "2024-03"},
					{Agreement: "b", Dataset: "hes", OptOuts: no, Month: "2024-05"},
				},
			},
			want: []string{"opt-outs-not-applied/Org/hes/2024-03/B"},
		},
		{
			name: "copies in the same month despite different start months",
			in: Input{
				Agreements: []fivesafesv1alpha1.DataAccessAgreement{
					agreement("a", "A", "Org", "2024-01-01", "2024-12-31", ds("hes", yes)),
					agreement("b", "B", "Org", "2024-03-01", "2024-12-31", ds("hes", no)),
				},
				Extracts: []ExtractRecord{
					{Agreement: "a", Dataset: "hes", OptOuts: yes, Month: "2024-01"},
					{Agreement: "a", Dataset: "hes", OptOuts: yes, Month: "2024-03"},
					{Agreement: "b", Dataset: "hes", OptOuts: no, Month: "2024-03"},
				},
			},
			want: []string{"mixed-opt-outs/Org/hes/2024-03/A,B", "opt-outs-not-applied/Org/hes/2024-03/B"},
		},
		{
			name: "one agreement copied both ways in one month after its spec changed",
			in: Input{
				Agreements: []fivesafesv1alpha1.DataAccessAgreement{agreement("a", "A", "Org", "2024-01-01", "2024-12-31", ds("hes", yes))},
				Extracts: []ExtractRecord{
					{Agreement: "a", Dataset: "hes", OptOuts: no, Month: "2024-02"},
					{Agreement: "a", Dataset: "hes", OptOuts: yes, Month: "2024-02"},
				},
			},
			want: []string{"mixed-opt-outs/Org/hes/2024-02/A"},
		},
		{
			name: "same name, different codes",
			in: Input{Agreements: func() []fivesafesv1alpha1.DataAccessAgreement {
				a := agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes))
				b := agreement("b", "B", "Org", "2024-03-01", "2024-12-31", ds("hes", no))
				a.Spec.Organisation.Code, b.Spec.Organisation.Code = "X1", "Y2"
				return []fivesafesv1alpha1.DataAccessAgreement{a, b}
			}()},
			want: []string{"opt-outs-not-applied/Org/hes/2024-03/B"},
		},
		{
			name: "release on the last day and the day after",
			in: Input{
				Agreements: []fivesafesv1alpha1.DataAccessAgreement{agreement("a", "A", "Org", "2024-01-01", "2024-06-30", ds("hes", yes))},
				Releases: []release.Manifest{
					manifest("a", "r1", day("2024-06-30T23:59:59Z")),
					manifest("a", "r2", day("2024-07-01T00:00:00Z")),
					manifest("a", "r3", day("2024-07-20T09:00:00+02:00")),
					manifest("a", "r3", day("2024-07-20T09:00:00+02:00")), // the same release twice
				},
			},
			want: []string{"released-after-end/Org//2024-07/A"},
		},
		{
			name: "release after revocation",
			in: Input{
				Agreements: func() []fivesafesv1alpha1.DataAccessAgreement {
					a := agreement("a", "A", "Org", "2024-01-01", "2024-12-31", ds("hes", yes))
					a.Status.Phase = fivesafesv1alpha1.AgreementRevoked
					a.Status.EndedAt = &metav1.Time{Time: day("2024-05-10T12:00:00Z")}
					return []fivesafesv1alpha1.DataAccessAgreement{a}
				}(),
				Releases: []release.Manifest{manifest("a", "r1", day("2024-05-10T11:00:00Z")), manifest("a", "r2", day("2024-05-10T13:00:00Z"))},
			},
			want: []string{"released-after-end/Org//2024-05/A"},
		},
		{
			name: "never-approved agreements are left out",
			in: Input{Agreements: func() []fivesafesv1alpha1.DataAccessAgreement {
				a := agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes))
				b := agreement("b", "B", "Org", "2024-03-01", "2024-12-31", ds("hes", no))
				b.Status.Phase = fivesafesv1alpha1.AgreementRejected
				c := agreement("c", "C", "Org", "2024-03-01", "2024-12-31", ds("hes", no))
				c.Status.Phase = fivesafesv1alpha1.AgreementPending
				return []fivesafesv1alpha1.DataAccessAgreement{a, b, c}
			}()},
			want: nil,
		},
		{
			name: "re-pending agreements that were active stay in",
			in: Input{Agreements: func() []fivesafesv1alpha1.DataAccessAgreement {
				a := agreement("a", "A", "Org", "2024-03-01", "2024-12-31", ds("hes", yes))
				b := agreement("b", "B", "Org", "2024-03-01", "2024-12-31", ds("hes", no))
				b.Status.Phase = fivesafesv1alpha1.AgreementPending
				b.Status.ActivatedAt = &metav1.Time{Time: day("2024-03-01T00:00:00Z")}
				return []fivesafesv1alpha1.DataAccessAgreement{a, b}
			}()},
			want: []string{"mixed-opt-outs/Org/hes/2024-03/A,B", "opt-outs-not-applied/Org/hes/2024-03/B"},
		},
		{
			name: "releases for unknown agreements are noted",
			in: Input{
				Agreements: []fivesafesv1alpha1.DataAccessAgreement{agreement("a", "A", "Org", "2024-01-01", "2024-06-30", ds("hes", yes))},
				Releases:   []release.Manifest{manifest("gone", "r1", day("2024-02-01T00:00:00Z"))},
			},
			warn: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg, err := Build(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range reg.Flags {
				got = append(got, strings.Join([]string{f.Kind, f.Organisation, f.Dataset, f.Month, strings.Join(f.Agreements, ",")}, "/"))
				if f.Message == "" {
					t.Errorf("flag %+v has no message", f)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("flags = %q, want %q", got, tt.want)
			}
			if len(reg.Warnings) != tt.warn {
				t.Fatalf("warnings = %q, want %d", reg.Warnings, tt.warn)
			}
		})
	}
}

func TestBuildRefusesBadDates(t *testing.T) {
	bad := agreement("a", "A", "Org", "2024-13-01", "2024-12-31", ds("hes", yes))
	if _, err := Build(Input{Agreements: []fivesafesv1alpha1.DataAccessAgreement{bad}}); err == nil || !strings.Contains(err.Error(), "spec.validity.start") {
		t.Fatalf("Build with a bad start date: err = %v", err)
	}
	good := agreement("a", "A", "Org", "2024-01-01", "2024-12-31", ds("hes", yes))
	if _, err := Build(Input{Agreements: []fivesafesv1alpha1.DataAccessAgreement{good}, Extracts: []ExtractRecord{{Agreement: "a", Dataset: "hes", Month: "March"}}}); err == nil {
		t.Fatal("Build with a bad extract month succeeded")
	}
}

func TestExtractRecordFrom(t *testing.T) {
	x := &fivesafesv1alpha1.DatasetExtract{Spec: fivesafesv1alpha1.DatasetExtractSpec{Agreement: "a", Dataset: "hes", OptOuts: no}}
	if _, ok := ExtractRecordFrom(x); ok {
		t.Fatal("an extract that has not completed gave a record")
	}
	x.Status.CompletedAt = &metav1.Time{Time: time.Date(2024, 3, 31, 23, 30, 0, 0, time.FixedZone("X", -2*3600))}
	r, ok := ExtractRecordFrom(x)
	if !ok || r != (ExtractRecord{Agreement: "a", Dataset: "hes", OptOuts: no, Month: "2024-04"}) {
		t.Fatalf("ExtractRecordFrom = %+v, %v", r, ok)
	}
}

// hostile is text an agreement author could write to attack readers of the register.
var hostile = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`</p><SCRIPT SRC=//evil.example/x.js></SCRIPT>`,
	`javascript:alert(1)`,
	`<iframe srcdoc="<script>alert(1)</script>">`,
	"# Heading\n- list\n1. ordered\n> quote\n[link](javascript:alert(1)) ![img](x) `code` *em* | cell | &amp; <!-- c -->",
	"<style>body{display:none}</style>",
}

var tagRE = regexp.MustCompile(`<(/?)([A-Za-z][A-Za-z0-9]*)`)

var allowedTags = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "h1": true, "h2": true,
	"h3": true, "p": true, "a": true, "ul": true, "ol": true, "li": true, "strong": true, "br": true, "table": true,
	"tr": true, "th": true, "td": true, "section": true, "dl": true, "dt": true, "dd": true, "span": true,
}

func hostileRegister(t testing.TB, text string) *Register {
	a := agreement("a", "NIC-"+text, text, "2024-01-01", "2024-12-31", ds("hes"+text, no))
	a.Spec.Title = text
	a.Spec.Objectives = text + "\n" + text
	a.Spec.Purposes = []string{text}
	a.Spec.ExpectedBenefits = []string{text}
	a.Spec.ExpectedOutputs = []string{text}
	a.Spec.Organisation.Code = text
	a.Spec.Organisation.Type = text
	a.Spec.Datasets[0].OptOutJustification = text
	reg, err := Build(Input{Agreements: []fivesafesv1alpha1.DataAccessAgreement{a}, DatasetTitles: map[string]string{"hes" + text: text}})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

// checkHTML fails when a page holds any tag the templates do not write, or a style element
// other than the templates' own.
func checkHTML(t testing.TB, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		for _, m := range tagRE.FindAllSubmatch(b, -1) {
			if !allowedTags[string(m[2])] {
				t.Fatalf("%s holds a <%s> tag the templates do not write", name, m[2])
			}
		}
		if n := bytes.Count(b, []byte("<style")); n != 1 {
			t.Fatalf("%s holds %d style elements", name, n)
		}
		if bytes.Contains(bytes.ToLower(b), []byte("<script")) {
			t.Fatalf("%s holds a script", name)
		}
	}
}

// checkMarkdown fails when Markdown made from hostile text could start HTML, a link, an image or
// a block.
func checkMarkdown(t testing.TB, md string, text string) {
	t.Helper()
	for i := 0; i < len(md); i++ {
		if strings.IndexByte("<[`*_!|&", md[i]) >= 0 && (i == 0 || md[i-1] != '\\') {
			// Only the renderer's own syntax may use these; it never puts them in user text.
			line := md[strings.LastIndexByte(md[:i], '\n')+1:]
			if end := strings.IndexByte(line, '\n'); end >= 0 {
				line = line[:end]
			}
			if !ownMarkdown(line) {
				t.Fatalf("unescaped %q in Markdown line %q (from %q)", md[i], line, text)
			}
		}
	}
}

// ownMarkdown recognises the lines the renderer writes with Markdown syntax of its own.
func ownMarkdown(line string) bool {
	return strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "|---") || strings.HasPrefix(line, "- 🚩 **")
}

func TestHostileTextIsEscaped(t *testing.T) {
	for _, text := range hostile {
		reg := hostileRegister(t, text)
		files, err := RenderHTML(reg)
		if err != nil {
			t.Fatal(err)
		}
		checkHTML(t, files)
		page := files[reg.Organisations[0].page]
		if strings.Contains(text, "<script>") && !bytes.Contains(page, []byte("&lt;script&gt;")) {
			t.Fatalf("escaped text missing from the page:\n%s", page)
		}
		var md bytes.Buffer
		if err := WriteMarkdown(&md, reg); err != nil {
			t.Fatal(err)
		}
		checkMarkdown(t, md.String(), text)
		for _, l := range strings.Split(md.String(), "\n") {
			if strings.HasPrefix(l, "# ") && l != "# Data release register" {
				t.Fatalf("hostile text made a heading: %q", l)
			}
		}
	}
}

func TestMarkdownEscape(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain text", "plain text"},
		{"a <b> & [c](d)", `a \<b\> \& \[c\](d)`},
		{"# not a heading", `\# not a heading`},
		{"- not a list", `\- not a list`},
		{"12. not a list", `12\. not a list`},
		{"3) nor this", `3\) nor this`},
		{"  > nor a quote", `\> nor a quote`},
		{"tab\there", "tab here"},
		{`back\slash`, `back\\slash`},
	}
	for _, tt := range tests {
		if got := mdEscapeLine(tt.in); got != tt.want {
			t.Errorf("mdEscapeLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got, want := mdBlock("line one\n1) item\n\nnext para"), "line one\\\n1\\) item\n\nnext para"; got != want {
		t.Errorf("mdBlock = %q, want %q", got, want)
	}
	if got := mdInline("a\nb\r\nc"); got != "a b c" {
		t.Errorf("mdInline = %q", got)
	}
}

func TestSlugs(t *testing.T) {
	orgs := []Organisation{{Name: "NHS Cambridgeshire & Peterborough CCG"}, {Name: "NHS Cambridgeshire and Peterborough CCG"}, {Name: "nhs cambridgeshire & peterborough ccg"}, {Name: "<<>>"}, {Name: "../../etc"}}
	assignPages(orgs)
	var got []string
	for _, o := range orgs {
		got = append(got, o.page)
	}
	want := []string{
		"organisations/nhs-cambridgeshire-peterborough-ccg.html",
		"organisations/nhs-cambridgeshire-and-peterborough-ccg.html",
		"organisations/nhs-cambridgeshire-peterborough-ccg-2.html",
		"organisations/organisation.html",
		"organisations/etc.html",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages = %q, want %q", got, want)
	}
}
