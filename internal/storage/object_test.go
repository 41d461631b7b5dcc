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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Snapshotting an output into a staging prefix and releasing it into another bucket copies the
// bytes exactly; the digest is streamed; a copy pinned to a version or ETag copies that version
// or refuses.
func TestCopyAndDigest(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	ws, egress := unique("ws"), unique("egress")
	for _, b := range []string{ws, egress} {
		if err := c.EnsureBucket(ctx, b, BucketOptions{Versioning: true}); err != nil {
			t.Fatal(err)
		}
	}
	// Larger than one PUT part so the object is stored in parts.
	first := bytes.Repeat([]byte("region,count\nnorth,12\n"), 800_000)
	if _, err := c.S3().PutObject(ctx, ws, "outputs/table.csv", bytes.NewReader(first), int64(len(first)),
		minio.PutObjectOptions{PartSize: 5 << 20}); err != nil {
		t.Fatal(err)
	}
	src, err := c.StatObject(ctx, ws, "outputs/table.csv")
	if err != nil {
		t.Fatal(err)
	}
	if src.Size != int64(len(first)) || src.VersionID == "" || src.ETag == "" {
		t.Fatalf("stat = %+v", src)
	}
	digest, size, err := c.SHA256Object(ctx, ws, "outputs/table.csv")
	if err != nil {
		t.Fatal(err)
	}
	if digest != sha256Of(first) || size != int64(len(first)) {
		t.Fatalf("digest %s size %d, want %s %d", digest, size, sha256Of(first), len(first))
	}

	// The researcher overwrites the file; a copy pinned to the first version still copies it.
	second := []byte("region,count\nnorth,3\n")
	put(t, c.S3(), ws, "outputs/table.csv", string(second))
	staged, err := c.CopyObject(ctx, ws, "outputs/table.csv", ws, "staging/req-1/table.csv", CopyOptions{SourceVersionID: src.VersionID})
	if err != nil {
		t.Fatal(err)
	}
	if staged.Bucket != ws || staged.Key != "staging/req-1/table.csv" || staged.Size != int64(len(first)) {
		t.Errorf("staged copy = %+v", staged)
	}
	if d, _, err := c.SHA256Object(ctx, ws, "staging/req-1/table.csv"); err != nil || d != sha256Of(first) {
		t.Fatalf("staged digest %s, %v; want the first version's", d, err)
	}
	// A copy pinned to the first ETag is refused now that the current version differs.
	if _, err := c.CopyObject(ctx, ws, "outputs/table.csv", ws, "staging/req-2/table.csv", CopyOptions{SourceETag: src.ETag}); !errors.Is(err, ErrChanged) {
		t.Fatalf("copy pinned to a stale ETag: got %v, want ErrChanged", err)
	}
	// Release into the egress bucket; repeating the release is harmless.
	for range 2 {
		rel, err := c.CopyObject(ctx, ws, "staging/req-1/table.csv", egress, "releases/nic-1/req-1/table.csv", CopyOptions{SourceETag: staged.ETag})
		if err != nil {
			t.Fatal(err)
		}
		if rel.Bucket != egress || rel.VersionID == "" {
			t.Errorf("released copy = %+v", rel)
		}
	}
	if d, _, err := c.SHA256Object(ctx, egress, "releases/nic-1/req-1/table.csv"); err != nil || d != sha256Of(first) {
		t.Fatalf("released digest %s, %v; want the first version's", d, err)
	}

	r, info, err := c.OpenObject(ctx, ws, "outputs/table.csv")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	_ = r.Close()
	if err != nil || !bytes.Equal(got, second) || info.Size != int64(len(second)) {
		t.Errorf("open = %q, %+v, %v", got, info, err)
	}

	// Missing things are ErrNotFound, which is also fs.ErrNotExist.
	for name, err := range map[string]error{
		"stat":        func() error { _, err := c.StatObject(ctx, ws, "outputs/none.csv"); return err }(),
		"digest":      func() error { _, _, err := c.SHA256Object(ctx, ws, "outputs/none.csv"); return err }(),
		"open":        func() error { _, _, err := c.OpenObject(ctx, unique("nobucket"), "x"); return err }(),
		"copy source": func() error { _, err := c.CopyObject(ctx, ws, "outputs/none.csv", ws, "x", CopyOptions{}); return err }(),
		"copy version": func() error {
			_, err := c.CopyObject(ctx, ws, "outputs/table.csv", ws, "x", CopyOptions{SourceVersionID: "00000000-0000-0000-0000-000000000000"})
			return err
		}(),
	} {
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s: got %v, want ErrNotFound", name, err)
		}
	}
}

// A presigned URL downloads the object as an attachment with a plain HTTP GET, and stops working
// once it expires.
func TestPresignGet(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	egress := unique("egress")
	if err := c.EnsureBucket(ctx, egress, BucketOptions{Versioning: true}); err != nil {
		t.Fatal(err)
	}
	body := "<svg onload=alert(1)></svg>"
	put(t, c.S3(), egress, "releases/nic-1/req-1/figure 1.svg", body)

	const expiry = 2 * time.Second
	url, err := c.PresignGet(ctx, egress, "releases/nic-1/req-1/figure 1.svg", expiry)
	if err != nil {
		t.Fatal(err)
	}
	issued := time.Now()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != body {
		t.Fatalf("download: HTTP %d %q", resp.StatusCode, got)
	}
	disp, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition"))
	if err != nil || disp != "attachment" || params["filename"] != "figure 1.svg" {
		t.Errorf("Content-Disposition = %q", resp.Header.Get("Content-Disposition"))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/octet-stream" {
		t.Errorf("Content-Type = %q", ct)
	}

	time.Sleep(time.Until(issued.Add(expiry + time.Second)))
	resp, err = http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("download after expiry: HTTP %d, want 403", resp.StatusCode)
	}

	for _, d := range []time.Duration{0, time.Millisecond, 8 * 24 * time.Hour} {
		if _, err := c.PresignGet(ctx, egress, "x", d); !errors.Is(err, ErrInvalid) {
			t.Errorf("expiry %s: got %v, want ErrInvalid", d, err)
		}
	}
}

// Presigned URLs name the public endpoint when one is configured, without contacting it.
func TestPresignGetPublicEndpoint(t *testing.T) {
	srv := minioServer(t)
	c, err := New(Options{
		Endpoint:       srv.Endpoint,
		AccessKey:      srv.RootUser,
		SecretKey:      srv.RootPassword,
		PublicEndpoint: "downloads.example.org",
		PublicSecure:   true,
	})
	if err != nil {
		t.Fatal(err)
	}
	url, err := c.PresignGet(context.Background(), "egress", "releases/a/b/table.csv", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(url, "https://downloads.example.org/egress/releases/a/b/table.csv?") {
		t.Errorf("URL does not name the public endpoint: %.60s", url)
	}
}
