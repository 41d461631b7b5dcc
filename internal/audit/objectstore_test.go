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

package audit_test

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/stack"
)

// A real MinIO server is started by the first test that needs one; the tests of the log on its
// in-memory store, and fuzz workers, never start it. The tests that need it fail, never skip,
// when it cannot start.
var shared = stack.SharedMinIO()

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// minioClient returns an administrator's client for the shared MinIO, starting it on first use.
func minioClient(t testing.TB) *minio.Client {
	t.Helper()
	server, err := shared.Get()
	if err != nil {
		t.Fatal(err)
	}
	mc, err := minio.New(server.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(server.RootUser, server.RootPassword, "")})
	if err != nil {
		t.Fatal(err)
	}
	return mc
}

func objectStore(t *testing.T, bucket, mode string) (*audit.ObjectStore, *minio.Client) {
	t.Helper()
	mc := minioClient(t)
	ctx := context.Background()
	if err := audit.EnsureAuditBucket(ctx, mc, bucket, mode); err != nil {
		t.Fatal(err)
	}
	s, err := audit.NewObjectStore(mc, bucket, audit.ObjectStoreOptions{Prefix: "log/", RetentionMode: mode, RetentionPeriod: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return s, mc
}

// The object store keeps the Store contract on a real MinIO: create-only puts, not-found gets,
// ordered listing after a name.
func TestObjectStoreContract(t *testing.T) {
	ctx := context.Background()
	s, _ := objectStore(t, fmt.Sprintf("audit-contract-%d", time.Now().UnixNano()), audit.RetentionNone)
	if err := s.Put(ctx, "tail/000000000001.jsonl", []byte("one\n")); err != nil {
		t.Fatal(err)
	}
	err := s.Put(ctx, "tail/000000000001.jsonl", []byte("forged\n"))
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second put of the same name: %v, want fs.ErrExist", err)
	}
	got, err := s.Get(ctx, "tail/000000000001.jsonl")
	if err != nil || string(got) != "one\n" {
		t.Fatalf("get = %q, %v", got, err)
	}
	if _, err := s.Get(ctx, "tail/000000000009.jsonl"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("get of a missing name: %v, want fs.ErrNotExist", err)
	}
	for i := 2; i <= 4; i++ {
		if err := s.Put(ctx, fmt.Sprintf("tail/%012d.jsonl", i), []byte("x\n")); err != nil {
			t.Fatal(err)
		}
	}
	names, err := s.List(ctx, "tail/", "tail/000000000002.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "tail/000000000003.jsonl,tail/000000000004.jsonl" {
		t.Fatalf("list after 2 = %v", names)
	}
}

// A chain written through the object store by many goroutines verifies, survives a reopen, and
// its sealed segments are locked against deletion.
func TestLogOnObjectStore(t *testing.T) {
	ctx := context.Background()
	// Locked objects outlive the test: each run has a bucket of its own.
	bucket := fmt.Sprintf("audit-locked-%d", time.Now().UnixNano())
	s, mc := objectStore(t, bucket, audit.RetentionCompliance)
	log, err := audit.Open(ctx, s, audit.Options{SegmentSize: 16, CheckpointEvery: 8})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				_, err := log.Append(ctx, audit.EntryInput{
					Actor: "controller:test", Action: audit.Actions()[0],
					Object:   audit.ObjectRef{Kind: "DataAccessAgreement", Name: fmt.Sprintf("a%d", g)},
					Decision: "Active",
				})
				if err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Wait()
	if err := log.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	reopened, err := audit.Open(ctx, s, audit.Options{SegmentSize: 16, CheckpointEvery: 8})
	if err != nil {
		t.Fatal(err)
	}
	if reopened.Head().Seq != 40 {
		t.Fatalf("reopened head = %+v, want seq 40", reopened.Head())
	}
	res, err := audit.VerifyStore(ctx, s)
	if err != nil || !res.OK || res.Entries != 40 {
		t.Fatalf("verify = %+v, %v", res, err)
	}
	segments, err := s.List(ctx, audit.SegmentPrefix, "")
	if err != nil || len(segments) == 0 {
		t.Fatalf("no sealed segments: %v %v", segments, err)
	}
	// Object lock: the sealed segment's version cannot be deleted.
	info, err := mc.StatObject(ctx, bucket, "log/"+segments[0], minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	err = mc.RemoveObject(ctx, bucket, "log/"+segments[0], minio.RemoveObjectOptions{VersionID: info.VersionID})
	if err == nil {
		t.Fatal("a locked audit segment was deleted")
	}
}

// With the store unreachable the log refuses to append, and after it returns the chain
// continues with no gap.
func TestObjectStoreUnavailable(t *testing.T) {
	ctx := context.Background()
	mc, err := minio.New("127.0.0.1:1", &minio.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := audit.NewObjectStore(mc, "nowhere", audit.ObjectStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := audit.Open(cctx, s, audit.Options{}); !errors.Is(err, audit.ErrUnavailable) {
		t.Fatalf("opening a log on an unreachable store: %v, want ErrUnavailable", err)
	}
}

// BenchmarkAppendObjectStore measures Append latency (p50, p99) on MinIO with object lock, against
// a bare conditional Put of an object of the same size to the same bucket, in the same run.
func BenchmarkAppendObjectStore(b *testing.B) {
	ctx := context.Background()
	mc := minioClient(b)
	bucket := fmt.Sprintf("audit-bench-%d", time.Now().UnixNano())
	if err := audit.EnsureAuditBucket(ctx, mc, bucket, audit.RetentionCompliance); err != nil {
		b.Fatal(err)
	}
	base, err := audit.NewObjectStore(mc, bucket, audit.ObjectStoreOptions{Prefix: "base/"})
	if err != nil {
		b.Fatal(err)
	}
	s, err := audit.NewObjectStore(mc, bucket, audit.ObjectStoreOptions{Prefix: "log/", RetentionMode: audit.RetentionCompliance, RetentionPeriod: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	l, err := audit.Open(ctx, s, audit.Options{})
	if err != nil {
		b.Fatal(err)
	}
	in := audit.EntryInput{
		Actor: "controller:dataaccessagreement", Action: audit.ActionPhaseChange,
		Object:   audit.ObjectRef{Kind: "DataAccessAgreement", Name: "nic-38002-s3k0v"},
		Decision: "Active",
		Details:  map[string]any{"specDigest": "sha256:" + strings.Repeat("a", 64), "approvals": 2},
	}
	probe, err := l.Append(ctx, in)
	if err != nil {
		b.Fatal(err)
	}
	line, _ := probe.MarshalJSON()
	payload := append(line, '\n')
	puts := make([]time.Duration, b.N)
	appends := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := base.Put(ctx, audit.TailName(int64(i+1)), payload); err != nil {
			b.Fatal(err)
		}
		puts[i] = time.Since(start)
		start = time.Now()
		if _, err := l.Append(ctx, in); err != nil {
			b.Fatal(err)
		}
		appends[i] = time.Since(start)
	}
	b.StopTimer()
	pct := func(d []time.Duration, p float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[min(len(s)-1, int(float64(len(s))*p))]
	}
	p50, p99, b50 := pct(appends, 0.50), pct(appends, 0.99), pct(puts, 0.50)
	b.ReportMetric(float64(p50.Microseconds()), "p50-µs")
	b.ReportMetric(float64(p99.Microseconds()), "p99-µs")
	b.ReportMetric(float64(b50.Microseconds()), "put-p50-µs")
	b.ReportMetric(float64(p50)/float64(b50), "p50/put")
	b.ReportMetric(float64(p99)/float64(b50), "p99/put")
}
