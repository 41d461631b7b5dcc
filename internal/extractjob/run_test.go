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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"slices"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/extract"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
	"github.com/fivesafes/fivesafes/internal/optout"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
	"github.com/fivesafes/fivesafes/internal/stack"
	"github.com/fivesafes/fivesafes/internal/synth"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// A real MinIO server is started by the first test that needs one; pure tests and fuzz workers
// never start it, and the tests that need it fail, never skip, when it cannot start.
var shared = stack.SharedMinIO()

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

func s3(t testing.TB) *minio.Client {
	t.Helper()
	server, err := shared.Get()
	if err != nil {
		t.Fatal(err)
	}
	c, err := minio.New(server.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(server.RootUser, server.RootPassword, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var testKey = []byte("0123456789abcdef0123456789abcdef")

// fixture is a source bucket holding synthetic hospital episodes in several objects, and a
// versioned workspace bucket to copy them into.
type fixture struct {
	c                 *minio.Client
	source, workspace string
	schema            []extract.Column
	local             *pseudonym.Local
	bodies            map[string][]byte
}

func newFixture(t *testing.T, name string, parts int) *fixture {
	t.Helper()
	ctx := t.Context()
	name = testname.Fresh(t, name)
	f := &fixture{c: s3(t), source: name + "-src", workspace: name + "-ws", bodies: map[string][]byte{}}
	for _, b := range []string{f.source, f.workspace} {
		if err := f.c.MakeBucket(ctx, b, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.c.EnableVersioning(ctx, f.workspace); err != nil {
		t.Fatal(err)
	}
	for i := range parts {
		var buf bytes.Buffer
		if err := synth.Generate(ctx, &buf, synth.Options{Dataset: synth.HESAPC, Rows: 1500, Seed: int64(10 + i), Population: 2000}); err != nil {
			t.Fatal(err)
		}
		key := "hes-apc/part-" + string(rune('a'+i)) + ".csv"
		f.put(t, key, buf.Bytes())
	}
	cols, err := synth.Schema(synth.HESAPC)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		f.schema = append(f.schema, extract.Column{Name: c.Name, Identifier: c.Identifier})
	}
	if f.local, err = pseudonym.NewLocal(testKey); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.local.Close() })
	return f
}

func (f *fixture) put(t *testing.T, key string, body []byte) {
	t.Helper()
	if _, err := f.c.PutObject(context.Background(), f.source, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	f.bodies[key] = body
}

// input lists the source and describes a copy of it with opt-outs applied from set.
func (f *fixture) input(t *testing.T, runID string, set *optout.Set, digest string) Input {
	t.Helper()
	src, err := ListSource(t.Context(), f.c, f.source, "hes-apc/")
	if err != nil {
		t.Fatal(err)
	}
	var previous string
	if m, err := ReadManifest(t.Context(), f.c, f.workspace, "hes-apc"); err != nil {
		t.Fatal(err)
	} else if m != nil {
		previous = m.ETag
	}
	return Input{
		Store: f.c, Previous: previous,
		Provenance: Provenance{
			Agreement: "nic-1", Dataset: "hes-apc", Columns: []string{"nhs_number", "sex", "admission_date"},
			SchemaDigest: SchemaDigest(f.schema), PseudonymMode: "Envelope", KeyVersion: 1,
			OptOuts:      OptOutRecord{Applied: true, List: "ndoo", SnapshotDate: "2026-11-01", Digest: digest},
			SourceBucket: src.Bucket, SourcePrefix: src.Prefix, SourceDigest: src.Digest,
		},
		Source: src, Bucket: f.workspace, RunID: runID, Schema: f.schema,
		Pseudonymiser: f.local, OptOuts: set,
	}
}

func optOutSet(t *testing.T, seed, population int64) *optout.Set {
	t.Helper()
	b := optout.NewBuilder()
	pop := synth.NewPopulation(seed)
	for i := range population {
		if pop.OptedOut(i) {
			b.Add(pop.NHSNumber(i).Uint64())
		}
	}
	return b.Set()
}

// expected counts a source CSV independently of package extract: rows, opted-out rows, rows
// with an invalid NHS number, and the pseudonyms of the rows kept.
type expected struct {
	rows         fivesafesv1alpha1.RowCounts
	pseudonymsOf map[string]int // pseudonym → rows
}

func expect(t *testing.T, body []byte, set *optout.Set) expected {
	t.Helper()
	r := csv.NewReader(bytes.NewReader(body))
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	e := expected{pseudonymsOf: map[string]int{}}
	for _, rec := range recs[1:] {
		e.rows.Read++
		n, err := nhsnumber.Parse(rec[0])
		switch {
		case err != nil:
			e.rows.InvalidIdentifier++
			e.rows.Written++
		case set.Contains(n.Uint64()):
			e.rows.OptedOut++
		default:
			e.rows.Written++
			m := hmac.New(sha256.New, testKey)
			m.Write([]byte(n.String()))
			e.pseudonymsOf[hex.EncodeToString(m.Sum(nil))]++
		}
	}
	return e
}

// readCopy reads a published copy through its manifest, checks every object against it, and
// returns the pseudonyms of its rows.
func readCopy(t *testing.T, f *fixture, m *Manifest) (map[string]int, int64) {
	t.Helper()
	seen := map[string]int{}
	var rows int64
	for _, o := range m.Objects {
		obj, err := f.c.GetObject(t.Context(), f.workspace, o.Path, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj)
		_ = obj.Close()
		if err != nil {
			t.Fatalf("reading %s: %v", o.Path, err)
		}
		sum := sha256.Sum256(b)
		if got := "sha256:" + hex.EncodeToString(sum[:]); got != o.SHA256 || int64(len(b)) != o.Size {
			t.Errorf("%s: sha256 %s size %d, manifest says %s %d", o.Path, got, len(b), o.SHA256, o.Size)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(recs[0], m.Columns) {
			t.Errorf("%s: header %q, want %q", o.Path, recs[0], m.Columns)
		}
		for _, rec := range recs[1:] {
			if rec[0] != "" {
				seen[rec[0]]++
			}
		}
		if int64(len(recs)-1) != o.Rows {
			t.Errorf("%s holds %d rows, manifest says %d", o.Path, len(recs)-1, o.Rows)
		}
		rows += int64(len(recs) - 1)
	}
	return seen, rows
}

// keys lists every object version under prefix in the workspace bucket.
func keys(t *testing.T, f *fixture, prefix string) []string {
	t.Helper()
	var out []string
	for oi := range f.c.ListObjects(t.Context(), f.workspace, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		out = append(out, oi.Key)
	}
	return out
}

// A copy holds the approved columns, the agreement's pseudonyms of exactly the rows of people
// who did not opt out, and a manifest whose counts match an independent count of the source;
// a second copy with more opt-outs replaces it, and the first generation is deleted.
func TestExtractRunPublishesAndReplaces(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, "publish", 3)
	set := optOutSet(t, 10, 2000)
	in := f.input(t, "run-1", set, "sha256:01")
	var published []Manifest
	in.BeforePublish = func(_ context.Context, m Manifest) error {
		if got, _ := ReadManifest(ctx, f.c, f.workspace, "hes-apc"); got != nil {
			t.Error("the manifest was visible before BeforePublish returned")
		}
		published = append(published, m)
		return nil
	}
	m, err := Run(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(published) != 1 || published[0].SHA256 != m.SHA256 {
		t.Fatalf("BeforePublish saw %d manifests", len(published))
	}
	stored, err := ReadManifest(ctx, f.c, f.workspace, "hes-apc")
	if err != nil || stored == nil {
		t.Fatalf("reading the manifest: %v %v", stored, err)
	}
	if stored.SHA256 != m.SHA256 || len(stored.Changes(m.Provenance)) != 0 || len(stored.Objects) != 3 {
		t.Fatalf("stored manifest differs from the one returned")
	}
	var want fivesafesv1alpha1.RowCounts
	wantPseudonyms := map[string]int{}
	for _, src := range in.Source.Objects {
		e := expect(t, f.bodies[src.Key], set)
		want.Read += e.rows.Read
		want.Written += e.rows.Written
		want.OptedOut += e.rows.OptedOut
		want.InvalidIdentifier += e.rows.InvalidIdentifier
		for p, n := range e.pseudonymsOf {
			wantPseudonyms[p] += n
		}
	}
	if m.Rows != want {
		t.Errorf("manifest rows %+v, independent count %+v", m.Rows, want)
	}
	if want.OptedOut == 0 {
		t.Fatal("the test data has no opted-out rows; it proves nothing")
	}
	got, rows := readCopy(t, f, stored)
	if rows != want.Written {
		t.Errorf("the copy holds %d rows, want %d", rows, want.Written)
	}
	if len(got) != len(wantPseudonyms) {
		t.Errorf("the copy holds %d people, want %d", len(got), len(wantPseudonyms))
	}
	for p, n := range wantPseudonyms {
		if got[p] != n {
			t.Fatalf("a person has %d rows in the copy, want %d", got[p], n)
		}
	}

	// A larger snapshot: a new generation replaces the first, which is deleted.
	more := optout.NewBuilder()
	pop := synth.NewPopulation(10)
	for i := range int64(2000) {
		if pop.OptedOut(i) || i%50 == 0 {
			more.Add(pop.NHSNumber(i).Uint64())
		}
	}
	in2 := f.input(t, "run-2", more.Set(), "sha256:02")
	m2, err := Run(ctx, in2)
	if err != nil {
		t.Fatal(err)
	}
	if m2.Rows.OptedOut <= m.Rows.OptedOut || m2.Rows.Read != m.Rows.Read {
		t.Errorf("second copy rows %+v, first %+v: want more opted out of the same rows", m2.Rows, m.Rows)
	}
	for _, k := range keys(t, f, "datasets/hes-apc/") {
		if k != ManifestKey("hes-apc") && !bytes.HasPrefix([]byte(k), []byte(GenerationPrefix("hes-apc", "run-2"))) {
			t.Errorf("object version %s of an earlier generation was not deleted", k)
		}
	}
	if changes := m2.Changes(m.Provenance); !slices.Equal(changes, []string{"the opt-out snapshot changed"}) {
		t.Errorf("changes = %q", changes)
	}
}

// faultyStore is the real store, failing the upload of one object of the copy.
type faultyStore struct {
	Store
	failKey string
}

func (s faultyStore) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, o minio.PutObjectOptions) (minio.UploadInfo, error) {
	if key == s.failKey {
		// Read part of the stream, as a connection that drops mid-upload does.
		_, _ = io.CopyN(io.Discard, r, 1000)
		return minio.UploadInfo{}, errors.New("connection reset by peer")
	}
	return s.Store.PutObject(ctx, bucket, key, r, size, o)
}

// A run that fails part-way, however it fails, leaves the previous copy whole and visible and
// its own objects gone.
func TestExtractRunFailureKeepsPreviousCopy(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, "failure", 3)
	set := optOutSet(t, 10, 2000)
	first, err := Run(ctx, f.input(t, "run-1", set, "sha256:01"))
	if err != nil {
		t.Fatal(err)
	}
	_, firstRows := readCopy(t, f, &first)

	check := func(t *testing.T, run string) {
		t.Helper()
		m, err := ReadManifest(ctx, f.c, f.workspace, "hes-apc")
		if err != nil || m == nil {
			t.Fatalf("the previous manifest is gone: %v", err)
		}
		if m.SHA256 != first.SHA256 {
			t.Fatal("the previous manifest was replaced")
		}
		if _, rows := readCopy(t, f, m); rows != firstRows {
			t.Errorf("the previous copy holds %d rows, had %d", rows, firstRows)
		}
		if left := keys(t, f, GenerationPrefix("hes-apc", run)); len(left) != 0 {
			t.Errorf("the failed run left %q", left)
		}
	}

	t.Run("upload fails", func(t *testing.T) {
		in := f.input(t, "run-upload", set, "sha256:02")
		in.Store = faultyStore{Store: f.c, failKey: PartKey("hes-apc", "run-upload", 2)}
		if _, err := Run(ctx, in); err == nil {
			t.Fatal("the run succeeded")
		}
		check(t, "run-upload")
	})
	t.Run("source object gone after listing", func(t *testing.T) {
		in := f.input(t, "run-gone", set, "sha256:02")
		if err := f.c.RemoveObject(ctx, f.source, in.Source.Objects[2].Key, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.put(t, in.Source.Objects[2].Key, f.bodies[in.Source.Objects[2].Key]) })
		if _, err := Run(ctx, in); err == nil {
			t.Fatal("the run succeeded")
		}
		check(t, "run-gone")
	})
	t.Run("source object replaced after listing", func(t *testing.T) {
		in := f.input(t, "run-changed", set, "sha256:02")
		f.put(t, in.Source.Objects[1].Key, append(slices.Clone(f.bodies[in.Source.Objects[1].Key]), []byte("9990000018,1,,,,,,,\n")...))
		if _, err := Run(ctx, in); err == nil {
			t.Fatal("the run mixed source versions")
		}
		check(t, "run-changed")
	})
	t.Run("context cancelled mid-run", func(t *testing.T) {
		in := f.input(t, "run-cancel", set, "sha256:02")
		cctx, cancel := context.WithCancel(ctx)
		in.Store = cancelAfter{Store: f.c, key: PartKey("hes-apc", "run-cancel", 1), cancel: cancel}
		if _, err := Run(cctx, in); !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
		check(t, "run-cancel")
	})
	t.Run("another run published meanwhile", func(t *testing.T) {
		slow := f.input(t, "run-slow", set, "sha256:02")
		fast := f.input(t, "run-fast", set, "sha256:03")
		won, err := Run(ctx, fast)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(ctx, slow); !errors.Is(err, ErrSuperseded) {
			t.Fatalf("Run = %v, want ErrSuperseded", err)
		}
		m, err := ReadManifest(ctx, f.c, f.workspace, "hes-apc")
		if err != nil || m == nil || m.SHA256 != won.SHA256 {
			t.Fatalf("the manifest is not the winner's: %v", err)
		}
		if left := keys(t, f, GenerationPrefix("hes-apc", "run-slow")); len(left) != 0 {
			t.Errorf("the superseded run left %q", left)
		}
		if _, rows := readCopy(t, f, m); rows != won.Rows.Written {
			t.Error("the winning copy is not whole")
		}
		first = won
		firstRows = won.Rows.Written
	})
	t.Run("audit refuses", func(t *testing.T) {
		in := f.input(t, "run-audit", set, "sha256:02")
		in.BeforePublish = func(context.Context, Manifest) error { return errors.New("audit store unavailable") }
		if _, err := Run(ctx, in); err == nil {
			t.Fatal("the copy was published without its audit record")
		}
		check(t, "run-audit")
	})
}

// cancelAfter cancels the run once the object key is written.
type cancelAfter struct {
	Store
	key    string
	cancel context.CancelFunc
}

func (s cancelAfter) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, o minio.PutObjectOptions) (minio.UploadInfo, error) {
	info, err := s.Store.PutObject(ctx, bucket, key, r, size, o)
	if key == s.key {
		s.cancel()
	}
	return info, err
}

// Prune removes the objects of runs no manifest names, and with nothing to remove writes
// nothing.
func TestExtractPrune(t *testing.T) {
	ctx := t.Context()
	f := newFixture(t, "prune", 1)
	m, err := Run(ctx, f.input(t, "run-1", optOutSet(t, 10, 2000), "sha256:01"))
	if err != nil {
		t.Fatal(err)
	}
	older, newer, loose := PartKey("hes-apc", "run-0", 1), PartKey("hes-apc", "run-9", 1), Prefix("hes-apc")+"stray.csv"
	for _, k := range []string{older, newer, loose} {
		if _, err := f.c.PutObject(ctx, f.workspace, k, bytes.NewReader([]byte("x\n")), 2, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Prune(ctx, f.c, f.workspace, "hes-apc", m.RunID)
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want 2 removed", n, err)
	}
	if got := keys(t, f, GenerationPrefix("hes-apc", "run-9")); !slices.Equal(got, []string{newer}) {
		t.Errorf("a newer run's objects were touched: %q", got)
	}
	if err := f.c.RemoveObject(ctx, f.workspace, newer, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// Removing the newer object left a delete marker; it belongs to a newer run and is kept.
	if n, err := Prune(ctx, f.c, f.workspace, "hes-apc", m.RunID); err != nil || n != 0 {
		t.Fatalf("second Prune = %d, %v; want nothing removed", n, err)
	}
	if _, rows := readCopy(t, f, &m); rows != m.Rows.Written {
		t.Errorf("the copy lost rows to Prune")
	}
}
