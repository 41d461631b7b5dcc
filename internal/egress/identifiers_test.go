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
	"strings"
	"testing"
)

// 9434765919 is a valid NHS number (the NHS's own example); 9434765910 fails the check digit.
const (
	validNHS   = "9434765919"
	invalidNHS = "9434765910"
	hex64      = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
)

func TestScanIdentifiers(t *testing.T) {
	tests := []struct {
		in   string
		want IdentifierHits
	}{
		{in: "patient " + validNHS + " seen", want: IdentifierHits{NHSNumbers: 1}},
		{in: "patient " + invalidNHS + " seen"},
		{in: "943 476 5919", want: IdentifierHits{NHSNumbers: 1}},
		{in: "943-476-5919", want: IdentifierHits{NHSNumbers: 1}},
		{in: "943 476-5919"},
		{in: "943  476 5919"},
		{in: "943 476 5910"},
		{in: "1943 476 5919"},
		{in: "943 476 59190"},
		{in: "0" + validNHS},
		{in: validNHS + "1"},
		{in: "x=" + validNHS + ";", want: IdentifierHits{NHSNumbers: 1}},
		{in: "ID" + validNHS, want: IdentifierHits{NHSNumbers: 1}},
		{in: validNHS + ".0", want: IdentifierHits{NHSNumbers: 1}},
		{in: "0." + validNHS},
		{in: "p = 3." + validNHS},
		{in: "1111111111"},
		{in: validNHS + "," + validNHS, want: IdentifierHits{NHSNumbers: 2}},
		{in: "commit " + hex64[:40]},
		{in: hex64, want: IdentifierHits{Pseudonyms: 1}},
		{in: strings.ToUpper(hex64), want: IdentifierHits{Pseudonyms: 1}},
		{in: "sha256:" + hex64},
		{in: "SHA256:" + hex64},
		{in: hex64[:63]},
		{in: hex64 + "0"},
		{in: hex64 + "g"},
		{in: strings.Repeat("a", 64)},
		{in: strings.Repeat("7", 64)},
		{in: "SW1A 1AA", want: IdentifierHits{Postcodes: 1}},
		{in: "sw1a 1aa", want: IdentifierHits{Postcodes: 1}},
		{in: "SW1A1AA", want: IdentifierHits{Postcodes: 1}},
		{in: "M1 1AE", want: IdentifierHits{Postcodes: 1}},
		{in: "B33 8TH", want: IdentifierHits{Postcodes: 1}},
		{in: "CR2 6XH", want: IdentifierHits{Postcodes: 1}},
		{in: "DN55 1PT", want: IdentifierHits{Postcodes: 1}},
		{in: "W1A 0AX", want: IdentifierHits{Postcodes: 1}},
		{in: "EC1A 1BB", want: IdentifierHits{Postcodes: 1}},
		{in: "GIR 0AA", want: IdentifierHits{Postcodes: 1}},
		{in: "at (LS1 4AP), and", want: IdentifierHits{Postcodes: 1}},
		{in: "SW1A"},
		{in: "SW1A 1"},
		{in: "Q1 1AA"},
		{in: "AB1 2CD"},
		{in: "SW1A 1AAX"},
		{in: "XSW1A 1AA"},
		{in: "GIR 1AA"},
		{in: "E11 model, 2 AB"},
		{in: "The table has 12 rows and 3 columns"},
		{in: "943 476 5919 and SW1A 1AA and " + hex64, want: IdentifierHits{NHSNumbers: 1, Postcodes: 1, Pseudonyms: 1}},
		{in: ""},
		{in: "9434"},
	}
	for _, tt := range tests {
		if got := ScanIdentifiers([]byte(tt.in)); got != tt.want {
			t.Errorf("ScanIdentifiers(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestScanIdentifiersDoesNotAllocate(t *testing.T) {
	line := []byte("North,F,12,943 476 5919,SW1A 1AA," + hex64 + ",0.1234567890")
	if n := testing.AllocsPerRun(100, func() { ScanIdentifiers(line) }); n != 0 {
		t.Errorf("ScanIdentifiers allocates %v times per call", n)
	}
}

func TestCountDates(t *testing.T) {
	tests := map[string]int{
		"01/02/1980":                     1,
		"1/2/80":                         1,
		"1980-01-02":                     1,
		"1980/1/2":                       1,
		"02.01.1980":                     1,
		"born 01/02/1980 and 03/04/1990": 2,
		"1/2/3":                          0,
		"12345-01-02":                    0,
		"a01/02/1980":                    0,
		"01/02/1980a":                    0,
		"01/02-1980":                     0,
		"version 1.2":                    0,
		"":                               0,
	}
	for in, want := range tests {
		if got := countDates([]byte(in)); got != want {
			t.Errorf("countDates(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestDatesOfBirthInText(t *testing.T) {
	tests := map[string]int{
		"Date of birth: 01/02/1980":     1,
		"DOB 1980-01-02":                1,
		"d.o.b. 1/2/80":                 1,
		"born on 02.01.1980":            1,
		"Admitted 01/02/2020":           0,
		"DOB unknown":                   0,
		"doberman seen 01/02/2020":      0,
		"stubborn figure 01/02/2020":    0,
		"Birth date 01/02/1980, 2/3/81": 2,
	}
	var scratch []byte
	for in, want := range tests {
		if got := datesOfBirthInText([]byte(in), &scratch); got != want {
			t.Errorf("datesOfBirthInText(%q) = %d, want %d", in, got, want)
		}
	}
}

func FuzzScanIdentifiers(f *testing.F) {
	for _, s := range []string{
		validNHS, "943 476 5919", "943-476-", "0." + validNHS, hex64, "sha256:" + hex64, "SW1A 1AA",
		"GIR 0AA", "sw1a1aa", "\x00\xff\xfe", strings.Repeat("9", 1000), strings.Repeat("a1 ", 300),
		"943 476 591", "943 4", "A9 9AA A9", "é9434765919é", "sha256:", strings.Repeat("f", 64*3),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h := ScanIdentifiers(b)
		if h != ScanIdentifiers(bytes.Clone(b)) {
			t.Fatal("ScanIdentifiers is not deterministic")
		}
		if h.NHSNumbers < 0 || h.Postcodes < 0 || h.Pseudonyms < 0 {
			t.Fatal("negative count")
		}
		// Every identifier takes at least five bytes, and they never overlap.
		if 5*(h.NHSNumbers+h.Postcodes+h.Pseudonyms) > len(b) {
			t.Fatalf("%+v found in %d bytes", h, len(b))
		}
		if !bytes.ContainsAny(b, "0123456789") && h.Any() {
			t.Fatalf("identifiers found in %q, which has no digit", b)
		}
		// Surrounding an identifier with spaces keeps it found.
		padded := append(append([]byte(" "), b...), []byte(" "+validNHS+" ")...)
		if ScanIdentifiers(padded).NHSNumbers < 1 {
			t.Fatalf("a valid NHS number after %q was missed", b)
		}
	})
}
