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

package extractjob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fivesafes/fivesafes/internal/extract"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
	"github.com/fivesafes/fivesafes/internal/optout"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
	"github.com/fivesafes/fivesafes/internal/stack"
	"github.com/fivesafes/fivesafes/internal/synth"
)

// Sizes of the end-to-end benchmark: a million hospital episodes of a third as many people, and
// the sample of rows sent to Vault one request each.
const (
	benchRows       = 1_000_000
	benchPopulation = benchRows / 3
	benchSeed       = 20261101
	perRowSample    = 2_000
	benchKeyName    = "bench-agreement"
)

// bench1M is the shared state of BenchmarkExtract1M: the source file in memory, its opt-out
// snapshot, and, started only by the sub-benchmarks that need them, the file in MinIO and a
// Vault dev server holding the agreement's transit key.
type bench1M struct {
	body      []byte
	valid     [][]byte // The first perRowSample valid NHS numbers of the file, normalised.
	snap      *optout.Snapshot
	schema    []extract.Column
	columns   []string
	floorPs   *pseudonym.Local
	c         *minio.Client
	uploaded  bool
	vault     *pseudonym.Vault
	key       pseudonym.Key
	vaultSrv  *stack.Vault
	vaultDir  string
	vaultOnce sync.Once
	vaultErr  error
}

func newBench1M(b *testing.B) *bench1M {
	b.Helper()
	ctx := context.Background()
	e := &bench1M{}
	var buf bytes.Buffer
	buf.Grow(benchRows * 100)
	if err := synth.Generate(ctx, &buf, synth.Options{Dataset: synth.HESAPC, Rows: benchRows, Seed: benchSeed, Population: benchPopulation}); err != nil {
		b.Fatal(err)
	}
	e.body = buf.Bytes()
	var list bytes.Buffer
	outs := synth.OptedOutBelow(benchSeed, benchPopulation)
	if err := synth.Generate(ctx, &list, synth.Options{Dataset: synth.OptOuts, Rows: outs, Seed: benchSeed, Population: benchPopulation}); err != nil {
		b.Fatal(err)
	}
	snap, err := optout.Parse(ctx, &list)
	if err != nil {
		b.Fatal(err)
	}
	if snap.Count != outs || snap.Count == 0 {
		b.Fatalf("the opt-out snapshot holds %d numbers, want %d", snap.Count, outs)
	}
	e.snap = snap
	cols, err := synth.Schema(synth.HESAPC)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range cols {
		e.schema = append(e.schema, extract.Column{Name: c.Name, Identifier: c.Identifier})
		e.columns = append(e.columns, c.Name)
	}
	r := extract.NewReader(bytes.NewReader(e.body))
	if _, err := r.Read(); err != nil {
		b.Fatal(err)
	}
	for len(e.valid) < perRowSample {
		rec, err := r.Read()
		if err != nil {
			b.Fatalf("reading the sample of NHS numbers: %v", err)
		}
		if n, err := nhsnumber.ParseBytes(rec[0]); err == nil {
			e.valid = append(e.valid, []byte(n.String()))
		}
	}
	if e.floorPs, err = pseudonym.NewLocal(testKey); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(e.close)
	return e
}

func (e *bench1M) close() {
	_ = e.floorPs.Close()
	if e.vaultSrv != nil {
		_ = e.vaultSrv.StopIfRunning()
	}
	if e.vaultDir != "" {
		_ = os.RemoveAll(e.vaultDir)
	}
}

// source puts the file into a source bucket of the shared MinIO server, once.
func (e *bench1M) source(b *testing.B) *minio.Client {
	b.Helper()
	if e.uploaded {
		return e.c
	}
	ctx := context.Background()
	e.c = s3(b)
	bucket(b, e.c, "bench1m-src", false)
	if _, err := e.c.PutObject(ctx, "bench1m-src", "hes-apc/part-a.csv", bytes.NewReader(e.body), int64(len(e.body)), minio.PutObjectOptions{
		ContentType: "text/csv; charset=utf-8",
	}); err != nil {
		b.Fatal(err)
	}
	e.uploaded = true
	return e.c
}

// bucket makes the bucket name unless it exists.
func bucket(b *testing.B, c *minio.Client, name string, versioned bool) {
	b.Helper()
	ctx := context.Background()
	ok, err := c.BucketExists(ctx, name)
	if err != nil {
		b.Fatal(err)
	}
	if !ok {
		if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	if versioned {
		if err := c.EnableVersioning(ctx, name); err != nil {
			b.Fatal(err)
		}
	}
}

// transitKey starts a Vault dev server, once, and makes the agreement's transit key in it.
func (e *bench1M) transitKey(b *testing.B) (*pseudonym.Vault, pseudonym.Key) {
	b.Helper()
	e.vaultOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if e.vaultDir, e.vaultErr = os.MkdirTemp("", "fivesafes-extractjob-vault-"); e.vaultErr != nil {
			return
		}
		if e.vaultSrv, e.vaultErr = stack.StartVault(ctx, stack.VaultOptions{LogPath: filepath.Join(e.vaultDir, "vault.log")}); e.vaultErr != nil {
			return
		}
		if e.vaultErr = stack.EnableTransit(ctx, e.vaultSrv); e.vaultErr != nil {
			return
		}
		c, err := stack.VaultClient(e.vaultSrv)
		if err != nil {
			e.vaultErr = err
			return
		}
		if e.vault, e.vaultErr = pseudonym.NewVault(c, ""); e.vaultErr != nil {
			return
		}
		e.key, e.vaultErr = e.vault.EnsureKey(ctx, benchKeyName)
	})
	if e.vaultErr != nil {
		b.Fatalf("starting vault: %v", e.vaultErr)
	}
	return e.vault, e.key
}

// floor is the least work any copy does: parse every record of the file in memory and compute
// the local HMAC of its first field. It returns the number of records.
func (e *bench1M) floor() (int, error) {
	r := extract.NewReader(bytes.NewReader(e.body))
	out := make([]byte, 0, pseudonym.Size)
	n := 0
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		if out, err = e.floorPs.Append(out[:0], rec[0]); err != nil {
			return n, err
		}
		n++
	}
}

// timeFloor runs the floor once and checks that it saw every row.
func (e *bench1M) timeFloor(b *testing.B) time.Duration {
	b.Helper()
	start := time.Now()
	n, err := e.floor()
	d := time.Since(start)
	if err != nil || n != benchRows+1 {
		b.Fatalf("floor: %d records, %v", n, err)
	}
	return d
}

// input describes a copy of the whole file into workspace, with opt-outs applied.
func (e *bench1M) input(b *testing.B, workspace, mode string, keyVersion int, ps extract.Pseudonymiser) Input {
	b.Helper()
	ctx := context.Background()
	src, err := ListSource(ctx, e.c, "bench1m-src", "hes-apc/")
	if err != nil {
		b.Fatal(err)
	}
	var previous string
	if m, err := ReadManifest(ctx, e.c, workspace, "hes-apc"); err != nil {
		b.Fatal(err)
	} else if m != nil {
		previous = m.ETag
	}
	return Input{
		Store: e.c, Previous: previous,
		Provenance: Provenance{
			Agreement: benchKeyName, Dataset: "hes-apc", Columns: e.columns,
			SchemaDigest: SchemaDigest(e.schema), PseudonymMode: mode, KeyVersion: int32(keyVersion),
			OptOuts:      OptOutRecord{Applied: true, List: "ndoo", SnapshotDate: "2026-11-01", Digest: e.snap.Digest},
			SourceBucket: src.Bucket, SourcePrefix: src.Prefix, SourceDigest: src.Digest,
		},
		Source: src, Bucket: workspace, RunID: NewRunID(time.Now()), Schema: e.schema,
		Pseudonymiser: ps, OptOuts: e.snap.Set,
	}
}

// checkCopy fails the benchmark unless the copy accounts for every row, found none malformed and
// dropped some opted-out people.
func checkCopy(b *testing.B, m Manifest) {
	b.Helper()
	r := m.Rows
	if r.Read != benchRows || r.Written+r.OptedOut != r.Read || r.Malformed != 0 || r.OptedOut == 0 {
		b.Fatalf("unexpected counts %+v", r)
	}
}

// report adds the metrics of a mode that made iters copies in total time d, against the floor's
// total time floor over the same iterations.
func report(b *testing.B, mode string, d, floor time.Duration, iters int) {
	b.Helper()
	rows := float64(benchRows) * float64(iters)
	b.ReportMetric(rows/d.Seconds(), mode+"-rows/s")
	b.ReportMetric(d.Seconds()/float64(iters)*1e6/benchRows, mode+"-s/1M-rows")
	b.ReportMetric(rows/floor.Seconds(), "floor-rows/s")
	b.ReportMetric(floor.Seconds()/d.Seconds(), mode+"/floor-throughput")
}

// BenchmarkExtract1M copies a million-row synthetic hes-apc file (all columns approved, the
// NHS number pseudonymised, a snapshot of the people who opted out applied) from MinIO to a
// versioned workspace bucket in MinIO with Run, as the extraction controller does:
//
//   - floor is the least work any copy does, CSV parse plus local HMAC of each NHS number in
//     memory;
//   - envelope unwraps the agreement's data key from Vault transit and computes HMACs locally;
//   - transit asks Vault transit for the HMACs, a batch per request.
//
// Each iteration of envelope and transit also runs the floor, so each mode's throughput is
// reported as a share of the floor's measured under the same load. Transit is also compared with
// one Vault request per row, timed on a sample of perRowSample rows and extrapolated per row.
// The floor and the sample run outside the timer, so ns/op times the copies alone (in envelope
// mode with the unwrapping of the data key).
func BenchmarkExtract1M(b *testing.B) {
	e := newBench1M(b)
	b.Run("floor", func(b *testing.B) {
		var d time.Duration
		for range b.N {
			d += e.timeFloor(b)
		}
		b.ReportMetric(float64(benchRows)*float64(b.N)/d.Seconds(), "floor-rows/s")
		b.ReportMetric(d.Seconds()/float64(b.N), "floor-s/1M-rows")
	})
	b.Run("envelope", func(b *testing.B) {
		c := e.source(b)
		v, key := e.transitKey(b)
		ctx := context.Background()
		wrapped, err := v.NewDataKey(ctx, benchKeyName, key.LatestVersion)
		if err != nil {
			b.Fatal(err)
		}
		sum := sha256.Sum256([]byte(wrapped.Ciphertext))
		bucket(b, c, "bench1m-envelope-ws", true)
		var d, floor time.Duration
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			floor += e.timeFloor(b)
			in := e.input(b, "bench1m-envelope-ws", "Envelope", wrapped.KeyVersion, nil)
			in.Provenance.DataKeyDigest = "sha256:" + hex.EncodeToString(sum[:])
			b.StartTimer()
			start := time.Now()
			l, err := v.Unwrap(ctx, benchKeyName, wrapped)
			if err != nil {
				b.Fatal(err)
			}
			in.Pseudonymiser = l
			m, err := Run(ctx, in)
			_ = l.Close()
			d += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			checkCopy(b, m)
		}
		report(b, "envelope", d, floor, b.N)
	})
	b.Run("transit", func(b *testing.B) {
		c := e.source(b)
		v, key := e.transitKey(b)
		ctx := context.Background()
		t, err := v.Transit(benchKeyName, key.LatestVersion)
		if err != nil {
			b.Fatal(err)
		}
		bucket(b, c, "bench1m-transit-ws", true)
		var d, floor time.Duration
		b.ResetTimer()
		for range b.N {
			b.StopTimer()
			floor += e.timeFloor(b)
			in := e.input(b, "bench1m-transit-ws", "Transit", key.LatestVersion, t)
			b.StartTimer()
			start := time.Now()
			m, err := Run(ctx, in)
			d += time.Since(start)
			if err != nil {
				b.Fatal(err)
			}
			checkCopy(b, m)
		}
		b.StopTimer()
		perRow := e.perRowCalls(b, t)
		report(b, "transit", d, floor, b.N)
		transitPerRow := d.Seconds() / float64(b.N) / benchRows
		b.ReportMetric(perRow.Seconds()/perRowSample*1e6, "one-call-per-row-s/1M-rows-est-from-2k")
		b.ReportMetric(perRow.Seconds()/perRowSample/transitPerRow, "transit-speedup-vs-one-call-per-row")
	})
}

// perRowCalls times sending each NHS number of the sample to Vault in a request of its own, as
// many requests at once as Run pseudonymises batches at once.
func (e *bench1M) perRowCalls(b *testing.B, t *pseudonym.Transit) time.Duration {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	next := make(chan []byte)
	errs := make(chan error, extract.DefaultConcurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for range extract.DefaultConcurrency {
		wg.Go(func() {
			for id := range next {
				out, err := t.Pseudonymise(ctx, [][]byte{id})
				if err == nil && len(out) != 1 {
					err = errors.New("transit hmac answered no pseudonym")
				}
				if err != nil {
					errs <- err
					cancel()
					return
				}
			}
		})
	}
feed:
	for _, id := range e.valid {
		select {
		case next <- id:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	d := time.Since(start)
	select {
	case err := <-errs:
		b.Fatalf("one call per row: %v", err)
	default:
	}
	return d
}
