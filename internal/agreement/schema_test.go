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
	"os"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// readObject decodes the single document of a fixture as the API server would receive it.
func readObject(t testing.TB, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	docs, err := splitDocuments(b)
	if err != nil || len(docs) != 1 {
		t.Fatalf("%s: %d documents, %v", path, len(docs), err)
	}
	return docs[0]
}

func mustAgreementSchema(t testing.TB) *SchemaValidator {
	t.Helper()
	s, err := Schema()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAdmit(t *testing.T) {
	ctx := context.Background()
	s := mustAgreementSchema(t)
	set := func(value any, path ...string) func(map[string]any) {
		return func(o map[string]any) {
			if err := unstructured.SetNestedField(o, value, path...); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		change func(map[string]any)
		want   rulesAt
	}{
		{name: "valid", want: rulesAt{}},
		{name: "status is dropped", change: set("Active", "status", "phase"), want: rulesAt{}},
		{name: "other kind", change: set("Dataset", "kind"), want: rulesAt{"kind": "schema.invalid"}},
		{name: "other version", change: set("fivesafes.io/v1", "apiVersion"), want: rulesAt{"apiVersion": "schema.invalid"}},
		{
			name:   "no name",
			change: func(o map[string]any) { unstructured.RemoveNestedField(o, "metadata", "name") },
			want:   rulesAt{"metadata.name": "schema.required", "": RuleCEL},
		},
		{
			name:   "bad name, also refused by the CRD's own rule on names",
			change: set("NIC_38002", "metadata", "name"),
			want:   rulesAt{"metadata.name": "schema.invalid", "": RuleCEL},
		},
		{
			name:   "bad enum",
			change: set("Secret", "spec", "sensitivity"),
			want:   rulesAt{"spec.sensitivity": "schema.unsupported-value", "": RuleCEL},
		},
		{
			name:   "bad enum in a set",
			change: set([]any{"Section251", "Sectoin251"}, "spec", "legalBases"),
			want:   rulesAt{"spec.legalBases[1]": "schema.unsupported-value", "": RuleCEL},
		},
		{
			name:   "bad date",
			change: set("2026-02-30", "spec", "validity", "start"),
			want:   rulesAt{"spec.validity.start": "schema.wrong-type", "": RuleCEL},
		},
		{name: "bad quantity", change: set("lots", "spec", "workspace", "cpu"), want: rulesAt{"spec.workspace.cpu": "schema.invalid"}},
		{
			name:   "wrong type",
			change: set("ten", "spec", "outputRules", "minimumCellCount"),
			want:   rulesAt{"spec.outputRules.minimumCellCount": "schema.wrong-type", "": RuleCEL},
		},
		{name: "below minimum", change: set(int64(0), "spec", "outputRules", "reviewers"), want: rulesAt{"spec.outputRules.reviewers": "schema.invalid"}},
		{
			name:   "too long",
			change: set(strings.Repeat("x", 65), "spec", "reference"),
			want:   rulesAt{"spec.reference": "schema.too-long", "": RuleCEL},
		},
		{
			name:   "required missing",
			change: func(o map[string]any) { unstructured.RemoveNestedField(o, "spec", "datasets") },
			want:   rulesAt{"spec.datasets": "schema.required", "": RuleCEL},
		},
		{name: "end before start (CEL)", change: set("2026-01-01", "spec", "validity", "end"), want: rulesAt{"spec.validity": RuleCEL}},
		{
			name: "opt-outs not applied without justification (CEL)",
			change: func(o map[string]any) {
				ds, _, _ := unstructured.NestedSlice(o, "spec", "datasets")
				delete(ds[1].(map[string]any), "optOutJustification")
				set(ds, "spec", "datasets")(o)
			},
			want: rulesAt{"spec.datasets[1]": RuleCEL},
		},
		{
			name: "duplicate researcher (list map)",
			change: func(o map[string]any) {
				rs, _, _ := unstructured.NestedSlice(o, "spec", "researchers")
				rs = append(rs, map[string]any{"name": rs[0].(map[string]any)["name"], "accreditationExpires": "2029-01-01"})
				set(rs, "spec", "researchers")(o)
			},
			want: rulesAt{"spec.researchers[2]": "schema.duplicate"},
		},
		{
			name:   "duplicate image (list set)",
			change: set([]any{"a/b", "a/b"}, "spec", "workspace", "images"),
			want:   rulesAt{"spec.workspace.images[1]": "schema.duplicate"},
		},
		{
			name:   "unknown fields",
			change: func(o map[string]any) { set(true, "spec", "sensitive")(o); set("x", "metadata", "nickname")(o) },
			want:   rulesAt{"spec.sensitive": RuleUnknownField, "metadata.nickname": RuleUnknownField},
		},
		{
			name:   "revocation cannot be withdrawn is a transition rule, not checked on create",
			change: set(map[string]any{"reason": "Breach."}, "spec", "revocation"),
			want:   rulesAt{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj := readObject(t, "testdata/valid.yaml")
			if tt.change != nil {
				tt.change(obj)
			}
			got := s.Admit(ctx, obj)
			if !reflect.DeepEqual(findingsAt(got), tt.want) {
				t.Errorf("findings = %+v, want rules at %v", got, tt.want)
			}
			for _, f := range got {
				if f.Message == "" {
					t.Errorf("finding %+v has no message", f)
				}
			}
		})
	}
}

// TestAdmitDefaultsAndPrunes checks that the object is left as the API server would store it.
func TestAdmitDefaultsAndPrunes(t *testing.T) {
	obj := readObject(t, "testdata/valid.yaml")
	obj["status"] = map[string]any{"phase": "Active"}
	if err := unstructured.SetNestedField(obj, int64(12), "spec", "outputRules", "minimumCellCount"); err != nil {
		t.Fatal(err)
	}
	if err := unstructured.SetNestedField(obj, "x", "spec", "unknown"); err != nil {
		t.Fatal(err)
	}
	mustAgreementSchema(t).Admit(context.Background(), obj)

	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"spec", "accessMethod"}, "Ongoing"},
		{[]string{"spec", "sublicensing"}, "NotAllowed"},
		{[]string{"spec", "workspace", "cpu"}, "4"},
		{[]string{"spec", "workspace", "memory"}, "16Gi"},
		{[]string{"spec", "outputRules", "minimumCellCount"}, int64(12)},
		{[]string{"spec", "outputRules", "reviewers"}, int64(2)},
		{[]string{"spec", "outputRules", "zeros"}, "Disclosive"},
	} {
		got, found, err := unstructured.NestedFieldNoCopy(obj, c.path...)
		if err != nil || !found || got != c.want {
			t.Errorf("%s = %#v (found %v, %v), want %#v", strings.Join(c.path, "."), got, found, err, c.want)
		}
	}
	if _, ok := obj["status"]; ok {
		t.Error("status was kept")
	}
	if _, found, _ := unstructured.NestedFieldNoCopy(obj, "spec", "unknown"); found {
		t.Error("unknown field was kept")
	}
}

func TestDatasetSchema(t *testing.T) {
	s, err := DatasetSchema()
	if err != nil {
		t.Fatal(err)
	}
	if k := s.Kind(); k.Kind != "Dataset" || k.Group != "fivesafes.io" {
		t.Errorf("Kind() = %v", k)
	}
	obj := readObject(t, "testdata/catalogue/hes-apc.yaml")
	if fs := s.Admit(context.Background(), obj); len(fs) != 0 {
		t.Errorf("sample dataset: %+v", fs)
	}
	cols, _, _ := unstructured.NestedSlice(obj, "spec", "columns")
	if got := cols[2].(map[string]any)["identifier"]; got != "None" {
		t.Errorf("default identifier = %v, want None", got)
	}
}

func TestNewSchemaValidatorRejectsBadCRDs(t *testing.T) {
	for name, manifest := range map[string]string{
		"not YAML":      "{",
		"unknown field": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nspek: {}\n",
		"no versions":   "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {group: g, names: {kind: X, plural: xs}, scope: Cluster, versions: []}\n",
		"no schema":     "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {group: g, names: {kind: X, plural: xs}, scope: Cluster, versions: [{name: v1, served: true, storage: true}]}\n",
		"not structural": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: x}\nspec: {group: g, names: {kind: X, plural: xs}, scope: Cluster, versions: [{name: v1, served: true, storage: true, " +
			"schema: {openAPIV3Schema: {type: object, properties: {spec: {anyOf: [{type: string}]}}}}}]}\n",
	} {
		if _, err := NewSchemaValidator([]byte(manifest)); err == nil {
			t.Errorf("%s: NewSchemaValidator succeeded", name)
		}
	}
}
