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
	"strings"

	"github.com/minio/minio-go/v7"
)

// Prune deletes, every version of, the objects under dataset's prefix in bucket that belong to
// runs older than keep (the run whose copy the manifest names): earlier generations and the
// leftovers of runs that died, and the part records of keep once its manifest is written. Generations of runs that sort after keep are left alone, as a run
// may still be writing them; the manifest's versions are kept as the history of the copies made.
// It returns how many object versions it deleted; with nothing to delete it only lists.
func Prune(ctx context.Context, st Store, bucket, dataset, keep string) (int, error) {
	if err := CheckDataset(dataset); err != nil {
		return 0, err
	}
	if err := CheckRunID(keep); err != nil {
		return 0, err
	}
	prefix, manifest := Prefix(dataset), ManifestKey(dataset)
	return removeUnder(ctx, st, bucket, prefix, func(key string) bool {
		if key == manifest {
			return true
		}
		run, rest, inRun := strings.Cut(strings.TrimPrefix(key, prefix), "/")
		if run == keep && strings.HasPrefix(rest, "parts/") {
			// The records of the parts of a published copy: the manifest now says it all.
			return false
		}
		return inRun && run >= keep
	})
}

// removeUnder deletes every version of every object under prefix for which keep (when set)
// returns false.
func removeUnder(ctx context.Context, st Store, bucket, prefix string, keep func(key string) bool) (int, error) {
	type version struct{ key, id string }
	var doomed []version
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range st.ListObjects(lctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: true}) {
		if oi.Err != nil {
			return 0, fmt.Errorf("listing s3://%s/%s: %w", bucket, prefix, oi.Err)
		}
		if keep != nil && keep(oi.Key) {
			continue
		}
		doomed = append(doomed, version{oi.Key, oi.VersionID})
	}
	removed := 0
	var errs []error
	for _, v := range doomed {
		err := st.RemoveObject(ctx, bucket, v.key, minio.RemoveObjectOptions{VersionID: v.id})
		if err != nil && minio.ToErrorResponse(err).Code != minio.NoSuchKey && minio.ToErrorResponse(err).Code != minio.NoSuchVersion {
			errs = append(errs, fmt.Errorf("deleting s3://%s/%s: %w", bucket, v.key, err))
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}
