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

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDescription(t *testing.T) {
	cases := []struct {
		name, comment, want string
		ok                  bool
	}{
		{"none", "", "", false},
		{"plain comment only", "# A section.", "", false},
		{"one line", "# -- Repository of the image.", "Repository of the image.", true},
		{"continued", "# -- First part\n# and second part.", "First part and second part.", true},
		{"after a section comment", "# Section.\n#\n# -- The value.", "The value.", true},
		{"last marker wins", "# -- Old.\n# -- New.", "New.", true},
		{"empty marker", "# --", "", false},
		{"marker without a space", "#-- Not a marker.", "", false},
		{"stops at a blank comment", "# -- Text.\n#\n# Not part of it.", "Text.", true},
		{"indented", "  # -- Indented text.", "Indented text.", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := description(tc.comment)
			if got != tc.want || ok != tc.ok {
				t.Errorf("description(%q) = %q, %v; want %q, %v", tc.comment, got, ok, tc.want, tc.ok)
			}
		})
	}
}

const testSchema = `{
  "type": "object",
  "definitions": {"name": {"type": "string", "minLength": 1}},
  "properties": {
    "global": {"type": "object"},
    "image": {"type": "object", "properties": {
      "repository": {"$ref": "#/definitions/name"},
      "digest": {"oneOf": [{"type": "string"}, {"type": "null"}]}
    }},
    "replicas": {"type": "integer"},
    "resources": {"type": "object", "properties": {"limits": {"type": "object"}}},
    "budget": {"type": ["integer", "string"]}
  }
}`

func TestValueRows(t *testing.T) {
	cases := []struct {
		name     string
		values   string
		schema   string
		want     []row
		problems []string
	}{{
		name: "described values, nested and whole",
		values: `# The image.
image:
  # -- Repository.
  repository: example.org/manager
  # -- Digest | pinned.
  digest: ""
# -- Replicas.
replicas: 2
# -- Requests and limits.
resources:
  limits:
    cpu: "1"
# -- Budget.
budget: 50%
`,
		schema: testSchema,
		want: []row{
			{key: "image.repository", typ: "string", def: `"example.org/manager"`, desc: "Repository."},
			{key: "image.digest", typ: "string or null", def: `""`, desc: "Digest | pinned."},
			{key: "replicas", typ: "integer", def: "2", desc: "Replicas."},
			{key: "resources", typ: "object", def: `{"limits":{"cpu":"1"}}`, desc: "Requests and limits."},
			{key: "budget", typ: "integer or string", def: `"50%"`, desc: "Budget."},
		},
	}, {
		name: "undescribed leaf and missing schema",
		values: `image:
  repository: x
  # -- Digest.
  digest: ""
  # -- Unknown.
  tag: v1
# -- Replicas.
replicas: 1
# -- R.
resources: {}
# -- B.
budget: 1
`,
		schema:   testSchema,
		problems: []string{"image.repository has no", "image.tag has no schema"},
	}, {
		name:     "schema names a value values.yaml lacks",
		values:   "# -- Replicas.\nreplicas: 1\n",
		schema:   testSchema,
		problems: []string{"image is in values.schema.json but not in values.yaml", "budget is in values.schema.json"},
	}, {
		name:     "undescribed empty mapping",
		values:   "image:\n  # -- R.\n  repository: x\n  # -- D.\n  digest: x\n# -- R.\nreplicas: 1\nresources: {}\n# -- B.\nbudget: 1\n",
		schema:   testSchema,
		problems: []string{`resources has no "# -- " description`},
	}, {
		name:     "not a mapping",
		values:   "- a\n- b\n",
		schema:   testSchema,
		problems: []string{"values.yaml is not a mapping"},
	}, {
		name:     "schema does not parse",
		values:   "# -- R.\nreplicas: 1\n",
		schema:   "{",
		problems: []string{"values.schema.json does not parse"},
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := valueRows([]byte(tc.values), []byte(tc.schema))
			if len(tc.problems) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(rows, tc.want) {
					t.Errorf("rows:\n got %+v\nwant %+v", rows, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("want problems %q, got rows %+v", tc.problems, rows)
			}
			for _, p := range tc.problems {
				if !strings.Contains(err.Error(), p) {
					t.Errorf("error %q does not say %q", err, p)
				}
			}
		})
	}
}

func TestSpliceTable(t *testing.T) {
	doc := "# Chart\n\n" + tableStart + "\nold table\n" + tableEnd + "\n\nAfter.\n"
	got, err := spliceTable([]byte(doc), "| new |\n")
	if err != nil {
		t.Fatal(err)
	}
	want := "# Chart\n\n" + tableStart + "\n| new |\n" + tableEnd + "\n\nAfter.\n"
	if string(got) != want {
		t.Errorf("spliced:\n%s\nwant:\n%s", got, want)
	}
	for name, bad := range map[string]string{
		"no markers":     "# Chart\n",
		"no end":         tableStart + "\n",
		"end before":     tableEnd + "\n" + tableStart + "\n",
		"start twice":    tableStart + "\n" + tableStart + "\n" + tableEnd + "\n",
		"end twice":      tableStart + "\n" + tableEnd + "\n" + tableEnd + "\n",
		"start only end": tableEnd + "\n",
	} {
		if _, err := spliceTable([]byte(bad), "x"); err == nil {
			t.Errorf("%s: spliced a README without proper markers", name)
		}
	}
}

func TestCodeCell(t *testing.T) {
	cases := map[string]string{
		`"plain"`:  "`\"plain\"`",
		`a|b`:      "`a\\|b`",
		"has`tick": "``has`tick``",
		"`edge":    "`` `edge ``",
	}
	for in, want := range cases {
		if got := codeCell(in); got != want {
			t.Errorf("codeCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// fixture writes a minimal repository: config/ with one CRD and the RBAC and webhook manifests,
// and a chart with described values and a README with the table markers.
func fixture(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	files := map[string]string{
		"config/crd/bases/example.io_things.yaml": "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n",
		"config/rbac/role.yaml":                   "kind: ClusterRole\n",
		"config/rbac/user_roles.yaml":             "kind: ClusterRole\n",
		"config/rbac/user_bindings.yaml":          "kind: ClusterRoleBinding\n",
		"config/webhook/manifests.yaml":           "kind: ValidatingWebhookConfiguration\n",
		chartDir + "/values.yaml":                 "# -- How many.\nreplicas: 2\n",
		chartDir + "/values.schema.json":          `{"type": "object", "properties": {"replicas": {"type": "integer"}}}`,
		chartDir + "/README.md":                   "# Chart\n\n" + tableStart + "\n" + tableEnd + "\n",
	}
	for p, content := range files {
		writeFile(t, root, p, content)
	}
	return root
}

func writeFile(t *testing.T, root, p, content string) {
	t.Helper()
	full := filepath.Join(root, filepath.FromSlash(p))
	if err := os.MkdirAll(filepath.Dir(full), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// checkOutput runs -check and returns its output and whether it found the chart out of step.
func checkOutput(t *testing.T, root string) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	err := run(&out, root, true)
	if err != nil && !errors.Is(err, errOutOfStep) {
		t.Fatalf("check: %v", err)
	}
	return out.String(), err != nil
}

func TestRunCheckAndWrite(t *testing.T) {
	root := fixture(t)

	out, differ := checkOutput(t, root)
	if !differ {
		t.Fatal("-check passed on a chart that has no copies yet")
	}
	for _, want := range []string{
		"charts/fivesafes/crds/example.io_things.yaml is missing (from config/crd/bases/example.io_things.yaml)",
		"charts/fivesafes/files/rbac/role.yaml is missing",
		"charts/fivesafes/files/webhook/manifests.yaml is missing",
		"charts/fivesafes/README.md differs from charts/fivesafes/values.yaml",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-check output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(root, chartDir, "crds")); !errors.Is(err, os.ErrNotExist) {
		t.Error("-check wrote files")
	}

	var wrote bytes.Buffer
	if err := run(&wrote, root, false); err != nil {
		t.Fatal(err)
	}
	if out, differ := checkOutput(t, root); differ {
		t.Fatalf("-check after writing still differs:\n%s", out)
	}
	readme, err := os.ReadFile(filepath.Join(root, chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "| `replicas` | integer | `2` | How many. |") {
		t.Errorf("README lacks the values row:\n%s", readme)
	}

	// A changed CRD, a stale copy and a changed description are each reported, then fixed.
	writeFile(t, root, "config/crd/bases/example.io_things.yaml", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n# changed\n")
	writeFile(t, root, chartDir+"/crds/example.io_gone.yaml", "kind: CustomResourceDefinition\n")
	writeFile(t, root, chartDir+"/values.yaml", "# -- How many pods.\nreplicas: 2\n")
	out, differ = checkOutput(t, root)
	if !differ {
		t.Fatal("-check passed after config/ and values.yaml changed")
	}
	for _, want := range []string{
		"charts/fivesafes/crds/example.io_things.yaml differs from config/crd/bases/example.io_things.yaml",
		"charts/fivesafes/crds/example.io_gone.yaml is stale",
		"charts/fivesafes/README.md differs",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("-check output lacks %q:\n%s", want, out)
		}
	}
	wrote.Reset()
	if err := run(&wrote, root, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(wrote.String(), "removed charts/fivesafes/crds/example.io_gone.yaml") {
		t.Errorf("the stale copy was not removed:\n%s", wrote.String())
	}
	if out, differ := checkOutput(t, root); differ {
		t.Fatalf("-check after the second write still differs:\n%s", out)
	}
}

func TestRunRefusesUndescribedValues(t *testing.T) {
	root := fixture(t)
	writeFile(t, root, chartDir+"/values.yaml", "replicas: 2\n")
	err := run(&bytes.Buffer{}, root, false)
	if err == nil || !strings.Contains(err.Error(), "replicas has no") {
		t.Errorf("want an error naming the undescribed value, got %v", err)
	}
}

func TestRunNeedsCRDs(t *testing.T) {
	root := fixture(t)
	if err := os.Remove(filepath.Join(root, "config", "crd", "bases", "example.io_things.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := run(&bytes.Buffer{}, root, true); err == nil || !strings.Contains(err.Error(), "make manifests") {
		t.Errorf("want an error saying to generate the CRDs, got %v", err)
	}
}

// TestRepositoryInStep runs the check on the repository itself.
func TestRepositoryInStep(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, filepath.Join("..", ".."), true); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
}

// FuzzValueRows feeds arbitrary YAML as values.yaml: valueRows must return rows or an error,
// never panic or loop.
func FuzzValueRows(f *testing.F) {
	seeds := []string{
		"# -- R.\nreplicas: 2\n",
		"a: &x {b: 1}\nc: *x\n",
		"<<: {a: 1}\n",
		"? [a, b]\n: c\n",
		"1: one\ntrue: yes\n~: null\n",
		"a:\n  b:\n    c:\n      d:\n        e: 1\n",
		"# --\n\"\": x\n",
		"a: !!binary aGVsbG8=\n",
		"a: 1\na: 2\n",
		"\t- tab\n",
		"--- \n...\n",
		"a: [" + strings.Repeat("[", 200) + strings.Repeat("]", 200) + "]\n",
		"# -- Pipe | and `tick`.\nv: \"`|`\"\n",
		"a: *undefined\n",
	}
	for _, s := range seeds {
		f.Add(s)
	}
	schema := []byte(`{"type": "object", "definitions": {"loop": {"$ref": "#/definitions/loop"}},
		"properties": {"a": {"$ref": "#/definitions/loop"}, "replicas": {"type": "integer"}}}`)
	f.Fuzz(func(_ *testing.T, values string) {
		rows, err := valueRows([]byte(values), schema)
		if err == nil {
			_ = renderTable(rows)
		}
	})
}
