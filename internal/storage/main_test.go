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
	"fmt"
	"net/http"
	"os"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/fivesafes/fivesafes/internal/stack"
)

// A real MinIO server is started by the first test that needs one and shared by the
// integration tests, each using its own buckets, users and policies. Pure tests and fuzz
// workers never start it; the integration tests fail, never skip, when it cannot start. (The
// server comes from internal/stack: internal/testenv imports the manager, which imports this
// package.)
var shared = stack.SharedMinIO()

func TestMain(m *testing.M) {
	code := m.Run()
	shared.Close()
	os.Exit(code)
}

// minioServer returns the shared server, starting it on first use.
func minioServer(t testing.TB) *stack.MinIO {
	t.Helper()
	server, err := shared.Get()
	if err != nil {
		t.Fatal(err)
	}
	return server
}

// newClient returns an administrator's Client on the test MinIO; tr may be nil.
func newClient(t testing.TB, tr http.RoundTripper) *Client {
	t.Helper()
	srv := minioServer(t)
	c, err := New(Options{
		Endpoint:  srv.Endpoint,
		AccessKey: srv.RootUser,
		SecretKey: srv.RootPassword,
		Transport: tr,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// s3As returns an S3 client authenticated as creds.
func s3As(t testing.TB, creds Credentials) *minio.Client {
	t.Helper()
	c, err := minio.New(minioServer(t).Endpoint, &minio.Options{Creds: credentials.NewStaticV4(creds.AccessKey, creds.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var nameSeq atomic.Int64

// unique returns prefix followed by a number no other call in this run returns.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, nameSeq.Add(1))
}

func put(t testing.TB, c *minio.Client, bucket, key, body string) minio.UploadInfo {
	t.Helper()
	info, err := c.PutObject(context.Background(), bucket, key, bytes.NewReader([]byte(body)), int64(len(body)), minio.PutObjectOptions{})
	if err != nil {
		t.Fatalf("putting %s/%s: %v", bucket, key, err)
	}
	return info
}
