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
	"encoding/json"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/egress"
	"github.com/fivesafes/fivesafes/internal/storage"
)

// DefaultReviewCopyExpiry is how long, by default, checkers' URLs for a request's snapshot work.
const DefaultReviewCopyExpiry = 24 * time.Hour

// ReviewCopySecret is the Secret, in the workspace namespace, holding URLs of the checked
// snapshot of a request's files; only the output checkers group may read it.
func ReviewCopySecret(request string) string { return request + "-review" }

// Keys of the review copy Secret.
const (
	reviewCopyURLs    = "urls.json"
	reviewCopyDigest  = "contentDigest"
	reviewCopyExpires = "expiresAt"
)

// issueReviewCopy gives output checkers what they review: while a checked request awaits its
// reviews, a Secret that only the checkers group can read holds short-lived URLs of the exact
// snapshot that was checked (and its sidecars), renewed before they expire and replaced when
// new file versions are checked. Each issuance is recorded in the audit log first. Nobody's
// storage credentials reach the egress bucket.
func (r *OutputRequestReconciler) issueReviewCopy(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	or := s.or
	checked := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked)
	if or.Status.ContentDigest == "" || checked == nil || checked.Status != metav1.ConditionTrue ||
		meta.IsStatusConditionTrue(or.Status.Conditions, fivesafesv1alpha1.OutputReviewed) {
		return ctrl.Result{}, nil
	}
	expiry := r.ReviewCopyExpiry
	if expiry <= 0 {
		expiry = DefaultReviewCopyExpiry
	}
	renewBefore := expiry / 8
	name := ReviewCopySecret(or.Name)
	existing := &corev1.Secret{}
	err := r.Get(ctx, client.ObjectKey{Namespace: or.Namespace, Name: name}, existing)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading the review copy: %w", err)
	}
	if err == nil && string(existing.Data[reviewCopyDigest]) == string(or.Status.ContentDigest) {
		if until, perr := time.Parse(time.RFC3339, string(existing.Data[reviewCopyExpires])); perr == nil {
			// The URLs expire on the object store's clock, which is the real one.
			if left := time.Until(until); left > renewBefore {
				return ctrl.Result{RequeueAfter: left - renewBefore}, nil
			}
		}
	}

	generation := checkedGeneration(or)
	paths := make([]string, 0, len(or.Status.Files))
	for _, f := range or.Status.Files {
		paths = append(paths, f.Path)
	}
	sidecars := 0
	for _, f := range or.Status.Files {
		_, err := r.Storage.StatObject(ctx, r.EgressBucket, stagingKey(or, generation, f.Path)+egress.SidecarSuffix)
		switch {
		case err == nil:
			paths = append(paths, f.Path+egress.SidecarSuffix)
			sidecars++
		case !errors.Is(err, storage.ErrNotFound):
			return ctrl.Result{}, fmt.Errorf("looking for the sidecar of %s: %w", f.Path, err)
		}
	}
	expires := time.Now().Add(expiry).UTC().Truncate(time.Second)
	if _, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:    outputController,
		Action:   audit.ActionReviewCopy,
		Object:   audit.ObjectRef{Kind: "OutputRequest", Namespace: or.Namespace, Name: or.Name},
		Decision: "issued",
		Details: map[string]any{
			audit.DetailAgreement: s.agreement.Name,
			"request":             or.Name,
			"contentDigest":       string(or.Status.ContentDigest),
			"files":               len(or.Status.Files),
			"sidecars":            sidecars,
			"issuedTo":            r.CheckersGroup,
			"expiresAt":           expires.Format(time.RFC3339),
		},
		IdempotencyKey: "review-copy/" + string(or.UID) + "/" + string(or.Status.ContentDigest) + "/" + expires.Format(time.RFC3339),
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("recording the review copy in the audit log: %w", err)
	}
	urls := make(map[string]string, len(paths))
	for _, p := range paths {
		u, err := r.Storage.PresignGet(ctx, r.EgressBucket, stagingKey(or, generation, p), expiry)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("presigning the review copy of %s: %w", p, err)
		}
		urls[p] = u
	}
	body, err := json.Marshal(urls)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("encoding review copy URLs: %w", err)
	}
	if err := r.writeSharedSecret(ctx, or, name, map[string][]byte{
		reviewCopyURLs: body, reviewCopyDigest: []byte(or.Status.ContentDigest), reviewCopyExpires: []byte(expires.Format(time.RFC3339)),
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("storing review copy URLs: %w", err)
	}
	if err := r.grantSecretRead(ctx, or, name, rbacv1.Subject{Kind: rbacv1.GroupKind, APIGroup: rbacv1.GroupName, Name: r.CheckersGroup}); err != nil {
		return ctrl.Result{}, fmt.Errorf("letting the output checkers read the review copy: %w", err)
	}
	return ctrl.Result{RequeueAfter: expiry - renewBefore}, nil
}
