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

package manager

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fivesafes/fivesafes/internal/httpcount"
	"github.com/fivesafes/fivesafes/internal/stack"
)

// With the store down, the audit log's client gives up after auditStoreAttempts requests, where a
// client with minio-go's defaults goes on trying: an append that cannot be stored fails at once
// and the loop that asked for it says why.
func TestAuditStoreClientFailsFast(t *testing.T) {
	ctx := context.Background()
	srv, err := stack.StartMinIOIn(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.StopIfRunning() })
	o := StorageOptions{Endpoint: srv.Endpoint, AccessKey: srv.RootUser, SecretKey: srv.RootPassword}
	audit, defaults := &httpcount.Transport{}, &httpcount.Transport{}
	auditClient, err := newAuditStoreClient(o, audit)
	if err != nil {
		t.Fatal(err)
	}
	defaultClient, err := minio.New(o.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""), Transport: defaults})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "audit-fail-fast"
	put := func(c *minio.Client) error {
		_, err := c.PutObject(ctx, bucket, "tail/0.jsonl", bytes.NewReader([]byte("{}\n")), 3, minio.PutObjectOptions{})
		return err
	}
	if err := auditClient.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*minio.Client{auditClient, defaultClient} {
		if err := put(c); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	audit.Reset()
	defaults.Reset()
	for _, c := range []*minio.Client{auditClient, defaultClient} {
		if err := put(c); err == nil {
			t.Fatal("a write to a stopped store succeeded")
		}
	}
	if n := audit.Count(); n != auditStoreAttempts {
		t.Errorf("the audit store client sent %d requests to a stopped store, want %d", n, auditStoreAttempts)
	}
	if n := defaults.Count(); n <= auditStoreAttempts {
		t.Errorf("a client with minio-go's defaults sent %d requests to a stopped store; the test no longer shows what the audit client's setting spares", n)
	}
}
