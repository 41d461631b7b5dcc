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
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/optout"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
)

// refusedVersion is an object version whose bytes did not match the digest the spec expected.
type refusedVersion struct {
	version optOutVersion
	want    fivesafesv1alpha1.Digest
	got     string
}

// statSnapshot asks storage for the snapshot object's current version.
func (r *OptOutListReconciler) statSnapshot(ctx context.Context, s *optOutScope) (ctrl.Result, error) {
	src := s.list.Spec.Source
	info, err := r.S3.StatObject(ctx, src.Bucket, src.Key, minio.StatObjectOptions{})
	if err != nil {
		setCondition(s.list, fivesafesv1alpha1.OptOutLoaded, false, ReasonOptOutSourceUnavailable, sourceUnavailableMessage(src, err))
		return ctrl.Result{}, fmt.Errorf("reading the opt-out snapshot's details from storage: %w", err)
	}
	s.object = info
	return ctrl.Result{}, nil
}

// loadSnapshot reads and parses the object, unless the cache already holds this version of it
// for this generation of the list, and puts it in the cache when its digest is the expected one.
// A digest that does not match is the user's to fix: it stalls with a condition, and the same
// object version is not read again.
func (r *OptOutListReconciler) loadSnapshot(ctx context.Context, s *optOutScope) (ctrl.Result, error) {
	v := versionOf(s.list, s.object)
	if e, ok := r.Cache.Get(s.list.Name); ok && entryVersion(e) == v {
		s.loaded = &e
		r.refused.Delete(s.list.Name)
		return ctrl.Result{}, nil
	}
	if x, ok := r.refused.Load(s.list.Name); ok && x.(refusedVersion).version == v {
		refused := x.(refusedVersion)
		setCondition(s.list, fivesafesv1alpha1.OptOutLoaded, false, ReasonOptOutDigestMismatch, digestMismatchMessage(refused.want, refused.got))
		return ctrl.Result{}, nil
	}

	src := s.list.Spec.Source
	var opts minio.GetObjectOptions
	if err := opts.SetMatchETag(s.object.ETag); err != nil {
		setCondition(s.list, fivesafesv1alpha1.OptOutLoaded, false, ReasonOptOutSourceUnavailable, sourceUnavailableMessage(src, err))
		return ctrl.Result{}, fmt.Errorf("asking for the version of the opt-out snapshot just seen: %w", err)
	}
	obj, err := r.S3.GetObject(ctx, src.Bucket, src.Key, opts)
	if err != nil {
		setCondition(s.list, fivesafesv1alpha1.OptOutLoaded, false, ReasonOptOutSourceUnavailable, sourceUnavailableMessage(src, err))
		return ctrl.Result{}, fmt.Errorf("opening the opt-out snapshot: %w", err)
	}
	defer func() { _ = obj.Close() }()
	snap, err := optout.Parse(ctx, obj)
	if err != nil {
		setCondition(s.list, fivesafesv1alpha1.OptOutLoaded, false, ReasonOptOutSourceUnavailable, sourceUnavailableMessage(src, err))
		return ctrl.Result{}, fmt.Errorf("reading the opt-out snapshot: %w", err)
	}
	s.fresh = true
	if want := s.list.Spec.Digest; want != "" && string(want) != snap.Digest {
		r.refused.Store(s.list.Name, refusedVersion{version: v, want: want, got: snap.Digest})
		setCondition(s.list, fivesafesv1alpha1.OptOutLoaded, false, ReasonOptOutDigestMismatch, digestMismatchMessage(want, snap.Digest))
		return ctrl.Result{}, nil
	}
	r.refused.Delete(s.list.Name)
	e := optoutcache.Entry{
		Set:          snap.Set,
		Invalid:      snap.Invalid,
		SnapshotDate: s.list.Spec.SnapshotDate,
		Digest:       snap.Digest,
		ETag:         v.etag,
		Generation:   v.generation,
		UID:          v.uid,
	}
	r.Cache.Store(s.list.Name, e)
	s.loaded = &e
	ctrl.LoggerFrom(ctx).Info("Loaded opt-out snapshot", "snapshotDate", e.SnapshotDate, "digest", e.Digest,
		"count", snap.Count, "invalid", snap.Invalid, "bytes", snap.Size, "setBytes", snap.Set.SizeBytes())
	return ctrl.Result{}, nil
}

// recordSnapshot writes what the cache holds for the list into its status. loadedAt moves only
// when a snapshot with another digest is loaded.
func (r *OptOutListReconciler) recordSnapshot(_ context.Context, s *optOutScope) (ctrl.Result, error) {
	e := s.loaded
	if e == nil {
		return ctrl.Result{}, nil
	}
	st := &s.list.Status
	if st.Digest != fivesafesv1alpha1.Digest(e.Digest) || st.LoadedAt == nil {
		t := metav1.NewTime(s.now)
		st.LoadedAt = &t
	}
	st.SnapshotDate = e.SnapshotDate
	st.Digest = fivesafesv1alpha1.Digest(e.Digest)
	st.Count = int64(e.Set.Len())
	st.Invalid = e.Invalid
	setCondition(s.list, fivesafesv1alpha1.OptOutLoaded, true, ReasonOptOutLoaded, loadedMessage(e))
	return ctrl.Result{}, nil
}

// announceOptOutLoad emits an event when a snapshot with a new digest is loaded, when loading
// starts failing or fails for another reason, and each time an object version is refused. wrote
// says whether this loop wrote the status: only the loop that wrote a change announces it.
func (r *OptOutListReconciler) announceOptOutLoad(s *optOutScope, wrote bool) {
	now := meta.FindStatusCondition(s.list.Status.Conditions, fivesafesv1alpha1.OptOutLoaded)
	if now == nil {
		return
	}
	was := meta.FindStatusCondition(s.before.Conditions, fivesafesv1alpha1.OptOutLoaded)
	changed := wrote && (was == nil || was.Status != now.Status || was.Reason != now.Reason)
	switch {
	case now.Status == metav1.ConditionTrue && (changed || (wrote && s.before.Digest != s.list.Status.Digest)):
		r.Recorder.Eventf(s.list, nil, corev1.EventTypeNormal, now.Reason, "Load", "Loaded the opt-out snapshot of %s (%s): %d people, %d invalid lines",
			s.list.Status.SnapshotDate, s.list.Status.Digest, s.list.Status.Count, s.list.Status.Invalid)
	case now.Status == metav1.ConditionFalse && (changed || (now.Reason == ReasonOptOutDigestMismatch && s.fresh)):
		r.Recorder.Eventf(s.list, nil, corev1.EventTypeWarning, now.Reason, "Load", "The opt-out snapshot was not loaded: %s", now.Message)
	}
}
