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
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	yaml "go.yaml.in/yaml/v3"
)

// descriptionMarker starts the comment that describes a value, as helm-docs writes it.
const descriptionMarker = "# --"

// row is one line of the values table.
type row struct {
	key  string
	typ  string
	def  string
	desc string
}

// valueRows returns one row per described value in values (a values.yaml) in file order, with
// types from schema (a values.schema.json). It fails, listing every problem, when a value is not
// described by its own `# --` comment or an ancestor's, when a value has no schema, or when the
// schema names a value that values.yaml lacks.
func valueRows(values, schema []byte) ([]row, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(values, &doc); err != nil {
		return nil, fmt.Errorf("values.yaml does not parse: %w", err)
	}
	var s map[string]any
	if err := json.Unmarshal(schema, &s); err != nil {
		return nil, fmt.Errorf("values.schema.json does not parse: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("values.yaml is not a mapping")
	}
	w := walker{schema: s}
	w.mapping(doc.Content[0], "", s)
	if len(w.problems) > 0 {
		return nil, fmt.Errorf("values.yaml and values.schema.json disagree:\n  %s", strings.Join(w.problems, "\n  "))
	}
	return w.rows, nil
}

// walker collects rows and problems while walking values.yaml alongside its schema.
type walker struct {
	schema   map[string]any
	rows     []row
	problems []string
}

// mapping walks the keys of an undescribed mapping at prefix whose schema is s.
func (w *walker) mapping(n *yaml.Node, prefix string, s map[string]any) {
	props, _ := s["properties"].(map[string]any)
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		seen[k.Value] = true
		sub, ok := props[k.Value].(map[string]any)
		if !ok {
			w.problems = append(w.problems, fmt.Sprintf("%s has no schema in values.schema.json", key))
		}
		sub = w.resolve(sub)
		desc, described := description(k.HeadComment)
		switch {
		case described:
			w.rows = append(w.rows, row{key: key, typ: w.typeOf(sub, v), def: defaultOf(v), desc: desc})
		case v.Kind == yaml.MappingNode && len(v.Content) > 0:
			w.mapping(v, key, sub)
		default:
			w.problems = append(w.problems, fmt.Sprintf("%s has no %q description above it", key, descriptionMarker+" "))
		}
	}
	var missing []string
	for name := range props {
		if !seen[name] && (prefix != "" || name != "global") {
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	for _, name := range missing {
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		w.problems = append(w.problems, fmt.Sprintf("%s is in values.schema.json but not in values.yaml", key))
	}
}

// resolve follows a local "$ref" ("#/definitions/x") in s.
func (w *walker) resolve(s map[string]any) map[string]any {
	for i := 0; i < 8 && s != nil; i++ {
		ref, ok := s["$ref"].(string)
		if !ok {
			return s
		}
		s = w.pointer(ref)
	}
	return s
}

// pointer returns the schema at a local JSON pointer such as "#/definitions/name", or nil.
func (w *walker) pointer(ref string) map[string]any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	cur := w.schema
	for _, part := range strings.Split(rest, "/") {
		next, ok := cur[part].(map[string]any)
		if !ok {
			return nil
		}
		cur = next
	}
	return cur
}

// typeOf names the type a value may take: the schema's, or the YAML value's when the schema
// says none.
func (w *walker) typeOf(s map[string]any, v *yaml.Node) string {
	var types []string
	add := func(t string) {
		for _, have := range types {
			if have == t {
				return
			}
		}
		types = append(types, t)
	}
	var collect func(s map[string]any)
	collect = func(s map[string]any) {
		s = w.resolve(s)
		switch t := s["type"].(type) {
		case string:
			add(t)
		case []any:
			for _, x := range t {
				if name, ok := x.(string); ok {
					add(name)
				}
			}
		}
		for _, key := range []string{"oneOf", "anyOf"} {
			alts, _ := s[key].([]any)
			for _, a := range alts {
				if m, ok := a.(map[string]any); ok {
					collect(m)
				}
			}
		}
	}
	if s != nil {
		collect(s)
	}
	if len(types) == 0 {
		switch v.Kind {
		case yaml.MappingNode:
			add("object")
		case yaml.SequenceNode:
			add("array")
		default:
			add(strings.TrimPrefix(v.ShortTag(), "!!"))
		}
	}
	return strings.Join(types, " or ")
}

// defaultOf writes a value as compact JSON.
func defaultOf(v *yaml.Node) string {
	var x any
	if err := v.Decode(&x); err != nil {
		return v.Value
	}
	b, err := json.Marshal(jsonable(x))
	if err != nil {
		return v.Value
	}
	return string(b)
}

// jsonable turns the map[string]any and []any that YAML decodes into values encoding/json
// writes; YAML mappings with non-string keys become string-keyed.
func jsonable(x any) any {
	switch t := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[k] = jsonable(v)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, v := range t {
			out[fmt.Sprint(k)] = jsonable(v)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, v := range t {
			out[i] = jsonable(v)
		}
		return out
	default:
		return t
	}
}

// description returns the text of the last `# --` paragraph of a key's head comment: the marker
// line and the comment lines after it, joined with spaces.
func description(headComment string) (string, bool) {
	lines := strings.Split(headComment, "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), descriptionMarker) {
			start = i
		}
	}
	if start < 0 {
		return "", false
	}
	var words []string
	for i, l := range lines[start:] {
		l = strings.TrimSpace(l)
		if i == 0 {
			l = strings.TrimPrefix(l, descriptionMarker)
		} else {
			// A bare "#" line or the end of the comment ends the description.
			if !strings.HasPrefix(l, "#") || strings.TrimSpace(strings.TrimPrefix(l, "#")) == "" {
				break
			}
			l = strings.TrimPrefix(l, "#")
		}
		if l = strings.TrimSpace(l); l != "" {
			words = append(words, l)
		}
	}
	if len(words) == 0 {
		return "", false
	}
	return strings.Join(words, " "), true
}
