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
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

var (
	validatorsOnce sync.Once
	plainValidator *FileValidator
	catValidator   *FileValidator
	validatorsErr  error
)

// validators returns a FileValidator without and one with the test catalogue, built once.
func validators(t testing.TB) (plain, withCatalogue *FileValidator) {
	t.Helper()
	validatorsOnce.Do(func() {
		ctx := context.Background()
		plainValidator, validatorsErr = NewFileValidator(ctx, FileValidatorConfig{})
		if validatorsErr != nil {
			return
		}
		var cat Catalogue
		if cat, validatorsErr = LoadCatalogue(ctx, "testdata/catalogue"); validatorsErr != nil {
			return
		}
		catValidator, validatorsErr = NewFileValidator(ctx, FileValidatorConfig{Catalogue: cat})
	})
	if validatorsErr != nil {
		t.Fatal(validatorsErr)
	}
	return plainValidator, catValidator
}

// violationRules lists "field rule" for each violation.
func violationRules(vs []Violation) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Field + " " + v.Rule
	}
	return out
}

func TestValidateFile(t *testing.T) {
	ctx := context.Background()
	plain, withCatalogue := validators(t)
	tests := []struct {
		file      string
		catalogue bool
		want      []string // "field rule", in order
	}{
		{file: "valid.yaml", want: []string{}},
		{file: "valid.yaml", catalogue: true, want: []string{}},
		{file: "valid-explicit-defaults.json", catalogue: true, want: []string{}},
		{file: "../../../config/samples/fivesafes_v1alpha1_dataaccessagreement.yaml", catalogue: true, want: []string{}},
		{file: "invalid-enum.yaml", want: []string{
			"spec.legalBases[1] schema.unsupported-value",
			" schema.cel",
		}},
		{file: "invalid-end-before-start.yaml", want: []string{
			"spec.validity schema.cel",
			"spec.validity.end agreement.validity-order",
		}},
		{file: "invalid-opt-out-unjustified.yaml", want: []string{
			"spec.datasets[1] schema.cel",
			"spec.datasets[1].optOutJustification agreement.opt-out-justification-required",
		}},
		{file: "invalid-duplicate-researcher.yaml", want: []string{
			"spec.researchers[2] schema.duplicate",
			"spec.researchers[2].name agreement.researcher-duplicate",
		}},
		{file: "invalid-unknown-column.yaml", want: []string{}},
		{file: "invalid-unknown-column.yaml", catalogue: true, want: []string{
			"spec.datasets[0].columns[4] agreement.column-unknown",
		}},
		{file: "invalid-unknown-field.yaml", want: []string{
			"spec.objective schema.unknown-field",
			"spec.objectives schema.required",
			"spec.sensitive schema.unknown-field",
			" schema.cel",
		}},
		{file: "invalid-policy.yaml", want: []string{"spec.reference agreement.reference-format"}},
		{file: "invalid-two-documents.yaml", want: []string{" file.single-document"}},
		{file: "invalid-yaml.yaml", want: []string{" file.yaml"}},
	}
	for _, tt := range tests {
		name := tt.file
		v := plain
		if tt.catalogue {
			name += " with catalogue"
			v = withCatalogue
		}
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.file)
			r, err := v.ValidateFile(ctx, path)
			if err != nil {
				t.Fatal(err)
			}
			if got := violationRules(r.Violations); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("violations:\n got %q\nwant %q\n%+v", got, tt.want, r.Violations)
			}
			if r.Valid != (len(tt.want) == 0) {
				t.Errorf("Valid = %v with %d violations", r.Valid, len(r.Violations))
			}
			if r.File != path {
				t.Errorf("File = %q, want %q", r.File, path)
			}
			for _, x := range r.Violations {
				if x.Message == "" {
					t.Errorf("violation %+v has no message", x)
				}
			}
		})
	}
}

func TestValidateFilesErrors(t *testing.T) {
	ctx := context.Background()
	plain, _ := validators(t)
	reports, err := plain.ValidateFiles(ctx, []string{"testdata/valid.yaml", "testdata/missing.yaml", "testdata/invalid-policy.yaml"})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want a not-exist error", err)
	}
	if len(reports) != 1 || !reports[0].Valid {
		t.Errorf("reports before the error = %+v", reports)
	}
	if code := ExitCode(reports, err); code != ExitError {
		t.Errorf("ExitCode = %d, want %d", code, ExitError)
	}
}

func TestExitCode(t *testing.T) {
	valid := FileReport{File: "a", Valid: true, Violations: []Violation{}}
	invalid := FileReport{File: "b", Violations: []Violation{{Rule: "r", Message: "m"}}}
	for _, tt := range []struct {
		reports []FileReport
		err     error
		want    int
	}{
		{[]FileReport{valid}, nil, ExitValid},
		{[]FileReport{valid, valid}, nil, ExitValid},
		{[]FileReport{valid, invalid}, nil, ExitInvalid},
		{[]FileReport{invalid}, errors.New("disk on fire"), ExitError},
		{nil, errors.New("no such file"), ExitError},
	} {
		if got := ExitCode(tt.reports, tt.err); got != tt.want {
			t.Errorf("ExitCode(%+v, %v) = %d, want %d", tt.reports, tt.err, got, tt.want)
		}
	}
}

func TestWriteReportsJSON(t *testing.T) {
	valid := FileReport{File: "a.yaml", Valid: true, Violations: []Violation{}}
	invalid := FileReport{File: "b.yaml", Violations: []Violation{{Field: "spec.reference", Rule: "agreement.reference-format", Message: "bad"}}}

	var one bytes.Buffer
	if err := WriteReports(&one, []FileReport{valid}, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := json.Unmarshal(one.Bytes(), &obj); err != nil {
		t.Fatalf("one report is not a JSON object: %v\n%s", err, one.String())
	}
	if obj["valid"] != true || obj["file"] != "a.yaml" {
		t.Errorf("one report = %v", obj)
	}
	if vs, ok := obj["violations"].([]any); !ok || len(vs) != 0 {
		t.Errorf("violations of a valid file = %#v, want []", obj["violations"])
	}

	var two bytes.Buffer
	if err := WriteReports(&two, []FileReport{valid, invalid}, FormatJSON); err != nil {
		t.Fatal(err)
	}
	var list []struct {
		File       string `json:"file"`
		Valid      bool   `json:"valid"`
		Violations []struct {
			Field, Rule, Message string
		} `json:"violations"`
	}
	if err := json.Unmarshal(two.Bytes(), &list); err != nil {
		t.Fatalf("two reports are not a JSON list: %v", err)
	}
	if len(list) != 2 || list[1].Valid || list[1].Violations[0].Field != "spec.reference" || list[1].Violations[0].Rule != "agreement.reference-format" {
		t.Errorf("list = %+v", list)
	}
	// Keys appear in the documented order.
	if s := two.String(); strings.Index(s, `"field"`) > strings.Index(s, `"rule"`) || strings.Index(s, `"rule"`) > strings.Index(s, `"message"`) {
		t.Errorf("violation keys out of order:\n%s", s)
	}
}

func TestWriteReportsText(t *testing.T) {
	reports := []FileReport{
		{File: "a.yaml", Valid: true, Violations: []Violation{}},
		{File: "b.yaml", Violations: []Violation{
			{Field: "spec.reference", Rule: "agreement.reference-format", Message: "The reference is off."},
			{Rule: "file.yaml", Message: "not YAML"},
		}},
	}
	var b bytes.Buffer
	if err := WriteReports(&b, reports, FormatText); err != nil {
		t.Fatal(err)
	}
	want := "a.yaml: valid\n" +
		"b.yaml: invalid, 2 violations\n" +
		"  spec.reference: The reference is off. [agreement.reference-format]\n" +
		"  (file): not YAML [file.yaml]\n"
	if b.String() != want {
		t.Errorf("text:\n%s\nwant:\n%s", b.String(), want)
	}
	if err := WriteReports(&b, reports, "yaml"); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestLoadCatalogue(t *testing.T) {
	ctx := context.Background()
	cat, err := LoadCatalogue(ctx, "testdata/catalogue")
	if err != nil {
		t.Fatal(err)
	}
	if len(cat) != 2 {
		t.Fatalf("catalogue holds %d datasets, want 2 (the OptOutList and README skipped)", len(cat))
	}
	hes, ok := cat["hes-apc"]
	if !ok {
		t.Fatal("hes-apc missing")
	}
	if hes.Format != fivesafesv1alpha1.FormatCSV || hes.Columns[0].Identifier != fivesafesv1alpha1.IdentifierNHSNumber || hes.Columns[2].Identifier != fivesafesv1alpha1.IdentifierNone {
		t.Errorf("hes-apc read without defaults: %+v", hes)
	}

	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	sample, err := os.ReadFile("testdata/catalogue/hes-apc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, files := range map[string]map[string]string{
		"defined twice":   {"a.yaml": string(sample), "b.yml": string(sample)},
		"invalid dataset": {"a.yaml": strings.Replace(string(sample), "identifier: NHSNumber", "identifier: Passport", 1)},
		"not YAML":        {"a.yaml": "kind: [", "b.yaml": string(sample)},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := LoadCatalogue(ctx, write(t, files)); err == nil {
				t.Error("LoadCatalogue succeeded")
			}
		})
	}
	t.Run("multi-document file", func(t *testing.T) {
		asc, err := os.ReadFile("testdata/catalogue/asc-cld.yaml")
		if err != nil {
			t.Fatal(err)
		}
		cat, err := LoadCatalogue(ctx, write(t, map[string]string{"all.yaml": string(sample) + "\n---\n" + string(asc)}))
		if err != nil || len(cat) != 2 {
			t.Errorf("catalogue = %v, %v", cat, err)
		}
	})
	if _, err := LoadCatalogue(ctx, "testdata/no-such-dir"); err == nil {
		t.Error("missing directory accepted")
	}
}

func TestParse(t *testing.T) {
	a, err := ParseFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if a.Name != "nic-38002-s3k0v" || a.Spec.Reference != "NIC-38002-S3K0V" || len(a.Spec.Datasets) != 2 {
		t.Errorf("parsed %+v", a)
	}
	valid, err := os.ReadFile("testdata/valid.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{
		"field name in another case": strings.Replace(string(valid), "  title:", "  Title:", 1),
		"key written twice":          strings.Replace(string(valid), "  title:", "  title: Twice\n  title:", 1),
		"not a mapping":              "- a\n- b\n",
	} {
		if a, err := Parse([]byte(data)); err == nil {
			t.Errorf("%s: Parse = %+v, want an error", name, a.Spec)
		}
	}
	for _, path := range []string{"testdata/invalid-unknown-field.yaml", "testdata/invalid-two-documents.yaml", "testdata/invalid-yaml.yaml", "testdata/catalogue/hes-apc.yaml", "testdata/missing.yaml"} {
		if _, err := ParseFile(path); err == nil {
			t.Errorf("%s: ParseFile succeeded", path)
		}
	}
}

// FuzzValidateBytes feeds arbitrary bytes to the file validator: it must never panic, must be
// deterministic, and must call a file valid only if it has no violation. A valid file must also
// parse and digest.
func FuzzValidateBytes(f *testing.F) {
	for _, name := range []string{"valid.yaml", "valid-explicit-defaults.json", "invalid-enum.yaml", "invalid-unknown-field.yaml", "invalid-two-documents.yaml", "invalid-yaml.yaml"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "---", "--- \n...\n", "null", "[]", "42", "\"text\"", "\x00\xff",
		"apiVersion: fivesafes.io/v1alpha1\nkind: DataAccessAgreement\n",
		"apiVersion: fivesafes.io/v1alpha1\nkind: DataAccessAgreement\nmetadata: 7\nspec: []\n",
		"apiVersion: fivesafes.io/v1alpha1\nkind: DataAccessAgreement\nmetadata: {name: a}\nspec: {researchers: [1, {name: [x]}], datasets: {}}\n",
		"apiVersion: fivesafes.io/v1alpha1\nkind: DataAccessAgreement\nmetadata: {name: a, labels: {a: 1}}\nspec: {validity: {start: 2026-01-01, end: 1e309}}\n",
		"a: &a [*a, *a]\nb: *a\n",
		"kind: DataAccessAgreement\napiVersion: [fivesafes.io/v1alpha1]\n",
		"{\"apiVersion\": \"fivesafes.io/v1alpha1\", \"kind\": \"DataAccessAgreement\", \"spec\": {\"workspace\": {\"cpu\": -1e400}}}",
	} {
		f.Add([]byte(s))
	}
	plain, _ := validators(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		r1, err := plain.ValidateBytes(ctx, "fuzz.yaml", data)
		if err != nil {
			t.Fatalf("ValidateBytes: %v", err)
		}
		r2, err := plain.ValidateBytes(ctx, "fuzz.yaml", data)
		if err != nil || !reflect.DeepEqual(r1, r2) {
			t.Fatalf("not deterministic: %+v then %+v (%v)", r1, r2, err)
		}
		if r1.Valid != (len(r1.Violations) == 0) {
			t.Fatalf("Valid = %v with violations %+v", r1.Valid, r1.Violations)
		}
		if r1.Valid {
			a, err := Parse(data)
			if err != nil {
				t.Fatalf("a valid file does not parse: %v", err)
			}
			if _, err := SpecDigest(a.Spec); err != nil {
				t.Fatalf("a valid file does not digest: %v", err)
			}
		}
	})
}
