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

package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"
)

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// storedLine is the line, with its newline, that a log stores for in as its first entry.
func storedLine(b *testing.B, in EntryInput) []byte {
	b.Helper()
	probe, err := Open(context.Background(), NewMemStore(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	e, err := probe.Append(context.Background(), in)
	if err != nil {
		b.Fatal(err)
	}
	line, _ := e.MarshalJSON()
	return append(line, '\n')
}

// BenchmarkAppend measures Append latency (p50, p99) on each store, against a baseline of a bare
// Put of an object of the same size to the same kind of store, measured in the same run.
func BenchmarkAppend(b *testing.B) {
	stores := map[string]func(b *testing.B) Store{
		"mem": func(*testing.B) Store { return NewMemStore() },
		"dir": func(b *testing.B) Store { return NewDirStore(filepath.Join(b.TempDir(), "audit")) },
	}
	for _, name := range []string{"mem", "dir"} {
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			in := sampleInput(3)
			payload := storedLine(b, in)

			b.StopTimer()
			base := stores[name](b)
			puts := make([]time.Duration, b.N)
			for i := range b.N {
				start := time.Now()
				if err := base.Put(ctx, TailName(int64(i+1)), payload); err != nil {
					b.Fatal(err)
				}
				puts[i] = time.Since(start)
			}

			l, err := Open(ctx, stores[name](b), Options{})
			if err != nil {
				b.Fatal(err)
			}
			appends := make([]time.Duration, b.N)
			b.StartTimer()
			for i := range b.N {
				in.IdempotencyKey = fmt.Sprint("k", i)
				start := time.Now()
				if _, err := l.Append(ctx, in); err != nil {
					b.Fatal(err)
				}
				appends[i] = time.Since(start)
			}
			b.StopTimer()
			p50, p99 := percentile(appends, 0.50), percentile(appends, 0.99)
			b50 := percentile(puts, 0.50)
			b.ReportMetric(float64(p50.Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(p99.Nanoseconds()), "p99-ns")
			b.ReportMetric(float64(b50.Nanoseconds()), "put-p50-ns")
			if b50 > 0 {
				b.ReportMetric(float64(p50)/float64(b50), "p50/put")
				b.ReportMetric(float64(p99)/float64(b50), "p99/put")
			}
		})
	}
}

// BenchmarkConcurrentAppends measures how many entries a second 32 writers append together to a
// durable directory store, against a baseline measured in the same run: the same number of
// entries written one store write each, one after another, as the log wrote them before it
// grouped concurrent appends into one tail object.
func BenchmarkConcurrentAppends(b *testing.B) {
	const writers, each = 32, 20
	ctx := context.Background()
	in := sampleInput(3)
	payload := storedLine(b, in)
	var grouped, single time.Duration
	for b.Loop() {
		b.StopTimer()
		base := NewDirStore(filepath.Join(b.TempDir(), "base"))
		start := time.Now()
		for i := range writers * each {
			if err := base.Put(ctx, TailName(int64(i+1)), payload); err != nil {
				b.Fatal(err)
			}
		}
		single += time.Since(start)
		s := NewDirStore(filepath.Join(b.TempDir(), "log"))
		l, err := Open(ctx, s, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start = time.Now()
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				for i := range each {
					x := in
					x.IdempotencyKey = fmt.Sprintf("w%d/%d", w, i)
					if _, err := l.Append(ctx, x); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		grouped += time.Since(start)
		b.StopTimer()
		if res, err := VerifyStore(ctx, s); err != nil || res.Entries != writers*each || res.FirstBroken != 0 {
			b.Fatalf("verify: %+v, %v", res, err)
		}
		b.StartTimer()
	}
	n := float64(writers * each * b.N)
	b.ReportMetric(n/grouped.Seconds(), "appends/s")
	b.ReportMetric(n/single.Seconds(), "single-puts/s")
	b.ReportMetric(single.Seconds()/grouped.Seconds(), "x-single")
}

var verifyData struct {
	once sync.Once
	data []byte
	err  error
}

// BenchmarkVerify100k measures Verify over 100,000 entries against a baseline of SHA-256 over
// the same bytes, measured in the same run. The goal is under one second.
func BenchmarkVerify100k(b *testing.B) {
	const n = 100_000
	verifyData.once.Do(func() {
		ctx := context.Background()
		l, err := Open(ctx, NewMemStore(), Options{SegmentSize: 1 << 30, CheckpointEvery: 1 << 30, Now: stepClock()})
		if err != nil {
			verifyData.err = err
			return
		}
		var buf bytes.Buffer
		for i := range n {
			e, err := l.Append(ctx, sampleInput(i))
			if err != nil {
				verifyData.err = err
				return
			}
			line, _ := e.MarshalJSON()
			buf.Write(line)
			buf.WriteByte('\n')
		}
		verifyData.data = buf.Bytes()
	})
	if verifyData.err != nil {
		b.Fatal(verifyData.err)
	}
	data := verifyData.data
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	var hashTime, verifyTime time.Duration
	for range b.N {
		start := time.Now()
		sum := sha256.Sum256(data)
		hashTime += time.Since(start)
		_ = sum

		start = time.Now()
		res, err := Verify(bytes.NewReader(data), VerifyOptions{})
		verifyTime += time.Since(start)
		if err != nil || !res.OK || res.Entries != n {
			b.Fatalf("Verify = %+v, %v", res, err)
		}
	}
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(b.N) }
	b.ReportMetric(per(verifyTime), "verify-ms")
	b.ReportMetric(per(hashTime), "sha256-ms")
	b.ReportMetric(float64(verifyTime)/float64(hashTime), "verify/sha256")
	b.ReportMetric(float64(len(data))/n, "bytes/entry")
}
