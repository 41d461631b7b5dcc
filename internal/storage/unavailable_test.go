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
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fivesafes/fivesafes/internal/stack"
)

// With the store down, each request of the Client, and of the S3 client it hands out (the audit
// log writes through it), is tried requestAttempts times, where a client with minio-go's defaults
// goes on trying: a control loop says the store is unavailable without waiting out the retries.
func TestRequestsToStoppedStore(t *testing.T) {
	ctx := context.Background()
	srv, err := stack.StartMinIOIn(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.StopIfRunning() })
	requests := &stack.WriteCounter{}
	c, err := New(Options{Endpoint: srv.Endpoint, AccessKey: srv.RootUser, SecretKey: srv.RootPassword, Transport: requests})
	if err != nil {
		t.Fatal(err)
	}
	defaults := &stack.WriteCounter{}
	defaultClient, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.RootUser, srv.RootPassword, ""), Transport: defaults})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "stopped-store"
	put := func(mc *minio.Client) error {
		_, err := mc.PutObject(ctx, bucket, "tail/0.jsonl", bytes.NewReader([]byte("{}\n")), 3, minio.PutObjectOptions{})
		return err
	}
	// The bucket's region is known to both clients once they have written to it, as in a running
	// manager, so the requests below go straight to the object.
	if err := c.EnsureBucket(ctx, bucket, BucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, mc := range []*minio.Client{c.S3(), defaultClient} {
		if err := put(mc); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	defaults.TakeRequests()
	if err := put(defaultClient); err == nil {
		t.Fatal("a write to a stopped store succeeded")
	}
	if n := defaults.TakeRequests(); n <= requestAttempts {
		t.Errorf("a client with minio-go's defaults sent %d requests to a stopped store; the test no longer shows what the setting spares", n)
	}
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"an append through S3", func() error { return put(c.S3()) }},
		{"StatObject", func() error { _, err := c.StatObject(ctx, bucket, "outputs/table.csv"); return err }},
		{"BucketExists", func() error { _, err := c.BucketExists(ctx, bucket); return err }},
		{"CopyObject", func() error {
			_, err := c.CopyObject(ctx, bucket, "outputs/table.csv", bucket, "staging/table.csv", CopyOptions{})
			return err
		}},
	} {
		requests.TakeRequests()
		if err := op.do(); err == nil {
			t.Errorf("%s on a stopped store succeeded", op.name)
		}
		if n := requests.TakeRequests(); n != requestAttempts {
			t.Errorf("%s sent %d requests to a stopped store, want %d", op.name, n, requestAttempts)
		}
	}
}
