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

package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"unicode"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// Limits on what an entry may carry.
const (
	maxDetailKeys   = 64
	maxDetailDepth  = 4
	maxDetailItems  = 1000
	maxDetailString = 1024
	maxActor        = 256
	maxKind         = 63
	maxNamespace    = 63
	maxName         = 253
	maxDecision     = 64
	maxIdemKey      = 256
)

var (
	actionRE    = regexp.MustCompile(`^[a-z][a-z0-9.-]{0,63}$`)
	detailKeyRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_.-]{0,63}$`)
	bareHexRE   = regexp.MustCompile(`^[0-9a-fA-F]{64}$`)
)

// ErrInvalid is returned for an entry the log refuses to write.
var ErrInvalid = errors.New("invalid audit entry")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// checkText refuses empty (when required), over-long and control-character text. Messages name
// the field, never the value.
func checkText(field, s string, max int, required bool) error {
	if s == "" {
		if required {
			return invalid("%s is required", field)
		}
		return nil
	}
	if len(s) > max {
		return invalid("%s is longer than %d bytes", field, max)
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar {
			return invalid("%s contains a control character or invalid UTF-8", field)
		}
	}
	return nil
}

// checkDetails refuses details the log must not hold: values other than strings, booleans,
// integers, lists and maps of them; strings that look like an NHS number or a bare pseudonym;
// anything too large or too deep. Digests must be written "sha256:<hex>", which also keeps them
// apart from pseudonyms (bare 64 hex characters).
func checkDetails(d map[string]any) error {
	if len(d) == 0 {
		return nil
	}
	if len(d) > maxDetailKeys {
		return invalid("details has more than %d keys", maxDetailKeys)
	}
	return checkValue("details", reflect.ValueOf(d), 0)
}

var jsonNumberType = reflect.TypeOf(json.Number(""))

func checkValue(path string, v reflect.Value, depth int) error {
	if depth > maxDetailDepth {
		return invalid("%s is nested more than %d deep", path, maxDetailDepth)
	}
	if !v.IsValid() {
		return invalid("%s is null", path)
	}
	if v.Type() == jsonNumberType {
		n := json.Number(v.String())
		if _, err := n.Int64(); err != nil {
			return invalid("%s is not an integer", path)
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Interface:
		if v.IsNil() {
			return invalid("%s is null", path)
		}
		return checkValue(path, v.Elem(), depth)
	case reflect.String:
		return checkDetailString(path, v.String())
	case reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return nil
	case reflect.Slice, reflect.Array:
		if v.Kind() == reflect.Slice && v.IsNil() {
			return invalid("%s is null", path)
		}
		if v.Len() > maxDetailItems {
			return invalid("%s has more than %d items", path, maxDetailItems)
		}
		for i := range v.Len() {
			if err := checkValue(fmt.Sprintf("%s[%d]", path, i), v.Index(i), depth+1); err != nil {
				return err
			}
		}
		return nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			return invalid("%s is a map whose keys are not strings", path)
		}
		if v.IsNil() {
			return invalid("%s is null", path)
		}
		if v.Len() > maxDetailItems {
			return invalid("%s has more than %d keys", path, maxDetailItems)
		}
		it := v.MapRange()
		for it.Next() {
			k := it.Key().String()
			if !detailKeyRE.MatchString(k) {
				return invalid("%s has a key that is not a plain name (letters, digits, _ . -)", path)
			}
			if err := checkValue(path+"."+k, it.Value(), depth+1); err != nil {
				return err
			}
		}
		return nil
	default:
		return invalid("%s is a %s; details hold only strings, booleans, integers, lists and maps", path, v.Kind())
	}
}

func checkDetailString(path, s string) error {
	if err := checkText(path, s, maxDetailString, false); err != nil {
		return err
	}
	if looksLikeNHSNumber(s) {
		return invalid("%s looks like an NHS number; the audit log must not hold identifier values", path)
	}
	if bareHexRE.MatchString(s) {
		return invalid("%s looks like a pseudonym (64 hex characters); write digests as sha256:<hex>", path)
	}
	return nil
}

// looksLikeNHSNumber reports whether s, once spaces and dashes are dropped, is ten digits with a
// valid check digit.
func looksLikeNHSNumber(s string) bool {
	if len(s) < 10 || len(s) > 16 {
		return false
	}
	if strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != ' ' && r != '-' }) >= 0 {
		return false
	}
	return nhsnumber.Valid(s)
}

// EntryInput is what a caller says about an entry; the log adds the sequence number, time, stage
// and hashes.
type EntryInput struct {
	// Actor is who acted: a user name, or the controller's service account. Required.
	Actor string
	// Action is what was done. Required.
	Action Action
	// Object is what it was done to. Kind and Name are required.
	Object ObjectRef
	// Decision is the outcome in a word; optional.
	Decision string
	// Details are digests, counts and names; never identifier values.
	Details map[string]any
	// IdempotencyKey, when set, makes a retry return the entry already written for the key
	// instead of writing another. Use a key derived from the object and what is recorded, e.g.
	// "release/<namespace>/<request>/<content digest>".
	IdempotencyKey string
}

func (in *EntryInput) validate() error {
	if err := checkText("actor", in.Actor, maxActor, true); err != nil {
		return err
	}
	if !actionRE.MatchString(string(in.Action)) {
		return invalid("action must match %s", actionRE)
	}
	if err := checkText("object.kind", in.Object.Kind, maxKind, true); err != nil {
		return err
	}
	if err := checkText("object.namespace", in.Object.Namespace, maxNamespace, false); err != nil {
		return err
	}
	if err := checkText("object.name", in.Object.Name, maxName, true); err != nil {
		return err
	}
	if err := checkText("decision", in.Decision, maxDecision, false); err != nil {
		return err
	}
	if err := checkText("idempotencyKey", in.IdempotencyKey, maxIdemKey, false); err != nil {
		return err
	}
	return checkDetails(in.Details)
}
