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
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/fivesafes/fivesafes/internal/extract"
)

// ErrPrune marks an error from Run after the new copy was published: only the deletion of
// earlier generations failed. The copy Run returns is visible and complete.
var ErrPrune = errors.New("the copy is published but earlier objects were not all deleted")

// errUploadEnded stops a transform whose upload has ended.
var errUploadEnded = errors.New("the upload ended")

// cleanupTimeout bounds the removal of a failed run's objects.
const cleanupTimeout = 30 * time.Second

// Input is one copy to make.
type Input struct {
	// Store reads the source and writes the copy.
	Store Store
	// Provenance is what the copy is made from. Its source fields must match Source, and its
	// schema digest Schema.
	Provenance Provenance
	// Source is the listed source objects; each is read at the ETag listed, so a source that
	// changes during the run fails it rather than mixing versions.
	Source Source
	// Bucket is the workspace bucket the copy is written to.
	Bucket string
	// RunID names this run; its objects go under GenerationPrefix(dataset, RunID). Make it with
	// NewRunID: Prune keeps the generations of runs that sort after the copy it keeps.
	RunID string
	// Previous is the ETag of the manifest this copy replaces, empty when no copy is visible.
	// The manifest is written only if it is still that one, so of two runs started from the
	// same copy only one publishes; the other fails with ErrSuperseded.
	Previous string
	// Schema is the dataset's schema.
	Schema []extract.Column
	// Pseudonymiser computes pseudonyms; required when an approved column is an identifier.
	Pseudonymiser extract.Pseudonymiser
	// OptOuts is the opt-out set, required exactly when Provenance.OptOuts.Applied.
	OptOuts extract.OptOuts
	// BeforePublish, when set, is called with the finished manifest (SHA256 set) after every
	// object is written and before the manifest is: an error stops the copy from becoming
	// visible. It is where the copy is recorded in the audit log.
	BeforePublish func(ctx context.Context, m Manifest) error
	// Now tells the time; time.Now when nil.
	Now func() time.Time
	// BatchSize and Concurrency tune extract.Transform; zero takes its defaults.
	BatchSize, Concurrency int
	// PartSize is the multipart upload part size (DefaultPartSize when zero, at least 5 MiB).
	PartSize uint64
}

func (in *Input) now() time.Time {
	if in.Now != nil {
		return in.Now()
	}
	return time.Now()
}

// check refuses an input whose parts disagree.
func (in *Input) check() error {
	p := in.Provenance
	switch {
	case in.Store == nil:
		return errors.New("no store")
	case in.Bucket == "":
		return errors.New("no destination bucket")
	case len(in.Source.Objects) == 0:
		return ErrNoSource
	case len(in.Source.Objects) > MaxObjects:
		return fmt.Errorf("%d source objects, more than %d", len(in.Source.Objects), MaxObjects)
	case p.SourceBucket != in.Source.Bucket || p.SourcePrefix != in.Source.Prefix || p.SourceDigest != in.Source.Digest:
		return errors.New("the provenance does not describe the listed source")
	case p.SchemaDigest != SchemaDigest(in.Schema):
		return errors.New("the provenance does not describe the schema")
	case p.OptOuts.Applied != (in.OptOuts != nil):
		return errors.New("an opt-out set must be given exactly when the provenance says opt-outs are applied")
	case p.OptOuts.Applied && p.OptOuts.Digest == "":
		return errors.New("applied opt-outs need the snapshot's digest")
	case !p.OptOuts.Applied && p.OptOuts.Justification == "":
		return errors.New("opt-outs not applied need a justification")
	}
	if err := CheckDataset(p.Dataset); err != nil {
		return err
	}
	return CheckRunID(in.RunID)
}

// Run makes the copy in describes and publishes it by writing its manifest, then deletes the
// objects of earlier generations. On any error before the manifest is written, the previously
// visible copy, if any, is untouched and this run's objects are removed (or left, unreferenced,
// for Prune). An error wrapping ErrPrune comes with the published manifest.
func Run(ctx context.Context, in Input) (Manifest, error) {
	if err := in.check(); err != nil {
		return Manifest{}, fmt.Errorf("extract input: %w", err)
	}
	dataset := in.Provenance.Dataset
	m := Manifest{Version: FormatVersion, Provenance: in.Provenance, RunID: in.RunID, StartedAt: in.now().UTC()}
	fail := func(err error) (Manifest, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_, _ = removeUnder(cctx, in.Store, in.Bucket, GenerationPrefix(dataset, in.RunID), nil)
		return Manifest{}, err
	}
	for i, src := range in.Source.Objects {
		obj, err := in.copyObject(ctx, i+1, src)
		if err != nil {
			return fail(err)
		}
		m.Objects = append(m.Objects, obj)
		addCounts(&m, obj)
	}
	return in.publish(ctx, m, fail)
}

// publish completes m, records it through BeforePublish, writes it as the manifest, and prunes
// earlier generations. fail removes this run's objects and returns its error.
func (in *Input) publish(ctx context.Context, m Manifest, fail func(error) (Manifest, error)) (Manifest, error) {
	dataset := in.Provenance.Dataset
	m.CompletedAt = in.now().UTC()
	m.DurationMillis = m.CompletedAt.Sub(m.StartedAt).Milliseconds()
	b, err := m.encode()
	if err != nil {
		return fail(err)
	}
	if in.BeforePublish != nil {
		if err := in.BeforePublish(ctx, m); err != nil {
			return fail(fmt.Errorf("before publishing the copy: %w", err))
		}
	}
	etag, err := putManifest(ctx, in.Store, in.Bucket, dataset, in.Previous, b)
	if errors.Is(err, ErrSuperseded) {
		return fail(err)
	}
	if err != nil {
		// The manifest is one object: either it was replaced or the old one stands. The new
		// objects are not removed, in case it was replaced and only the answer was lost.
		return Manifest{}, err
	}
	m.ETag = etag
	if _, err := Prune(ctx, in.Store, in.Bucket, dataset, in.RunID); err != nil {
		return m, fmt.Errorf("%w: %w", ErrPrune, err)
	}
	return m, nil
}

func addCounts(m *Manifest, o Object) {
	m.Rows.Read += o.Counts.Read
	m.Rows.Written += o.Counts.Written
	m.Rows.OptedOut += o.Counts.OptedOut
	m.Rows.InvalidIdentifier += o.Counts.InvalidIdentifier
	m.Rows.Malformed += o.Counts.Malformed
	for _, l := range o.MalformedLines {
		if len(m.MalformedLines) == extract.MaxMalformedLines {
			break
		}
		m.MalformedLines = append(m.MalformedLines, l)
	}
}

// copyObject streams one source object through extract.Transform into the n-th object of the
// copy.
func (in *Input) copyObject(ctx context.Context, n int, src SourceObject) (Object, error) {
	started := in.now()
	var get minio.GetObjectOptions
	if err := get.SetMatchETag(src.ETag); err != nil {
		return Object{}, fmt.Errorf("pinning s3://%s/%s: %w", in.Source.Bucket, src.Key, err)
	}
	body, err := in.Store.GetObject(ctx, in.Source.Bucket, src.Key, get)
	if err != nil {
		return Object{}, fmt.Errorf("opening s3://%s/%s: %w", in.Source.Bucket, src.Key, err)
	}
	defer func() { _ = body.Close() }()

	cfg := extract.Config{
		Schema:        in.Schema,
		Columns:       in.Provenance.Columns,
		Pseudonymiser: in.Pseudonymiser,
		OptOuts:       in.OptOuts,
		BatchSize:     in.BatchSize,
		Concurrency:   in.Concurrency,
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	pr, pw := io.Pipe()
	type transformed struct {
		res extract.Result
		err error
	}
	done := make(chan transformed, 1)
	go func() {
		res, err := extract.Transform(ctx, body, pw, cfg)
		_ = pw.CloseWithError(err)
		done <- transformed{res, err}
	}()
	key := PartKey(in.Provenance.Dataset, in.RunID, n)
	partSize := in.PartSize
	if partSize == 0 {
		partSize = DefaultPartSize
	}
	info, perr := in.Store.PutObject(ctx, in.Bucket, key, pr, -1, minio.PutObjectOptions{
		ContentType: "text/csv; charset=utf-8",
		PartSize:    max(partSize, minPartSize),
		// The copy's integrity is its own sha256, computed here and recorded in the manifest;
		// signing every chunk's sha256 again on plain HTTP (TLS uploads are never chunk-signed)
		// would cost a third of the copy's CPU.
		DisableContentSha256: true,
		// Two parts in flight: the next part fills while the last one uploads.
		ConcurrentStreamParts: true,
		NumThreads:            2,
	})
	// The transform stops at once if the upload ended early; its error then is errUploadEnded.
	_ = pr.CloseWithError(errUploadEnded)
	if perr != nil {
		cancel(errUploadEnded)
	}
	t := <-done
	switch {
	case t.err != nil && !errors.Is(t.err, errUploadEnded):
		return Object{}, fmt.Errorf("copying s3://%s/%s: %w", in.Source.Bucket, src.Key, t.err)
	case perr != nil:
		return Object{}, fmt.Errorf("writing s3://%s/%s: %w", in.Bucket, key, perr)
	case t.err != nil:
		return Object{}, fmt.Errorf("copying s3://%s/%s: %w", in.Source.Bucket, src.Key, t.err)
	case info.Size != t.res.Size:
		return Object{}, fmt.Errorf("writing s3://%s/%s: stored %d bytes of %d", in.Bucket, key, info.Size, t.res.Size)
	}
	return Object{
		Path:           key,
		SHA256:         t.res.SHA256,
		Size:           t.res.Size,
		Rows:           t.res.Counts.Written,
		Source:         src.Key,
		SourceETag:     src.ETag,
		Counts:         t.res.Counts.RowCounts(),
		MalformedLines: t.res.MalformedLines,
		DurationMillis: in.now().Sub(started).Milliseconds(),
	}, nil
}
