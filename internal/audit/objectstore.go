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

package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Retention modes for sealed segments and checkpoints in an object-locked bucket.
const (
	RetentionCompliance = "compliance"
	RetentionGovernance = "governance"
	RetentionNone       = "none"
)

// ObjectStoreOptions configure an ObjectStore.
type ObjectStoreOptions struct {
	// Prefix is prepended to every object name, e.g. "audit/".
	Prefix string
	// RetentionMode is RetentionCompliance, RetentionGovernance or RetentionNone; with a mode,
	// segments and checkpoints are written with that object-lock retention.
	RetentionMode string
	// RetentionPeriod is how long each locked object is retained.
	RetentionPeriod time.Duration
	// Now tells the time for retention dates; nil means time.Now.
	Now func() time.Time
}

// ObjectStore is a Store in an S3-compatible bucket (MinIO). Puts are create-only through a
// conditional write (If-None-Match: *), so two writers can never both store sequence n; sealed
// segments and checkpoints carry object-lock retention when the bucket has object lock and a
// mode is set. Tail objects carry none, so Prune can remove them.
type ObjectStore struct {
	client *minio.Client
	bucket string
	o      ObjectStoreOptions
}

// NewObjectStore returns a Store over bucket. The bucket must exist (see EnsureAuditBucket).
func NewObjectStore(client *minio.Client, bucket string, o ObjectStoreOptions) (*ObjectStore, error) {
	switch o.RetentionMode {
	case "", RetentionNone:
		o.RetentionMode = RetentionNone
	case RetentionCompliance, RetentionGovernance:
		if o.RetentionPeriod <= 0 {
			return nil, fmt.Errorf("audit retention mode %s needs a positive retention period", o.RetentionMode)
		}
	default:
		return nil, fmt.Errorf("unknown audit retention mode %q: use %s, %s or %s", o.RetentionMode, RetentionCompliance, RetentionGovernance, RetentionNone)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &ObjectStore{client: client, bucket: bucket, o: o}, nil
}

// EnsureAuditBucket creates the audit bucket with object lock (and so versioning) unless it
// exists. An existing bucket without object lock is refused when a retention mode is wanted,
// because its segments could then be deleted.
func EnsureAuditBucket(ctx context.Context, client *minio.Client, bucket string, retentionMode string) error {
	exists, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("checking audit bucket %s: %w", bucket, ErrUnavailable)
	}
	if !exists {
		err := client.MakeBucket(ctx, bucket, minio.MakeBucketOptions{ObjectLocking: true})
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return fmt.Errorf("creating audit bucket %s with object lock: %w", bucket, err)
		}
		return nil
	}
	if retentionMode == RetentionNone || retentionMode == "" {
		return nil
	}
	enabled, _, _, _, err := client.GetObjectLockConfig(ctx, bucket)
	if err != nil || enabled != "Enabled" {
		return fmt.Errorf("audit bucket %s exists without object lock, so %s retention cannot protect it; use a bucket created with object lock", bucket, retentionMode)
	}
	return nil
}

func (s *ObjectStore) key(name string) string { return s.o.Prefix + name }

// Put stores data under name, create-only; locked if the name is a segment or checkpoint.
func (s *ObjectStore) Put(ctx context.Context, name string, data []byte) error {
	opts := minio.PutObjectOptions{ContentType: "application/x-ndjson", SendContentMd5: true}
	opts.SetMatchETagExcept("*")
	if s.o.RetentionMode != RetentionNone && (strings.HasPrefix(name, SegmentPrefix) || strings.HasPrefix(name, CheckpointPrefix)) {
		opts.Mode = minio.Compliance
		if s.o.RetentionMode == RetentionGovernance {
			opts.Mode = minio.Governance
		}
		opts.RetainUntilDate = s.o.Now().Add(s.o.RetentionPeriod).UTC()
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.key(name), bytes.NewReader(data), int64(len(data)), opts)
	if err == nil {
		return nil
	}
	if resp := minio.ToErrorResponse(err); resp.StatusCode == http.StatusPreconditionFailed || resp.Code == minio.PreconditionFailed {
		return fmt.Errorf("putting %s: %w", name, fs.ErrExist)
	}
	return fmt.Errorf("putting %s in audit bucket %s: %w: %w", name, s.bucket, ErrUnavailable, err)
}

// Get returns the object stored under name.
func (s *ObjectStore) Get(ctx context.Context, name string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, s.key(name), minio.GetObjectOptions{})
	if err != nil {
		return nil, s.readErr(name, err)
	}
	defer func() { _ = obj.Close() }()
	b, err := io.ReadAll(obj)
	if err != nil {
		return nil, s.readErr(name, err)
	}
	return b, nil
}

func (s *ObjectStore) readErr(name string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return fmt.Errorf("getting %s: %w", name, fs.ErrNotExist)
	}
	return fmt.Errorf("getting %s from audit bucket %s: %w: %w", name, s.bucket, ErrUnavailable, err)
}

// List returns the names with prefix that sort after after, in ascending order.
func (s *ObjectStore) List(ctx context.Context, prefix, after string) ([]string, error) {
	opts := minio.ListObjectsOptions{Prefix: s.key(prefix), Recursive: true}
	if after != "" {
		opts.StartAfter = s.key(after)
	}
	var names []string
	for obj := range s.client.ListObjects(ctx, s.bucket, opts) {
		if obj.Err != nil {
			return nil, fmt.Errorf("listing audit bucket %s: %w: %w", s.bucket, ErrUnavailable, obj.Err)
		}
		name := strings.TrimPrefix(obj.Key, s.o.Prefix)
		if name > after {
			names = append(names, name)
		}
	}
	return names, nil
}

// Delete removes the object stored under name (used only to prune covered tail objects).
func (s *ObjectStore) Delete(ctx context.Context, name string) error {
	err := s.client.RemoveObject(ctx, s.bucket, s.key(name), minio.RemoveObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey {
		return fmt.Errorf("deleting %s from audit bucket %s: %w", name, s.bucket, err)
	}
	return nil
}
