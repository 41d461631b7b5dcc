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

package optout

import (
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

func build(vals ...uint64) *Set {
	b := NewBuilder()
	for _, v := range vals {
		b.Add(v)
	}
	return b.Set()
}

func TestSetTable(t *testing.T) {
	tests := []struct {
		name  string
		vals  []uint64
		in    []uint64
		notIn []uint64
		len   int
	}{
		{"empty", nil, nil, []uint64{0, 1, 9434765919, MaxValue}, 0},
		{"one", []uint64{9434765919}, []uint64{9434765919}, []uint64{9434765918, 9434765920, 0, MaxValue}, 1},
		{"duplicates", []uint64{5, 5, 5, 7}, []uint64{5, 7}, []uint64{6, 4, 8}, 2},
		{"bounds", []uint64{0, MaxValue, 1 << 32, 1<<32 - 1, 1 << 16, 1<<16 - 1},
			[]uint64{0, MaxValue, 1 << 32, 1<<32 - 1, 1 << 16, 1<<16 - 1},
			[]uint64{1, MaxValue - 1, 1<<32 + 1, 1<<16 + 1, MaxValue + 1, 1 << 63, ^uint64(0)}, 6},
		{"same low bits, other buckets", []uint64{0x1_0000_0042, 0x2_0000_0042}, []uint64{0x1_0000_0042, 0x2_0000_0042},
			[]uint64{0x42, 0x1_0001_0042}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := build(tt.vals...)
			if s.Len() != tt.len {
				t.Errorf("Len = %d, want %d", s.Len(), tt.len)
			}
			for _, v := range tt.in {
				if !s.Contains(v) {
					t.Errorf("Contains(%d) = false", v)
				}
			}
			for _, v := range tt.notIn {
				if s.Contains(v) {
					t.Errorf("Contains(%d) = true", v)
				}
			}
		})
	}
}

func TestBuilderRefusesLargeValues(t *testing.T) {
	b := NewBuilder()
	if b.Add(MaxValue + 1) {
		t.Error("Add(MaxValue+1) = true")
	}
	if !b.Add(MaxValue) {
		t.Error("Add(MaxValue) = false")
	}
	s := b.Set()
	if s.Len() != 1 {
		t.Errorf("Len = %d, want 1", s.Len())
	}
	if b.Add(1) {
		t.Error("Add after Set = true")
	}
}

func TestNilSet(t *testing.T) {
	var s *Set
	if s.Contains(9434765919) || s.Len() != 0 || s.SizeBytes() != 0 {
		t.Error("nil Set is not empty")
	}
}

// TestSetLayouts checks both layouts against a map, and that the smaller one is chosen.
func TestSetLayouts(t *testing.T) {
	for _, n := range []int{1_000, 100_000, 400_000} {
		rng := rand.New(rand.NewPCG(uint64(n), 1))
		want := make(map[uint64]bool, n)
		b := NewBuilder()
		for range n {
			v := rng.Uint64N(MaxValue + 1)
			want[v] = true
			b.Add(v)
		}
		s := b.Set()
		if s.Len() != len(want) {
			t.Fatalf("n=%d: Len = %d, want %d", n, s.Len(), len(want))
		}
		for v := range want {
			if !s.Contains(v) {
				t.Fatalf("n=%d: Contains(%d) = false", n, v)
			}
		}
		for range n {
			v := rng.Uint64N(MaxValue + 1)
			if s.Contains(v) != want[v] {
				t.Fatalf("n=%d: Contains(%d) = %v", n, v, !want[v])
			}
		}
		dense := 2*len(want) + 4*(denseBuckets+1)
		sparse := 4*len(want) + 4*(sparseBuckets+1)
		if s.SizeBytes() != min(dense, sparse) {
			t.Errorf("n=%d: SizeBytes = %d, want the smaller of %d and %d", n, s.SizeBytes(), dense, sparse)
		}
	}
}

// TestSearchDense checks the guessing search on even, skewed and full buckets.
func TestSearchDense(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	buckets := map[string][]uint16{"empty": nil, "one": {7}, "ends": {0, 65535}}
	var low, high, full, even, clustered []uint16
	for k := range 1 << 16 {
		if k < 1<<15 {
			low = append(low, uint16(k))
		} else {
			high = append(high, uint16(k))
		}
		full = append(full, uint16(k))
		if rng.IntN(25) == 0 {
			even = append(even, uint16(k))
		}
		if k%4096 < 20 {
			clustered = append(clustered, uint16(k))
		}
	}
	buckets["lower half"], buckets["upper half"], buckets["full"], buckets["even"], buckets["clustered"] = low, high, full, even, clustered
	for name, bucket := range buckets {
		in := make(map[uint16]bool, len(bucket))
		for _, v := range bucket {
			in[v] = true
		}
		for k := range 1 << 16 {
			if got := searchDense(bucket, uint16(k)); got != in[uint16(k)] {
				t.Fatalf("%s: searchDense(%d) = %v", name, k, got)
			}
		}
	}
}

func FuzzSet(f *testing.F) {
	f.Add([]byte{}, uint64(0))
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, uint64(MaxValue))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}, uint64(1<<32))
	f.Fuzz(func(t *testing.T, data []byte, probe uint64) {
		want := map[uint64]bool{}
		b := NewBuilder()
		for len(data) >= 5 {
			v := (uint64(data[0])<<32 | uint64(data[1])<<24 | uint64(data[2])<<16 | uint64(data[3])<<8 | uint64(data[4])) % (MaxValue + 2)
			data = data[5:]
			if b.Add(v) {
				want[v] = true
			} else if v <= MaxValue {
				t.Fatalf("Add(%d) refused", v)
			}
		}
		s := b.Set()
		if s.Len() != len(want) {
			t.Fatalf("Len = %d, want %d", s.Len(), len(want))
		}
		for v := range want {
			if !s.Contains(v) {
				t.Fatalf("Contains(%d) = false", v)
			}
			for _, d := range []uint64{v - 1, v + 1, v ^ (1 << 16), v ^ (1 << 32)} {
				if s.Contains(d) != want[d] {
					t.Fatalf("Contains(%d) = %v", d, !want[d])
				}
			}
		}
		if s.Contains(probe) != want[probe] {
			t.Fatalf("Contains(%d) = %v", probe, !want[probe])
		}
	})
}

// BenchmarkContains compares lookups in a Set with a Go map holding the same numbers, both
// timed in the same run, and reports the memory each takes per number.
func BenchmarkContains(b *testing.B) {
	const n = 3_500_000 // About the size of the national data opt-out list.
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]uint64, n)
	for i := range vals {
		vals[i] = rng.Uint64N(MaxValue + 1)
	}
	probes := make([]uint64, 1<<16)
	for i := range probes {
		if i%2 == 0 {
			probes[i] = vals[rng.IntN(n)]
		} else {
			probes[i] = rng.Uint64N(MaxValue + 1)
		}
	}
	setBytes, set := measure(func() any {
		bl := NewBuilder()
		for _, v := range vals {
			bl.Add(v)
		}
		return bl.Set()
	})
	mapBytes, m := measure(func() any {
		m := make(map[uint64]struct{})
		for _, v := range vals {
			m[v] = struct{}{}
		}
		return m
	})
	s, mp := set.(*Set), m.(map[uint64]struct{})
	var setNS, mapNS float64
	hits := 0
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		// Alternate the two so that both see the same machine load.
		start := time.Now()
		for _, p := range probes {
			if s.Contains(p) {
				hits++
			}
		}
		setNS += float64(time.Since(start))
		start = time.Now()
		for _, p := range probes {
			if _, ok := mp[p]; ok {
				hits--
			}
		}
		mapNS += float64(time.Since(start))
	}
	if hits != 0 {
		b.Fatalf("set and map disagree on %d lookups", hits)
	}
	lookups := float64(b.N * len(probes))
	b.ReportMetric(setNS/lookups, "set-ns/lookup")
	b.ReportMetric(mapNS/lookups, "map-ns/lookup")
	b.ReportMetric(setNS/mapNS, "set/map-time")
	b.ReportMetric(float64(setBytes)/float64(s.Len()), "set-B/number")
	b.ReportMetric(float64(mapBytes)/float64(len(mp)), "map-B/number")
	b.ReportMetric(float64(s.SizeBytes())/float64(s.Len()), "set-table-B/number")
}

// measure returns the heap the value made by f keeps alive.
func measure(f func() any) (uint64, any) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := f()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	return after.HeapAlloc - before.HeapAlloc, v
}

// BenchmarkBuild builds a set of 20 million numbers, the size of a national snapshot, and reports
// the bytes per number it holds.
func BenchmarkBuild(b *testing.B) {
	const n = 20_000_000
	for b.Loop() {
		rng := rand.New(rand.NewPCG(3, 4))
		bl := NewBuilder()
		for range n {
			bl.Add(rng.Uint64N(MaxValue + 1))
		}
		s := bl.Set()
		b.ReportMetric(float64(s.SizeBytes())/float64(s.Len()), "B/number")
	}
}
