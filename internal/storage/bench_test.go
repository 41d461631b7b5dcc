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

package storage

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// BenchmarkEnsureWorkspaceNoop measures a resync of a workspace's storage that finds everything
// in place (bucket, policy, user and secret, attachment), against one HEAD of the bucket measured
// in the same loop.
func BenchmarkEnsureWorkspaceNoop(b *testing.B) {
	ctx := context.Background()
	c := newClient(b, nil)
	ws := newWorkspace(b, c)
	var base, ensure time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.BucketExists(ctx, ws.bucket); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := ensureWorkspace(ctx, c, ws); err != nil {
			b.Fatal(err)
		}
		ensure += time.Since(t1)
		base += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(ensure)/float64(base), "x-head-bucket")
	b.ReportMetric(float64(ensure.Microseconds())/float64(n), "µs/ensure")
}

// BenchmarkSHA256Object measures streaming an 8 MiB object through SHA-256 against reading it
// into io.Discard, in the same loop.
func BenchmarkSHA256Object(b *testing.B) {
	ctx := context.Background()
	c := newClient(b, nil)
	bucket := unique("bench")
	if err := c.EnsureBucket(ctx, bucket, BucketOptions{}); err != nil {
		b.Fatal(err)
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 512<<10)
	if _, err := c.S3().PutObject(ctx, bucket, "outputs/big.csv", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		b.Fatal(err)
	}
	var base, hashed time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		obj, err := c.S3().GetObject(ctx, bucket, "outputs/big.csv", minio.GetObjectOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, obj); err != nil {
			b.Fatal(err)
		}
		_ = obj.Close()
		t1 := time.Now()
		if _, _, err := c.SHA256Object(ctx, bucket, "outputs/big.csv"); err != nil {
			b.Fatal(err)
		}
		hashed += time.Since(t1)
		base += t1.Sub(t0)
		n++
	}
	b.ReportMetric(float64(hashed)/float64(base), "x-plain-get")
	b.ReportMetric(float64(len(data))*float64(n)/hashed.Seconds()/1e6, "MB/s")
}
