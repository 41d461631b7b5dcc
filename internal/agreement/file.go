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
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
)

// Rule identifiers of findings about a file as a whole.
const (
	RuleFileYAML           = "file.yaml"
	RuleFileEmpty          = "file.empty"
	RuleFileSingleDocument = "file.single-document"
)

// Exit codes of `fivesafes agreement validate`.
const (
	ExitValid   = 0 // every file is valid
	ExitInvalid = 1 // at least one file is invalid
	ExitError   = 2 // a usage or I/O error: a file could not be read, or could not be judged
)

// Output formats of WriteReports.
const (
	FormatText = "text"
	FormatJSON = "json"
)

// Violation is one rule a file breaks.
type Violation struct {
	// Field is the path of the offending field, e.g. spec.validity.end; empty for the file as a
	// whole.
	Field string `json:"field"`
	// Rule is the stable identifier of the rule: "schema.*" for the CRD's OpenAPI schema,
	// "schema.cel" for its CEL rules, "agreement.*" for the governance policy, "file.*" for the
	// file itself.
	Rule string `json:"rule"`
	// Message explains the violation.
	Message string `json:"message"`
}

// FileReport is the verdict on one agreement file.
type FileReport struct {
	// File is the file's path as given.
	File string `json:"file"`
	// Valid is true when the file breaks no rule.
	Valid bool `json:"valid"`
	// Violations are the rules the file breaks, schema findings first; never nil.
	Violations []Violation `json:"violations"`
}

// FileValidator judges agreement files with no cluster: the CRD schema and CEL rules as the API
// server would apply them, then the governance policy. It is safe for concurrent use.
type FileValidator struct {
	schema    *SchemaValidator
	engine    *policy.Engine
	catalogue Catalogue
	params    Params
}

// FileValidatorConfig configures a FileValidator. The zero value uses the built-in CRD and
// policies, no catalogue and the default parameters.
type FileValidatorConfig struct {
	// Engine runs the governance policy; nil means an engine with the built-in policies.
	Engine *policy.Engine
	// Catalogue, when not nil, turns on the catalogue rules (see LoadCatalogue).
	Catalogue Catalogue
	// Params, when not nil, replaces DefaultParams.
	Params *Params
}

// NewFileValidator builds a FileValidator.
func NewFileValidator(ctx context.Context, cfg FileValidatorConfig) (*FileValidator, error) {
	s, err := Schema()
	if err != nil {
		return nil, err
	}
	eng := cfg.Engine
	if eng == nil {
		if eng, err = policy.NewDefaultEngine(ctx, PolicyQuery); err != nil {
			return nil, fmt.Errorf("loading the governance policy: %w", err)
		}
	}
	p := DefaultParams()
	if cfg.Params != nil {
		p = *cfg.Params
	}
	return &FileValidator{schema: s, engine: eng, catalogue: cfg.Catalogue, params: p}, nil
}

// ValidateFiles judges each file in turn. It stops at the first file that cannot be read or
// judged, returning the reports made so far and the error.
func (v *FileValidator) ValidateFiles(ctx context.Context, paths []string) ([]FileReport, error) {
	reports := make([]FileReport, 0, len(paths))
	for _, p := range paths {
		r, err := v.ValidateFile(ctx, p)
		if err != nil {
			return reports, err
		}
		reports = append(reports, r)
	}
	return reports, nil
}

// ValidateFile judges the agreement in the file at path. The error is for a file that cannot be
// read or an agreement the policy cannot judge; a file that is not a valid agreement (including
// one that is not YAML) gets a report with violations.
func (v *FileValidator) ValidateFile(ctx context.Context, path string) (FileReport, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: reading the file the user named is the point.
	if err != nil {
		return FileReport{}, fmt.Errorf("reading %s: %w", path, err)
	}
	return v.ValidateBytes(ctx, path, data)
}

// ValidateBytes judges the agreement in data, a YAML or JSON document, reporting it under name.
func (v *FileValidator) ValidateBytes(ctx context.Context, name string, data []byte) (FileReport, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return report(name, []Violation{{Rule: RuleFileYAML, Message: "the file is not valid YAML: " + err.Error()}}), nil
	}
	switch len(docs) {
	case 0:
		return report(name, []Violation{{Rule: RuleFileEmpty, Message: "the file holds no DataAccessAgreement"}}), nil
	case 1:
	default:
		return report(name, []Violation{{Rule: RuleFileSingleDocument, Message: fmt.Sprintf(
			"the file holds %d YAML documents; put each DataAccessAgreement in a file of its own", len(docs))}}), nil
	}
	vs, err := v.ValidateObject(ctx, docs[0])
	if err != nil {
		return FileReport{}, fmt.Errorf("judging %s: %w", name, err)
	}
	return report(name, vs), nil
}

// ValidateObject judges one agreement decoded from YAML or JSON: first the CRD's schema and CEL
// rules, then, if the object can be read as a DataAccessAgreement, the governance policy on the
// object as the API server would store it (defaults applied).
func (v *FileValidator) ValidateObject(ctx context.Context, obj map[string]any) ([]Violation, error) {
	findings := v.schema.Admit(ctx, obj)
	if a, ok := typed(obj); ok && sameKind(findings) {
		ev, err := Evaluate(ctx, v.engine, a, v.catalogue, WithParams(v.params))
		if err != nil {
			return nil, err
		}
		findings = append(findings, ev.Findings...)
	}
	seen := map[fivesafesv1alpha1.Finding]bool{}
	vs := make([]Violation, 0, len(findings))
	for _, f := range findings {
		if seen[f] {
			continue
		}
		seen[f] = true
		vs = append(vs, Violation{Field: f.Field, Rule: f.Rule, Message: f.Message})
	}
	return vs, nil
}

// sameKind reports whether the findings leave the object's kind unquestioned.
func sameKind(fs []fivesafesv1alpha1.Finding) bool {
	for _, f := range fs {
		if f.Field == "kind" || f.Field == "apiVersion" {
			return false
		}
	}
	return true
}

// typed reads obj as a DataAccessAgreement; it fails when a field has the wrong JSON type.
func typed(obj map[string]any) (*fivesafesv1alpha1.DataAccessAgreement, bool) {
	b, err := json.Marshal(obj)
	if err != nil {
		return nil, false
	}
	var a fivesafesv1alpha1.DataAccessAgreement
	if err := utiljson.Unmarshal(b, &a); err != nil {
		return nil, false
	}
	return &a, true
}

func report(name string, vs []Violation) FileReport {
	if vs == nil {
		vs = []Violation{}
	}
	return FileReport{File: name, Valid: len(vs) == 0, Violations: vs}
}

// AllValid reports whether every report is valid.
func AllValid(reports []FileReport) bool {
	for _, r := range reports {
		if !r.Valid {
			return false
		}
	}
	return true
}

// ExitCode is the exit status of `fivesafes agreement validate` for the reports and error
// ValidateFiles returned: ExitError on an error, else ExitInvalid if any file is invalid, else
// ExitValid.
func ExitCode(reports []FileReport, err error) int {
	switch {
	case err != nil:
		return ExitError
	case !AllValid(reports):
		return ExitInvalid
	default:
		return ExitValid
	}
}

// WriteReports writes reports in format FormatText or FormatJSON. JSON is one object for a single
// report and a list otherwise: {"file", "valid", "violations": [{"field", "rule", "message"}]}.
// Text is a line per file and an indented line per violation.
func WriteReports(w io.Writer, reports []FileReport, format string) error {
	switch format {
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if len(reports) == 1 {
			return enc.Encode(reports[0])
		}
		if reports == nil {
			reports = []FileReport{}
		}
		return enc.Encode(reports)
	case FormatText, "":
		var b strings.Builder
		for _, r := range reports {
			if r.Valid {
				fmt.Fprintf(&b, "%s: valid\n", r.File)
				continue
			}
			noun := "violations"
			if len(r.Violations) == 1 {
				noun = "violation"
			}
			fmt.Fprintf(&b, "%s: invalid, %d %s\n", r.File, len(r.Violations), noun)
			for _, x := range r.Violations {
				field := x.Field
				if field == "" {
					field = "(file)"
				}
				fmt.Fprintf(&b, "  %s: %s [%s]\n", field, x.Message, x.Rule)
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	default:
		return fmt.Errorf("unknown output format %q: use %s or %s", format, FormatText, FormatJSON)
	}
}

// ParseFile reads the single DataAccessAgreement in the YAML or JSON file at path, strictly (see
// Parse). Defaults are not applied; SpecDigest applies them.
func ParseFile(path string) (*fivesafesv1alpha1.DataAccessAgreement, error) {
	data, err := os.ReadFile(path) //nolint:gosec // G304: reading the file the user named is the point.
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	a, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// Parse reads the single DataAccessAgreement in a YAML or JSON document, strictly: field names
// are matched exactly, and a field the CRD does not have, or written twice, is an error.
func Parse(data []byte) (*fivesafesv1alpha1.DataAccessAgreement, error) {
	docs, err := splitDocuments(data)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("want one YAML document holding a DataAccessAgreement, found %d", len(docs))
	}
	s, err := Schema()
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: docs[0]}
	if errs := s.validateTypeMeta(u); len(errs) > 0 {
		return nil, fmt.Errorf("not a DataAccessAgreement: %w", errs.ToAggregate())
	}
	unknown, errs := s.decode(u)
	if len(unknown) > 0 {
		return nil, fmt.Errorf("unknown fields: %s", strings.Join(unknown, ", "))
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	b, err := json.Marshal(u.Object)
	if err != nil {
		return nil, fmt.Errorf("reading the DataAccessAgreement: %w", err)
	}
	var a fivesafesv1alpha1.DataAccessAgreement
	if err := utiljson.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("reading the DataAccessAgreement: %w", err)
	}
	return &a, nil
}

// LoadCatalogue reads every Dataset in the *.yaml, *.yml and *.json files of dir (not its
// subdirectories); documents of other kinds are skipped, so a directory of mixed samples will do,
// and a directory with no Dataset gives an empty catalogue, in which no dataset exists.
// Each Dataset is checked against the Dataset CRD and given its defaults. An unreadable file, an
// invalid Dataset, or two Datasets of one name is an error.
func LoadCatalogue(ctx context.Context, dir string) (Catalogue, error) {
	s, err := DatasetSchema()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("reading catalogue directory: %w", err)
	}
	cat := Catalogue{}
	from := map[string]string{}
	for _, e := range entries {
		ext := strings.ToLower(filepath.Ext(e.Name()))
		if e.IsDir() || (ext != ".yaml" && ext != ".yml" && ext != ".json") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path) //nolint:gosec // G304: a file in the directory the user named.
		if err != nil {
			return nil, fmt.Errorf("reading catalogue file: %w", err)
		}
		docs, err := splitDocuments(data)
		if err != nil {
			return nil, fmt.Errorf("catalogue file %s is not valid YAML: %w", path, err)
		}
		for _, doc := range docs {
			if doc["apiVersion"] != s.Kind().GroupVersion().String() || doc["kind"] != s.Kind().Kind {
				continue
			}
			if findings := s.Admit(ctx, doc); len(findings) > 0 {
				return nil, fmt.Errorf("catalogue file %s holds an invalid Dataset: %s", path, describe(findings))
			}
			var d fivesafesv1alpha1.Dataset
			b, err := json.Marshal(doc)
			if err == nil {
				err = utiljson.Unmarshal(b, &d)
			}
			if err != nil {
				return nil, fmt.Errorf("catalogue file %s: reading Dataset: %w", path, err)
			}
			if prev, dup := from[d.Name]; dup {
				return nil, fmt.Errorf("dataset %q is defined twice in the catalogue, in %s and %s", d.Name, prev, path)
			}
			from[d.Name] = path
			cat[d.Name] = d.Spec
		}
	}
	return cat, nil
}

func describe(fs []fivesafesv1alpha1.Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.Field + ": " + f.Message
	}
	sort.Strings(parts)
	return strings.Join(parts, "; ")
}

// splitDocuments splits YAML (or JSON) into its non-empty documents, each decoded to a map.
func splitDocuments(data []byte) ([]map[string]any, error) {
	raws, err := splitRaw(data)
	if err != nil {
		return nil, err
	}
	docs := make([]map[string]any, 0, len(raws))
	for _, raw := range raws {
		j, err := yaml.YAMLToJSONStrict(raw) // a key written twice is an error, not "last wins"
		if err != nil {
			return nil, err
		}
		// Numbers decode as the API server decodes them: int64 when integral, else float64.
		var doc map[string]any
		if err := utiljson.Unmarshal(j, &doc); err != nil || doc == nil {
			return nil, errors.New("a document is not a YAML mapping")
		}
		docs = append(docs, doc)
	}
	return docs, nil
}

// splitRaw splits YAML into its documents, leaving out those with nothing but comments.
func splitRaw(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		if isBlank(doc) {
			continue
		}
		docs = append(docs, doc)
	}
}

// isBlank reports whether a YAML document holds nothing but whitespace, comments and markers.
func isBlank(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		t := strings.TrimSpace(line)
		if t != "" && !strings.HasPrefix(t, "#") && t != "---" && t != "..." {
			return false
		}
	}
	return true
}
