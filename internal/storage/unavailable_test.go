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
	"context"
	"testing"
	"time"

	"github.com/fivesafes/fivesafes/internal/httpcount"
	"github.com/fivesafes/fivesafes/internal/stack"
)

// With the store down, each request of the Client is tried requestAttempts times, not minio-go's
// ten, so a control loop can say the store is unavailable without waiting out the retries.
func TestRequestsToStoppedStore(t *testing.T) {
	ctx := context.Background()
	srv, err := stack.StartMinIOIn(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.StopIfRunning() })
	requests := &httpcount.Transport{}
	c, err := New(Options{Endpoint: srv.Endpoint, AccessKey: srv.RootUser, SecretKey: srv.RootPassword, Transport: requests})
	if err != nil {
		t.Fatal(err)
	}
	const bucket = "stopped-store"
	// The bucket's region is known once it is made, as in a running manager, so the requests
	// below go straight to the object.
	if err := c.EnsureBucket(ctx, bucket, BucketOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := srv.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
	for _, op := range []struct {
		name string
		do   func() error
	}{
		{"StatObject", func() error { _, err := c.StatObject(ctx, bucket, "outputs/table.csv"); return err }},
		{"BucketExists", func() error { _, err := c.BucketExists(ctx, bucket); return err }},
		{"CopyObject", func() error {
			_, err := c.CopyObject(ctx, bucket, "outputs/table.csv", bucket, "staging/table.csv", CopyOptions{})
			return err
		}},
	} {
		requests.Reset()
		if err := op.do(); err == nil {
			t.Errorf("%s on a stopped store succeeded", op.name)
		}
		if n := requests.Count(); n != requestAttempts {
			t.Errorf("%s sent %d requests to a stopped store, want %d", op.name, n, requestAttempts)
		}
	}
}
