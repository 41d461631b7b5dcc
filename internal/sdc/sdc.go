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

// Package sdc implements the statistical disclosure control rules that output tables are checked
// against: a minimum cell count (threshold), zero cells, n-k dominance and the p-ratio rule.
//
// The rules follow ACRO (github.com/AI-SDC/ACRO), whose defaults are a threshold of 10, n-k
// dominance with n=2 and k=0.9, a p-ratio of 0.1 and zeros treated as disclosive. Shares are held
// in basis points (9000 = 90%) and every comparison is done in exact arithmetic: counts are
// integers and contributions are exact rationals parsed from decimal text, so a cell exactly at a
// limit behaves the same on every machine. At the limits the package behaves as ACRO does:
//
//   - threshold: a count fails when it is below the minimum, so with a minimum of 10 a cell of 9
//     fails and a cell of 10 passes;
//   - dominance: a cell fails when its n largest contributions are strictly more than k of its
//     total, so n largest making up exactly k of the total pass;
//   - p-ratio: a cell fails when the total less the two largest contributions is strictly less than
//     p of the largest, so a remainder of exactly p of the largest passes.
//
// Two cases differ from ACRO on purpose and are stricter: a magnitude cell with a single
// contributor always fails the p-ratio rule (its value is that contributor's value), and negative
// contributions make the magnitude rules inapplicable (ErrNegative) rather than silently passing.
// A magnitude cell whose total is zero passes dominance and fails the p-ratio rule only when zeros
// are disclosive, as in ACRO.
package sdc

import (
	"errors"
	"fmt"
	"math/big"
)

// Defaults follow ACRO.
const (
	// DefaultMinimumCellCount is the smallest count a released cell may hold.
	DefaultMinimumCellCount = 10
	// DefaultDominanceN is the number of largest contributors the dominance rule adds up.
	DefaultDominanceN = 2
	// DefaultDominanceKBasisPoints is the share of a cell's total, in basis points, that its n
	// largest contributors may make up.
	DefaultDominanceKBasisPoints = 9000
	// DefaultPRatioBasisPoints is the p-ratio in basis points.
	DefaultPRatioBasisPoints = 1000
	// BasisPoints is one whole in basis points.
	BasisPoints = 10000
	// MaxDominanceN is the largest n the dominance rule accepts, and so the most largest
	// contributions a magnitude cell need carry.
	MaxDominanceN = 10
)

// Errors about rules and magnitude cells. They never carry a cell's values.
var (
	// ErrInvalidRules reports rules outside their bounds.
	ErrInvalidRules = errors.New("invalid disclosure control rules")
	// ErrNegative reports a negative contribution or total, for which the magnitude rules do not
	// apply; such a cell needs a person to review it.
	ErrNegative = errors.New("negative contribution: magnitude rules do not apply")
	// ErrInconsistent reports contributor statistics that contradict one another.
	ErrInconsistent = errors.New("inconsistent contributor statistics")
	// ErrIncomplete reports a cell that lists fewer largest contributions than a rule needs.
	ErrIncomplete = errors.New("too few largest contributions for the rule")
	// ErrValue reports a value that is not a plain decimal number within bounds.
	ErrValue = errors.New("value is not a plain decimal number of at most 30 integer and 18 fractional digits")
)

// Rules are the disclosure control rules a table is checked against.
type Rules struct {
	// MinimumCellCount is the smallest non-zero count, or number of contributors, a cell may have.
	MinimumCellCount int64
	// ZerosDisclosive says whether zero cells fail.
	ZerosDisclosive bool
	// DominanceN is n of the n-k dominance rule.
	DominanceN int
	// DominanceKBasisPoints is k of the n-k dominance rule, in basis points.
	DominanceKBasisPoints int64
	// PRatioBasisPoints is p of the p-ratio rule, in basis points.
	PRatioBasisPoints int64
}

// DefaultRules returns ACRO's defaults.
func DefaultRules() Rules {
	return Rules{
		MinimumCellCount:      DefaultMinimumCellCount,
		ZerosDisclosive:       true,
		DominanceN:            DefaultDominanceN,
		DominanceKBasisPoints: DefaultDominanceKBasisPoints,
		PRatioBasisPoints:     DefaultPRatioBasisPoints,
	}
}

// Validate checks the rules are within the bounds the agreement's API allows.
func (r Rules) Validate() error {
	switch {
	case r.MinimumCellCount < 1:
		return fmt.Errorf("%w: minimum cell count %d is below 1", ErrInvalidRules, r.MinimumCellCount)
	case r.DominanceN < 1 || r.DominanceN > MaxDominanceN:
		return fmt.Errorf("%w: dominance n %d is outside 1..%d", ErrInvalidRules, r.DominanceN, MaxDominanceN)
	case r.DominanceKBasisPoints < 1 || r.DominanceKBasisPoints > BasisPoints:
		return fmt.Errorf("%w: dominance k %d basis points is outside 1..%d", ErrInvalidRules, r.DominanceKBasisPoints, BasisPoints)
	case r.PRatioBasisPoints < 0 || r.PRatioBasisPoints > BasisPoints:
		return fmt.Errorf("%w: p-ratio %d basis points is outside 0..%d", ErrInvalidRules, r.PRatioBasisPoints, BasisPoints)
	}
	return nil
}

// CountResult classifies one frequency-table count.
type CountResult uint8

// Count results.
const (
	// CountSafe is a count at or above the minimum.
	CountSafe CountResult = iota
	// CountZero is a zero count; it fails only when zeros are disclosive.
	CountZero
	// CountBelowThreshold is a count above zero and below the minimum.
	CountBelowThreshold
	// CountNegative is a negative count, which no frequency table should hold.
	CountNegative
)

// String names the result.
func (c CountResult) String() string {
	switch c {
	case CountSafe:
		return "safe"
	case CountZero:
		return "zero"
	case CountBelowThreshold:
		return "below-threshold"
	case CountNegative:
		return "negative"
	}
	return "unknown"
}

// CheckCount classifies a frequency-table count against the minimum cell count.
func CheckCount(count, minimum int64) CountResult {
	switch {
	case count < 0:
		return CountNegative
	case count == 0:
		return CountZero
	case count < minimum:
		return CountBelowThreshold
	}
	return CountSafe
}

// CountFails reports whether a count breaks the rules: below the minimum, or zero when zeros are
// disclosive. Negative counts are not failures of these rules; callers treat them as needing
// review.
func (r Rules) CountFails(count int64) bool {
	switch CheckCount(count, r.MinimumCellCount) {
	case CountBelowThreshold:
		return true
	case CountZero:
		return r.ZerosDisclosive
	}
	return false
}

// Cell holds the contributor statistics of one magnitude-table cell: how many records contributed,
// the largest contributions in descending order, and the cell's total.
type Cell struct {
	// Contributors is the number of records that contributed to the cell.
	Contributors int64
	// Largest are the largest contributions, largest first: at least min(Contributors, 2) and at
	// most MaxDominanceN of them, never more than Contributors.
	Largest []*big.Rat
	// Total is the sum of every contribution.
	Total *big.Rat
}

// Validate checks the statistics are complete and consistent. It returns ErrNegative for a
// negative value and ErrInconsistent (wrapped with a reason that carries no value) otherwise.
func (c Cell) Validate() error {
	if c.Total == nil {
		return fmt.Errorf("%w: total is missing", ErrInconsistent)
	}
	if c.Contributors < 0 {
		return fmt.Errorf("%w: contributors is negative", ErrInconsistent)
	}
	if c.Total.Sign() < 0 {
		return ErrNegative
	}
	k := int64(len(c.Largest))
	if k > MaxDominanceN {
		return fmt.Errorf("%w: more than %d largest contributions", ErrInconsistent, MaxDominanceN)
	}
	if k > c.Contributors {
		return fmt.Errorf("%w: more largest contributions than contributors", ErrInconsistent)
	}
	if k < min(c.Contributors, 2) {
		return fmt.Errorf("%w: fewer than two largest contributions", ErrInconsistent)
	}
	sum := new(big.Rat)
	for i, v := range c.Largest {
		if v == nil {
			return fmt.Errorf("%w: largest contribution %d is missing", ErrInconsistent, i+1)
		}
		if v.Sign() < 0 {
			return ErrNegative
		}
		if i > 0 && v.Cmp(c.Largest[i-1]) > 0 {
			return fmt.Errorf("%w: largest contributions are not in descending order", ErrInconsistent)
		}
		sum.Add(sum, v)
	}
	switch cmp := sum.Cmp(c.Total); {
	case cmp > 0:
		return fmt.Errorf("%w: largest contributions add up to more than the total", ErrInconsistent)
	case k == c.Contributors && cmp != 0:
		return fmt.Errorf("%w: every contribution is listed but they do not add up to the total", ErrInconsistent)
	case k < c.Contributors:
		// Every unlisted contribution is at most the smallest listed one.
		bound := new(big.Rat).Mul(big.NewRat(c.Contributors-k, 1), c.Largest[k-1])
		bound.Add(bound, sum)
		if c.Total.Cmp(bound) > 0 {
			return fmt.Errorf("%w: total is more than the contributors could add up to", ErrInconsistent)
		}
	}
	return nil
}

// Dominance reports whether the cell fails the n-k dominance rule: its n largest contributions make
// up strictly more than kBasisPoints of its total. A zero total passes, as in ACRO. It returns
// ErrIncomplete when the cell has more than len(Largest) contributors and n exceeds len(Largest).
func Dominance(c Cell, n int, kBasisPoints int64) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, err
	}
	if n < 1 || n > MaxDominanceN || kBasisPoints < 1 || kBasisPoints > BasisPoints {
		return false, fmt.Errorf("%w: dominance n %d, k %d basis points", ErrInvalidRules, n, kBasisPoints)
	}
	if c.Total.Sign() == 0 {
		return false, nil
	}
	if n > len(c.Largest) && c.Contributors > int64(len(c.Largest)) {
		return false, fmt.Errorf("%w: dominance with n=%d needs %d largest contributions, the cell lists %d",
			ErrIncomplete, n, n, len(c.Largest))
	}
	top := new(big.Rat)
	for _, v := range c.Largest[:min(n, len(c.Largest))] {
		top.Add(top, v)
	}
	// top/total > k/10000  ⇔  top·10000 > k·total, as total > 0.
	lhs := top.Mul(top, big.NewRat(BasisPoints, 1))
	rhs := new(big.Rat).Mul(c.Total, big.NewRat(kBasisPoints, 1))
	return lhs.Cmp(rhs) > 0, nil
}

// PRatio reports whether the cell fails the p-ratio rule: the total less the two largest
// contributions is strictly less than pBasisPoints of the largest, so the second largest
// contributor could estimate the largest too closely. A cell with one contributor always fails; a
// zero total fails only when zeros are disclosive.
func PRatio(c Cell, pBasisPoints int64, zerosDisclosive bool) (bool, error) {
	if err := c.Validate(); err != nil {
		return false, err
	}
	if pBasisPoints < 0 || pBasisPoints > BasisPoints {
		return false, fmt.Errorf("%w: p-ratio %d basis points", ErrInvalidRules, pBasisPoints)
	}
	if c.Contributors == 1 {
		return true, nil
	}
	if c.Total.Sign() == 0 {
		return zerosDisclosive, nil
	}
	rest := new(big.Rat).Sub(c.Total, c.Largest[0])
	rest.Sub(rest, c.Largest[1])
	// rest/x1 < p/10000  ⇔  rest·10000 < p·x1, as x1 > 0 when the total is.
	lhs := rest.Mul(rest, big.NewRat(BasisPoints, 1))
	rhs := new(big.Rat).Mul(c.Largest[0], big.NewRat(pBasisPoints, 1))
	return lhs.Cmp(rhs) < 0, nil
}

// MagnitudeResult says which rules a magnitude cell fails.
type MagnitudeResult struct {
	// Threshold is true when the cell has fewer contributors than the minimum cell count (and
	// more than none).
	Threshold bool
	// Zero is true when the cell has no contributors and zeros are disclosive.
	Zero bool
	// Dominance is true when the cell fails n-k dominance.
	Dominance bool
	// PRatio is true when the cell fails the p-ratio rule.
	PRatio bool
}

// Fails reports whether any rule failed.
func (m MagnitudeResult) Fails() bool { return m.Threshold || m.Zero || m.Dominance || m.PRatio }

// CheckMagnitude applies every rule to a magnitude cell.
func CheckMagnitude(c Cell, r Rules) (MagnitudeResult, error) {
	var m MagnitudeResult
	if err := r.Validate(); err != nil {
		return m, err
	}
	if err := c.Validate(); err != nil {
		return m, err
	}
	switch CheckCount(c.Contributors, r.MinimumCellCount) {
	case CountZero:
		m.Zero = r.ZerosDisclosive
	case CountBelowThreshold:
		m.Threshold = true
	}
	var err error
	if m.Dominance, err = Dominance(c, r.DominanceN, r.DominanceKBasisPoints); err != nil {
		return m, err
	}
	if m.PRatio, err = PRatio(c, r.PRatioBasisPoints, r.ZerosDisclosive); err != nil {
		return m, err
	}
	return m, nil
}

// Digit bounds of ParseValue.
const (
	maxIntegerDigits    = 30
	maxFractionalDigits = 18
)

// ParseValue parses a plain decimal number, such as "-12", "0.5" or "1234.56", exactly. Exponents,
// signs other than a leading minus, and more than 30 integer or 18 fractional digits are refused,
// so no input can make the arithmetic large or slow.
func ParseValue(s string) (*big.Rat, error) {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	intStart := i
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	intDigits := i - intStart
	if intDigits == 0 || intDigits > maxIntegerDigits {
		return nil, ErrValue
	}
	if i < len(s) && s[i] == '.' {
		i++
		fracStart := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if f := i - fracStart; f == 0 || f > maxFractionalDigits {
			return nil, ErrValue
		}
	}
	if i != len(s) {
		return nil, ErrValue
	}
	v, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, ErrValue
	}
	return v, nil
}
