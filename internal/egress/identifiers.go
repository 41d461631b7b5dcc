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

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// IdentifierHits counts the identifiers ScanIdentifiers found in one piece of text.
type IdentifierHits struct {
	// NHSNumbers are valid NHS numbers, written as ten digits or as 3-3-4 digits separated by one
	// space or one dash each.
	NHSNumbers int
	// Postcodes are full UK postcodes, with or without the space, in either case.
	Postcodes int
	// Pseudonyms are runs of exactly 64 hex digits, the workspace's pseudonym format, mixing
	// letters and digits as every HMAC output but about one in 10^13 does, except digests written
	// "sha256:<hex>".
	Pseudonyms int
}

// Any reports whether anything was found.
func (h IdentifierHits) Any() bool { return h.NHSNumbers+h.Postcodes+h.Pseudonyms > 0 }

// Character classes for the scanner.
const (
	clsOther = iota
	clsDigit
	clsHexLetter
	clsLetter
)

var charClass = func() (t [256]uint8) {
	for c := '0'; c <= '9'; c++ {
		t[c] = clsDigit
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = clsLetter
		t[c-'a'+'A'] = clsLetter
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = clsHexLetter
		t[c-'a'+'A'] = clsHexLetter
	}
	return t
}()

func isAlnum(c byte) bool { return charClass[c] != clsOther }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// ScanIdentifiers finds identifiers in b. A token is a maximal run of ASCII letters and digits;
// tokens are matched whole, so an identifier glued to other letters or digits (other than an NHS
// number inside a token such as "ID9434765919") is not counted. Ten digits that are the fractional
// part of a decimal number ("0.9434765919") and digits inside long hex strings (hashes) are not
// taken for NHS numbers. It never allocates.
func ScanIdentifiers(b []byte) IdentifierHits {
	var h IdentifierHits
	if len(b) < 5 {
		return h
	}
	i := 0
	for i < len(b) {
		if charClass[b[i]] == clsOther {
			i++
			continue
		}
		s := i
		digits, hexOnly, someDigit := true, true, false
		for i < len(b) {
			c := charClass[b[i]]
			if c == clsOther {
				break
			}
			if c == clsDigit {
				someDigit = true
			} else {
				digits = false
				if c != clsHexLetter {
					hexOnly = false
				}
			}
			i++
		}
		e := i
		n := e - s
		switch {
		case n == 64 && hexOnly && someDigit && !digits:
			if s < 7 || !bytes.EqualFold(b[s-7:s], []byte("sha256:")) {
				h.Pseudonyms++
			}
			continue
		case digits && n == 3:
			if end, ok := grouped334(b, e); ok {
				h.NHSNumbers++
				i = end
				continue
			}
		}
		if n >= 10 && (!hexOnly || n < 16) {
			h.NHSNumbers += nhsInToken(b, s, e)
		}
		if n >= 2 && n <= 7 {
			if n >= 5 && isPostcode(b[s:e], n-3) {
				h.Postcodes++
				continue
			}
			if n <= 4 && e+4 <= len(b) && b[e] == ' ' && (e+4 == len(b) || !isAlnum(b[e+4])) &&
				isPostcodeParts(b[s:e], b[e+1:e+4]) {
				h.Postcodes++
				i = e + 4
			}
		}
	}
	return h
}

// nhsInToken counts valid NHS numbers among the runs of exactly ten digits in the token b[s:e].
func nhsInToken(b []byte, s, e int) int {
	found := 0
	i := s
	for i < e {
		if !isDigit(b[i]) {
			i++
			continue
		}
		ds := i
		for i < e && isDigit(b[i]) {
			i++
		}
		if i-ds != nhsnumber.Length {
			continue
		}
		// The fractional part of a decimal number, as in 0.9434765919, is not an NHS number.
		if ds == s && ds >= 2 && b[ds-1] == '.' && isDigit(b[ds-2]) {
			continue
		}
		if _, err := nhsnumber.ParseBytes(b[ds:i]); err == nil {
			found++
		}
	}
	return found
}

// grouped334 checks for the rest of a 3-3-4 NHS number after three digits ending at e: the same
// separator (space or dash) twice, with nothing alphanumeric after. It returns where the number
// ends.
func grouped334(b []byte, e int) (int, bool) {
	end := e + 9
	if end > len(b) {
		return 0, false
	}
	sep := b[e]
	if sep != ' ' && sep != '-' {
		return 0, false
	}
	if b[e+4] != sep || (end < len(b) && isAlnum(b[end])) {
		return 0, false
	}
	var num [nhsnumber.Length]byte
	copy(num[0:3], b[e-3:e])
	copy(num[3:6], b[e+1:e+4])
	copy(num[6:10], b[e+5:end])
	for _, c := range num {
		if !isDigit(c) {
			return 0, false
		}
	}
	if _, err := nhsnumber.ParseBytes(num[:]); err != nil {
		return 0, false
	}
	return end, true
}

// isPostcode reports whether the token is a postcode written without its space, the outward code
// being its first outLen bytes.
func isPostcode(tok []byte, outLen int) bool {
	return isPostcodeParts(tok[:outLen], tok[outLen:])
}

// Royal Mail's letter rules for postcodes.
const (
	pcFirst  = "ABCDEFGHIJKLMNOPRSTUWYZ" // not Q, V, X
	pcSecond = "ABCDEFGHKLMNOPQRSTUVWXY" // not I, J, Z
	pcThird  = "ABCDEFGHJKPSTUW"         // in A9A outward codes
	pcFourth = "ABEHMNPRVWXY"            // in AA9A outward codes
	pcInward = "ABDEFGHJLNPQRSTUWXYZ"    // not C, I, K, M, O, V
)

func upper(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - 'a' + 'A'
	}
	return c
}

func letterIn(c byte, set string) bool {
	c = upper(c)
	return c >= 'A' && c <= 'Z' && strings.IndexByte(set, c) >= 0
}

// isPostcodeParts reports whether out and in are the outward and inward codes of a full UK
// postcode: A9, A99, AA9, AA99, A9A or AA9A, then 9AA; or GIR 0AA.
func isPostcodeParts(out, in []byte) bool {
	if len(in) != 3 || !isDigit(in[0]) || !letterIn(in[1], pcInward) || !letterIn(in[2], pcInward) {
		return false
	}
	if bytes.EqualFold(out, []byte("GIR")) {
		return in[0] == '0' && upper(in[1]) == 'A' && upper(in[2]) == 'A'
	}
	switch len(out) {
	case 2: // A9
		return letterIn(out[0], pcFirst) && isDigit(out[1])
	case 3: // A99, AA9, A9A
		if !letterIn(out[0], pcFirst) {
			return false
		}
		switch {
		case isDigit(out[1]) && isDigit(out[2]):
			return true
		case letterIn(out[1], pcSecond) && isDigit(out[2]):
			return true
		case isDigit(out[1]) && letterIn(out[2], pcThird):
			return true
		}
	case 4: // AA99, AA9A
		if !letterIn(out[0], pcFirst) || !letterIn(out[1], pcSecond) || !isDigit(out[2]) {
			return false
		}
		return isDigit(out[3]) || letterIn(out[3], pcFourth)
	}
	return false
}

// countDates reports how many dates b holds, written d/m/yyyy, dd-mm-yy, dd.mm.yyyy, yyyy-mm-dd or yyyy/mm/dd.
func countDates(b []byte) int {
	n := 0
	for i := 0; i < len(b); {
		if !isDigit(b[i]) || (i > 0 && isAlnum(b[i-1])) {
			i++
			continue
		}
		if end, ok := dateAt(b, i); ok {
			n++
			i = end
			continue
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return n
}

// dateAt matches a date starting at b[i].
func dateAt(b []byte, i int) (int, bool) {
	run := func(j int) int {
		k := j
		for k < len(b) && isDigit(b[k]) {
			k++
		}
		return k - j
	}
	a := run(i)
	j := i + a
	if j >= len(b) || (b[j] != '/' && b[j] != '-' && b[j] != '.') {
		return 0, false
	}
	sep := b[j]
	bl := run(j + 1)
	k := j + 1 + bl
	if k >= len(b) || b[k] != sep {
		return 0, false
	}
	c := run(k + 1)
	end := k + 1 + c
	if end < len(b) && isAlnum(b[end]) {
		return 0, false
	}
	switch {
	case a == 4 && bl >= 1 && bl <= 2 && c >= 1 && c <= 2:
		return end, true
	case a >= 1 && a <= 2 && bl >= 1 && bl <= 2 && (c == 2 || c == 4):
		return end, true
	}
	return 0, false
}

// dobWords are the phrases that mark a date in free text as a date of birth.
var dobWords = [][]byte{[]byte("date of birth"), []byte("dob"), []byte("d.o.b"), []byte("born"), []byte("birth date"), []byte("birthdate")}

// datesOfBirthInText counts dates on a line that also says "date of birth", "DOB" or "born".
// scratch is reused for the lower-case copy.
func datesOfBirthInText(line []byte, scratch *[]byte) int {
	n := countDates(line)
	if n == 0 {
		return 0
	}
	low := lowerInto(scratch, line)
	for _, w := range dobWords {
		if containsWord(low, w) {
			return n
		}
	}
	return 0
}

// lowerInto writes an ASCII lower-case copy of b into scratch.
func lowerInto(scratch *[]byte, b []byte) []byte {
	s := (*scratch)[:0]
	for _, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		s = append(s, c)
	}
	*scratch = s
	return s
}

// containsWord reports whether w occurs in b with no letter or digit either side.
func containsWord(b, w []byte) bool {
	for off := 0; ; {
		i := bytes.Index(b[off:], w)
		if i < 0 {
			return false
		}
		i += off
		end := i + len(w)
		if (i == 0 || !isAlnum(b[i-1])) && (end == len(b) || !isAlnum(b[end])) {
			return true
		}
		off = i + 1
	}
}
