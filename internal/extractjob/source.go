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

package extractjob

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/minio/minio-go/v7"
)

// Store is the object storage a copy is read from and written to. *minio.Client satisfies it.
type Store interface {
	ListObjects(ctx context.Context, bucket string, o minio.ListObjectsOptions) <-chan minio.ObjectInfo
	GetObject(ctx context.Context, bucket, key string, o minio.GetObjectOptions) (*minio.Object, error)
	PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, o minio.PutObjectOptions) (minio.UploadInfo, error)
	RemoveObject(ctx context.Context, bucket, key string, o minio.RemoveObjectOptions) error
}

// ErrNoSource is returned by ListSource when the prefix holds no objects.
var ErrNoSource = errors.New("the source prefix holds no objects")

// SourceObject is one source object as listed.
type SourceObject struct {
	// Key is the object's key.
	Key string `json:"key"`
	// ETag is the object's entity tag when listed; the copy reads only that version.
	ETag string `json:"etag"`
	// Size is the object's size in bytes.
	Size int64 `json:"size"`
}

// Source is the listed source of a copy.
type Source struct {
	// Bucket and Prefix locate the objects.
	Bucket string
	// Prefix selects the objects in Bucket.
	Prefix string
	// Objects are the source objects in key order.
	Objects []SourceObject
	// Digest identifies the objects: the sha256 over the bucket, prefix, and each object's key
	// and ETag, written "sha256:" and 64 lower-case hex characters.
	Digest string
}

// Bytes is the total size of the source objects.
func (s Source) Bytes() int64 {
	var n int64
	for _, o := range s.Objects {
		n += o.Size
	}
	return n
}

// ListSource lists the objects under prefix in bucket, in key order, and computes their digest.
// Keys ending in "/" (folder markers) are skipped. It fails with ErrNoSource when there are none
// and when there are more than MaxObjects.
func ListSource(ctx context.Context, st Store, bucket, prefix string) (Source, error) {
	src := Source{Bucket: bucket, Prefix: prefix}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range st.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if oi.Err != nil {
			return Source{}, fmt.Errorf("listing s3://%s/%s: %w", bucket, prefix, oi.Err)
		}
		if strings.HasSuffix(oi.Key, "/") {
			continue
		}
		if len(src.Objects) == MaxObjects {
			return Source{}, fmt.Errorf("s3://%s/%s holds more than %d objects, more than one copy takes", bucket, prefix, MaxObjects)
		}
		src.Objects = append(src.Objects, SourceObject{Key: oi.Key, ETag: oi.ETag, Size: oi.Size})
	}
	if len(src.Objects) == 0 {
		return Source{}, fmt.Errorf("s3://%s/%s: %w", bucket, prefix, ErrNoSource)
	}
	slices.SortFunc(src.Objects, func(a, b SourceObject) int { return strings.Compare(a.Key, b.Key) })
	src.Digest = SourceDigest(bucket, prefix, src.Objects)
	return src, nil
}

// SourceDigest is the digest of source objects: sha256 over the bucket, the prefix, and each
// object's key and ETag in order, each field length-prefixed.
func SourceDigest(bucket, prefix string, objects []SourceObject) string {
	h := sha256.New()
	writeField(h, bucket)
	writeField(h, prefix)
	for _, o := range objects {
		writeField(h, o.Key)
		writeField(h, o.ETag)
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
