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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

func share(f float64) *float64 { return &f }

func generate(t testing.TB, o Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(context.Background(), &buf, o); err != nil {
		t.Fatalf("Generate(%+v): %v", o, err)
	}
	return buf.Bytes()
}

// records parses generated output strictly: RFC 4180, every record with the header's fields.
func records(t testing.TB, data []byte) (header []string, rows [][]string) {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(data))
	r.ReuseRecord = false
	all, err := r.ReadAll()
	if err != nil {
		t.Fatalf("output is not valid CSV: %v", err)
	}
	if len(all) == 0 {
		t.Fatal("output has no header")
	}
	return all[0], all[1:]
}

func TestColumns(t *testing.T) {
	want := map[string]string{
		HESAPC:  "nhs_number,date_of_birth,sex,admission_date,discharge_date,primary_diagnosis,procedure,lsoa,provider_code",
		ASCCLD:  "nhs_number,local_client_id,date_of_birth,gender,service_type,start_date,end_date,cost_band,local_authority",
		OptOuts: "nhs_number",
	}
	if got := Datasets(); !slices.Equal(got, []string{HESAPC, ASCCLD, OptOuts}) {
		t.Fatalf("Datasets() = %v", got)
	}
	for _, d := range Datasets() {
		cols, err := Columns(d)
		if err != nil {
			t.Fatalf("Columns(%s): %v", d, err)
		}
		if got := strings.Join(cols, ","); got != want[d] {
			t.Errorf("Columns(%s) = %s, want %s", d, got, want[d])
		}
		schema, _ := Schema(d)
		ids := 0
		for _, c := range schema {
			if c.Description == "" || c.Type == "" {
				t.Errorf("%s column %s lacks a type or description", d, c.Name)
			}
			if c.Identifier == fivesafesv1alpha1.IdentifierNHSNumber {
				ids++
			}
		}
		if ids != 1 || schema[0].Identifier != fivesafesv1alpha1.IdentifierNHSNumber {
			t.Errorf("%s: want nhs_number, first, as the one NHS number column", d)
		}
	}
	if _, err := Columns("hes-op"); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("Columns of an unknown dataset: %v, want ErrInvalidOptions", err)
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	for _, d := range Datasets() {
		t.Run(d, func(t *testing.T) {
			o := Options{Dataset: d, Rows: 5000, Seed: 11}
			a, b := generate(t, o), generate(t, o)
			if !bytes.Equal(a, b) {
				t.Fatal("two runs with the same options differ")
			}
			o.Seed = 12
			if c := generate(t, o); bytes.Equal(a, c) {
				t.Fatal("two seeds give the same output")
			}
			// With the population fixed, a longer run starts with the shorter one: rows do not
			// depend on how many follow.
			o = Options{Dataset: d, Rows: 5000, Seed: 11, Population: 500_000}
			short := generate(t, o)
			o.Rows = 6000
			if long := generate(t, o); !bytes.HasPrefix(long, short) {
				t.Fatal("a longer run does not start with the shorter one")
			}
		})
	}
}

// TestGenerateOutputIsPinned pins the output of fixed options, so samples and documents that
// quote generated data stay true, and a platform or toolchain that changed the output would be
// caught. A deliberate change to the generators updates these digests.
func TestGenerateOutputIsPinned(t *testing.T) {
	want := map[string]string{
		HESAPC:  "f9d4abf62e94b63424f4230ba20d97b77440d84a5ee43df042e5c7979dc02af1",
		ASCCLD:  "698ef5024f94b8d5c5e760b99443041d43aecd388edc6d24f5de09ed6e32877a",
		OptOuts: "212b0b5b4830e95f8cf71ebbebf17da8918efbbead536ca1df960022781b622e",
	}
	for _, d := range Datasets() {
		got := fmt.Sprintf("%x", sha256.Sum256(generate(t, Options{Dataset: d, Rows: 1000, Seed: 1})))
		if got != want[d] {
			t.Errorf("%s with 1000 rows and seed 1 has sha256 %s, want %s", d, got, want[d])
		}
	}
}

func TestGenerateRowsZeroGivesHeader(t *testing.T) {
	for _, d := range Datasets() {
		cols, _ := Columns(d)
		got := generate(t, Options{Dataset: d, Seed: 1})
		if want := strings.Join(cols, ",") + "\n"; string(got) != want {
			t.Errorf("%s with no rows wrote %q, want %q", d, got, want)
		}
	}
}

var (
	icd10   = regexp.MustCompile(`^[A-Z][0-9]{2}(\.[0-9])?$`)
	opcs4   = regexp.MustCompile(`^([A-Z][0-9]{2}\.[0-9])?$`)
	lsoa    = regexp.MustCompile(`^E01[0-9]{6}$`)
	trust   = regexp.MustCompile(`^R[0-9A-Z]{2}$`)
	onsArea = regexp.MustCompile(`^E(06|08|09|10)[0-9]{6}$`)
	client  = regexp.MustCompile(`^[0-9]{8}$`)
)

func date(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		t.Fatalf("%q is not an ISO date: %v", s, err)
	}
	return d
}

// identity is what every row of one person must agree on.
type identity struct{ dob, sex string }

func TestHESAPCRows(t *testing.T) {
	const rows = 20_000
	header, recs := records(t, generate(t, Options{Dataset: HESAPC, Rows: rows, Seed: 5}))
	if want, _ := Columns(HESAPC); !slices.Equal(header, want) {
		t.Fatalf("header = %v", header)
	}
	if len(recs) != rows {
		t.Fatalf("%d rows, want %d", len(recs), rows)
	}
	people := map[string]identity{}
	episodes := 0
	withProcedure := 0
	for _, r := range recs {
		dob, adm, dis := date(t, r[1]), date(t, r[3]), date(t, r[4])
		if dis.Before(adm) || adm.Before(dob) {
			t.Fatalf("dates out of order: birth %s, admission %s, discharge %s", r[1], r[3], r[4])
		}
		if adm.Before(date(t, "2018-04-01")) || dis.After(date(t, "2024-03-31")) {
			t.Fatalf("episode %s to %s outside the period", r[3], r[4])
		}
		if r[2] != "1" && r[2] != "2" && r[2] != "9" {
			t.Fatalf("sex %q", r[2])
		}
		if !icd10.MatchString(r[5]) || !opcs4.MatchString(r[6]) || !lsoa.MatchString(r[7]) || !trust.MatchString(r[8]) {
			t.Fatalf("bad code in %v", r[5:])
		}
		if r[6] != "" {
			withProcedure++
		}
		n, err := nhsnumber.Parse(r[0])
		if err != nil {
			t.Fatalf("hes-apc has an invalid NHS number by default: %v", err)
		}
		id := identity{r[1], r[2]}
		if prev, ok := people[n.String()]; ok {
			episodes++
			if prev != id {
				t.Fatal("one NHS number with two dates of birth or sexes")
			}
		}
		people[n.String()] = id
	}
	if episodes < rows/2 {
		t.Fatalf("only %d rows are a repeat episode of someone", episodes)
	}
	if withProcedure < rows/5 || withProcedure > rows*4/5 {
		t.Fatalf("%d of %d episodes have a procedure", withProcedure, rows)
	}
}

func TestASCCLDRows(t *testing.T) {
	const rows = 20_000
	header, recs := records(t, generate(t, Options{Dataset: ASCCLD, Rows: rows, Seed: 5}))
	if want, _ := Columns(ASCCLD); !slices.Equal(header, want) {
		t.Fatalf("header = %v", header)
	}
	if len(recs) != rows {
		t.Fatalf("%d rows, want %d", len(recs), rows)
	}
	ongoing := 0
	clients := map[string]identity{}
	for _, r := range recs {
		dob, start := date(t, r[2]), date(t, r[5])
		if start.Before(dob.AddDate(18, 0, 0)) {
			t.Fatalf("service starting %s for someone born %s, under 18", r[5], r[2])
		}
		if start.Before(date(t, "2018-04-01")) || start.After(date(t, "2024-03-31")) {
			t.Fatalf("service starting %s outside the period", r[5])
		}
		if r[6] == "" {
			ongoing++
		} else if end := date(t, r[6]); end.Before(start) || end.After(date(t, "2024-03-31")) {
			t.Fatalf("service from %s ends %s", r[5], r[6])
		}
		if !slices.Contains([]string{"Male", "Female", "Unknown"}, r[3]) {
			t.Fatalf("gender %q", r[3])
		}
		if !slices.Contains(costBands[:], r[7]) || !onsArea.MatchString(r[8]) || !client.MatchString(r[1]) {
			t.Fatalf("bad code in %v", r)
		}
		if !strings.Contains(r[4], "Support: ") {
			t.Fatalf("service type %q", r[4])
		}
		// The local client identifier is the person; every row of theirs agrees.
		id := identity{r[2], r[3]}
		if prev, ok := clients[r[1]]; ok && prev != id {
			t.Fatal("one client identifier with two dates of birth or genders")
		}
		clients[r[1]] = id
	}
	if ongoing < rows/10 || ongoing > rows*9/10 {
		t.Fatalf("%d of %d services are ongoing", ongoing, rows)
	}
}

func TestInvalidNHSShare(t *testing.T) {
	const rows = 20_000
	tests := []struct {
		dataset string
		share   *float64
		want    float64
	}{
		{HESAPC, nil, 0},
		{HESAPC, share(0.1), 0.1},
		{ASCCLD, nil, DefaultASCInvalidNHSShare},
		{ASCCLD, share(0), 0},
		{ASCCLD, share(0.3), 0.3},
		{ASCCLD, share(1), 1},
		{OptOuts, nil, 0},
		{OptOuts, share(0), 0},
	}
	for _, tt := range tests {
		name := tt.dataset + "/default"
		if tt.share != nil {
			name = fmt.Sprintf("%s/%v", tt.dataset, *tt.share)
		}
		t.Run(name, func(t *testing.T) {
			_, recs := records(t, generate(t, Options{Dataset: tt.dataset, Rows: rows, Seed: 3, InvalidNHSShare: tt.share}))
			invalid, blank, spaced := 0, 0, 0
			for _, r := range recs {
				if _, err := nhsnumber.Parse(r[0]); err != nil {
					invalid++
					if r[0] == "" {
						blank++
					}
				} else if strings.Contains(r[0], " ") {
					spaced++
				}
			}
			got := float64(invalid) / rows
			tol := 5 * math.Sqrt(tt.want*(1-tt.want)/rows)
			if math.Abs(got-tt.want) > tol {
				t.Fatalf("invalid share %.4f, want %.4f ± %.4f", got, tt.want, tol)
			}
			if tt.want > 0 && tt.want < 1 && (blank == 0 || blank == invalid) {
				t.Fatalf("%d of %d invalid numbers are blank, want some but not all", blank, invalid)
			}
			if tt.dataset == ASCCLD && tt.want < 1 && spaced == 0 {
				t.Fatal("no valid number written with spaces, as local submissions have")
			}
			if tt.dataset != ASCCLD && spaced > 0 {
				t.Fatalf("%s has %d numbers written with spaces", tt.dataset, spaced)
			}
		})
	}
}

// validNumbers returns the valid NHS numbers of the first column, each with the fields that
// must agree for one person: date of birth and sex or gender (as 1 and 2, or 9 for unknown).
func validNumbers(t *testing.T, recs [][]string, dobCol, sexCol int) map[nhsnumber.Number]identity {
	t.Helper()
	sexCode := map[string]string{"1": "1", "2": "2", "9": "9", "Male": "1", "Female": "2", "Unknown": "9"}
	out := map[nhsnumber.Number]identity{}
	for _, r := range recs {
		if n, err := nhsnumber.Parse(r[0]); err == nil {
			out[n] = identity{r[dobCol], sexCode[r[sexCol]]}
		}
	}
	return out
}

func TestDatasetsOverlap(t *testing.T) {
	_, hes := records(t, generate(t, Options{Dataset: HESAPC, Rows: 30_000, Seed: 8}))
	_, asc := records(t, generate(t, Options{Dataset: ASCCLD, Rows: 10_000, Seed: 8}))
	hesPeople := validNumbers(t, hes, 1, 2)
	ascPeople := validNumbers(t, asc, 2, 3)
	linked := 0
	for n, id := range ascPeople {
		if other, ok := hesPeople[n]; ok {
			linked++
			if other != id {
				t.Fatal("a person linked by NHS number has a different date of birth or sex in the two datasets")
			}
		}
	}
	got := float64(linked) / float64(len(ascPeople))
	t.Logf("%d of %d social-care clients (%.2f) have hospital episodes", linked, len(ascPeople), got)
	if got < 0.3 || got == 1 {
		t.Fatalf("%.2f of %d social-care clients have hospital episodes, want a large share but not all", got, len(ascPeople))
	}
	// A different seed is a different population: almost no one links.
	_, other := records(t, generate(t, Options{Dataset: ASCCLD, Rows: 10_000, Seed: 9}))
	linked = 0
	for n := range validNumbers(t, other, 2, 3) {
		if _, ok := hesPeople[n]; ok {
			linked++
		}
	}
	if linked > len(ascPeople)/10 {
		t.Fatalf("%d clients of another seed's population link to this one", linked)
	}
}

func TestOptOuts(t *testing.T) {
	const seed = 4
	pop := NewPopulation(seed)
	_, list := records(t, generate(t, Options{Dataset: OptOuts, Rows: 2000, Seed: seed}))
	if len(list) != 2000 {
		t.Fatalf("%d opt-outs, want 2000", len(list))
	}
	last := int64(-1)
	seen := map[string]bool{}
	for _, r := range list {
		n, err := nhsnumber.Parse(r[0])
		if err != nil || n.String() != r[0] {
			t.Fatalf("opt-out list holds an invalid or unnormalised number: %v", err)
		}
		i, ok := pop.Index(n)
		if !ok || !OptedOut(seed, i) {
			t.Fatal("opt-out list holds someone outside the population or who did not opt out")
		}
		if i <= last || seen[r[0]] {
			t.Fatal("opt-out list is not in index order without repeats")
		}
		last, seen[r[0]] = i, true
	}
	// The list covers everyone below the last index listed who opted out.
	for i := range last {
		if OptedOut(seed, i) && !seen[pop.NHSNumber(i).String()] {
			t.Fatalf("person %d opted out but is not listed", i)
		}
	}
}

// TestOptOutsRemoveRowsFromBothDatasets counts the rows of each dataset that belong to people who
// opted out in two independent ways: through Population.Index and OptedOut, and by looking the
// numbers up in a generated opt-out list that covers the population.
func TestOptOutsRemoveRowsFromBothDatasets(t *testing.T) {
	const seed, population = 21, 20_000
	pop := NewPopulation(seed)
	var listed int64
	for i := range int64(population) {
		if OptedOut(seed, i) {
			listed++
		}
	}
	if got := OptedOutBelow(seed, population); got != listed {
		t.Fatalf("OptedOutBelow = %d, counted %d", got, listed)
	}
	_, list := records(t, generate(t, Options{Dataset: OptOuts, Rows: listed, Seed: seed, Population: population}))
	optedOut := map[nhsnumber.Number]bool{}
	for _, r := range list {
		n, _ := nhsnumber.Parse(r[0])
		optedOut[n] = true
	}
	for _, d := range []string{HESAPC, ASCCLD} {
		_, recs := records(t, generate(t, Options{Dataset: d, Rows: 30_000, Seed: seed, Population: population}))
		byIndex, byList := 0, 0
		for _, r := range recs {
			n, err := nhsnumber.Parse(r[0])
			if err != nil {
				continue
			}
			if optedOut[n] {
				byList++
			}
			if i, ok := pop.Index(n); !ok || i >= population {
				t.Fatalf("%s has a valid number outside the population", d)
			} else if OptedOut(seed, i) {
				byIndex++
			}
		}
		if byIndex != byList {
			t.Fatalf("%s: %d rows of people who opted out by index, %d by list", d, byIndex, byList)
		}
		if share := float64(byList) / float64(len(recs)); share < 0.01 || share > 0.06 {
			t.Fatalf("%s: %.3f of rows belong to people who opted out, want about 0.03", d, share)
		}
	}
}

func TestGenerateRejectsInvalidOptions(t *testing.T) {
	// A seed whose first person is a child: a population of one has no adult.
	childSeed := int64(0)
	for {
		pop := NewPopulation(childSeed)
		if pop.person(0).band == 0 {
			break
		}
		childSeed++
	}
	tests := []struct {
		name string
		o    Options
		want string
	}{
		{"unknown dataset", Options{Dataset: "hes-op", Rows: 1}, "unknown dataset"},
		{"empty dataset", Options{Rows: 1}, "unknown dataset"},
		{"negative rows", Options{Dataset: HESAPC, Rows: -1}, "rows is -1"},
		{"negative population", Options{Dataset: HESAPC, Rows: 1, Population: -1}, "population is -1"},
		{"population too large", Options{Dataset: ASCCLD, Rows: 1, Population: MaxPopulation + 1}, "population is"},
		{"share below 0", Options{Dataset: ASCCLD, Rows: 1, InvalidNHSShare: share(-0.1)}, "share is -0.1"},
		{"share above 1", Options{Dataset: HESAPC, Rows: 1, InvalidNHSShare: share(1.5)}, "share is 1.5"},
		{"share NaN", Options{Dataset: HESAPC, Rows: 1, InvalidNHSShare: share(math.NaN())}, "share is NaN"},
		{"share for opt-outs", Options{Dataset: OptOuts, Rows: 1, InvalidNHSShare: share(0.1)}, "does not apply"},
		{"more opt-outs than people", Options{Dataset: OptOuts, Rows: 50, Population: 100}, "only"},
		{"no adult", Options{Dataset: ASCCLD, Rows: 1, Seed: childSeed, Population: 1}, "no adult"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Generate(context.Background(), &buf, tt.o)
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want ErrInvalidOptions mentioning %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Fatal("output written despite invalid options")
			}
		})
	}
}

func TestGenerateSmallPopulations(t *testing.T) {
	// One person still gives every row, and an adult-only dataset finds the adult.
	for _, d := range []string{HESAPC, ASCCLD} {
		for seed := range int64(20) {
			o := Options{Dataset: d, Rows: 50, Seed: seed, Population: 3, InvalidNHSShare: share(0)}
			_, recs := records(t, generate(t, o))
			people := map[string]bool{}
			for _, r := range recs {
				n, _ := nhsnumber.Parse(r[0])
				people[n.String()] = true
			}
			if len(recs) != 50 || len(people) > 3 {
				t.Fatalf("%s seed %d: %d rows from %d people", d, seed, len(recs), len(people))
			}
		}
	}
}

func TestGenerateStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Generate(ctx, io.Discard, Options{Dataset: HESAPC, Rows: 10, Seed: 1})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
}

type failingWriter struct{ after int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errDiskFull
	}
	w.after--
	return len(p), nil
}

func TestGenerateReportsWriteErrors(t *testing.T) {
	for _, after := range []int{0, 1, 3} {
		err := Generate(context.Background(), &failingWriter{after: after}, Options{Dataset: ASCCLD, Rows: 100_000, Seed: 1})
		if !errors.Is(err, errDiskFull) || !strings.Contains(err.Error(), ASCCLD) {
			t.Fatalf("after %d writes: error = %v, want the writer's error with context", after, err)
		}
	}
}

// TestGenerateMemoryIsBounded checks that allocations do not grow with the number of rows.
func TestGenerateMemoryIsBounded(t *testing.T) {
	allocs := func(rows int64) float64 {
		return testing.AllocsPerRun(2, func() {
			if err := Generate(context.Background(), io.Discard, Options{Dataset: ASCCLD, Rows: rows, Seed: 1}); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, large := allocs(1_000), allocs(200_000)
	if large > small {
		t.Fatalf("%v allocations for 200,000 rows, %v for 1,000: memory grows with rows", large, small)
	}
}

func FuzzGenerate(f *testing.F) {
	f.Add(int64(1), uint16(10), uint16(0), uint8(0), uint32(0))
	f.Add(int64(-1), uint16(300), uint16(65535), uint8(1), uint32(1))
	f.Add(int64(1<<62), uint16(0), uint16(100), uint8(2), uint32(5000))
	f.Add(int64(0), uint16(1000), uint16(32768), uint8(1), uint32(2))
	f.Fuzz(func(t *testing.T, seed int64, rows uint16, shareBits uint16, dataset uint8, population uint32) {
		d := Datasets()[int(dataset)%3]
		o := Options{Dataset: d, Rows: int64(rows % 2000), Seed: seed, Population: int64(population) % (MaxPopulation + 1)}
		if d != OptOuts {
			o.InvalidNHSShare = share(float64(shareBits) / 65535)
		}
		var buf bytes.Buffer
		if err := Generate(context.Background(), &buf, o); err != nil {
			if !errors.Is(err, ErrInvalidOptions) {
				t.Fatalf("unexpected error: %v", err)
			}
			return
		}
		header, recs := records(t, buf.Bytes())
		if want, _ := Columns(d); !slices.Equal(header, want) || int64(len(recs)) != o.Rows {
			t.Fatalf("header %v and %d rows, want %v and %d", header, len(recs), want, o.Rows)
		}
		pop := NewPopulation(seed)
		for _, r := range recs {
			if n, err := nhsnumber.Parse(r[0]); err == nil {
				if i, ok := pop.Index(n); !ok || (o.Population > 0 && i >= o.Population) {
					t.Fatal("a valid number outside the population")
				}
			}
		}
	})
}
