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
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/extractjob"
)

// Condition reasons of a DatasetExtract. Event reasons are the same words.
const (
	// ReasonExtractCopied: a copy is visible (Complete); also the event of a new copy.
	ReasonExtractCopied = "Copied"
	// ReasonExtractUpToDate: the visible copy is the one that would be made now (Current, Ready).
	ReasonExtractUpToDate = "UpToDate"
	// ReasonExtractNotCopied: no copy is visible (Complete False).
	ReasonExtractNotCopied = "NotCopied"
	// ReasonExtractOutdated: the visible copy was made from something that has since changed;
	// the message says what (Current False).
	ReasonExtractOutdated = "Outdated"
	// ReasonExtractNotApproved: the extract asks for more than its agreement approves, or is
	// outside the agreement's workspace namespace. Fixed by correcting the extract.
	ReasonExtractNotApproved = "NotApproved"
	// ReasonExtractAgreementNotActive: the agreement does not exist or is not Active.
	ReasonExtractAgreementNotActive = "AgreementNotActive"
	// ReasonExtractDatasetNotFound: the catalogue has no such dataset, or the dataset cannot be
	// extracted as the extract asks (format, columns).
	ReasonExtractDatasetNotFound = "DatasetNotFound"
	// ReasonExtractWorkspaceNotReady: the agreement's workspace is not active and Ready.
	ReasonExtractWorkspaceNotReady = "WorkspaceNotReady"
	// ReasonExtractOptOutsNotLoaded: the opt-out list is missing or has not loaded the snapshot
	// its spec names; nothing is copied without it.
	ReasonExtractOptOutsNotLoaded = "OptOutsNotLoaded"
	// ReasonExtractKeyUnavailable: the agreement's key access could not be read or Vault did not
	// answer; retried with backoff.
	ReasonExtractKeyUnavailable = "KeyUnavailable"
	// ReasonExtractOptOutsUnavailable: the list's snapshot is not held in this manager's memory;
	// retried with backoff.
	ReasonExtractOptOutsUnavailable = "OptOutsUnavailable"
	// ReasonExtractSourceUnavailable: the source objects could not be listed; retried.
	ReasonExtractSourceUnavailable = "SourceUnavailable"
	// ReasonExtractStorageUnavailable: the workspace bucket could not be read; retried.
	ReasonExtractStorageUnavailable = "StorageUnavailable"
	// ReasonExtractAuditUnavailable: the copy could not be recorded in the audit log, so it was
	// not made visible; retried.
	ReasonExtractAuditUnavailable = "AuditUnavailable"
	// ReasonExtractCopyFailed: reading, transforming or writing failed part-way; the previous
	// copy, if any, is still the visible one. Retried with backoff.
	ReasonExtractCopyFailed = "CopyFailed"
	// ReasonExtractCopying: an extraction Job is making the copy.
	ReasonExtractCopying = "Copying"
)

const (
	metavTrue    = metav1.ConditionTrue
	metavFalse   = metav1.ConditionFalse
	metavUnknown = metav1.ConditionUnknown
)

func setExtractCondition(dx *fivesafesv1alpha1.DatasetExtract, t string, status metav1.ConditionStatus, reason, msg string) {
	meta.SetStatusCondition(&dx.Status.Conditions, metav1.Condition{
		Type: t, Status: status, Reason: reason, Message: msg, ObservedGeneration: dx.Generation,
	})
}

// copyNeeded says why a new copy must be made for want when m is the visible copy (nil when
// there is none); nothing when m is the copy want describes.
func copyNeeded(want extractjob.Provenance, m *extractjob.Manifest) []string {
	if m == nil {
		return []string{"no copy has been made yet"}
	}
	var why []string
	if m.Version != extractjob.FormatVersion {
		why = append(why, fmt.Sprintf("the copy was made by extractor version %d, not %d", m.Version, extractjob.FormatVersion))
	}
	return append(why, want.Changes(m.Provenance)...)
}

func outdatedMessage(why []string) string {
	return "a new copy is needed: " + strings.Join(why, "; ")
}

func currentMessage(m *extractjob.Manifest) string {
	msg := fmt.Sprintf("the copy of run %s is current: pseudonyms of key version %d (%s)", m.RunID, m.KeyVersion, m.PseudonymMode)
	if m.OptOuts.Applied {
		return msg + fmt.Sprintf(", opt-out snapshot of %s (%s) applied", m.OptOuts.SnapshotDate, m.OptOuts.Digest)
	}
	return msg + ", opt-outs not applied (justification recorded)"
}

// mirrorManifest makes the status describe the visible copy m; nil means none is visible.
func mirrorManifest(dx *fivesafesv1alpha1.DatasetExtract, m *extractjob.Manifest) {
	st := &dx.Status
	if m == nil {
		st.Rows, st.MalformedLines, st.KeyVersion = fivesafesv1alpha1.RowCounts{}, nil, 0
		st.OptOutSnapshotDate, st.OptOutSnapshotDigest, st.SourceDigest, st.Manifest = "", "", "", ""
		st.Objects, st.StartedAt, st.CompletedAt = nil, nil, nil
		setExtractCondition(dx, fivesafesv1alpha1.ExtractComplete, metavFalse, ReasonExtractNotCopied, "no copy is visible in the workspace")
		return
	}
	st.Rows = m.Rows
	st.MalformedLines = nil
	if len(m.MalformedLines) > 0 {
		st.MalformedLines = append([]int64(nil), m.MalformedLines...)
	}
	st.KeyVersion = m.KeyVersion
	st.OptOutSnapshotDate, st.OptOutSnapshotDigest = "", ""
	if m.OptOuts.Applied {
		st.OptOutSnapshotDate, st.OptOutSnapshotDigest = m.OptOuts.SnapshotDate, fivesafesv1alpha1.Digest(m.OptOuts.Digest)
	}
	st.SourceDigest = fivesafesv1alpha1.Digest(m.SourceDigest)
	st.Manifest = extractjob.ManifestKey(m.Dataset)
	st.Objects = make([]fivesafesv1alpha1.ExtractObject, 0, len(m.Objects))
	for _, o := range m.Objects {
		st.Objects = append(st.Objects, fivesafesv1alpha1.ExtractObject{Path: o.Path, SHA256: fivesafesv1alpha1.Digest(o.SHA256), Size: o.Size, Rows: o.Rows})
	}
	st.StartedAt, st.CompletedAt = statusTime(m.StartedAt), statusTime(m.CompletedAt)
	setExtractCondition(dx, fivesafesv1alpha1.ExtractComplete, metavTrue, ReasonExtractCopied,
		fmt.Sprintf("%d of %d rows in %d objects are visible through %s (%d opted out, %d with an invalid NHS number, %d malformed)",
			m.Rows.Written, m.Rows.Read, len(m.Objects), st.Manifest, m.Rows.OptedOut, m.Rows.InvalidIdentifier, m.Rows.Malformed))
}

// statusTime is t as status stores it: whole seconds, so a resync compares equal.
func statusTime(t time.Time) *metav1.Time {
	if t.IsZero() {
		return nil
	}
	mt := metav1.NewTime(t.UTC().Truncate(time.Second))
	return &mt
}

// summariseExtract sets the phase, Ready and observedGeneration. Ready is True when the visible
// copy is current; otherwise it carries the reason of Current, or of Complete.
func summariseExtract(s *extractScope) {
	dx := s.dx
	dx.Status.ObservedGeneration = dx.Generation
	complete := meta.FindStatusCondition(dx.Status.Conditions, fivesafesv1alpha1.ExtractComplete)
	if complete == nil {
		setExtractCondition(dx, fivesafesv1alpha1.ExtractComplete, metavFalse, ReasonExtractNotCopied, "no copy has been made yet")
		complete = meta.FindStatusCondition(dx.Status.Conditions, fivesafesv1alpha1.ExtractComplete)
	}
	current := meta.FindStatusCondition(dx.Status.Conditions, fivesafesv1alpha1.ExtractCurrent)
	switch {
	case current != nil && current.Status == metavTrue && complete.Status == metavTrue:
		setExtractCondition(dx, fivesafesv1alpha1.ConditionReady, metavTrue, current.Reason, current.Message)
	case current != nil && current.Status != metavTrue:
		setExtractCondition(dx, fivesafesv1alpha1.ConditionReady, metavFalse, current.Reason, current.Message)
	default:
		setExtractCondition(dx, fivesafesv1alpha1.ConditionReady, metavFalse, complete.Reason, complete.Message)
	}
	switch {
	case meta.IsStatusConditionTrue(dx.Status.Conditions, fivesafesv1alpha1.ConditionReady):
		dx.Status.Phase = fivesafesv1alpha1.ExtractSucceeded
	case s.failed:
		dx.Status.Phase = fivesafesv1alpha1.ExtractFailed
	default:
		dx.Status.Phase = fivesafesv1alpha1.ExtractPending
	}
}

// announceCopy emits an event when the loop made a copy.
func (r *DatasetExtractReconciler) announceCopy(s *extractScope) {
	if r.Recorder == nil {
		return
	}
	rows := s.dx.Status.Rows
	r.Recorder.Eventf(s.dx, nil, corev1.EventTypeNormal, ReasonExtractCopied, "Copy",
		"Copied %d of %d rows into %d objects (%d opted out, %d with an invalid NHS number, %d malformed)",
		rows.Written, rows.Read, len(s.dx.Status.Objects), rows.OptedOut, rows.InvalidIdentifier, rows.Malformed)
}

// announceReadiness emits an event when the extract stops being Ready or stays not Ready for
// another reason.
func (r *DatasetExtractReconciler) announceReadiness(s *extractScope) {
	if r.Recorder == nil {
		return
	}
	dx := s.dx
	now := meta.FindStatusCondition(dx.Status.Conditions, fivesafesv1alpha1.ConditionReady)
	was := meta.FindStatusCondition(s.before.Conditions, fivesafesv1alpha1.ConditionReady)
	if now == nil || now.Status == metavTrue {
		return
	}
	if was == nil || was.Status != now.Status || was.Reason != now.Reason {
		r.Recorder.Eventf(dx, nil, corev1.EventTypeWarning, now.Reason, "Copy", "The copy is not current: %s", now.Message)
	}
}
