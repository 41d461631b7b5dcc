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
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// BucketOptions are the properties a bucket must have.
type BucketOptions struct {
	// ObjectLock creates the bucket with object lock (which implies versioning). Object lock can
	// only be chosen when a bucket is created, so an existing bucket without it is refused.
	ObjectLock bool
	// Versioning requires versioning to be enabled; it is enabled on an existing bucket that
	// lacks it. False means not required: an already versioned bucket is left versioned.
	Versioning bool
}

// codeObjectLockNotFound is the S3 error code of a bucket without an object-lock configuration.
const codeObjectLockNotFound = "ObjectLockConfigurationNotFoundError"

func checkBucket(name string) error {
	if err := s3utils.CheckValidBucketNameStrict(name); err != nil {
		return fmt.Errorf("%w: bucket name %q: %w", ErrInvalid, name, err)
	}
	return nil
}

// BucketExists reports whether the bucket name exists.
func (c *Client) BucketExists(ctx context.Context, name string) (bool, error) {
	if err := checkBucket(name); err != nil {
		return false, err
	}
	ok, err := c.s3.BucketExists(ctx, name)
	if err != nil {
		return false, fmt.Errorf("checking bucket %s: %w", name, err)
	}
	return ok, nil
}

// EnsureBucket creates the bucket name with the properties o asks for, or checks and completes
// an existing one. It writes nothing when the bucket is already as asked.
func (c *Client) EnsureBucket(ctx context.Context, name string, o BucketOptions) error {
	exists, err := c.BucketExists(ctx, name)
	if err != nil {
		return err
	}
	created := false
	if !exists {
		err := c.s3.MakeBucket(ctx, name, minio.MakeBucketOptions{ObjectLocking: o.ObjectLock, Region: c.o.Region})
		if code := s3Code(err); err != nil && code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
		created = err == nil
	}
	if created && o.Versioning && !o.ObjectLock {
		// A bucket just made has versioning off.
		if err := c.s3.EnableVersioning(ctx, name); err != nil {
			return fmt.Errorf("enabling versioning of bucket %s: %w", name, err)
		}
		return nil
	}
	if o.ObjectLock {
		locked, err := c.objectLockEnabled(ctx, name)
		if err != nil {
			return err
		}
		if !locked {
			return fmt.Errorf("%w: bucket %s exists without object lock, which can only be chosen at creation", ErrBucketMismatch, name)
		}
	}
	if o.Versioning || o.ObjectLock {
		v, err := c.s3.GetBucketVersioning(ctx, name)
		if err != nil {
			return fmt.Errorf("reading versioning of bucket %s: %w", name, err)
		}
		if !v.Enabled() {
			if err := c.s3.EnableVersioning(ctx, name); err != nil {
				return fmt.Errorf("enabling versioning of bucket %s: %w", name, err)
			}
		}
	}
	return nil
}

// objectLockEnabled reports whether the bucket has object lock enabled.
func (c *Client) objectLockEnabled(ctx context.Context, name string) (bool, error) {
	status, _, _, _, err := c.s3.GetObjectLockConfig(ctx, name)
	if s3Code(err) == codeObjectLockNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("reading object lock of bucket %s: %w", name, err)
	}
	return status == "Enabled", nil
}

// DeleteBucket removes the bucket name with every object version, delete marker and incomplete
// upload in it. A bucket that does not exist is success. When the bucket has object lock and any
// version is under retention or legal hold, nothing is deleted and the error wraps ErrRetained;
// retention is never bypassed. After any failure the call can be repeated.
func (c *Client) DeleteBucket(ctx context.Context, name string) error {
	exists, err := c.BucketExists(ctx, name)
	if err != nil || !exists {
		return err
	}
	locked, err := c.objectLockEnabled(ctx, name)
	if err != nil {
		return err
	}
	if locked {
		if err := c.checkNoRetention(ctx, name); err != nil {
			return err
		}
	}
	if err := c.removeAllVersions(ctx, name, locked); err != nil {
		return err
	}
	for up := range c.s3.ListIncompleteUploads(ctx, name, "", true) {
		if up.Err != nil {
			if s3Code(up.Err) == minio.NoSuchBucket {
				return nil
			}
			return fmt.Errorf("listing incomplete uploads in bucket %s: %w", name, up.Err)
		}
		if err := c.s3.RemoveIncompleteUpload(ctx, name, up.Key); err != nil && s3Code(err) != "NoSuchUpload" {
			return fmt.Errorf("aborting an incomplete upload in bucket %s: %w", name, err)
		}
	}
	if err := c.s3.RemoveBucket(ctx, name); err != nil && s3Code(err) != minio.NoSuchBucket {
		return fmt.Errorf("removing bucket %s: %w", name, err)
	}
	return nil
}

// checkNoRetention fails with ErrRetained when any object version in the bucket is under
// retention that has not expired or under legal hold.
func (c *Client) checkNoRetention(ctx context.Context, name string) error {
	now := time.Now()
	var retained int
	var latest time.Time
	for obj := range c.s3.ListObjects(ctx, name, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("listing object versions in bucket %s: %w", name, obj.Err)
		}
		if obj.IsDeleteMarker {
			continue
		}
		mode, until, err := c.s3.GetObjectRetention(ctx, name, obj.Key, obj.VersionID)
		if err != nil && s3Code(err) != "NoSuchObjectLockConfiguration" {
			return fmt.Errorf("reading retention of an object version in bucket %s: %w", name, err)
		}
		if err == nil && mode != nil && until != nil && until.After(now) {
			retained++
			if until.After(latest) {
				latest = *until
			}
			continue
		}
		hold, err := c.s3.GetObjectLegalHold(ctx, name, obj.Key, minio.GetObjectLegalHoldOptions{VersionID: obj.VersionID})
		if err != nil && s3Code(err) != "NoSuchObjectLockConfiguration" {
			return fmt.Errorf("reading legal hold of an object version in bucket %s: %w", name, err)
		}
		if err == nil && hold != nil && *hold == minio.LegalHoldEnabled {
			retained++
		}
	}
	if retained == 0 {
		return nil
	}
	if latest.IsZero() {
		return fmt.Errorf("%w: bucket %s has %d object versions under legal hold", ErrRetained, name, retained)
	}
	return fmt.Errorf("%w: bucket %s has %d object versions retained or held, the last until %s",
		ErrRetained, name, retained, latest.UTC().Format(time.RFC3339))
}

// removeAllVersions deletes every object version and delete marker in the bucket, streaming the
// listing into batched deletes. In a bucket with object lock (locked), a refused deletion is
// reported as ErrRetained: retention may have been set after it was checked.
func (c *Client) removeAllVersions(ctx context.Context, name string, locked bool) error {
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	objects := make(chan minio.ObjectInfo)
	listed := make(chan error, 1)
	go func() {
		defer close(objects)
		for obj := range c.s3.ListObjects(lctx, name, minio.ListObjectsOptions{WithVersions: true, Recursive: true}) {
			if obj.Err != nil {
				if s3Code(obj.Err) != minio.NoSuchBucket {
					listed <- obj.Err
				}
				return
			}
			select {
			case objects <- obj:
			case <-lctx.Done():
				return
			}
		}
	}()
	var failed int
	var first error
	for rerr := range c.s3.RemoveObjects(lctx, name, objects, minio.RemoveObjectsOptions{}) {
		if rerr.Err != nil {
			failed++
			if first == nil {
				first = rerr.Err
			}
		}
	}
	cancel()
	for range objects {
		// Drained so that the lister has finished before its error is read.
	}
	select {
	case err := <-listed:
		return fmt.Errorf("listing object versions in bucket %s: %w", name, err)
	default:
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("emptying bucket %s: %w", name, err)
	}
	switch {
	case failed == 0:
		return nil
	case locked && IsAccessDenied(first):
		return fmt.Errorf("%w: deleting %d object versions in bucket %s was refused: %w", ErrRetained, failed, name, first)
	default:
		return fmt.Errorf("deleting %d object versions in bucket %s failed: %w", failed, name, first)
	}
}
