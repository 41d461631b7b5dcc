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

package nhsnumber

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in   string
		want string
		err  error
	}{
		{"9434765919", "9434765919", nil},
		{"943 476 5919", "9434765919", nil},
		{"943-476-5919", "9434765919", nil},
		{" 4010232137 ", "4010232137", nil},
		{"4505577104", "4505577104", nil},
		{"9434765918", "", ErrCheckDigit},
		{"9434765910", "", ErrCheckDigit},
		{"1234567890", "", ErrCheckDigit}, // remainder 10: no valid check digit
		{"0000000000", "", ErrPlaceholder},
		{"943476591", "", ErrLength},
		{"94347659190", "", ErrLength},
		{"", "", ErrEmpty},
		{" - ", "", ErrEmpty},
		{"943476591X", "", ErrCharacter},
		{"９434765919", "", ErrCharacter},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Parse(%q) error = %v, want %v", tt.in, err, tt.err)
			}
			if err == nil && got.String() != tt.want {
				t.Fatalf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
			}
		})
	}
}

func TestCheckDigitAndUint64RoundTrip(t *testing.T) {
	valid := 0
	for _, prefix := range []string{"943476591", "401023213", "450557710", "123456789", "999999999"} {
		var d [9]byte
		copy(d[:], prefix)
		c, ok := CheckDigit(d)
		if !ok {
			continue
		}
		n, err := Parse(prefix + string(c))
		if errors.Is(err, ErrPlaceholder) {
			continue
		}
		if err != nil {
			t.Fatalf("number made with CheckDigit fails Parse: %v", err)
		}
		back, ok := FromUint64(n.Uint64())
		if !ok || back != n {
			t.Fatalf("FromUint64(Uint64(%s)) = %s, %v", n, back, ok)
		}
		valid++
	}
	if valid < 3 {
		t.Fatalf("only %d valid numbers made", valid)
	}
	if _, ok := FromUint64(9434765918); ok {
		t.Fatal("FromUint64 accepted a bad check digit")
	}
	if _, ok := FromUint64(10_000_000_000); ok {
		t.Fatal("FromUint64 accepted eleven digits")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"9434765919", "943 476 5919", "943-476-5919", "", "----", "\x00", "94347659199", "1234567890", "٩٤٣٤٧٦٥٩١٩"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Parse(s)
		if err != nil {
			return
		}
		// A parsed number is ten ASCII digits, re-parses to itself and passes the check.
		again, err := Parse(n.String())
		if err != nil || again != n {
			t.Fatalf("Parse(%q) = %s, which does not re-parse: %v", s, n, err)
		}
		if back, ok := FromUint64(n.Uint64()); !ok || back != n {
			t.Fatalf("round trip through Uint64 failed for %s", n)
		}
	})
}
