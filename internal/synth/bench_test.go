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
	"context"
	"testing"
	"time"
)

// copySink copies what it is given into a fixed buffer, as a fast destination would, so the
// floor below pays for moving the bytes and nothing else.
type copySink struct{ buf []byte }

func (s *copySink) Write(p []byte) (int, error) {
	for len(p) > 0 {
		n := copy(s.buf, p)
		p = p[n:]
	}
	return len(p), nil
}

// BenchmarkGenerate measures rows per second for each dataset against a floor measured in the
// same run: writing the same bytes, already made, in chunks of the generator's buffer size to
// the same destination. "of-floor" is the generator's speed as a share of the floor's.
func BenchmarkGenerate(b *testing.B) {
	const rows = 20_000
	for _, d := range Datasets() {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			o := Options{Dataset: d, Rows: rows, Seed: 1}
			made := generate(b, o)
			sink := &copySink{buf: make([]byte, bufferSize)}
			b.SetBytes(int64(len(made)))
			b.ReportAllocs()
			for b.Loop() {
				if err := Generate(ctx, sink, o); err != nil {
					b.Fatal(err)
				}
			}
			perRun := b.Elapsed().Seconds() / float64(b.N)

			start := time.Now()
			for range b.N {
				for rest := made; len(rest) > 0; {
					n := min(len(rest), flushAt)
					if _, err := sink.Write(rest[:n]); err != nil {
						b.Fatal(err)
					}
					rest = rest[n:]
				}
			}
			floorPerRun := time.Since(start).Seconds() / float64(b.N)

			b.ReportMetric(rows/perRun, "rows/s")
			b.ReportMetric(floorPerRun/perRun, "of-floor")
		})
	}
}
