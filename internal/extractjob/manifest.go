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
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// maxManifestBytes bounds the manifest read back from storage.
const maxManifestBytes = 8 << 20

// Object is one object of a copy.
type Object struct {
	// Path is the object's key in the workspace bucket.
	Path string `json:"path"`
	// SHA256 is the digest of the object's bytes.
	SHA256 string `json:"sha256"`
	// Size is the object's size in bytes.
	Size int64 `json:"size"`
	// Rows is the number of data rows in the object.
	Rows int64 `json:"rows"`
	// Source is the key of the source object it was made from.
	Source string `json:"source"`
	// SourceETag is the entity tag of the source object version read.
	SourceETag string `json:"sourceEtag"`
	// Counts accounts for every row of the source object.
	Counts fivesafesv1alpha1.RowCounts `json:"counts"`
	// MalformedLines are the lines of the source object on which its first malformed rows
	// start (at most 100).
	MalformedLines []int64 `json:"malformedLines,omitempty"`
	// DurationMillis is how long the object took to make.
	DurationMillis int64 `json:"durationMillis"`
}

// Manifest describes one visible copy of a dataset. It is written last, at ManifestKey.
type Manifest struct {
	// Version is FormatVersion of the extractor that made the copy.
	Version int `json:"version"`
	Provenance
	// RunID names the run that made the copy; its objects are under GenerationPrefix.
	RunID string `json:"runId"`
	// Rows accounts for every row read from every source object.
	Rows fivesafesv1alpha1.RowCounts `json:"rows"`
	// MalformedLines are the source lines of the first malformed rows (at most 100) across the
	// source objects in order; each Object says which lines are its own.
	MalformedLines []int64 `json:"malformedLines,omitempty"`
	// Objects are the objects of the copy, in source order.
	Objects []Object `json:"objects"`
	// StartedAt is when the run started.
	StartedAt time.Time `json:"startedAt"`
	// CompletedAt is when every object was written, just before the manifest.
	CompletedAt time.Time `json:"completedAt"`
	// DurationMillis is how long the objects took to make.
	DurationMillis int64 `json:"durationMillis"`

	// SHA256 is the digest of the manifest's own bytes as stored. It is not part of the JSON.
	SHA256 string `json:"-"`
	// ETag is the stored manifest object's entity tag, once it is stored. It is not part of the
	// JSON.
	ETag string `json:"-"`
}

// encode returns the manifest's stored form and sets SHA256 from it.
func (m *Manifest) encode() ([]byte, error) {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the manifest: %w", err)
	}
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	m.SHA256 = "sha256:" + hex.EncodeToString(sum[:])
	return b, nil
}

// DecodeManifest parses a stored manifest and checks that it describes a copy of dataset whose
// objects all lie under its run's generation prefix.
func DecodeManifest(dataset string, b []byte) (Manifest, error) {
	var m Manifest
	if len(b) > maxManifestBytes {
		return Manifest{}, fmt.Errorf("the manifest is larger than %d bytes", maxManifestBytes)
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return Manifest{}, fmt.Errorf("decoding the manifest: %w", err)
	}
	if m.Dataset != dataset {
		return Manifest{}, fmt.Errorf("the manifest describes dataset %q, not %q", m.Dataset, dataset)
	}
	if err := CheckRunID(m.RunID); err != nil {
		return Manifest{}, fmt.Errorf("the manifest's run id: %w", err)
	}
	gen := GenerationPrefix(dataset, m.RunID)
	for _, o := range m.Objects {
		name, ok := strings.CutPrefix(o.Path, gen)
		if !ok || name == "" || name == "." || name == ".." || strings.Contains(name, "/") {
			return Manifest{}, fmt.Errorf("the manifest names an object outside its run's prefix %s", gen)
		}
	}
	sum := sha256.Sum256(b)
	m.SHA256 = "sha256:" + hex.EncodeToString(sum[:])
	return m, nil
}

// ReadManifest reads the manifest of dataset's copy in bucket. It returns nil and no error when
// there is none: no copy is visible.
func ReadManifest(ctx context.Context, st Store, bucket, dataset string) (*Manifest, error) {
	key := ManifestKey(dataset)
	obj, err := st.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, manifestReadErr(bucket, key, err)
	}
	defer func() { _ = obj.Close() }()
	b, err := io.ReadAll(io.LimitReader(obj, maxManifestBytes+1))
	if err != nil {
		return nil, manifestReadErr(bucket, key, err)
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("s3://%s/%s is empty", bucket, key)
	}
	info, err := obj.Stat()
	if err != nil {
		return nil, manifestReadErr(bucket, key, err)
	}
	m, err := DecodeManifest(dataset, b)
	if err != nil {
		return nil, fmt.Errorf("s3://%s/%s: %w", bucket, key, err)
	}
	m.ETag = info.ETag
	return &m, nil
}

// manifestReadErr wraps an error reading the manifest; a manifest that does not exist is no
// error.
func manifestReadErr(bucket, key string, err error) error {
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil
	}
	return fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
}

// ErrSuperseded is returned by Run when the visible manifest is no longer the one the run was
// to replace: another run published a copy meanwhile, and this run's copy was discarded.
var ErrSuperseded = errors.New("another copy was published while this one was made")

// putManifest writes the manifest's bytes in one request, only if the stored manifest is still
// the one with ETag previous (or, when previous is empty, only if there is none), and returns the
// new manifest's ETag.
func putManifest(ctx context.Context, st Store, bucket, dataset, previous string, b []byte) (string, error) {
	key := ManifestKey(dataset)
	o := minio.PutObjectOptions{ContentType: "application/json", SendContentMd5: true}
	if previous == "" {
		o.SetMatchETagExcept("*")
	} else {
		o.SetMatchETag(previous)
	}
	info, err := st.PutObject(ctx, bucket, key, bytes.NewReader(b), int64(len(b)), o)
	if err != nil {
		if r := minio.ToErrorResponse(err); r.Code == minio.PreconditionFailed || r.StatusCode == http.StatusPreconditionFailed {
			return "", fmt.Errorf("writing s3://%s/%s: %w", bucket, key, ErrSuperseded)
		}
		return "", fmt.Errorf("writing s3://%s/%s: %w", bucket, key, err)
	}
	return info.ETag, nil
}
