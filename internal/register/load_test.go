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
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const minimalAgreement = `apiVersion: fivesafes.io/v1alpha1
kind: DataAccessAgreement
metadata:
  name: %s
spec:
  reference: %s
  title: T
  organisation: {name: Org}
  legalBases: [Consent]
  purposes: [Research]
  sensitivity: Sensitive
  objectives: O
  researchers: [{name: r, accreditationExpires: "2030-01-01"}]
  datasets: [{name: hes, columns: [a], optOuts: Honoured}]
  validity: {start: "2024-01-01", end: "2024-12-31"}
  workspace: {images: [img]}
`

func agreementYAML(name, ref string) string {
	return strings.NewReplacer("%s", name).Replace(minimalAgreement[:strings.Index(minimalAgreement, "spec:")]) +
		strings.Replace(minimalAgreement[strings.Index(minimalAgreement, "spec:"):], "%s", ref, 1)
}

func TestLoadDir(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"a.yaml": agreementYAML("a", "A") + "---\n# just a comment\n---\n" + agreementYAML("b", "B"),
		"list.yml": `apiVersion: v1
kind: List
items:
- ` + strings.ReplaceAll(strings.TrimSpace(agreementYAML("c", "C")), "\n", "\n  ") + `
`,
		"package.json":          `{"name": "not ours", "version": "1.0.0"}`,
		"notes.txt":             "not read",
		".git/broken.yaml":      "{{{{",
		"approvals/appr.yaml":   "apiVersion: fivesafes.io/v1alpha1\nkind: AgreementApproval\nmetadata: {name: x}\nspec: {weird: true}\n",
		"extracts/extract.yaml": "apiVersion: fivesafes.io/v1alpha1\nkind: DatasetExtract\nmetadata: {name: x, namespace: ws}\nspec: {agreement: a, dataset: hes, columns: [a], optOuts: Honoured}\nstatus: {completedAt: \"2024-02-03T04:05:06Z\"}\n",
	})
	in, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, a := range in.Agreements {
		names = append(names, a.Name)
	}
	if strings.Join(names, ",") != "a,b,c" {
		t.Fatalf("agreements = %v, want a, b, c", names)
	}
	if len(in.Extracts) != 1 || in.Extracts[0].Month != "2024-02" {
		t.Fatalf("extracts = %+v", in.Extracts)
	}
}

func TestLoadDirErrorsNameTheFile(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"broken YAML", map[string]string{"sub/bad.yaml": "apiVersion: v1\nkind: [unclosed\n"}, []string{"sub/bad.yaml", "document 1"}},
		{"broken second document", map[string]string{"two.yaml": agreementYAML("a", "A") + "---\nkind: x\n  bad: indent\n"}, []string{"two.yaml", "document 2"}},
		{"misspelt field", map[string]string{"typo.yaml": strings.Replace(agreementYAML("a", "A"), "objectives:", "objectives_:", 1)}, []string{"typo.yaml", "DataAccessAgreement", "objectives_"}},
		{"wrong type", map[string]string{"type.yaml": strings.Replace(agreementYAML("a", "A"), "purposes: [Research]", "purposes: Research", 1)}, []string{"type.yaml"}},
		{"no name", map[string]string{"anon.yaml": strings.Replace(agreementYAML("a", "A"), "  name: a\n", "  labels: {}\n", 1)}, []string{"anon.yaml", "metadata.name"}},
		{"duplicate", map[string]string{"one.yaml": agreementYAML("a", "A"), "two.yaml": agreementYAML("a", "B")}, []string{"one.yaml", "two.yaml", "DataAccessAgreement a"}},
		{"unknown version", map[string]string{"v.yaml": strings.Replace(agreementYAML("a", "A"), "v1alpha1", "v1beta1", 1)}, []string{"v.yaml", "v1beta1"}},
		{"invalid manifest", map[string]string{"r.json": `{"apiVersion":"fivesafes.io/v1alpha1","kind":"ReleaseManifest","agreement":"a"}`}, []string{"r.json", "invalid release manifest"}},
		{"JSON array", map[string]string{"arr.json": `[1,2]`}, []string{"arr.json", "not an object"}},
		{"broken JSON", map[string]string{"b.json": `{"apiVersion":`}, []string{"b.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadDir(writeTree(t, tt.files))
			if err == nil {
				t.Fatal("LoadDir succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Fatalf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := LoadDir(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("LoadDir of a missing directory succeeded")
	}
}

// FuzzLoadFile feeds arbitrary file contents to the YAML and JSON loaders: they must not panic,
// and what they accept must build into a register.
func FuzzLoadFile(f *testing.F) {
	for _, p := range []string{"agreements.yaml", "other-organisations.yaml", "releases/nic-80417-late.json"} {
		b, err := os.ReadFile(filepath.Join(fixture, p))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(filepath.Ext(p) == ".json", b)
	}
	for _, s := range []string{
		"", "---", "---\n---\n", "\x00", "\t- a", "a: &a [*a, *a]",
		"a: &a [x,x,x,x]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\nd: [*c,*c,*c,*c]",
		"apiVersion: fivesafes.io/v1alpha1\nkind: DataAccessAgreement\nmetadata: {name: a}\nspec: {validity: {start: x, end: y}}",
		"apiVersion: fivesafes.io/v1alpha1\nkind: DataAccessAgreementList\nitems: [{apiVersion: fivesafes.io/v1alpha1, kind: DataAccessAgreementList, items: []}]",
		"apiVersion: v1\nkind: List\nitems: [1, 2]",
		"apiVersion: fivesafes.io/v1alpha1\nkind: DatasetExtract\nstatus: {completedAt: 2024-02-03}",
		"apiVersion: !!binary aGVsbG8=\nkind: x",
		"a: 1\na: 2", "<<: {a: 1}", strings.Repeat("[", 5000), "apiVersion: a/b/c\nkind: List",
	} {
		f.Add(false, []byte(s))
		f.Add(true, []byte(s))
	}
	f.Fuzz(func(t *testing.T, isJSON bool, data []byte) {
		name := "f.yaml"
		if isJSON {
			name = "f.json"
		}
		in := &Input{}
		l := loader{in: in, names: map[string]string{}}
		if err := l.file(name, data); err != nil {
			if !strings.Contains(err.Error(), name) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		reg, err := Build(*in)
		if err != nil {
			return // bad dates are reported by Build
		}
		if _, err := RenderHTML(reg); err != nil {
			t.Fatalf("rendering a loaded register: %v", err)
		}
	})
}

// FuzzEscaping puts arbitrary text everywhere an agreement author can write, and checks that the
// HTML holds only the templates' own tags and that Markdown escaping leaves nothing active.
func FuzzEscaping(f *testing.F) {
	for _, h := range hostile {
		f.Add(h)
	}
	f.Add("1) item")
	f.Add("\\")
	f.Add("\xff\xfe<")
	f.Fuzz(func(t *testing.T, text string) {
		files, err := RenderHTML(hostileRegister(t, text))
		if err != nil {
			t.Fatal(err)
		}
		checkHTML(t, files)
		for _, line := range splitLines(text) {
			checkEscapedLine(t, mdEscapeLine(line))
		}
		if strings.ContainsAny(mdInline(text), "\n\r") {
			t.Fatalf("mdInline(%q) spans lines", text)
		}
	})
}

// checkEscapedLine fails when an escaped line holds a Markdown special character without a
// backslash before it, a control character, or the start of a block.
func checkEscapedLine(t *testing.T, s string) {
	t.Helper()
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '\\' {
			i++
			continue
		}
		if c < 0x20 || c == 0x7f {
			t.Fatalf("control character in %q", s)
		}
		if strings.IndexByte(mdSpecial, c) >= 0 {
			t.Fatalf("unescaped %q in %q", c, s)
		}
	}
	if s != "" && strings.IndexByte("-+=>", s[0]) >= 0 {
		t.Fatalf("%q starts a block", s)
	}
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i > 0 && i < len(s) && (s[i] == '.' || s[i] == ')') {
		t.Fatalf("%q starts an ordered list", s)
	}
}
