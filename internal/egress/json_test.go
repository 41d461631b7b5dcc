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
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

func validateJSON(b []byte, chunk, depth int) *jsonValidator {
	v := newJSONValidator(depth)
	for len(b) > 0 {
		n := min(chunk, len(b))
		v.write(b[:n])
		b = b[n:]
	}
	return v
}

func TestJSONValidator(t *testing.T) {
	valid := []string{
		`{}`, `[]`, `0`, `-0.5e+10`, `"x"`, `true`, ` null `, `{"a":[1,2,{"b":"c\u00e9\n"}]}`,
		"{\"a\":1}\n{\"a\":2}\n", "1 2", "[1,\n2]\r\n", `{"":""}`, `[[[[]]]]`,
	}
	invalid := []string{
		``, ` `, `{`, `[1,]`, `{"a"}`, `{"a":}`, `{a:1}`, `01`, `1.`, `.5`, `-`, `1e`, `tru`, `truex`,
		`"abc`, "\"a\x01\"", `"\x"`, `"\u12g4"`, `[1 2]`, `{} {`, `{}{}`, `1true`, `[}`, `{]`, `NaN`,
	}
	for _, s := range valid {
		for _, chunk := range []int{1, 3, 1 << 10} {
			if v := validateJSON([]byte(s), chunk, 64); !v.valid() {
				t.Errorf("%q (chunk %d) is valid JSON but was refused", s, chunk)
			}
		}
	}
	for _, s := range invalid {
		for _, chunk := range []int{1, 3, 1 << 10} {
			if v := validateJSON([]byte(s), chunk, 64); v.valid() {
				t.Errorf("%q (chunk %d) is not valid JSON but was accepted", s, chunk)
			}
		}
	}
}

func TestJSONValidatorDepth(t *testing.T) {
	at := strings.Repeat("[", 10) + strings.Repeat("]", 10)
	if v := validateJSON([]byte(at), 4, 10); !v.valid() || v.tooDeep {
		t.Errorf("depth 10 refused at a limit of 10")
	}
	over := strings.Repeat("[", 11) + strings.Repeat("]", 11)
	if v := validateJSON([]byte(over), 4, 10); v.valid() || !v.tooDeep {
		t.Errorf("depth 11 accepted at a limit of 10")
	}
	// A million open brackets cost no more than the limit.
	v := validateJSON(bytes.Repeat([]byte("["), 1<<20), 1<<16, 512)
	if !v.tooDeep || cap(v.stack) > 4096 {
		t.Errorf("deep nesting: tooDeep=%v, stack capacity %d", v.tooDeep, cap(v.stack))
	}
}

// FuzzJSONValidator checks the validator against encoding/json for single values.
func FuzzJSONValidator(f *testing.F) {
	for _, s := range []string{`{"a":[1,2.5e-3,"\u00e9"]}`, `[`, `"\`, `-0`, `1e+`, "{\"a\":1}\n{}", `[[[[[`, "\"\xff\""} {
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		v := validateJSON(b, int(chunk)+1, 10000)
		got := v.valid()
		if v.values <= 1 {
			if want := json.Valid(b); got != want {
				t.Fatalf("valid(%q) = %v, encoding/json says %v", b, got, want)
			}
			return
		}
		// Several values: each line must be a value, as in JSON Lines, when there is one per line.
		if got {
			dec := json.NewDecoder(bytes.NewReader(b))
			for {
				var x any
				if err := dec.Decode(&x); err != nil {
					if err.Error() == "EOF" {
						break
					}
					t.Fatalf("%q accepted as a stream of values, encoding/json: %v", b, err)
				}
			}
		}
	})
}
