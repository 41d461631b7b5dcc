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

// Package agreement holds the governance logic of DataAccessAgreements that needs no cluster: the
// spec digest approvals are bound to, the Rego governance policy run through the policy engine,
// and offline validation of agreement files against the generated CRD's OpenAPI schema and CEL
// rules, exactly as the API server would apply them.
package agreement

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/api/resource"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// canonicalPrefix starts every canonical encoding. It names what is encoded and the version of the
// encoding, so that a digest of one thing can never be mistaken for a digest of another. Changing
// the encoding changes every digest and so voids every approval: bump the version only on purpose.
const canonicalPrefix = "fivesafes.io/v1alpha1 DataAccessAgreementSpec canonical-v1\n"

// Defaults the DataAccessAgreement CRD applies. The digest treats a field left out (or zero, which
// the Go types cannot tell apart from left out) as holding its default.
var (
	defaultCPU     = resource.MustParse("4")
	defaultMemory  = resource.MustParse("16Gi")
	defaultStorage = resource.MustParse("50Gi")
)

// Default values of the DataAccessAgreement CRD's optional fields.
const (
	DefaultAccessMethod          = fivesafesv1alpha1.AccessOngoing
	DefaultSublicensing          = fivesafesv1alpha1.SublicensingNotAllowed
	DefaultMinimumCellCount      = 10
	DefaultReviewers             = 2
	DefaultDominanceContributors = 2
	DefaultDominanceK            = 9000
	DefaultPRatioBasisPoints     = 1000
	DefaultZeros                 = fivesafesv1alpha1.ZerosDisclosive
)

// errInvalidUTF8 is returned for a spec holding text that is not UTF-8. The API server never stores
// such text; encoding it would blur different byte strings into one.
var errInvalidUTF8 = errors.New("the spec holds text that is not valid UTF-8")

// SpecDigest returns "sha256:" and the hex SHA-256 of the canonical encoding of spec (see
// CanonicalSpec). Two specs that mean the same get the same digest; any substantive change gives a
// new one; lifecycle fields (revocation) do not count.
func SpecDigest(spec fivesafesv1alpha1.DataAccessAgreementSpec) (fivesafesv1alpha1.Digest, error) {
	b, err := CanonicalSpec(spec)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return fivesafesv1alpha1.Digest("sha256:" + hex.EncodeToString(sum[:])), nil
}

// WithDefaults returns a copy of spec with every defaulted field that is left out (or zero) set to
// the CRD's default: what the spec means.
func WithDefaults(spec fivesafesv1alpha1.DataAccessAgreementSpec) fivesafesv1alpha1.DataAccessAgreementSpec {
	s := *spec.DeepCopy()
	if s.AccessMethod == "" {
		s.AccessMethod = DefaultAccessMethod
	}
	if s.Sublicensing == "" {
		s.Sublicensing = DefaultSublicensing
	}
	orDefault := func(v *int32, d int32) {
		if *v == 0 {
			*v = d
		}
	}
	r := &s.OutputRules
	orDefault(&r.MinimumCellCount, DefaultMinimumCellCount)
	orDefault(&r.Reviewers, DefaultReviewers)
	orDefault(&r.Dominance.Contributors, DefaultDominanceContributors)
	orDefault(&r.Dominance.KBasisPoints, DefaultDominanceK)
	orDefault(&r.PRatioBasisPoints, DefaultPRatioBasisPoints)
	if r.Zeros == "" {
		r.Zeros = DefaultZeros
	}
	w := &s.Workspace
	for _, q := range []struct {
		v *resource.Quantity
		d resource.Quantity
	}{{&w.CPU, defaultCPU}, {&w.Memory, defaultMemory}, {&w.Storage, defaultStorage}} {
		if q.v.IsZero() {
			*q.v = q.d.DeepCopy()
		}
	}
	return s
}

// CanonicalSpec returns the canonical encoding of the substantive spec, the bytes SpecDigest hashes:
// a fixed prefix line, then compact JSON with object keys in sorted order, where
//   - revocation, a lifecycle field, is left out;
//   - defaults are applied first (WithDefaults), so a default left out and a default written out
//     encode the same;
//   - quantities are written as their exact decimal value ("1000m" and "1" are both 1, "1Gi" is
//     1073741824);
//   - sets are sorted, so their order does not matter: legalBases, workspace.images, each dataset's
//     columns, and the researchers and datasets (maps keyed by name, sorted by name);
//   - atomic lists (purposes, expectedBenefits, expectedOutputs) keep their order, which is part of
//     what the committee approved;
//   - empty strings, lists and objects are left out, so empty and absent encode the same.
//
// Every other field of the spec, including fields added to the API later, is encoded as it is:
// a field is substantive unless this function says otherwise.
func CanonicalSpec(spec fivesafesv1alpha1.DataAccessAgreementSpec) ([]byte, error) {
	if !validUTF8(reflect.ValueOf(spec)) {
		return nil, errInvalidUTF8
	}
	s := WithDefaults(spec)
	s.Revocation = nil

	raw, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("encoding the spec: %w", err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decoding the spec: %w", err)
	}

	pruneEmpty(m)
	if ws, ok := m["workspace"].(map[string]any); ok {
		ws["cpu"] = canonicalQuantity(s.Workspace.CPU)
		ws["memory"] = canonicalQuantity(s.Workspace.Memory)
		ws["storage"] = canonicalQuantity(s.Workspace.Storage)
		sortStrings(ws, "images")
	}
	sortStrings(m, "legalBases")
	if ds, ok := m["datasets"].([]any); ok {
		for _, d := range ds {
			if d, ok := d.(map[string]any); ok {
				sortStrings(d, "columns")
			}
		}
	}
	if err := sortByName(m, "datasets"); err != nil {
		return nil, err
	}
	if err := sortByName(m, "researchers"); err != nil {
		return nil, err
	}

	var buf bytes.Buffer
	buf.WriteString(canonicalPrefix)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding the canonical spec: %w", err)
	}
	return buf.Bytes(), nil
}

// canonicalQuantity writes q as its exact decimal value with no trailing zeros after the point.
func canonicalQuantity(q resource.Quantity) string {
	s := q.AsDec().String()
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s
}

// sortStrings sorts the list of strings m[key], if there is one.
func sortStrings(m map[string]any, key string) {
	xs, ok := m[key].([]any)
	if !ok {
		return
	}
	sort.SliceStable(xs, func(i, j int) bool {
		a, _ := xs[i].(string)
		b, _ := xs[j].(string)
		return a < b
	})
}

// sortByName sorts the list of objects m[key] by their "name", breaking ties (which only an
// invalid spec has) by their encoding so that the order is still total.
func sortByName(m map[string]any, key string) error {
	xs, ok := m[key].([]any)
	if !ok {
		return nil
	}
	type keyed struct {
		name, enc string
		v         any
	}
	ks := make([]keyed, len(xs))
	for i, x := range xs {
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("encoding %s[%d]: %w", key, i, err)
		}
		name := ""
		if o, ok := x.(map[string]any); ok {
			name, _ = o["name"].(string)
		}
		ks[i] = keyed{name: name, enc: string(b), v: x}
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].name != ks[j].name {
			return ks[i].name < ks[j].name
		}
		return ks[i].enc < ks[j].enc
	})
	for i := range ks {
		xs[i] = ks[i].v
	}
	return nil
}

// pruneEmpty removes, at every depth, object members that are null, "", [] or {} (after pruning
// their own members). List elements are kept as they are, apart from pruning objects inside them.
func pruneEmpty(v any) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			pruneEmpty(e)
			if isEmpty(e) {
				delete(x, k)
			}
		}
	case []any:
		for _, e := range x {
			pruneEmpty(e)
		}
	}
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// validUTF8 reports whether every string reachable from v is valid UTF-8.
func validUTF8(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.String:
		return utf8.ValidString(v.String())
	case reflect.Pointer, reflect.Interface:
		return v.IsNil() || validUTF8(v.Elem())
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[resource.Quantity]() {
			return true
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() && !validUTF8(v.Field(i)) {
				return false
			}
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			if !validUTF8(v.Index(i)) {
				return false
			}
		}
	case reflect.Map:
		it := v.MapRange()
		for it.Next() {
			if !validUTF8(it.Key()) || !validUTF8(it.Value()) {
				return false
			}
		}
	}
	return true
}
