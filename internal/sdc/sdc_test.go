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

package sdc

import (
	"errors"
	"math/big"
	"testing"
)

func rat(t testing.TB, s string) *big.Rat {
	t.Helper()
	v, err := ParseValue(s)
	if err != nil {
		t.Fatalf("ParseValue(%q): %v", s, err)
	}
	return v
}

func cell(t testing.TB, contributors int64, total string, largest ...string) Cell {
	t.Helper()
	c := Cell{Contributors: contributors, Total: rat(t, total)}
	for _, s := range largest {
		c.Largest = append(c.Largest, rat(t, s))
	}
	return c
}

func TestCheckCount(t *testing.T) {
	tests := []struct {
		count, minimum int64
		want           CountResult
	}{
		{count: 9, minimum: 10, want: CountBelowThreshold},
		{count: 10, minimum: 10, want: CountSafe},
		{count: 11, minimum: 10, want: CountSafe},
		{count: 1, minimum: 10, want: CountBelowThreshold},
		{count: 0, minimum: 10, want: CountZero},
		{count: -1, minimum: 10, want: CountNegative},
		{count: 1, minimum: 1, want: CountSafe},
		{count: 0, minimum: 1, want: CountZero},
		{count: 999, minimum: 1000, want: CountBelowThreshold},
		{count: 1000, minimum: 1000, want: CountSafe},
		{count: 1 << 62, minimum: 10, want: CountSafe},
	}
	for _, tt := range tests {
		if got := CheckCount(tt.count, tt.minimum); got != tt.want {
			t.Errorf("CheckCount(%d, %d) = %v, want %v", tt.count, tt.minimum, got, tt.want)
		}
	}
}

func TestCountFails(t *testing.T) {
	disclosive := DefaultRules()
	allowed := DefaultRules()
	allowed.ZerosDisclosive = false
	tests := []struct {
		name  string
		rules Rules
		count int64
		want  bool
	}{
		{name: "nine fails at ten", rules: disclosive, count: 9, want: true},
		{name: "ten passes at ten", rules: disclosive, count: 10, want: false},
		{name: "zero fails when disclosive", rules: disclosive, count: 0, want: true},
		{name: "zero passes when allowed", rules: allowed, count: 0, want: false},
		{name: "one fails even when zeros allowed", rules: allowed, count: 1, want: true},
		{name: "negative is not a threshold failure", rules: disclosive, count: -5, want: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rules.CountFails(tt.count); got != tt.want {
				t.Errorf("CountFails(%d) = %v, want %v", tt.count, got, tt.want)
			}
		})
	}
}

func TestRulesValidate(t *testing.T) {
	if err := DefaultRules().Validate(); err != nil {
		t.Fatalf("default rules: %v", err)
	}
	bad := []Rules{
		{MinimumCellCount: 0, DominanceN: 2, DominanceKBasisPoints: 9000, PRatioBasisPoints: 1000},
		{MinimumCellCount: 10, DominanceN: 0, DominanceKBasisPoints: 9000, PRatioBasisPoints: 1000},
		{MinimumCellCount: 10, DominanceN: 11, DominanceKBasisPoints: 9000, PRatioBasisPoints: 1000},
		{MinimumCellCount: 10, DominanceN: 2, DominanceKBasisPoints: 0, PRatioBasisPoints: 1000},
		{MinimumCellCount: 10, DominanceN: 2, DominanceKBasisPoints: 10001, PRatioBasisPoints: 1000},
		{MinimumCellCount: 10, DominanceN: 2, DominanceKBasisPoints: 9000, PRatioBasisPoints: -1},
		{MinimumCellCount: 10, DominanceN: 2, DominanceKBasisPoints: 9000, PRatioBasisPoints: 10001},
	}
	for i, r := range bad {
		if err := r.Validate(); !errors.Is(err, ErrInvalidRules) {
			t.Errorf("case %d: Validate() = %v, want ErrInvalidRules", i, err)
		}
	}
}

func TestDominance(t *testing.T) {
	tests := []struct {
		name string
		cell Cell
		n    int
		k    int64
		want bool
		err  error
	}{
		// Exactly k of the total passes, as in ACRO (n_total / total > k).
		{name: "exactly 90% passes", cell: cell(t, 5, "100", "60", "30", "4"), n: 2, k: 9000, want: false},
		{name: "just above 90% fails", cell: cell(t, 5, "100", "60", "30.01", "4"), n: 2, k: 9000, want: true},
		{name: "just below 90% passes", cell: cell(t, 5, "100", "60", "29.99", "4"), n: 2, k: 9000, want: false},
		// In floating point 0.6+0.3 is 0.8999999999999999; exactly it is 0.9, at the limit.
		{name: "float trap 0.6+0.3 of 1.0 is exactly k", cell: cell(t, 4, "1.0", "0.6", "0.3", "0.05"), n: 2, k: 9000, want: false},
		{name: "one part in 10^18 above k fails", cell: cell(t, 4, "1", "0.6", "0.300000000000000001", "0.05"), n: 2, k: 9000, want: true},
		{name: "n=1 at limit passes", cell: cell(t, 3, "10", "5", "3"), n: 1, k: 5000, want: false},
		{name: "n=1 above limit fails", cell: cell(t, 3, "10", "5.5", "3"), n: 1, k: 5000, want: true},
		{name: "n=3 with three listed", cell: cell(t, 10, "100", "40", "30", "21"), n: 3, k: 9000, want: true},
		{name: "two contributors of everything fail", cell: cell(t, 2, "100", "60", "40"), n: 2, k: 9000, want: true},
		{name: "fewer contributors than n fail", cell: cell(t, 2, "100", "60", "40"), n: 3, k: 9000, want: true},
		{name: "k of 100% never fails", cell: cell(t, 2, "100", "60", "40"), n: 2, k: 10000, want: false},
		{name: "zero total passes", cell: cell(t, 3, "0", "0", "0"), n: 2, k: 9000, want: false},
		{name: "n beyond listed is incomplete", cell: cell(t, 20, "100", "10", "9"), n: 3, k: 9000, err: ErrIncomplete},
		{name: "negative is inapplicable", cell: cell(t, 3, "10", "8", "-1"), n: 2, k: 9000, err: ErrNegative},
		{name: "invalid n", cell: cell(t, 3, "10", "5", "3"), n: 0, k: 9000, err: ErrInvalidRules},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dominance(tt.cell, tt.n, tt.k)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Dominance() error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Dominance() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("Dominance() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPRatio(t *testing.T) {
	tests := []struct {
		name  string
		cell  Cell
		p     int64
		zeros bool
		want  bool
		err   error
	}{
		// rest = 160-100-50 = 10 = 10% of 100: at the limit passes, as in ACRO (p_val < p).
		{name: "exactly 10% passes", cell: cell(t, 4, "160", "100", "50"), p: 1000, want: false},
		{name: "just below 10% fails", cell: cell(t, 4, "159.99", "100", "50"), p: 1000, want: true},
		{name: "just above 10% passes", cell: cell(t, 4, "160.01", "100", "50"), p: 1000, want: false},
		{name: "float trap 0.1+0.2", cell: cell(t, 3, "0.33", "0.2", "0.1"), p: 1500, want: false},
		{name: "float trap just below", cell: cell(t, 3, "0.329999999999999999", "0.2", "0.1"), p: 1500, want: true},
		{name: "two contributors leave nothing", cell: cell(t, 2, "150", "100", "50"), p: 1000, want: true},
		{name: "p of zero never fails with two", cell: cell(t, 2, "150", "100", "50"), p: 0, want: false},
		{name: "one contributor always fails", cell: cell(t, 1, "100", "100"), p: 0, want: true},
		{name: "zero total fails when zeros disclosive", cell: cell(t, 3, "0", "0", "0"), p: 1000, zeros: true, want: true},
		{name: "zero total passes when zeros allowed", cell: cell(t, 3, "0", "0", "0"), p: 1000, zeros: false, want: false},
		{name: "negative is inapplicable", cell: cell(t, 3, "-10", "5", "3"), p: 1000, err: ErrNegative},
		{name: "invalid p", cell: cell(t, 3, "10", "5", "3"), p: 10001, err: ErrInvalidRules},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PRatio(tt.cell, tt.p, tt.zeros)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("PRatio() error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("PRatio() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("PRatio() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCellValidate(t *testing.T) {
	tests := []struct {
		name string
		cell Cell
		err  error
	}{
		{name: "consistent", cell: cell(t, 10, "100", "20", "15")},
		{name: "all listed adding up", cell: cell(t, 3, "10", "5", "3", "2")},
		{name: "empty cell", cell: cell(t, 0, "0")},
		{name: "missing total", cell: Cell{Contributors: 1, Largest: []*big.Rat{big.NewRat(1, 1)}}, err: ErrInconsistent},
		{name: "negative contributors", cell: cell(t, -1, "0"), err: ErrInconsistent},
		{name: "more listed than contributors", cell: cell(t, 1, "10", "5", "5"), err: ErrInconsistent},
		{name: "too few listed", cell: cell(t, 5, "10", "5"), err: ErrInconsistent},
		{name: "not descending", cell: cell(t, 5, "10", "2", "3"), err: ErrInconsistent},
		{name: "listed exceed total", cell: cell(t, 5, "10", "6", "5"), err: ErrInconsistent},
		{name: "all listed but not adding up", cell: cell(t, 2, "10", "5", "4"), err: ErrInconsistent},
		{name: "total too large for contributors", cell: cell(t, 3, "100", "5", "4"), err: ErrInconsistent},
		{name: "zero contributors with a total", cell: cell(t, 0, "1"), err: ErrInconsistent},
		{name: "negative total", cell: cell(t, 3, "-1"), err: ErrNegative},
		{name: "negative largest", cell: cell(t, 3, "1", "1", "-1"), err: ErrNegative},
		{name: "eleven listed", cell: cell(t, 20, "11", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1", "1"), err: ErrInconsistent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cell.Validate()
			if tt.err == nil && err != nil {
				t.Fatalf("Validate() = %v, want nil", err)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("Validate() = %v, want %v", err, tt.err)
			}
		})
	}
}

func TestCheckMagnitude(t *testing.T) {
	r := DefaultRules()
	tests := []struct {
		name string
		cell Cell
		want MagnitudeResult
	}{
		{name: "safe", cell: cell(t, 20, "1000", "100", "90")},
		{name: "nine contributors", cell: cell(t, 9, "900", "100", "100"), want: MagnitudeResult{Threshold: true}},
		{name: "ten contributors", cell: cell(t, 10, "1000", "100", "100")},
		{name: "no contributors", cell: cell(t, 0, "0"), want: MagnitudeResult{Zero: true, PRatio: true}},
		{name: "dominated", cell: cell(t, 12, "1000", "900", "50"), want: MagnitudeResult{Dominance: true, PRatio: true}},
		{name: "dominance only", cell: cell(t, 12, "1000", "460", "450"), want: MagnitudeResult{Dominance: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := CheckMagnitude(tt.cell, r)
			if err != nil {
				t.Fatalf("CheckMagnitude() error = %v", err)
			}
			if got != tt.want {
				t.Errorf("CheckMagnitude() = %+v, want %+v", got, tt.want)
			}
			if got.Fails() != (tt.want != MagnitudeResult{}) {
				t.Errorf("Fails() = %v", got.Fails())
			}
		})
	}
	if _, err := CheckMagnitude(cell(t, 20, "1000", "100", "90"), Rules{}); !errors.Is(err, ErrInvalidRules) {
		t.Errorf("CheckMagnitude with zero rules: error = %v, want ErrInvalidRules", err)
	}
}

func TestParseValue(t *testing.T) {
	good := map[string]string{
		"0":                              "0",
		"12":                             "12",
		"-12":                            "-12",
		"0.5":                            "1/2",
		"1234.56":                        "30864/25",
		"000123":                         "123",
		"0.000000000000000001":           "1/1000000000000000000",
		"123456789012345678901234567890": "123456789012345678901234567890",
	}
	for in, want := range good {
		v, err := ParseValue(in)
		if err != nil {
			t.Errorf("ParseValue(%q): %v", in, err)
			continue
		}
		if v.RatString() != want {
			t.Errorf("ParseValue(%q) = %s, want %s", in, v.RatString(), want)
		}
	}
	bad := []string{
		"", "-", ".", "1.", ".5", "+1", "1e3", "1E3", "0x10", "1/2", " 1", "1 ", "1,000", "NaN", "Inf",
		"--1", "1.2.3", "1234567890123456789012345678901", "0.1234567890123456789", "1e999999999",
	}
	for _, in := range bad {
		if _, err := ParseValue(in); !errors.Is(err, ErrValue) {
			t.Errorf("ParseValue(%q) error = %v, want ErrValue", in, err)
		}
	}
}

func FuzzParseValue(f *testing.F) {
	for _, s := range []string{"0", "-1.5", "1e9999999", "99999999999999999999999999999999", "0.", "-", "1/3", "\x00", "٣"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseValue(s)
		if err != nil {
			return
		}
		// Whatever parses is bounded: at most 30 integer digits and 18 fractional ones.
		if v.Num().BitLen() > 200 || v.Denom().BitLen() > 64 {
			t.Fatalf("ParseValue(%q) produced an unbounded value", s)
		}
	})
}

func FuzzCheckMagnitude(f *testing.F) {
	f.Add(int64(5), "100", "60", "30", "4", uint8(2), int64(9000), int64(1000))
	f.Add(int64(0), "0", "", "", "", uint8(1), int64(1), int64(0))
	f.Add(int64(-1), "-1", "-1", "", "", uint8(10), int64(10000), int64(10000))
	f.Add(int64(1<<62), "999999999999999999999999999999.999999999999999999", "1", "1", "1", uint8(11), int64(0), int64(-1))
	f.Fuzz(func(t *testing.T, contributors int64, total, a, b, c string, n uint8, k, p int64) {
		tv, err := ParseValue(total)
		if err != nil {
			return
		}
		cl := Cell{Contributors: contributors, Total: tv}
		for _, s := range []string{a, b, c} {
			if s == "" {
				break
			}
			v, err := ParseValue(s)
			if err != nil {
				return
			}
			cl.Largest = append(cl.Largest, v)
		}
		r := Rules{MinimumCellCount: 10, ZerosDisclosive: true, DominanceN: int(n), DominanceKBasisPoints: k, PRatioBasisPoints: p}
		m, err := CheckMagnitude(cl, r)
		if err != nil {
			return
		}
		// A valid cell with fewer contributors than the minimum must fail.
		if cl.Contributors > 0 && cl.Contributors < 10 && !m.Threshold {
			t.Fatalf("cell with %d contributors passed the threshold", cl.Contributors)
		}
		if cl.Contributors == 1 && !m.PRatio {
			t.Fatalf("single contributor passed the p-ratio rule")
		}
	})
}
