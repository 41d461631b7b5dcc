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

package extract

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"
	"time"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
	"github.com/fivesafes/fivesafes/internal/optout"
)

var hesSchema = []Column{
	{Name: "nhs_number", Identifier: fivesafesv1alpha1.IdentifierNHSNumber},
	{Name: "dob"}, {Name: "sex"}, {Name: "admidate"}, {Name: "disdate"}, {Name: "diag_01"},
	{Name: "diag_02"}, {Name: "opertn_01"}, {Name: "lsoa11"}, {Name: "procode3"},
}

var hesApproved = []string{"nhs_number", "dob", "sex", "admidate", "disdate", "diag_01", "diag_02", "opertn_01", "lsoa11"}

// newPeople returns n valid NHS numbers, drawn at random.
func newPeople(n int, seed uint64) []nhsnumber.Number {
	rng := rand.New(rand.NewPCG(seed, 7))
	people := make([]nhsnumber.Number, n)
	for i := range people {
		for {
			var d [9]byte
			for j := range d {
				d[j] = byte('0' + rng.IntN(10))
			}
			if c, ok := nhsnumber.CheckDigit(d); ok {
				copy(people[i][:], d[:])
				people[i][9] = c
				break
			}
		}
	}
	return people
}

// optOutsFor returns an opt-out set holding every twentieth person and others, size numbers in
// all (the national list holds about 3.5 million).
func optOutsFor(people []nhsnumber.Number, size int) *optout.Set {
	rng := rand.New(rand.NewPCG(9, 9))
	b := optout.NewBuilder()
	for i := 0; i < len(people); i += 20 {
		b.Add(people[i].Uint64())
		size--
	}
	for range size {
		b.Add(rng.Uint64N(optout.MaxValue + 1))
	}
	return b.Set()
}

// hesLike returns a CSV file of synthetic admitted-patient-care episodes of the people, with
// about 1% of NHS numbers mistyped (a wrong check digit).
func hesLike(people []nhsnumber.Number, rows int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 8))
	diags := []string{"C34.1", "I21.9", "J18.9", "K35.8", "E11.9", "N39.0", "R07.4", "S72.0", "F32.9", ""}
	ops := []string{"W37.1", "H01.1", "K40.1", "", "", "X40.3"}
	var b bytes.Buffer
	b.Grow(rows * 110)
	b.WriteString("nhs_number,dob,sex,admidate,disdate,diag_01,diag_02,opertn_01,lsoa11,procode3\n")
	for range rows {
		p := people[rng.IntN(len(people))]
		if rng.IntN(100) == 0 {
			p[9] = '0' + (p[9]-'0'+1)%10 // A bad check digit.
		}
		y, m, d := 1930+rng.IntN(90), 1+rng.IntN(12), 1+rng.IntN(28)
		am, ad, stay := 1+rng.IntN(12), 1+rng.IntN(20), rng.IntN(8)
		fmt.Fprintf(&b, "%s,%04d-%02d-%02d,%d,2024-%02d-%02d,2024-%02d-%02d,%s,%s,%s,E0%07d,R%02d\n",
			p[:], y, m, d, 1+rng.IntN(2), am, ad, am, ad+stay, diags[rng.IntN(len(diags))], diags[rng.IntN(len(diags))],
			ops[rng.IntN(len(ops))], rng.IntN(35000), rng.IntN(99))
	}
	return b.Bytes()
}

// floorStdCSV is the floor with encoding/csv: parse every record and HMAC its first field.
func floorStdCSV(in []byte, key []byte) (int, error) {
	r := csv.NewReader(bytes.NewReader(in))
	r.ReuseRecord = true
	m := hmac.New(sha256.New, key)
	var sum [32]byte
	var hx [64]byte
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		m.Reset()
		m.Write([]byte(rec[0]))
		hex.Encode(hx[:], m.Sum(sum[:0]))
		n++
	}
}

// floorReader is the floor with this package's Reader.
func floorReader(in []byte, key []byte) (int, error) {
	r := NewReader(bytes.NewReader(in))
	m := hmac.New(sha256.New, key)
	var sum [32]byte
	var hx [64]byte
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		m.Reset()
		m.Write(rec[0])
		hex.Encode(hx[:], m.Sum(sum[:0]))
		n++
	}
}

// BenchmarkTransform runs a million synthetic rows through Transform with a local HMAC
// pseudonymiser and a national-size opt-out set applied, and, in the same iterations, through the
// floor: CSV parse plus local HMAC of the NHS number in memory, with encoding/csv and with this
// package's Reader. The million rows are ten files of 100,000, and the three are interleaved file
// by file so that they see the same machine load. It reports each one's rows per second and
// Transform's throughput as a share of each floor's.
func BenchmarkTransform(b *testing.B) {
	const files, rows = 10, 100_000
	var in [files][]byte
	people := newPeople(rows*files/3, 1)
	for i := range in {
		in[i] = hesLike(people, rows, uint64(i+1))
	}
	set := optOutsFor(people, 3_500_000)
	l := newLocal(b)
	cfg := Config{Schema: hesSchema, Columns: hesApproved, Pseudonymiser: l, OptOuts: set}
	var tStd, tReader, tTransform time.Duration
	var total Counts
	for b.Loop() {
		for _, f := range in {
			start := time.Now()
			if n, err := floorStdCSV(f, testKey); err != nil || n != rows+1 {
				b.Fatalf("floor (encoding/csv): %d records, %v", n, err)
			}
			tStd += time.Since(start)
			start = time.Now()
			if n, err := floorReader(f, testKey); err != nil || n != rows+1 {
				b.Fatalf("floor (Reader): %d records, %v", n, err)
			}
			tReader += time.Since(start)
			start = time.Now()
			res, err := Transform(context.Background(), bytes.NewReader(f), io.Discard, cfg)
			if err != nil {
				b.Fatal(err)
			}
			tTransform += time.Since(start)
			total.Read += res.Counts.Read
			total.OptedOut += res.Counts.OptedOut
			total.InvalidIdentifier += res.Counts.InvalidIdentifier
		}
	}
	if total.Read != int64(b.N*files*rows) || total.OptedOut == 0 || total.InvalidIdentifier == 0 {
		b.Fatalf("unexpected counts %+v", total)
	}
	iters := float64(b.N)
	rate := func(d time.Duration) float64 { return files * rows * iters / d.Seconds() }
	b.ReportMetric(rate(tTransform), "transform-rows/s")
	b.ReportMetric(rate(tStd), "floor-stdcsv-rows/s")
	b.ReportMetric(rate(tReader), "floor-reader-rows/s")
	b.ReportMetric(tStd.Seconds()/tTransform.Seconds(), "transform/floor-stdcsv")
	b.ReportMetric(tReader.Seconds()/tTransform.Seconds(), "transform/floor-reader")
	b.ReportMetric(tTransform.Seconds()/iters, "transform-s/1M-rows")
}
