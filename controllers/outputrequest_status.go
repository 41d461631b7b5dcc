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
	"crypto/sha256"
	"encoding/hex"
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Condition reasons of an OutputRequest. Event reasons are the same words.
const (
	// ReasonOutputChecking: the files have not yet been snapshotted and checked at this
	// generation (Checked Unknown).
	ReasonOutputChecking = "Checking"
	// ReasonOutputPassed: every file passed the automatic checks (Checked True).
	ReasonOutputPassed = "Passed"
	// ReasonOutputNeedsReview: no file failed, and some need a person's review (Checked True).
	ReasonOutputNeedsReview = "NeedsReview"
	// ReasonOutputChecksFailed: a file failed the automatic checks; the findings say why
	// (Checked False). The request is Rejected.
	ReasonOutputChecksFailed = "ChecksFailed"
	// ReasonOutputFilesMissing: a requested file is not under outputs/ in the workspace bucket
	// (Checked False). Fixed by the researcher, who then raises spec.revision.
	ReasonOutputFilesMissing = "FilesMissing"
	// ReasonOutputNotInWorkspace: the request is not in a workspace namespace of an agreement.
	ReasonOutputNotInWorkspace = "NotInWorkspace"
	// ReasonOutputStorageUnavailable: the object store did not answer; retried.
	ReasonOutputStorageUnavailable = "StorageUnavailable"
	// ReasonOutputPolicyUnavailable: the egress policy could not be evaluated, so nothing was
	// decided and nothing can be released; retried.
	ReasonOutputPolicyUnavailable = "PolicyUnavailable"
	// ReasonOutputAuditUnavailable: the audit log could not record the step, so it did not take
	// effect; retried.
	ReasonOutputAuditUnavailable = "AuditUnavailable"
	// ReasonOutputAwaitingReview: fewer counted approvals than the agreement needs
	// (Reviewed False).
	ReasonOutputAwaitingReview = "AwaitingReview"
	// ReasonOutputApproved: enough independent checkers approved the content (Reviewed True).
	ReasonOutputApproved = "Approved"
	// ReasonOutputReviewRejected: a counted review rejected the content (Reviewed False).
	ReasonOutputReviewRejected = "ReviewRejected"
	// ReasonOutputChangesRequested: a counted review asked for changes (Reviewed False).
	ReasonOutputChangesRequested = "ChangesRequested"
	// ReasonOutputReleased: the files and manifest are in the egress bucket (Released True).
	ReasonOutputReleased = "Released"
	// ReasonOutputNotReleased: nothing has been released (Released False).
	ReasonOutputNotReleased = "NotReleased"
	// ReasonOutputReleaseFailed: copying to the egress bucket failed part-way; retried.
	ReasonOutputReleaseFailed = "ReleaseFailed"
	// ReasonOutputWithdrawn: the researcher withdrew the request (Ready False).
	ReasonOutputWithdrawn = "Withdrawn"
)

// Condition reasons of an OutputReview's Counted condition.
const (
	// ReasonReviewCounted: the review is of the request's current content and counts.
	ReasonReviewCounted = "Counted"
	// ReasonReviewNotCounted: the review is of the current content but does not count; the
	// message says why.
	ReasonReviewNotCounted = "NotCounted"
	// ReasonReviewStale: the review is of content the request no longer holds.
	ReasonReviewStale = "Stale"
)

// RuleOutputMissing is the finding given to a requested file that is not in the workspace.
const RuleOutputMissing = "egress.missing"

func setOutputCondition(or *fivesafesv1alpha1.OutputRequest, t string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&or.Status.Conditions, metav1.Condition{
		Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: or.Generation,
	})
}

// contentDigest is sha256 over the sorted lines "path\x00sha256\n" of the files, written
// "sha256:" and 64 lower-case hex characters.
func contentDigest(files []fivesafesv1alpha1.FileCheck) fivesafesv1alpha1.Digest {
	lines := make([]string, 0, len(files))
	for _, f := range files {
		lines = append(lines, f.Path+"\x00"+string(f.SHA256)+"\n")
	}
	sort.Strings(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return fivesafesv1alpha1.Digest("sha256:" + hex.EncodeToString(h.Sum(nil)))
}

// checkedAt reports whether the Checked condition settles the generation: the files were
// snapshotted and checked, or found missing, at this generation. Transient failures do not.
func checkedAt(or *fivesafesv1alpha1.OutputRequest) bool {
	c := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked)
	if c == nil || c.ObservedGeneration != or.Generation {
		return false
	}
	switch c.Reason {
	case ReasonOutputPassed, ReasonOutputNeedsReview, ReasonOutputChecksFailed, ReasonOutputFilesMissing:
		return true
	}
	return false
}

// outputPhase is the phase the conditions describe.
func outputPhase(or *fivesafesv1alpha1.OutputRequest) fivesafesv1alpha1.OutputPhase {
	conds := or.Status.Conditions
	if meta.IsStatusConditionTrue(conds, fivesafesv1alpha1.OutputReleasedCondition) {
		return fivesafesv1alpha1.OutputReleased
	}
	if or.Spec.State == fivesafesv1alpha1.RequestWithdrawn {
		return fivesafesv1alpha1.OutputWithdrawn
	}
	checked := meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputChecked)
	if checked == nil || !checkedAt(or) {
		return fivesafesv1alpha1.OutputChecking
	}
	switch checked.Reason {
	case ReasonOutputFilesMissing:
		return fivesafesv1alpha1.OutputChangesRequested
	case ReasonOutputChecksFailed:
		return fivesafesv1alpha1.OutputRejected
	}
	reviewed := meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputReviewed)
	switch {
	case reviewed == nil:
		return fivesafesv1alpha1.OutputAwaitingReview
	case reviewed.Reason == ReasonOutputReviewRejected:
		return fivesafesv1alpha1.OutputRejected
	case reviewed.Reason == ReasonOutputChangesRequested:
		return fivesafesv1alpha1.OutputChangesRequested
	case reviewed.Status == metavTrue:
		return fivesafesv1alpha1.OutputApproved
	}
	return fivesafesv1alpha1.OutputAwaitingReview
}

// summariseOutput sets the phase, Ready and observedGeneration. Ready is True once the files
// are released; otherwise it carries the reason of the step the request is waiting on.
func summariseOutput(or *fivesafesv1alpha1.OutputRequest) {
	or.Status.ObservedGeneration = or.Generation
	if meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked) == nil {
		setOutputCondition(or, fivesafesv1alpha1.OutputChecked, metavUnknown, ReasonOutputChecking, "the files have not been checked yet")
	}
	if meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputReleasedCondition) == nil {
		setOutputCondition(or, fivesafesv1alpha1.OutputReleasedCondition, metavFalse, ReasonOutputNotReleased, "nothing has been released")
	}
	or.Status.Phase = outputPhase(or)
	conds := or.Status.Conditions
	var c *metav1.Condition
	switch or.Status.Phase {
	case fivesafesv1alpha1.OutputReleased:
		released := meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputReleasedCondition)
		setOutputCondition(or, fivesafesv1alpha1.ConditionReady, metavTrue, released.Reason, released.Message)
		return
	case fivesafesv1alpha1.OutputWithdrawn:
		setOutputCondition(or, fivesafesv1alpha1.ConditionReady, metavFalse, ReasonOutputWithdrawn, "the researcher withdrew the request")
		return
	case fivesafesv1alpha1.OutputChecking, fivesafesv1alpha1.OutputRejected:
		c = meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputChecked)
		if or.Status.Phase == fivesafesv1alpha1.OutputRejected && c.Reason != ReasonOutputChecksFailed {
			c = meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputReviewed)
		}
	case fivesafesv1alpha1.OutputApproved:
		c = meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputReleasedCondition)
	default:
		c = meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputChecked)
		if r := meta.FindStatusCondition(conds, fivesafesv1alpha1.OutputReviewed); r != nil && c.Reason != ReasonOutputFilesMissing {
			c = r
		}
	}
	setOutputCondition(or, fivesafesv1alpha1.ConditionReady, metavFalse, c.Reason, c.Message)
}

// announceRelease emits an event when the loop released the files.
func (r *OutputRequestReconciler) announceRelease(s *outputScope) {
	if r.Recorder == nil {
		return
	}
	r.Recorder.Eventf(s.or, nil, corev1.EventTypeNormal, ReasonOutputReleased, "Release",
		"Released %d files to %s", len(s.or.Status.Files), s.or.Status.Release.Prefix)
}

// announcePhase emits an event when the phase changes.
func (r *OutputRequestReconciler) announcePhase(s *outputScope) {
	or := s.or
	if r.Recorder == nil || or.Status.Phase == s.before.Phase {
		return
	}
	ready := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.ConditionReady)
	kind := corev1.EventTypeNormal
	if or.Status.Phase == fivesafesv1alpha1.OutputRejected || ready.Reason == ReasonOutputAuditUnavailable ||
		ready.Reason == ReasonOutputPolicyUnavailable || ready.Reason == ReasonOutputStorageUnavailable {
		kind = corev1.EventTypeWarning
	}
	r.Recorder.Eventf(or, nil, kind, ready.Reason, "Phase", "The request is %s: %s", or.Status.Phase, ready.Message)
}
