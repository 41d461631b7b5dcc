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

package controllers

import (
	"fmt"

	"github.com/minio/minio-go/v7"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
)

// Condition reasons of an OptOutList. Event reasons are the same words.
const (
	// ReasonOptOutLoaded: the snapshot the spec names is loaded and matched its expected digest.
	ReasonOptOutLoaded = "SnapshotLoaded"
	// ReasonOptOutDigestMismatch: the snapshot object's sha256 is not the spec's digest, so it
	// was refused. The user fixes the object or the spec; it is not retried until one changes.
	ReasonOptOutDigestMismatch = "DigestMismatch"
	// ReasonOptOutSourceUnavailable: the snapshot object could not be read, because storage
	// could not be reached or the object does not exist. It is retried with backoff.
	ReasonOptOutSourceUnavailable = "SourceUnavailable"
)

// optOutVersion identifies what a loaded snapshot was loaded for: one OptOutList, at one
// generation, and one version of its object.
type optOutVersion struct {
	uid        string
	generation int64
	etag       string
}

func versionOf(list *fivesafesv1alpha1.OptOutList, info minio.ObjectInfo) optOutVersion {
	return optOutVersion{uid: string(list.UID), generation: list.Generation, etag: info.ETag}
}

func entryVersion(e optoutcache.Entry) optOutVersion {
	return optOutVersion{uid: e.UID, generation: e.Generation, etag: e.ETag}
}

// sourceUnavailableMessage explains why the snapshot object could not be read.
func sourceUnavailableMessage(src fivesafesv1alpha1.OptOutSource, err error) string {
	switch minio.ToErrorResponse(err).Code {
	case "NoSuchKey":
		return fmt.Sprintf("the snapshot object s3://%s/%s does not exist", src.Bucket, src.Key)
	case "NoSuchBucket":
		return fmt.Sprintf("the bucket %s of the snapshot object does not exist", src.Bucket)
	}
	return fmt.Sprintf("the snapshot object s3://%s/%s could not be read: %v", src.Bucket, src.Key, err)
}

// digestMismatchMessage explains a refused snapshot.
func digestMismatchMessage(want fivesafesv1alpha1.Digest, got string) string {
	return fmt.Sprintf("the snapshot object's digest is %s, not the %s the spec expects; it was not loaded", got, want)
}

// loadedMessage describes a loaded snapshot.
func loadedMessage(e *optoutcache.Entry) string {
	return fmt.Sprintf("the snapshot of %s is loaded: %d distinct NHS numbers, %d invalid lines", e.SnapshotDate, e.Set.Len(), e.Invalid)
}

// summariseOptOutList sets Ready and observedGeneration. Ready is True when the snapshot the spec
// names is loaded; otherwise it carries Loaded's reason.
func summariseOptOutList(s *optOutScope) {
	s.list.Status.ObservedGeneration = s.list.Generation
	loaded := meta.FindStatusCondition(s.list.Status.Conditions, fivesafesv1alpha1.OptOutLoaded)
	switch {
	case loaded == nil:
		return
	case loaded.Status == metav1.ConditionTrue && loaded.ObservedGeneration == s.list.Generation:
		setCondition(s.list, fivesafesv1alpha1.ConditionReady, true, loaded.Reason, loaded.Message)
	default:
		setCondition(s.list, fivesafesv1alpha1.ConditionReady, false, loaded.Reason, loaded.Message)
	}
}
