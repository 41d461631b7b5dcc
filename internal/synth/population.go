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

package synth

import (
	"fmt"
	"math"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// The population's NHS numbers all lie in the range 999 000 000 0 to 999 999 999 9, which is
// kept for testing and never issued to a patient, so no synthetic record can carry a real
// person's number. A number there is "999", six free digits and the check digit. Its first eight
// digits name a block of ten nine-digit prefixes (the ninth digit varies), and in every block at
// most one prefix has no valid check digit, so the first nine valid prefixes of each block are
// used: position 9b+s is the s-th valid number of block b.
const (
	// perBlock is the number of people taken from each block of ten prefixes.
	perBlock = 9
	// blocks is the number of blocks used: 00000 to 99998. Block 99999 holds 9999999999, a
	// placeholder of one repeated digit, and is left out.
	blocks = 99_999
	// permBits is the width of the index permutation's domain, the smallest power of two above
	// MaxPopulation.
	permBits = 20
	// permHalf is the width of one half in the Feistel network.
	permHalf = permBits / 2
	// permMask selects one half.
	permMask = 1<<permHalf - 1
	// permRounds is the number of Feistel rounds.
	permRounds = 6
)

// MaxPopulation is the largest population a generator can draw from: every person has a distinct
// valid NHS number in the 999 test range.
const MaxPopulation int64 = blocks * perBlock

// OptOutPer100k is how many people in 100,000 have opted out, on average: 3%.
const OptOutPer100k = 3_000

// Population maps person indices, 0 to MaxPopulation-1, to NHS numbers. The mapping is a
// bijection that depends on the seed, so the people of two generated files with the same seed
// are the same people, and different seeds give unrelated populations. The zero value is not
// usable; call NewPopulation.
type Population struct {
	seed  int64
	keys  [permRounds]uint64
	attrs uint64
	ready bool
}

// NewPopulation returns the population for seed.
func NewPopulation(seed int64) Population {
	p := Population{seed: seed, ready: true}
	base := mix64(uint64(seed) ^ 0x706f70756c617469) // "populati"
	for r := range p.keys {
		p.keys[r] = mix64(base + uint64(r+1)*0x9e3779b97f4a7c15)
	}
	p.attrs = mix64(base ^ 0x6174747269627574) // "attribut"
	return p
}

// Seed returns the seed the population was made from.
func (p Population) Seed() int64 { return p.seed }

// NHSNumber returns the NHS number of person i. It panics if i is outside 0 to MaxPopulation-1
// or p was not made by NewPopulation, both programming errors.
func (p Population) NHSNumber(i int64) nhsnumber.Number {
	if !p.ready {
		panic("synth: Population used without NewPopulation")
	}
	if i < 0 || i >= MaxPopulation {
		panic(fmt.Sprintf("synth: person index %d outside 0 to %d", i, MaxPopulation-1))
	}
	return p.number(i)
}

// number is NHSNumber without the checks, for the generators' hot loops.
func (p *Population) number(i int64) nhsnumber.Number {
	return numberAt(p.permute(uint64(i)))
}

// Index returns the person whose NHS number is n, and false when n is not the number of any
// person of the population (a number outside the test range, a bad check digit, or the tenth
// valid number of a block, which is never used).
func (p Population) Index(n nhsnumber.Number) (int64, bool) {
	if !p.ready {
		panic("synth: Population used without NewPopulation")
	}
	pos, ok := positionOf(n)
	if !ok {
		return 0, false
	}
	return int64(p.unpermute(pos)), true
}

// OptedOut reports whether person i of the population made from seed has opted out of the use
// of their data for research and planning. About OptOutPer100k in 100,000 people have. It is a
// function of the seed and the index alone, so a test can tell which rows of a generated file
// belong to people who opted out from their NHS numbers (through Population.Index) without
// repeating the generator's row logic.
func OptedOut(seed, i int64) bool {
	if i < 0 || i >= MaxPopulation {
		return false
	}
	return optedOut(optOutKey(seed), i)
}

// OptedOutBelow returns how many of people 0 to n-1 of the population made from seed opted out:
// the number of rows an opt-out list needs to name all of them.
func OptedOutBelow(seed, n int64) int64 {
	return countOptedOut(seed, min(max(n, 0), MaxPopulation), math.MaxInt64)
}

// optOutKey is the hash key OptedOut uses for seed.
func optOutKey(seed int64) uint64 { return mix64(uint64(seed) ^ 0x6f70742d6f757473) } // "opt-outs"

func optedOut(key uint64, i int64) bool {
	return mix64(key^uint64(i)*0xd1b54a32d192ed03)%100_000 < OptOutPer100k
}

// OptedOut reports whether person i of p has opted out; see the function OptedOut.
func (p Population) OptedOut(i int64) bool { return OptedOut(p.seed, i) }

// numberAt returns the NHS number at position pos of the test range (0 to MaxPopulation-1).
func numberAt(pos uint64) nhsnumber.Number {
	block, slot := pos/perBlock, pos%perBlock
	var prefix [9]byte
	prefix[0], prefix[1], prefix[2] = '9', '9', '9'
	for k := 7; k >= 3; k-- {
		prefix[k] = byte('0' + block%10)
		block /= 10
	}
	for d := byte('0'); d <= '9'; d++ {
		prefix[8] = d
		c, ok := nhsnumber.CheckDigit(prefix)
		if !ok { // no number has this prefix
			continue
		}
		if slot == 0 {
			var n nhsnumber.Number
			copy(n[:], prefix[:])
			n[9] = c
			return n
		}
		slot--
	}
	panic("synth: a block of prefixes has fewer than nine valid check digits")
}

// positionOf is the inverse of numberAt.
func positionOf(n nhsnumber.Number) (uint64, bool) {
	if n[0] != '9' || n[1] != '9' || n[2] != '9' {
		return 0, false
	}
	var block uint64
	for k := 3; k <= 9; k++ {
		if n[k] < '0' || n[k] > '9' {
			return 0, false
		}
		if k <= 7 {
			block = block*10 + uint64(n[k]-'0')
		}
	}
	if block >= blocks {
		return 0, false
	}
	var prefix [9]byte
	copy(prefix[:], n[:9])
	if c, ok := nhsnumber.CheckDigit(prefix); !ok || c != n[9] {
		return 0, false
	}
	var slot uint64
	for d := byte('0'); d < n[8]; d++ {
		prefix[8] = d
		if _, ok := nhsnumber.CheckDigit(prefix); ok {
			slot++
		}
	}
	if slot >= perBlock {
		return 0, false
	}
	return block*perBlock + slot, true
}

// permute maps an index to a position with a keyed Feistel network over permBits bits, walking
// the cycle until the result falls inside the population, which keeps it a bijection on
// 0 to MaxPopulation-1.
func (p *Population) permute(x uint64) uint64 {
	for {
		l, r := x>>permHalf, x&permMask
		for _, k := range p.keys {
			l, r = r, l^(mix64(r^k)&permMask)
		}
		x = l<<permHalf | r
		if x < uint64(MaxPopulation) {
			return x
		}
	}
}

// unpermute is the inverse of permute.
func (p *Population) unpermute(x uint64) uint64 {
	for {
		l, r := x>>permHalf, x&permMask
		for j := permRounds - 1; j >= 0; j-- {
			l, r = r^(mix64(l^p.keys[j])&permMask), l
		}
		x = l<<permHalf | r
		if x < uint64(MaxPopulation) {
			return x
		}
	}
}

// mix64 is the SplitMix64 finaliser: a fast bijective scrambling of 64 bits.
func mix64(z uint64) uint64 {
	z ^= z >> 30
	z *= 0xbf58476d1ce4e5b9
	z ^= z >> 27
	z *= 0x94d049bb133111eb
	z ^= z >> 31
	return z
}
