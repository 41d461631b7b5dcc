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
	"strings"
	"testing"
	"time"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// TestPopulationIsABijection checks every index of one population: its number is a valid NHS
// number in the test range, and Index maps it back, which also proves the numbers distinct.
func TestPopulationIsABijection(t *testing.T) {
	p := NewPopulation(42)
	for i := range MaxPopulation {
		n := p.NHSNumber(i)
		if _, err := nhsnumber.Parse(n.String()); err != nil {
			t.Fatalf("person %d has an invalid number: %v", i, err)
		}
		if n[0] != '9' || n[1] != '9' || n[2] != '9' {
			t.Fatalf("person %d has a number outside the 999 test range", i)
		}
		back, ok := p.Index(n)
		if !ok || back != i {
			t.Fatalf("Index(NHSNumber(%d)) = %d, %v", i, back, ok)
		}
	}
}

func TestPopulationDependsOnSeed(t *testing.T) {
	a, b := NewPopulation(1), NewPopulation(2)
	if a.Seed() != 1 || b.Seed() != 2 {
		t.Fatalf("Seed() = %d, %d, want 1, 2", a.Seed(), b.Seed())
	}
	same := 0
	for i := range int64(1000) {
		if a.NHSNumber(i) == b.NHSNumber(i) {
			same++
		}
	}
	if same > 10 {
		t.Fatalf("%d of 1000 people have the same number under two seeds", same)
	}
	// Consecutive people do not get consecutive numbers.
	adjacent := 0
	for i := range int64(1000) {
		if d := int64(a.NHSNumber(i+1).Uint64()) - int64(a.NHSNumber(i).Uint64()); d > -100 && d < 100 {
			adjacent++
		}
	}
	if adjacent > 10 {
		t.Fatalf("%d of 1000 neighbouring people have nearly the same number", adjacent)
	}
}

// tenthValid returns a number in the test range whose block has ten valid check digits, built
// with nhsnumber.CheckDigit alone: the tenth is never given to a person.
func tenthValid(t *testing.T) nhsnumber.Number {
	t.Helper()
	for block := 0; block < blocks; block++ {
		prefix := []byte("999" + strings.Repeat("0", 5))
		for k, v := 7, block; k >= 3; k, v = k-1, v/10 {
			prefix[k] = byte('0' + v%10)
		}
		valid := 0
		var last nhsnumber.Number
		for d := byte('0'); d <= '9'; d++ {
			var p9 [9]byte
			copy(p9[:], prefix)
			p9[8] = d
			if c, ok := nhsnumber.CheckDigit(p9); ok {
				valid++
				copy(last[:], p9[:])
				last[9] = c
			}
		}
		if valid == 10 {
			return last
		}
	}
	t.Fatal("no block with ten valid numbers")
	return nhsnumber.Number{}
}

func TestIndexRejectsNumbersOutsideThePopulation(t *testing.T) {
	p := NewPopulation(7)
	num := func(s string) nhsnumber.Number {
		var n nhsnumber.Number
		copy(n[:], s)
		return n
	}
	tests := []struct {
		name string
		n    nhsnumber.Number
	}{
		{"real range", num("9434765919")},
		{"placeholder", num("9999999999")},
		{"bad check digit", num("9990000001")},
		{"tenth valid number of a block", tenthValid(t)},
		{"not digits", num("999abcdefg")},
		{"zero value", nhsnumber.Number{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i, ok := p.Index(tt.n); ok {
				t.Fatalf("Index accepted a number outside the population as person %d", i)
			}
		})
	}
}

func TestNHSNumberPanicsOutsideRange(t *testing.T) {
	for _, tt := range []struct {
		name string
		call func()
	}{
		{"negative", func() { NewPopulation(1).NHSNumber(-1) }},
		{"too large", func() { NewPopulation(1).NHSNumber(MaxPopulation) }},
		{"zero population", func() { Population{}.NHSNumber(0) }},
		{"zero population index", func() { Population{}.Index(nhsnumber.Number{}) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Fatal("no panic")
				}
			}()
			tt.call()
		})
	}
}

func TestOptedOutShare(t *testing.T) {
	for _, seed := range []int64{1, 2, -5} {
		var n int64
		for i := range MaxPopulation {
			if OptedOut(seed, i) {
				n++
			}
		}
		got := float64(n) / float64(MaxPopulation)
		if got < 0.029 || got > 0.031 {
			t.Fatalf("seed %d: %.4f of the population opted out, want about 0.03", seed, got)
		}
	}
	if OptedOutBelow(1, -5) != 0 || OptedOutBelow(1, MaxPopulation+10) != OptedOutBelow(1, MaxPopulation) {
		t.Fatal("OptedOutBelow does not clamp to the population")
	}
	if OptedOut(1, -1) || OptedOut(1, MaxPopulation) {
		t.Fatal("OptedOut is true outside the population")
	}
	if NewPopulation(3).OptedOut(10) != OptedOut(3, 10) {
		t.Fatal("Population.OptedOut disagrees with OptedOut")
	}
}

func TestPersonAttributes(t *testing.T) {
	p := NewPopulation(9)
	bands := make([]int, len(ageBands))
	sexes := map[byte]int{}
	for i := range int64(100_000) {
		per := p.person(i)
		age := periodEnd - per.dob
		b := ageBands[per.band]
		if age < b.minYears*365 || age > b.maxYears*366 {
			t.Fatalf("person %d is %d days old at the end of the period, outside band %d", i, age, per.band)
		}
		if per.band > 0 && per.dob+adultDays > periodEnd {
			t.Fatalf("person %d in an adult band is not 18 by the end of the period", i)
		}
		if per.lsoa < uint64(areas[per.area].lsoaFirst) || per.lsoa >= uint64(areas[per.area].lsoaFirst+lsoasPerArea) {
			t.Fatalf("person %d lives outside their area's LSOAs", i)
		}
		bands[per.band]++
		sexes[per.sex]++
	}
	for b, n := range bands {
		want := float64(ageBands[b].share) / 1000
		if got := float64(n) / 100_000; got < want-0.01 || got > want+0.01 {
			t.Errorf("band %d holds %.3f of people, want about %.3f", b, got, want)
		}
	}
	if sexes['1'] < 45_000 || sexes['2'] < 45_000 || sexes['9'] == 0 || len(sexes) != 3 {
		t.Errorf("sexes are %v, want about half 1 and half 2 and a few 9", sexes)
	}
}

func TestDaysFromCivilMatchesTime(t *testing.T) {
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := time.Date(1880, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2120; d = d.AddDate(0, 0, 1) {
		want := int64(d.Sub(epoch).Hours() / 24)
		if got := daysFromCivil(int64(d.Year()), int64(d.Month()), int64(d.Day())); got != want {
			t.Fatalf("daysFromCivil(%s) = %d, want %d", d.Format(time.DateOnly), got, want)
		}
		if got := string(appendDate(nil, want)); got != d.Format(time.DateOnly) {
			t.Fatalf("appendDate(%d) = %s, want %s", want, got, d.Format(time.DateOnly))
		}
	}
}

func TestAppendHelpers(t *testing.T) {
	tests := []struct {
		got, want string
	}{
		{string(appendPadded(nil, 7, 6)), "000007"},
		{string(appendPadded(nil, 0, 3)), "000"},
		{string(appendPadded(nil, 1234567, 3)), "1234567"},
		{string(appendPadded([]byte("E01"), 33768, 6)), "E01033768"},
		{string(appendDate(nil, daysFromCivil(10000, 1, 1))), "10000-01-01"},
		{string(appendDate(nil, daysFromCivil(2024, 2, 29))), "2024-02-29"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func FuzzPopulationIndex(f *testing.F) {
	for _, s := range []string{"9990000000", "9999999999", "9434765919", "999000001", "99900000011", "999 000 0019", "", "x"} {
		f.Add(int64(1), s)
	}
	f.Add(int64(-9), "9998887776")
	f.Fuzz(func(t *testing.T, seed int64, s string) {
		p := NewPopulation(seed)
		// Every person's number maps back to them; the fuzzed string also picks a person.
		var idx int64
		for _, c := range []byte(s) {
			idx = (idx*31 + int64(c)) % MaxPopulation
		}
		if back, ok := p.Index(p.NHSNumber(idx)); !ok || back != idx {
			t.Fatalf("Index(NHSNumber(%d)) = %d, %v", idx, back, ok)
		}
		var n nhsnumber.Number
		copy(n[:], s)
		i, ok := p.Index(n)
		if !ok {
			return
		}
		// A number Index accepts is a valid NHS number in the test range, and person i has it.
		if _, err := nhsnumber.Parse(n.String()); err != nil {
			t.Fatalf("Index accepted an invalid number: %v", err)
		}
		if i < 0 || i >= MaxPopulation || p.NHSNumber(i) != n {
			t.Fatalf("Index gave person %d, whose number differs", i)
		}
	})
}
