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
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"slices"
	"testing"
	"time"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
	"github.com/fivesafes/fivesafes/internal/sdc"
)

// benchCSV builds a long-form count table of about size bytes: label columns, a count column and
// a rate, as a typical aggregate output.
func benchCSV(size int) []byte {
	var b bytes.Buffer
	b.WriteString("region,age_band,sex,year,n,rate_per_1000\n")
	regions := []string{"North East", "North West", "Yorkshire", "East Midlands", "West Midlands", "East", "London", "South East", "South West"}
	bands := []string{"0-17", "18-39", "40-59", "60-79", "80+"}
	for i := 0; b.Len() < size; i++ {
		fmt.Fprintf(&b, "%s,%s,%c,%d,%d,%d.%02d\n", regions[i%len(regions)], bands[i/9%len(bands)], "FM"[i%2],
			2015+i%10, 10+i%9973, i%1000, i%100)
	}
	return b.Bytes()
}

// hashOnly is the baseline: reading the bytes and hashing them, which any check must do.
func hashOnly(data []byte) {
	h := sha256.New()
	if _, err := io.Copy(h, bytes.NewReader(data)); err != nil {
		panic(err)
	}
	h.Sum(nil)
}

// BenchmarkAnalyseCSV analyses 1 MB and 10 MB tables and reports the time per analysis as a
// multiple of reading and hashing the same bytes, measured in the same run. The goal is 10 MB in
// under 300 ms.
func BenchmarkAnalyseCSV(b *testing.B) {
	for _, size := range []int{1 << 20, 10 << 20} {
		data := benchCSV(size)
		b.Run(fmt.Sprintf("%dMB", size>>20), func(b *testing.B) {
			const baselineRuns = 5
			start := time.Now()
			for range baselineRuns {
				hashOnly(data)
			}
			baseline := time.Since(start) / baselineRuns

			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				r, err := Analyse(context.Background(), "t.csv", bytes.NewReader(data), Options{})
				if err != nil || !r.Counts.Identified || !r.Complete {
					b.Fatalf("analysis failed: %v %+v", err, r.Counts)
				}
			}
			perOp := b.Elapsed() / time.Duration(b.N)
			b.ReportMetric(float64(perOp)/float64(baseline), "x-sha256")
			b.ReportMetric(float64(perOp.Microseconds())/1000, "ms/analysis")
		})
	}
}

// BenchmarkPolicy measures one evaluation of the egress policy as Check makes it (the input built
// as a Rego value, the policy evaluated from its plan, the decision read back) against the same
// engine's floor, a policy that allows everything given the same input the same way, in the same
// run: on a typical request of five files (two tables, one with a small cell, a figure, a PDF with
// JavaScript and a note) and on a request for every file of the hostile corpus (over thirty files,
// most with findings). It reports p50 and p99 of both and their ratios; the goal is a p99 under
// 1 ms. After that it measures, as many times, the same evaluation with the policy evaluated by
// OPA's topdown evaluator, and reports its p50 and p99 and the ratios to it.
func BenchmarkPolicy(b *testing.B) {
	entries, err := os.ReadDir("testdata/hostile")
	if err != nil {
		b.Fatal(err)
	}
	var corpus []string
	for _, e := range entries {
		corpus = append(corpus, e.Name())
	}
	typical := []string{"control-table.csv", "small-cells.csv", "control-figure.png", "pdf-javascript.pdf", "control-invalid-nhs-number.txt"}
	for _, set := range []struct {
		name  string
		files []string
	}{{"5files", typical}, {"corpus", corpus}} {
		b.Run(set.name, func(b *testing.B) { benchmarkPolicy(b, set.files) })
	}
}

func benchmarkPolicy(b *testing.B, names []string) {
	ctx := context.Background()
	var files []fivesafesv1alpha1.OutputFile
	reports := map[string]FileReport{}
	for _, name := range names {
		p := "tables/" + name
		files = append(files, fivesafesv1alpha1.OutputFile{Path: p, Kind: kindOf(name), Description: "d"})
		reports[p] = analyse(b, p, string(readCorpus(b, name)), Options{})
	}
	input := NewPolicyInput(sdc.DefaultRules(), files, reports)
	egressEngine := egressEngine(b)
	const allowQuery = "data.baseline.allow"
	bundle, err := policy.NewBundle(map[string]string{"baseline.rego": "package baseline\n\nallow := true\n"})
	if err != nil {
		b.Fatal(err)
	}
	baselineEngine, err := policy.NewEngine(ctx, bundle, allowQuery)
	if err != nil {
		b.Fatal(err)
	}
	var egress, baseline []time.Duration
	for b.Loop() {
		start := time.Now()
		if _, _, err := evaluatePolicy(ctx, egressEngine, input); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := baselineEngine.EvalValue(ctx, allowQuery, input.Value()); err != nil {
			b.Fatal(err)
		}
		egress = append(egress, mid.Sub(start))
		baseline = append(baseline, time.Since(mid))
	}
	// Topdown runs on its own, so that its garbage does not slow the loop above.
	td := topdownEngine(b)
	topdown := make([]time.Duration, 0, len(egress))
	for range len(egress) {
		start := time.Now()
		if _, _, err := evaluatePolicy(ctx, td, input); err != nil {
			b.Fatal(err)
		}
		topdown = append(topdown, time.Since(start))
	}
	e50, e99 := percentiles(egress)
	b50, b99 := percentiles(baseline)
	t50, t99 := percentiles(topdown)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(e50), "p50-µs")
	b.ReportMetric(us(e99), "p99-µs")
	b.ReportMetric(us(b50), "allow-p50-µs")
	b.ReportMetric(us(b99), "allow-p99-µs")
	b.ReportMetric(float64(e50)/float64(b50), "p50-x-allow")
	b.ReportMetric(float64(e99)/float64(b99), "p99-x-allow")
	b.ReportMetric(us(t50), "topdown-p50-µs")
	b.ReportMetric(us(t99), "topdown-p99-µs")
	b.ReportMetric(float64(e50)/float64(t50), "p50-x-topdown")
	b.ReportMetric(float64(e99)/float64(t99), "p99-x-topdown")
}

// percentiles returns the 50th and 99th percentiles of ds.
func percentiles(ds []time.Duration) (time.Duration, time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p int) time.Duration { return s[min(len(s)-1, len(s)*p/100)] }
	return at(50), at(99)
}
