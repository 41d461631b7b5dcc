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
	"math/bits"
	"math/rand/v2"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// The period both datasets cover: six financial years. Ages are measured at its end.
var (
	periodStart = daysFromCivil(2018, 4, 1)
	periodEnd   = daysFromCivil(2024, 3, 31)
)

// adultDays is a number of days after which a person is at least 18 years old whatever the
// leap years.
const adultDays = 18*365 + 18/4 + 1

// Streams of the random generator, one per dataset, so two datasets made with one seed do not
// share their random choices (their people come from the Population, not from these streams).
const (
	hesStream = 0x6865732d617063 // "hes-apc"
	ascStream = 0x6173632d636c64 // "asc-cld"
)

// source draws random numbers from a PCG generator with integer-only mappings, whose results are
// fixed by this code rather than by the standard library's choice of algorithm.
type source struct {
	pcg *rand.PCG
}

func newSource(seed int64, stream uint64) source {
	return source{pcg: rand.NewPCG(uint64(seed), stream)}
}

// n returns a number from 0 to bound-1 (0 when bound is 0) by Lemire's multiply-shift; the bias
// is below bound/2^64, far under anything a test could see.
func (s source) n(bound uint64) uint64 {
	hi, _ := bits.Mul64(s.pcg.Uint64(), bound)
	return hi
}

// threshold is a probability in 53-bit fixed point.
type threshold uint64

func newThreshold(p float64) threshold { return threshold(p * (1 << 53)) }

// hit reports whether a draw falls under the threshold.
func (t threshold) hit(s source) bool { return threshold(s.pcg.Uint64()>>11) < t }

// person is what is fixed about one person of the population, the same in every dataset.
type person struct {
	dob    int64 // day of birth
	band   int   // age band at the end of the period
	sex    byte  // '1' male, '2' female, '9' not specified
	area   int   // index into areas
	lsoa   uint64
	client uint64 // local client identifier, eight digits
}

// personHash is the hash all of person i's attributes come from.
func (p *Population) personHash(i int64) uint64 {
	return mix64(p.attrs ^ uint64(i)*0x9e3779b97f4a7c15)
}

// bandOf returns the age band of the person with hash h.
func bandOf(h uint64) int {
	u := (h & 0xffff) * 1000 >> 16
	var acc uint64
	for b := range ageBands {
		acc += ageBands[b].share
		if u < acc {
			return b
		}
	}
	return len(ageBands) - 1
}

// person derives the attributes of person i.
func (p *Population) person(i int64) person {
	return p.personFrom(i, p.personHash(i))
}

// personFrom derives the attributes of person i from their hash.
func (p *Population) personFrom(i int64, h uint64) person {
	per := person{band: bandOf(h)}
	band := ageBands[per.band]
	lo := band.minYears*365 + band.minYears/4 + 1
	hi := band.maxYears*365 + band.maxYears/4
	per.dob = periodEnd - lo - int64(((h>>16)&0xffffffff)*uint64(hi-lo)>>32)
	switch s := (h >> 48) & 0x3ff; {
	case s < 5:
		per.sex = '9'
	case s < 5+520:
		per.sex = '2'
	default:
		per.sex = '1'
	}
	h2 := mix64(h)
	per.area = int((h2 & 0xffff) * uint64(len(areas)) >> 16)
	per.lsoa = uint64(areas[per.area].lsoaFirst) + ((h2>>16)&0xffff)*lsoasPerArea>>16
	// A multiplier prime to 10 makes client identifiers distinct for distinct people.
	per.client = (uint64(i)*7919 + p.attrs%100_000_000) % 100_000_000
	return per
}

// drawer picks the person for each row from the population, favouring the age bands a dataset
// has more of.
type drawer struct {
	pop    Population
	size   uint64
	accept [len(ageBands)]uint64
	// fallback is used after maxTries rejections in a row.
	fallback int64
}

const maxTries = 256

func (d *drawer) draw(s source) (int64, person) {
	for range maxTries {
		i := int64(s.n(d.size))
		h := d.pop.personHash(i)
		if s.n(1024) < d.accept[bandOf(h)] {
			return i, d.pop.personFrom(i, h)
		}
	}
	return d.fallback, d.pop.person(d.fallback)
}

// nhsField writes a person's NHS number as the dataset shows it.
type nhsField struct {
	invalid threshold
	// spaced is the share (per 1024) of valid numbers written as "999 123 4567".
	spaced uint64
}

func (f nhsField) append(b []byte, n nhsnumber.Number, s source) []byte {
	if f.invalid.hit(s) {
		return appendMalformed(b, n, s)
	}
	if f.spaced > 0 && s.n(1024) < f.spaced {
		b = append(b, n[:3]...)
		b = append(b, ' ')
		b = append(b, n[3:6]...)
		b = append(b, ' ')
		return append(b, n[6:]...)
	}
	return append(b, n[:]...)
}

// appendMalformed writes something in place of n that fails validation: a blank, n with a digit
// dropped or added, n with a wrong check digit, or a placeholder.
func appendMalformed(b []byte, n nhsnumber.Number, s source) []byte {
	switch k := s.n(100); {
	case k < 50:
		return b
	case k < 70:
		drop := s.n(nhsnumber.Length)
		b = append(b, n[:drop]...)
		return append(b, n[drop+1:]...)
	case k < 90:
		n[9] = byte('0' + (uint64(n[9]-'0')+1+s.n(9))%10)
		return append(b, n[:]...)
	case k < 95:
		b = append(b, n[:]...)
		return append(b, byte('0'+s.n(10)))
	default:
		return append(b, malformed[s.n(uint64(len(malformed)))]...)
	}
}

// hesWriter writes hospital episodes.
type hesWriter struct {
	src    source
	people drawer
	nhs    nhsField
	diag   picker
}

func newHESWriter(c config) *hesWriter {
	w := &hesWriter{
		src:    newSource(c.seed, hesStream),
		people: drawer{pop: NewPopulation(c.seed), size: uint64(c.population)},
		nhs:    nhsField{invalid: c.invalid},
	}
	for b := range ageBands {
		w.people.accept[b] = ageBands[b].hospital
	}
	weights := make([]uint32, len(diagnoses))
	for i, d := range diagnoses {
		weights[i] = d.weight
	}
	w.diag = newPicker(weights)
	return w
}

func (w *hesWriter) appendRow(b []byte) []byte {
	s := w.src
	i, per := w.people.draw(s)
	b = w.nhs.append(b, w.people.pop.number(i), s)
	b = append(b, ',')
	b = appendDate(b, per.dob)
	b = append(b, ',', per.sex, ',')

	first := max(periodStart, per.dob)
	admission := first + int64(s.n(uint64(periodEnd-first+1)))
	ageYears := (admission - per.dob) / 365
	di := fallbackDiagnosis
	for range 8 {
		k := w.diag.pick(s.n(w.diag.total))
		if ageYears >= diagnoses[k].minAge {
			di = k
			break
		}
	}
	d := &diagnoses[di]
	var stay int64
	if s.n(1024) >= d.dayCase {
		stay = 1 + int64(s.n(2*d.meanStay))
		if s.n(16) == 0 { // a long tail of long stays
			stay += int64(s.n(8*d.meanStay + 1))
		}
	}
	discharge := min(admission+stay, periodEnd)
	b = appendDate(b, admission)
	b = append(b, ',')
	b = appendDate(b, discharge)
	b = append(b, ',')
	b = append(b, d.code...)
	b = append(b, ',')
	if len(d.procedures) > 0 && s.n(1024) < d.procChance {
		b = append(b, d.procedures[s.n(uint64(len(d.procedures)))]...)
	}
	b = append(b, ",E01"...)
	b = appendPadded(b, per.lsoa, 6)
	b = append(b, ',')
	switch k := s.n(100); {
	case k < 85: // the local trust
		local := areas[per.area].providers
		b = append(b, local[s.n(uint64(len(local)))]...)
	case k < 93: // a specialist trust
		b = append(b, specialists[s.n(uint64(len(specialists)))]...)
	default: // a trust elsewhere, as when taken ill away from home
		other := areas[s.n(uint64(len(areas)))].providers
		b = append(b, other[0]...)
	}
	return append(b, '\n')
}

// ascWriter writes adult social-care services.
type ascWriter struct {
	src     source
	people  drawer
	nhs     nhsField
	service picker
	costs   []picker
}

// ascSpaced is the share (per 1024) of valid NHS numbers a local authority submits with spaces.
const ascSpaced = 50

func newASCWriter(c config) *ascWriter {
	w := &ascWriter{
		src:    newSource(c.seed, ascStream),
		people: drawer{pop: NewPopulation(c.seed), size: uint64(c.population), fallback: c.adult},
		nhs:    nhsField{invalid: c.invalid, spaced: ascSpaced},
	}
	for b := range ageBands {
		w.people.accept[b] = ageBands[b].social
	}
	weights := make([]uint32, len(services))
	for i, sv := range services {
		weights[i] = sv.weight
		w.costs = append(w.costs, newPicker(sv.costBands[:]))
	}
	w.service = newPicker(weights)
	return w
}

func (w *ascWriter) appendRow(b []byte) []byte {
	s := w.src
	i, per := w.people.draw(s)
	b = w.nhs.append(b, w.people.pop.number(i), s)
	b = append(b, ',')
	b = appendPadded(b, per.client, 8)
	b = append(b, ',')
	b = appendDate(b, per.dob)
	switch per.sex {
	case '1':
		b = append(b, ",Male,"...)
	case '2':
		b = append(b, ",Female,"...)
	default:
		b = append(b, ",Unknown,"...)
	}
	k := w.service.pick(s.n(w.service.total))
	sv := &services[k]
	b = append(b, sv.name...)
	b = append(b, ',')
	first := max(periodStart, per.dob+adultDays)
	start := first + int64(s.n(uint64(periodEnd-first+1)))
	b = appendDate(b, start)
	b = append(b, ',')
	if s.n(1024) >= sv.ongoing {
		end := start + sv.minDays + int64(s.n(uint64(sv.maxDays-sv.minDays+1)))
		if end <= periodEnd { // otherwise still open when the data were extracted
			b = appendDate(b, end)
		}
	}
	b = append(b, ',')
	cost := &w.costs[k]
	b = append(b, costBands[cost.pick(s.n(cost.total))]...)
	b = append(b, ',')
	b = append(b, areas[per.area].code...)
	return append(b, '\n')
}

// optOutWriter lists, in index order, the people of the population who opted out.
type optOutWriter struct {
	pop   Population
	key   uint64
	next  int64
	limit int64
}

func (w *optOutWriter) appendRow(b []byte) []byte {
	for ; w.next < w.limit; w.next++ {
		if optedOut(w.key, w.next) {
			n := w.pop.number(w.next)
			w.next++
			b = append(b, n[:]...)
			return append(b, '\n')
		}
	}
	return b // not reached: resolve checked there are enough people who opted out
}
