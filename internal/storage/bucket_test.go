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
	"errors"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// countVersions returns the number of object versions and delete markers in bucket.
func countVersions(t *testing.T, c *Client, bucket string) int {
	t.Helper()
	n := 0
	for obj := range c.S3().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if obj.Err != nil {
			t.Fatalf("listing versions: %v", obj.Err)
		}
		n++
	}
	return n
}

// DeleteBucket removes every version, delete marker and incomplete upload of a versioned
// bucket, then the bucket; deleting it again is success.
func TestDeleteBucketEmptiesVersionedBucket(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	bucket := unique("ws")
	if err := c.EnsureBucket(ctx, bucket, BucketOptions{Versioning: true}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		put(t, c.S3(), bucket, "outputs/table.csv", "version "+string(rune('a'+i)))
	}
	put(t, c.S3(), bucket, "datasets/a/b/c.csv", "x")
	put(t, c.S3(), bucket, "scratch/gone.txt", "x")
	if err := c.S3().RemoveObject(ctx, bucket, "scratch/gone.txt", minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: c.S3()}
	if _, err := core.NewMultipartUpload(ctx, bucket, "outputs/unfinished.bin", minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := countVersions(t, c, bucket); n != 6 {
		t.Fatalf("set up %d versions and delete markers, want 6", n)
	}

	for range 2 {
		if err := c.DeleteBucket(ctx, bucket); err != nil {
			t.Fatalf("deleting bucket: %v", err)
		}
	}
	exists, err := c.BucketExists(ctx, bucket)
	if err != nil || exists {
		t.Fatalf("bucket after deletion: exists %v, %v", exists, err)
	}
}

// An object-locked bucket whose objects carry no retention is deleted like any other.
func TestDeleteBucketWithLockButNoRetention(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	bucket := unique("audit")
	if err := c.EnsureBucket(ctx, bucket, BucketOptions{ObjectLock: true}); err != nil {
		t.Fatal(err)
	}
	put(t, c.S3(), bucket, "tail/0001", "x")
	put(t, c.S3(), bucket, "tail/0001", "y")
	if err := c.DeleteBucket(ctx, bucket); err != nil {
		t.Fatalf("deleting bucket: %v", err)
	}
	if exists, err := c.BucketExists(ctx, bucket); err != nil || exists {
		t.Fatalf("bucket after deletion: exists %v, %v", exists, err)
	}
}

// Versions under COMPLIANCE or GOVERNANCE retention or legal hold make DeleteBucket refuse with
// ErrRetained before it deletes anything; the store itself refuses to delete the locked version.
func TestDeleteBucketRefusesRetained(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	for _, lock := range []string{"compliance", "governance", "legal-hold"} {
		t.Run(lock, func(t *testing.T) {
			bucket := unique("audit")
			if err := c.EnsureBucket(ctx, bucket, BucketOptions{ObjectLock: true}); err != nil {
				t.Fatal(err)
			}
			free := put(t, c.S3(), bucket, "tail/0002", "not retained")
			var locked Object
			var err error
			switch lock {
			case "compliance":
				locked, err = c.PutObjectRetained(ctx, bucket, "segments/0001", []byte("entry"), RetentionCompliance, time.Now().Add(time.Hour))
			case "governance":
				locked, err = c.PutObjectRetained(ctx, bucket, "segments/0001", []byte("entry"), RetentionGovernance, time.Now().Add(time.Hour))
			case "legal-hold":
				info := put(t, c.S3(), bucket, "segments/0001", "entry")
				locked = Object{Key: info.Key, VersionID: info.VersionID}
				on := minio.LegalHoldEnabled
				err = c.S3().PutObjectLegalHold(ctx, bucket, locked.Key, minio.PutObjectLegalHoldOptions{Status: &on, VersionID: locked.VersionID})
			}
			if err != nil {
				t.Fatal(err)
			}

			err = c.S3().RemoveObject(ctx, bucket, locked.Key, minio.RemoveObjectOptions{VersionID: locked.VersionID})
			if err == nil {
				t.Fatal("the store deleted a locked version")
			}
			if err := c.DeleteBucket(ctx, bucket); !errors.Is(err, ErrRetained) {
				t.Fatalf("deleting a bucket with a locked version: got %v, want ErrRetained", err)
			}
			if _, err := c.S3().StatObject(ctx, bucket, free.Key, minio.StatObjectOptions{VersionID: free.VersionID}); err != nil {
				t.Errorf("the unlocked object was deleted before the refusal: %v", err)
			}
			if exists, err := c.BucketExists(ctx, bucket); err != nil || !exists {
				t.Errorf("bucket after a refused deletion: exists %v, %v", exists, err)
			}
		})
	}
}

// Retained writes are create-only and carry the retention asked for.
func TestPutObjectRetained(t *testing.T) {
	ctx := context.Background()
	c := newClient(t, nil)
	bucket := unique("audit")
	if err := c.EnsureBucket(ctx, bucket, BucketOptions{ObjectLock: true}); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(90 * time.Minute).Truncate(time.Second)
	obj, err := c.PutObjectRetained(ctx, bucket, "segments/0001", []byte("entry 1"), RetentionCompliance, until)
	if err != nil {
		t.Fatal(err)
	}
	if obj.VersionID == "" || obj.Size != 7 {
		t.Errorf("put returned %+v", obj)
	}
	mode, got, err := c.S3().GetObjectRetention(ctx, bucket, "segments/0001", obj.VersionID)
	if err != nil {
		t.Fatal(err)
	}
	if mode == nil || *mode != minio.Compliance || got == nil || !got.Equal(until) {
		t.Errorf("retention = %v until %v, want COMPLIANCE until %v", mode, got, until)
	}
	if _, err := c.PutObjectRetained(ctx, bucket, "segments/0001", []byte("replaced"), RetentionCompliance, until); !errors.Is(err, ErrExists) {
		t.Fatalf("second put: got %v, want ErrExists", err)
	}
	digest, _, err := c.SHA256Object(ctx, bucket, "segments/0001")
	if err != nil {
		t.Fatal(err)
	}
	want := sha256Of([]byte("entry 1"))
	if digest != want {
		t.Error("the retained object was replaced")
	}

	for name, call := range map[string]func() error{
		"no mode":  func() error { _, err := c.PutObjectRetained(ctx, bucket, "x", nil, "", until); return err },
		"bad mode": func() error { _, err := c.PutObjectRetained(ctx, bucket, "x", nil, "compliance", until); return err },
		"past date": func() error {
			_, err := c.PutObjectRetained(ctx, bucket, "x", nil, RetentionGovernance, time.Now())
			return err
		},
		"bad key": func() error {
			_, err := c.PutObjectRetained(ctx, bucket, "", nil, RetentionGovernance, until)
			return err
		},
	} {
		if err := call(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", name, err)
		}
	}

	// A bucket without object lock refuses a retained write.
	plain := unique("ws")
	if err := c.EnsureBucket(ctx, plain, BucketOptions{Versioning: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObjectRetained(ctx, plain, "x", []byte("x"), RetentionCompliance, until); err == nil {
		t.Error("a retained write succeeded in a bucket without object lock")
	}
}
