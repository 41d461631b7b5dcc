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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
)

// A copy made by many workers: RunPart copies one source object and leaves a record of it
// beside its object; Publish, once every part is recorded, assembles the manifest from the
// records in source order and publishes it exactly as Run does. The objects and the manifest are
// the same as Run's for the same input, whoever made each part.

// maxPartRecordBytes bounds a part record read back from storage.
const maxPartRecordBytes = 1 << 20

// ErrPartsMissing is returned by Publish while some source object has no part record.
var ErrPartsMissing = errors.New("some parts of the copy are not made yet")

// partsPrefix is where run runID records its finished parts.
func partsPrefix(dataset, runID string) string { return GenerationPrefix(dataset, runID) + "parts/" }

// PartRecordKey is the key of the record of the n-th object (from 1) of run runID.
func PartRecordKey(dataset, runID string, n int) string {
	return partsPrefix(dataset, runID) + fmt.Sprintf("%04d", n) + ".json"
}

// RunPart makes the object of the copy for source object index (from 0) and records it. A part
// already recorded for the same source version is not made again, so a retried worker does
// only what is left. It publishes nothing: that is Publish's.
func RunPart(ctx context.Context, in Input, index int) (Object, error) {
	if err := in.check(); err != nil {
		return Object{}, fmt.Errorf("extract input: %w", err)
	}
	if index < 0 || index >= len(in.Source.Objects) {
		return Object{}, fmt.Errorf("part %d: the source has %d objects", index, len(in.Source.Objects))
	}
	src, n := in.Source.Objects[index], index+1
	key := PartRecordKey(in.Provenance.Dataset, in.RunID, n)
	if got, err := readPart(ctx, in.Store, in.Bucket, key); err != nil {
		return Object{}, err
	} else if got != nil && got.Source == src.Key && got.SourceETag == src.ETag {
		return *got, nil
	}
	obj, err := in.copyObject(ctx, n, src)
	if err != nil {
		return Object{}, err
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return Object{}, fmt.Errorf("encoding the record of part %d: %w", n, err)
	}
	if _, err := in.Store.PutObject(ctx, in.Bucket, key, bytes.NewReader(b), int64(len(b)),
		minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return Object{}, fmt.Errorf("recording part %d in s3://%s/%s: %w", n, in.Bucket, key, err)
	}
	return obj, nil
}

// Publish assembles the manifest of run in.RunID from its part records and publishes it as Run
// does: BeforePublish, then the manifest (only over in.Previous), then the pruning of earlier
// generations and of the part records. It returns ErrPartsMissing, removing nothing, while a
// part is not recorded; on any other error before the manifest is written the run's objects are
// removed.
func Publish(ctx context.Context, in Input, startedAt time.Time) (Manifest, error) {
	if err := in.check(); err != nil {
		return Manifest{}, fmt.Errorf("extract input: %w", err)
	}
	dataset := in.Provenance.Dataset
	m := Manifest{Version: FormatVersion, Provenance: in.Provenance, RunID: in.RunID, StartedAt: startedAt.UTC()}
	fail := func(err error) (Manifest, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		_, _ = removeUnder(cctx, in.Store, in.Bucket, GenerationPrefix(dataset, in.RunID), nil)
		return Manifest{}, err
	}
	var missing int
	for i, src := range in.Source.Objects {
		n := i + 1
		obj, err := readPart(ctx, in.Store, in.Bucket, PartRecordKey(dataset, in.RunID, n))
		switch {
		case err != nil:
			return Manifest{}, err
		case obj == nil:
			missing++
			continue
		case obj.Source != src.Key || obj.SourceETag != src.ETag || obj.Path != PartKey(dataset, in.RunID, n):
			return fail(fmt.Errorf("the record of part %d describes s3://%s/%s version %s, not the source object listed", n, in.Source.Bucket, obj.Source, obj.SourceETag))
		}
		m.Objects = append(m.Objects, *obj)
		addCounts(&m, *obj)
	}
	if missing > 0 {
		return Manifest{}, fmt.Errorf("%w: %d of %d", ErrPartsMissing, missing, len(in.Source.Objects))
	}
	return in.publish(ctx, m, fail)
}

// readPart reads a part record, or returns nil when there is none.
func readPart(ctx context.Context, st Store, bucket, key string) (*Object, error) {
	obj, err := st.GetObject(ctx, bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	defer func() { _ = obj.Close() }()
	b, err := io.ReadAll(io.LimitReader(obj, maxPartRecordBytes+1))
	if err != nil {
		if r := minio.ToErrorResponse(err); r.StatusCode == http.StatusNotFound || r.Code == minio.NoSuchKey {
			return nil, nil
		}
		return nil, fmt.Errorf("reading s3://%s/%s: %w", bucket, key, err)
	}
	if len(b) > maxPartRecordBytes {
		return nil, fmt.Errorf("s3://%s/%s is larger than a part record can be", bucket, key)
	}
	var o Object
	if err := json.Unmarshal(b, &o); err != nil {
		return nil, fmt.Errorf("decoding s3://%s/%s: %w", bucket, key, err)
	}
	return &o, nil
}
