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

// The code lists below are plausible, not a clinical or geographic truth: real code systems
// (ICD-10, OPCS-4, ONS area codes, NHS organisation codes) with made-up frequencies and links.
// No value contains a comma, a quote or a line break, so no field is ever quoted.

// area is a local authority, the acute trusts its residents mostly use, and a range of LSOA
// serial numbers (E01 followed by six digits) its residents live in.
type area struct {
	code      string
	providers []string
	lsoaFirst int
}

// lsoasPerArea is how many LSOAs each area's residents are spread over.
const lsoasPerArea = 600

var areas = []area{
	{"E08000012", []string{"REM"}, 1},            // Liverpool
	{"E08000025", []string{"RRK"}, 2001},         // Birmingham
	{"E08000003", []string{"R0A"}, 4001},         // Manchester
	{"E08000035", []string{"RR8"}, 6001},         // Leeds
	{"E08000019", []string{"RHQ"}, 8001},         // Sheffield
	{"E08000021", []string{"RTD"}, 10001},        // Newcastle upon Tyne
	{"E08000026", []string{"RKB"}, 12001},        // Coventry
	{"E06000016", []string{"RWE"}, 14001},        // Leicester
	{"E06000018", []string{"RX1"}, 16001},        // Nottingham
	{"E06000015", []string{"RTG"}, 18001},        // Derby
	{"E06000008", []string{"RXR"}, 20001},        // Blackburn with Darwen
	{"E06000033", []string{"RAJ"}, 22001},        // Southend-on-Sea
	{"E06000023", []string{"RA7"}, 24001},        // Bristol
	{"E09000028", []string{"RJ1", "RJZ"}, 26001}, // Southwark
	{"E10000003", []string{"RGT"}, 28001},        // Cambridgeshire
	{"E06000031", []string{"RGN"}, 30001},        // Peterborough
}

// specialists are trusts people are referred to from anywhere.
var specialists = []string{"RBQ", "RGM", "RPY", "RP6", "RRJ"}

// diagnosis is a primary diagnosis (ICD-10) with how often it occurs, the youngest age it is
// given at, how often it is a day case (per 1024), the mean length of stay in days when it is not,
// how often a procedure is done (per 1024) and which procedures (OPCS-4) fit it.
type diagnosis struct {
	code       string
	weight     uint32
	minAge     int64
	dayCase    uint64
	meanStay   uint64
	procChance uint64
	procedures []string
}

var diagnoses = []diagnosis{
	{"J18.9", 60, 0, 50, 6, 150, []string{"E85.2", "X29.2"}},
	{"I21.0", 12, 30, 0, 5, 800, []string{"K75.1", "K63.1", "U20.1"}},
	{"I21.4", 20, 30, 0, 5, 700, []string{"K75.1", "K63.1", "U20.1"}},
	{"I25.1", 12, 40, 600, 2, 800, []string{"K63.1", "K75.1", "K40.1"}},
	{"I48.9", 25, 30, 100, 3, 250, []string{"U20.1"}},
	{"I50.0", 25, 40, 30, 8, 200, []string{"U20.1"}},
	{"I63.9", 18, 30, 20, 12, 400, []string{"U05.1"}},
	{"J44.1", 30, 40, 40, 5, 150, []string{"E85.2"}},
	{"J22", 25, 0, 100, 3, 50, []string{"E85.2"}},
	{"N39.0", 35, 0, 150, 4, 100, []string{"M45.9"}},
	{"N17.9", 15, 18, 20, 7, 100, []string{"X40.3"}},
	{"K80.2", 18, 18, 400, 2, 700, []string{"J18.3"}},
	{"K35.8", 15, 5, 50, 3, 900, []string{"H01.1", "H01.9"}},
	{"K57.3", 12, 40, 200, 4, 400, []string{"H22.9"}},
	{"K92.2", 12, 40, 150, 3, 600, []string{"G45.1", "H22.9"}},
	{"K40.9", 18, 18, 800, 1, 950, []string{"T20.1", "T20.2"}},
	{"S72.0", 20, 60, 0, 18, 900, []string{"W46.1", "W37.1", "W38.1"}},
	{"S06.0", 12, 0, 500, 1, 200, []string{"U05.1"}},
	{"R07.4", 45, 16, 600, 1, 150, []string{"U20.1"}},
	{"R55", 20, 16, 500, 2, 200, []string{"U05.1", "U20.1"}},
	{"R10.4", 35, 5, 600, 1, 150, []string{"H22.9", "G45.1"}},
	{"E11.9", 8, 18, 300, 4, 50, []string{"X29.2"}},
	{"E86", 12, 60, 200, 3, 50, []string{"X29.2"}},
	{"F05.9", 10, 65, 50, 14, 0, nil},
	{"F03", 8, 60, 50, 20, 0, nil},
	{"C34.9", 10, 40, 400, 6, 400, []string{"X72.1", "G45.1"}},
	{"C18.9", 8, 40, 300, 8, 600, []string{"H07.9", "H22.9"}},
	{"C50.9", 8, 25, 600, 2, 700, []string{"B28.9", "B27.4"}},
	{"Z51.1", 40, 5, 1024, 0, 950, []string{"X72.1", "X72.2", "X72.3"}},
	{"H25.9", 30, 50, 1024, 0, 950, []string{"C71.2"}},
	{"M17.1", 15, 45, 50, 4, 900, []string{"W40.1", "W41.1", "W42.1"}},
	{"M16.1", 12, 45, 50, 4, 900, []string{"W37.1", "W38.1", "W39.1"}},
	{"A41.9", 15, 0, 0, 10, 300, []string{"X29.2", "E85.2"}},
	{"G40.9", 10, 0, 300, 2, 150, []string{"U05.1"}},
	{"L03.1", 18, 5, 200, 5, 150, []string{"S47.1"}},
	{"D64.9", 12, 18, 600, 1, 600, []string{"X33.2"}},
}

// fallbackDiagnosis is used when repeated draws find nothing for a young person.
const fallbackDiagnosis = 0

// service is an adult social-care service type with how often it occurs, how often it is still
// open at the end of the period (per 1024), the range of its length in days when closed, and the
// weights of the weekly cost bands.
type service struct {
	name      string
	weight    uint32
	ongoing   uint64
	minDays   int64
	maxDays   int64
	costBands [len(costBands)]uint32
}

// costBands are weekly gross cost bands in pounds.
var costBands = [...]string{"0-99", "100-249", "250-499", "500-999", "1000-1499", "1500+"}

var services = []service{
	{"Long Term Support: Community", 40, 520, 30, 900, [len(costBands)]uint32{15, 35, 30, 15, 5, 0}},
	{"Long Term Support: Residential Care", 12, 460, 30, 1200, [len(costBands)]uint32{0, 0, 0, 45, 45, 10}},
	{"Long Term Support: Nursing Care", 8, 410, 14, 900, [len(costBands)]uint32{0, 0, 0, 15, 55, 30}},
	{"Long Term Support: Prison", 1, 300, 30, 700, [len(costBands)]uint32{30, 50, 20, 0, 0, 0}},
	{"Short Term Support: ST-Max", 20, 30, 3, 42, [len(costBands)]uint32{20, 50, 30, 0, 0, 0}},
	{"Short Term Support: Other Short Term", 8, 50, 1, 84, [len(costBands)]uint32{40, 40, 20, 0, 0, 0}},
}

// ageBands are the bands people's ages fall in at the end of the period: the lower bound in
// years, the share of the population in each (per 1000), and how likely a person of the band is
// to be drawn for a hospital episode or a social-care service (per 1024), which skews both
// datasets towards older people as real ones are.
var ageBands = [...]struct {
	minYears, maxYears int64
	share              uint64
	hospital, social   uint64
}{
	{0, 18, 210, 300, 0},
	{18, 40, 280, 350, 120},
	{40, 65, 310, 550, 180},
	{65, 80, 140, 900, 500},
	{80, 105, 60, 1024, 1024},
}

// malformed are values seen in place of an NHS number in local submissions.
var malformed = []string{"UNKNOWN", "N/A", "0000000000", "9999999999", "NOT KNOWN"}

// picker draws an index with probability proportional to its weight.
type picker struct {
	cum   []uint64
	total uint64
}

func newPicker(weights []uint32) picker {
	p := picker{cum: make([]uint64, len(weights))}
	for i, w := range weights {
		p.total += uint64(w)
		p.cum[i] = p.total
	}
	return p
}

// pick returns the index for a uniform draw u in 0 to total-1.
func (p *picker) pick(u uint64) int {
	for i, c := range p.cum {
		if u < c {
			return i
		}
	}
	return len(p.cum) - 1
}
