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
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
)

// Object describes one stored object version.
type Object struct {
	// Bucket and Key name the object.
	Bucket, Key string
	// VersionID is the version, empty in a bucket that was never versioned.
	VersionID string
	// ETag is the store's entity tag of the content.
	ETag string
	// Size is the content length in bytes.
	Size int64
	// LastModified is when the version was written.
	LastModified time.Time
	// ContentType is the stored media type.
	ContentType string
}

func checkObject(bucket, key string) error {
	if err := checkBucket(bucket); err != nil {
		return err
	}
	if err := s3utils.CheckValidObjectName(key); err != nil {
		return fmt.Errorf("%w: object name in bucket %s: %w", ErrInvalid, bucket, err)
	}
	return nil
}

// objectErr wraps an error about the object bucket/key, mapping a missing bucket, object or
// version to ErrNotFound.
func objectErr(op, bucket, key string, err error) error {
	switch s3Code(err) {
	case minio.NoSuchKey, minio.NoSuchBucket, minio.NoSuchVersion:
		return fmt.Errorf("%s %s/%s: %w", op, bucket, key, ErrNotFound)
	}
	return fmt.Errorf("%s %s/%s: %w", op, bucket, key, err)
}

func objectOf(bucket string, oi minio.ObjectInfo) Object {
	return Object{
		Bucket:       bucket,
		Key:          oi.Key,
		VersionID:    oi.VersionID,
		ETag:         oi.ETag,
		Size:         oi.Size,
		LastModified: oi.LastModified,
		ContentType:  oi.ContentType,
	}
}

// StatObject describes the current version of bucket/key, or fails with ErrNotFound.
func (c *Client) StatObject(ctx context.Context, bucket, key string) (Object, error) {
	if err := checkObject(bucket, key); err != nil {
		return Object{}, err
	}
	oi, err := c.s3.StatObject(ctx, bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Object{}, objectErr("describing", bucket, key, err)
	}
	return objectOf(bucket, oi), nil
}

// OpenObject opens the current version of bucket/key for reading, or fails with ErrNotFound.
// The reader yields that one version even if the object is overwritten meanwhile; the caller
// must close it.
func (c *Client) OpenObject(ctx context.Context, bucket, key string) (io.ReadCloser, Object, error) {
	if err := checkObject(bucket, key); err != nil {
		return nil, Object{}, err
	}
	obj, err := c.s3.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, Object{}, objectErr("reading", bucket, key, err)
	}
	oi, err := obj.Stat()
	if err != nil {
		_ = obj.Close()
		return nil, Object{}, objectErr("reading", bucket, key, err)
	}
	return obj, objectOf(bucket, oi), nil
}

// SHA256Object streams the current version of bucket/key through SHA-256 and returns its digest,
// written "sha256:" and 64 lower-case hex characters, and its size. Memory use does not grow with
// the object's size.
func (c *Client) SHA256Object(ctx context.Context, bucket, key string) (digest string, size int64, err error) {
	r, info, err := c.OpenObject(ctx, bucket, key)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = r.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, objectErr("hashing", bucket, key, err)
	}
	if n != info.Size {
		return "", 0, fmt.Errorf("hashing %s/%s: read %d bytes of %d", bucket, key, n, info.Size)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil)), n, nil
}

// CopyOptions pin the source of a copy.
type CopyOptions struct {
	// SourceVersionID copies that version of the source; empty copies the current version.
	SourceVersionID string
	// SourceETag, when set, makes the copy fail with ErrChanged unless the source's ETag is
	// still this one.
	SourceETag string
}

// CopyObject copies srcBucket/srcKey to dstBucket/dstKey inside the store, with the source's
// metadata, and describes the copy. Objects over 5 GiB are copied in parts. A missing source
// fails with ErrNotFound; a source that no longer matches o fails with ErrChanged. Repeating a
// copy writes the same content again (a new version in a versioned bucket).
func (c *Client) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, o CopyOptions) (Object, error) {
	if err := checkObject(srcBucket, srcKey); err != nil {
		return Object{}, err
	}
	if err := checkObject(dstBucket, dstKey); err != nil {
		return Object{}, err
	}
	src := minio.CopySrcOptions{Bucket: srcBucket, Object: srcKey, VersionID: o.SourceVersionID, MatchETag: o.SourceETag}
	info, err := c.s3.ComposeObject(ctx, minio.CopyDestOptions{Bucket: dstBucket, Object: dstKey}, src)
	switch s3Code(err) {
	case "":
		if err != nil {
			return Object{}, fmt.Errorf("copying %s/%s to %s/%s: %w", srcBucket, srcKey, dstBucket, dstKey, err)
		}
	case minio.PreconditionFailed:
		return Object{}, fmt.Errorf("copying %s/%s: %w", srcBucket, srcKey, ErrChanged)
	case minio.NoSuchKey, minio.NoSuchBucket, minio.NoSuchVersion:
		return Object{}, fmt.Errorf("copying %s/%s to %s/%s: %w", srcBucket, srcKey, dstBucket, dstKey, ErrNotFound)
	default:
		return Object{}, fmt.Errorf("copying %s/%s to %s/%s: %w", srcBucket, srcKey, dstBucket, dstKey, err)
	}
	return Object{
		Bucket:       dstBucket,
		Key:          dstKey,
		VersionID:    info.VersionID,
		ETag:         info.ETag,
		Size:         info.Size,
		LastModified: info.LastModified,
	}, nil
}

// Bounds of a presigned URL's lifetime, set by the S3 protocol.
const (
	MinPresignExpiry = time.Second
	MaxPresignExpiry = 7 * 24 * time.Hour
)

// PresignGet returns a URL that downloads the current version of bucket/key without credentials
// until expiry has passed. The download is served as an attachment of type
// application/octet-stream named after the object's base name, so a browser never renders it.
// The URL names Options.PublicEndpoint when set. It is a bearer credential: never log it.
func (c *Client) PresignGet(ctx context.Context, bucket, key string, expiry time.Duration) (string, error) {
	if err := checkObject(bucket, key); err != nil {
		return "", err
	}
	if expiry < MinPresignExpiry || expiry > MaxPresignExpiry {
		return "", fmt.Errorf("%w: presigned URL expiry %s is outside [%s, %s]", ErrInvalid, expiry, MinPresignExpiry, MaxPresignExpiry)
	}
	disposition := mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(key)})
	if disposition == "" {
		disposition = "attachment"
	}
	params := url.Values{
		"response-content-disposition": {disposition},
		"response-content-type":        {"application/octet-stream"},
	}
	u, err := c.presign.PresignedGetObject(ctx, bucket, key, expiry, params)
	if err != nil {
		return "", fmt.Errorf("presigning a download of %s/%s: %w", bucket, key, err)
	}
	return u.String(), nil
}

// RetentionMode is an object-lock retention mode.
type RetentionMode string

// Retention modes.
const (
	// RetentionCompliance cannot be shortened or removed by anyone until it expires.
	RetentionCompliance RetentionMode = RetentionMode(minio.Compliance)
	// RetentionGovernance can be bypassed only by users allowed s3:BypassGovernanceRetention.
	RetentionGovernance RetentionMode = RetentionMode(minio.Governance)
)

// PutObjectRetained stores data at bucket/key with object-lock retention mode until the given
// time, create-only: if bucket/key already exists it fails with ErrExists and writes nothing, so
// a record is never replaced. The bucket must have object lock (EnsureBucket with ObjectLock).
func (c *Client) PutObjectRetained(ctx context.Context, bucket, key string, data []byte, mode RetentionMode, until time.Time) (Object, error) {
	if err := checkObject(bucket, key); err != nil {
		return Object{}, err
	}
	if mode != RetentionCompliance && mode != RetentionGovernance {
		return Object{}, fmt.Errorf("%w: retention mode %q is neither %s nor %s", ErrInvalid, mode, RetentionCompliance, RetentionGovernance)
	}
	if !until.After(time.Now()) {
		return Object{}, fmt.Errorf("%w: retention must end in the future", ErrInvalid)
	}
	opts := minio.PutObjectOptions{
		ContentType:     "application/octet-stream",
		SendContentMd5:  true,
		Mode:            minio.RetentionMode(mode),
		RetainUntilDate: until.UTC(),
	}
	opts.SetMatchETagExcept("*")
	info, err := c.s3.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), opts)
	if err != nil {
		var er minio.ErrorResponse
		if errors.As(err, &er) && (er.StatusCode == http.StatusPreconditionFailed || er.Code == minio.PreconditionFailed) {
			return Object{}, fmt.Errorf("writing %s/%s: %w", bucket, key, ErrExists)
		}
		return Object{}, objectErr("writing", bucket, key, err)
	}
	return Object{
		Bucket:       bucket,
		Key:          key,
		VersionID:    info.VersionID,
		ETag:         info.ETag,
		Size:         info.Size,
		LastModified: info.LastModified,
		ContentType:  opts.ContentType,
	}, nil
}
