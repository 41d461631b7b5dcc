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
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/open-policy-agent/opa/v1/ast"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
)

// evaluatePolicy evaluates the egress policy on in and returns its decision and the digest of the
// policy revision that decided. The input is handed to the engine as a Rego value and the decision
// read from the Rego value the policy produced, so that neither goes through JSON.
func evaluatePolicy(ctx context.Context, eng *policy.Engine, in PolicyInput) (Decision, string, error) {
	out, err := eng.EvalValue(ctx, PolicyQuery, in.Value())
	if err != nil {
		return Decision{}, "", err
	}
	d, err := DecisionFromValue(out.Value)
	if err != nil {
		return Decision{}, "", fmt.Errorf("reading the decision of policy %s: %w", out.Revision, err)
	}
	return d, out.Revision, nil
}

// Value returns the input as the policy reads it: the Rego value that encoding the input to JSON
// and parsing it would give, with the same field names, omitted empty fields, nulls for nil slices
// and maps, and strings made valid UTF-8 the way encoding/json makes them, built directly.
func (in PolicyInput) Value() ast.Value {
	rules := ast.NewObject(
		ast.Item(inputKey("minimumCellCount"), intTerm(in.Rules.MinimumCellCount)),
		ast.Item(inputKey("dominance"), ast.ObjectTerm(
			ast.Item(inputKey("contributors"), intTerm(int64(in.Rules.Dominance.Contributors))),
			ast.Item(inputKey("kBasisPoints"), intTerm(in.Rules.Dominance.KBasisPoints)),
		)),
		ast.Item(inputKey("pRatioBasisPoints"), intTerm(in.Rules.PRatioBasisPoints)),
		ast.Item(inputKey("zeros"), stringTerm(string(in.Rules.Zeros))),
	)
	files := ast.InternedNullTerm
	if in.Files != nil {
		terms := make([]*ast.Term, len(in.Files))
		for i := range in.Files {
			terms[i] = ast.NewTerm(in.Files[i].value())
		}
		files = ast.ArrayTerm(terms...)
	}
	return ast.NewObject(
		ast.Item(inputKey("rules"), ast.NewTerm(rules)),
		ast.Item(inputKey("files"), files),
	)
}

func (f *PolicyFile) value() ast.Value {
	items := make([][2]*ast.Term, 0, 4)
	items = append(items,
		ast.Item(inputKey("path"), stringTerm(f.Path)),
		ast.Item(inputKey("kind"), stringTerm(string(f.Kind))),
	)
	if f.ExceptionJustification != "" {
		items = append(items, ast.Item(inputKey("exceptionJustification"), stringTerm(f.ExceptionJustification)))
	}
	if f.Analysis != nil {
		items = append(items, ast.Item(inputKey("analysis"), ast.NewTerm(f.Analysis.value())))
	}
	return ast.NewObject(items...)
}

func (r *FileReport) value() ast.Value {
	items := make([][2]*ast.Term, 0, 40)
	add := func(key string, v *ast.Term) {
		items = append(items, ast.Item(inputKey(key), v))
	}
	add("path", stringTerm(r.Path))
	add("extension", stringTerm(r.Extension))
	add("type", stringTerm(string(r.Type)))
	if r.Format != "" {
		add("format", stringTerm(r.Format))
	}
	add("size", intTerm(r.Size))
	if r.SHA256 != "" {
		add("sha256", stringTerm(r.SHA256))
	}
	add("complete", ast.InternedTerm(r.Complete))
	add("limits_exceeded", stringsTerm(r.LimitsExceeded))
	add("lines", intTerm(r.Lines))
	add("rows", intTerm(r.Rows))
	add("columns", intTerm(int64(r.Columns)))
	add("malformed", intTerm(r.Malformed))
	add("counts", r.Counts.term())
	add("magnitude_columns", intTerm(int64(r.MagnitudeColumns)))
	add("magnitude_unchecked", intTerm(int64(r.MagnitudeUnchecked)))
	add("sidecar", r.Sidecar.term())
	add("dominance_failures", intTerm(r.DominanceFailures))
	add("p_ratio_failures", intTerm(r.PRatioFailures))
	add("identifiers", r.Identifiers.term())
	add("formula_cells", intTerm(r.FormulaCells))
	add("nul_bytes", intTerm(r.NULBytes))
	add("invalid_utf8", intTerm(r.InvalidUTF8))
	add("archive", ast.InternedTerm(r.Archive))
	add("executable", ast.InternedTerm(r.Executable))
	add("binary", ast.InternedTerm(r.Binary))
	if r.Embedded != "" {
		add("embedded", stringTerm(r.Embedded))
	}
	add("trailing_data", ast.InternedTerm(r.TrailingData))
	add("active_content", intTerm(r.ActiveContent))
	add("embedded_files", intTerm(r.EmbeddedFiles))
	add("markdown_tables", intTerm(r.MarkdownTables))
	add("individual_level", ast.InternedTerm(r.IndividualLevel))
	add("individual_level_possible", ast.InternedTerm(r.IndividualLevelPossible))
	add("individual_level_reasons", stringsTerm(r.IndividualLevelReasons))
	add("locations", locationsTerm(r.Locations))
	return ast.NewObject(items...)
}

// Terms of values most files have, made once. Terms are never changed once made, so one term may
// be in the input of many evaluations at once.
var (
	emptyArrayTerm    = ast.ArrayTerm()
	emptyObjectTerm   = ast.ObjectTerm()
	noIdentifiersTerm = (&Identifiers{}).newTerm()
	noSidecarTerm     = (&SidecarSummary{}).newTerm()
)

func (i *Identifiers) term() *ast.Term {
	if *i == (Identifiers{}) {
		return noIdentifiersTerm
	}
	return i.newTerm()
}

func (i *Identifiers) newTerm() *ast.Term {
	return ast.ObjectTerm(
		ast.Item(inputKey("nhs_numbers"), intTerm(i.NHSNumbers)),
		ast.Item(inputKey("postcodes"), intTerm(i.Postcodes)),
		ast.Item(inputKey("pseudonyms"), intTerm(i.Pseudonyms)),
		ast.Item(inputKey("dates_of_birth"), intTerm(i.DatesOfBirth)),
	)
}

func locationsTerm(locations map[string]string) *ast.Term {
	switch {
	case locations == nil:
		return ast.InternedNullTerm
	case len(locations) == 0:
		return emptyObjectTerm
	}
	kv := make([][2]*ast.Term, 0, len(locations))
	for k, v := range locations {
		kv = append(kv, ast.Item(stringTerm(k), stringTerm(v)))
	}
	return ast.ObjectTerm(kv...)
}

func (c *Counts) term() *ast.Term {
	columns := ast.InternedNullTerm
	switch {
	case len(c.Columns) > 0:
		terms := make([]*ast.Term, len(c.Columns))
		for i, n := range c.Columns {
			terms[i] = intTerm(int64(n))
		}
		columns = ast.ArrayTerm(terms...)
	case c.Columns != nil:
		columns = emptyArrayTerm
	}
	return ast.ObjectTerm(
		ast.Item(inputKey("identified"), ast.InternedTerm(c.Identified)),
		ast.Item(inputKey("layout"), stringTerm(c.Layout)),
		ast.Item(inputKey("columns"), columns),
		ast.Item(inputKey("cells"), intTerm(c.Cells)),
		ast.Item(inputKey("min_nonzero"), intTerm(c.MinNonZero)),
		ast.Item(inputKey("zeros"), intTerm(c.Zeros)),
		ast.Item(inputKey("below_threshold"), intTerm(c.BelowThreshold)),
		ast.Item(inputKey("negative"), intTerm(c.Negative)),
		ast.Item(inputKey("suppressed"), intTerm(c.Suppressed)),
		ast.Item(inputKey("threshold"), intTerm(c.Threshold)),
	)
}

func (s *SidecarSummary) term() *ast.Term {
	if *s == (SidecarSummary{}) {
		return noSidecarTerm
	}
	return s.newTerm()
}

func (s *SidecarSummary) newTerm() *ast.Term {
	items := make([][2]*ast.Term, 0, 7)
	items = append(items,
		ast.Item(inputKey("present"), ast.InternedTerm(s.Present)),
		ast.Item(inputKey("valid"), ast.InternedTerm(s.Valid)),
	)
	if s.Error != "" {
		items = append(items, ast.Item(inputKey("error"), stringTerm(s.Error)))
	}
	items = append(items,
		ast.Item(inputKey("cells"), intTerm(s.Cells)),
		ast.Item(inputKey("threshold_failures"), intTerm(s.ThresholdFailures)),
		ast.Item(inputKey("zero_cells"), intTerm(s.ZeroCells)),
		ast.Item(inputKey("inapplicable"), intTerm(s.Inapplicable)),
	)
	return ast.ObjectTerm(items...)
}

// inputKeys holds the field names of the policy input, taken from the JSON names of its types, as
// Rego terms made once: making and hashing the keys is a good part of the cost of building the
// input. It is only read after package initialisation.
var inputKeys = func() map[string]*ast.Term {
	keys := map[string]*ast.Term{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice, reflect.Map:
			walk(t.Elem())
		case reflect.Struct:
			for i := range t.NumField() {
				name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
				if name != "" && name != "-" {
					keys[name] = ast.StringTerm(name)
				}
				walk(t.Field(i).Type)
			}
		}
	}
	walk(reflect.TypeFor[PolicyInput]())
	return keys
}()

// inputKey returns the term of a field name of the policy input.
func inputKey(name string) *ast.Term {
	if t, ok := inputKeys[name]; ok {
		return t
	}
	return ast.StringTerm(name)
}

// intTerm is n as a Rego number, written as encoding/json writes it.
func intTerm(n int64) *ast.Term {
	return ast.InternedTerm(n)
}

// stringTerm is s as a Rego string, with each byte that is not part of valid UTF-8 replaced by
// U+FFFD, as encoding/json replaces it.
func stringTerm(s string) *ast.Term {
	if utf8.ValidString(s) {
		return ast.StringTerm(s)
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return ast.StringTerm(b.String())
}

// stringsTerm is ss as a Rego array of strings, or null when ss is nil.
func stringsTerm(ss []string) *ast.Term {
	switch {
	case ss == nil:
		return ast.InternedNullTerm
	case len(ss) == 0:
		return emptyArrayTerm
	}
	terms := make([]*ast.Term, len(ss))
	for i, s := range ss {
		terms[i] = stringTerm(s)
	}
	return ast.ArrayTerm(terms...)
}

// errDecisionShape is returned for a policy value that does not have the shape of a Decision.
var errDecisionShape = errors.New("the egress policy's decision does not have the expected shape")

// DecisionFromValue reads a Decision from the Rego value of PolicyQuery. It reads what
// encoding/json would read from the value's JSON form, but more strictly, since a policy revision
// may come from a ConfigMap: the decision, each file's decision and each finding must be objects
// (or null, read as empty), the fields named here strings (or null), the files keyed by strings and
// the findings an array; anything else, including a field named as one of these but in other
// letter case, is an error, which fails the check.
func DecisionFromValue(v ast.Value) (Decision, error) {
	var d Decision
	obj, err := objectOrNull(v, "decision")
	if err != nil || obj == nil {
		return d, err
	}
	err = eachField(obj, "decision", func(key string, v ast.Value) error {
		switch key {
		case "outcome":
			s, err := stringOrNull(v, "decision outcome")
			d.Outcome = fivesafesv1alpha1.CheckOutcome(s)
			return err
		case "files":
			files, err := objectOrNull(v, "decision files")
			if err != nil || files == nil {
				return err
			}
			d.Files = make(map[string]FileDecision, files.Len())
			return files.Iter(func(k, fv *ast.Term) error {
				path, ok := k.Value.(ast.String)
				if !ok {
					return fmt.Errorf("%w: a file is keyed by a %s", errDecisionShape, ast.ValueName(k.Value))
				}
				fd, err := fileDecisionFromValue(fv.Value)
				if err != nil {
					return err
				}
				d.Files[string(path)] = fd
				return nil
			})
		}
		return jsonEncodable(v)
	})
	return d, err
}

func fileDecisionFromValue(v ast.Value) (FileDecision, error) {
	var fd FileDecision
	obj, err := objectOrNull(v, "file decision")
	if err != nil || obj == nil {
		return fd, err
	}
	err = eachField(obj, "file decision", func(key string, v ast.Value) error {
		switch key {
		case "outcome":
			s, err := stringOrNull(v, "file outcome")
			fd.Outcome = fivesafesv1alpha1.CheckOutcome(s)
			return err
		case "findings":
			if _, ok := v.(ast.Null); ok {
				fd.Findings = nil
				return nil
			}
			arr, ok := v.(*ast.Array)
			if !ok {
				return fmt.Errorf("%w: findings are a %s, not an array", errDecisionShape, ast.ValueName(v))
			}
			fd.Findings = make([]fivesafesv1alpha1.Finding, arr.Len())
			for i := range arr.Len() {
				f, err := findingFromValue(arr.Elem(i).Value)
				if err != nil {
					return err
				}
				fd.Findings[i] = f
			}
			return nil
		}
		return jsonEncodable(v)
	})
	return fd, err
}

func findingFromValue(v ast.Value) (fivesafesv1alpha1.Finding, error) {
	var f fivesafesv1alpha1.Finding
	obj, err := objectOrNull(v, "finding")
	if err != nil || obj == nil {
		return f, err
	}
	err = eachField(obj, "finding", func(key string, v ast.Value) error {
		var dst *string
		switch key {
		case "rule":
			dst = &f.Rule
		case "message":
			dst = &f.Message
		case "field":
			dst = &f.Field
		case "location":
			dst = &f.Location
		default:
			return jsonEncodable(v)
		}
		s, err := stringOrNull(v, "finding "+key)
		*dst = s
		return err
	})
	return f, err
}

// jsonEncodable returns an error for a value encoding/json cannot write: one that holds a number
// Rego reads but JSON does not, such as .5. Reading a decision through JSON failed on such a value
// wherever it stood, so a decision that holds one is refused even in a field no one reads.
func jsonEncodable(v ast.Value) error {
	switch x := v.(type) {
	case ast.Number:
		if !json.Valid([]byte(x)) {
			return fmt.Errorf("%w: it holds the number %s, which JSON cannot carry", errDecisionShape, x)
		}
	case ast.Object:
		return x.Iter(func(_, e *ast.Term) error { return jsonEncodable(e.Value) })
	case *ast.Array:
		return x.Iter(func(e *ast.Term) error { return jsonEncodable(e.Value) })
	case ast.Set:
		return x.Iter(func(e *ast.Term) error { return jsonEncodable(e.Value) })
	}
	return nil
}

// decisionFields are the field names of Decision, FileDecision and Finding.
var decisionFields = []string{"outcome", "files", "findings", "rule", "message", "field", "location"}

// eachField calls fn with each field of obj. Keys must be strings; a key that equals a field name
// only when letter case is ignored is refused, since encoding/json would read it as that field.
func eachField(obj ast.Object, what string, fn func(key string, v ast.Value) error) error {
	return obj.Iter(func(k, v *ast.Term) error {
		key, ok := k.Value.(ast.String)
		if !ok {
			return fmt.Errorf("%w: the %s has a key that is a %s", errDecisionShape, what, ast.ValueName(k.Value))
		}
		for _, name := range decisionFields {
			if string(key) != name && strings.EqualFold(string(key), name) {
				return fmt.Errorf("%w: the %s has a field %q", errDecisionShape, what, name)
			}
		}
		return fn(string(key), v.Value)
	})
}

func objectOrNull(v ast.Value, what string) (ast.Object, error) {
	switch x := v.(type) {
	case ast.Object:
		return x, nil
	case ast.Null:
		return nil, nil
	}
	return nil, fmt.Errorf("%w: the %s is a %s, not an object", errDecisionShape, what, ast.ValueName(v))
}

func stringOrNull(v ast.Value, what string) (string, error) {
	switch x := v.(type) {
	case ast.String:
		return string(x), nil
	case ast.Null:
		return "", nil
	}
	return "", fmt.Errorf("%w: the %s is a %s, not a string", errDecisionShape, what, ast.ValueName(v))
}
