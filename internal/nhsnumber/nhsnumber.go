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

// Package nhsnumber normalises and validates NHS numbers: ten digits whose last is a modulus 11
// check digit over the first nine, weighted 10 down to 2.
package nhsnumber

import "errors"

// Length is the number of digits in an NHS number.
const Length = 10

// Errors returned by Parse. They never carry the value that was parsed.
var (
	ErrEmpty       = errors.New("nhs number is empty")
	ErrCharacter   = errors.New("nhs number has a character other than a digit, space or dash")
	ErrLength      = errors.New("nhs number does not have 10 digits")
	ErrCheckDigit  = errors.New("nhs number fails the modulus 11 check")
	ErrPlaceholder = errors.New("nhs number is a placeholder of one repeated digit")
)

// Number is a valid NHS number held as its ten digits.
type Number [Length]byte

// String returns the ten digits with no separators.
func (n Number) String() string { return string(n[:]) }

// Uint64 returns the number as an integer, for compact sets.
func (n Number) Uint64() uint64 {
	var v uint64
	for _, c := range n {
		v = v*10 + uint64(c-'0')
	}
	return v
}

// Parse normalises s (dropping spaces, tabs and dashes, so "943 476 5919" and "943-476-5919"
// are accepted) and validates the check digit. Numbers of one repeated digit pass the check but
// are refused, as they are used as placeholders.
func Parse(s string) (Number, error) {
	return ParseBytes([]byte(s))
}

// ParseBytes is Parse for a byte slice; it does not allocate.
func ParseBytes(b []byte) (Number, error) {
	var n Number
	if len(b) == 0 {
		return n, ErrEmpty
	}
	digits := 0
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9':
			if digits == Length {
				return n, ErrLength
			}
			n[digits] = c
			digits++
		case c == ' ' || c == '-' || c == '\t':
		default:
			return n, ErrCharacter
		}
	}
	if digits == 0 {
		return n, ErrEmpty
	}
	if digits != Length {
		return n, ErrLength
	}
	if !checkDigitOK(n) {
		return n, ErrCheckDigit
	}
	if isRepeated(n) {
		return n, ErrPlaceholder
	}
	return n, nil
}

// Valid reports whether s is a valid NHS number after normalisation.
func Valid(s string) bool {
	_, err := Parse(s)
	return err == nil
}

// CheckDigit returns the check digit for the first nine digits of d, and false when no digit fits
// (the remainder gives 10, so no NHS number starts with those nine digits).
func CheckDigit(d [9]byte) (byte, bool) {
	sum := 0
	for i, c := range d {
		sum += int(c-'0') * (10 - i)
	}
	check := 11 - sum%11
	switch check {
	case 11:
		return '0', true
	case 10:
		return 0, false
	default:
		return byte('0' + check), true
	}
}

func checkDigitOK(n Number) bool {
	var d [9]byte
	copy(d[:], n[:9])
	c, ok := CheckDigit(d)
	return ok && c == n[9]
}

func isRepeated(n Number) bool {
	for _, c := range n[1:] {
		if c != n[0] {
			return false
		}
	}
	return true
}

// FromUint64 turns an integer back into a Number; ok is false when v has more than ten digits
// or is not a valid NHS number.
func FromUint64(v uint64) (Number, bool) {
	var n Number
	if v >= 10_000_000_000 {
		return n, false
	}
	for i := Length - 1; i >= 0; i-- {
		n[i] = byte('0' + v%10)
		v /= 10
	}
	return n, checkDigitOK(n) && !isRepeated(n)
}
