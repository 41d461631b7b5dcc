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
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/egress"
	"github.com/fivesafes/fivesafes/internal/metrics"
	"github.com/fivesafes/fivesafes/internal/release"
	"github.com/fivesafes/fivesafes/internal/storage"
)

const (
	outputController = "controller:outputrequest"
	// maxFileFindings is the most findings status keeps for one file.
	maxFileFindings = 64
	// maxReviewRecords is the most reviews status lists.
	maxReviewRecords = 64
	// defaultReviewers is how many approvals are needed when the agreement does not say.
	defaultReviewers = 2
)

// stagingKey is where the snapshot of path is kept in the egress bucket for one generation.
func stagingKey(or *fivesafesv1alpha1.OutputRequest, generation int64, path string) string {
	return "staging/" + or.Namespace + "/" + or.Name + "/" + strconv.FormatInt(generation, 10) + "/" + path
}

// checkedGeneration is the generation the current snapshot was taken at.
func checkedGeneration(or *fivesafesv1alpha1.OutputRequest) int64 {
	if c := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked); c != nil {
		return c.ObservedGeneration
	}
	return or.Generation
}

// observeRelease settles a request whose release manifest is in the egress bucket. A release
// the status records but the bucket lacks is made again.
func (r *OutputRequestReconciler) observeRelease(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	rel := s.or.Status.Release
	if rel == nil || !meta.IsStatusConditionTrue(s.or.Status.Conditions, fivesafesv1alpha1.OutputReleasedCondition) {
		return ctrl.Result{}, nil
	}
	_, err := r.Storage.StatObject(ctx, rel.Bucket, rel.Prefix+release.ManifestName)
	switch {
	case err == nil:
		s.done = true
		return r.issueDownload(ctx, s)
	case errors.Is(err, storage.ErrNotFound):
		s.or.Status.Release = nil
		setOutputCondition(s.or, fivesafesv1alpha1.OutputReleasedCondition, metavFalse, ReasonOutputNotReleased, "the release manifest is missing from the egress bucket; releasing again")
		return ctrl.Result{}, nil
	}
	return ctrl.Result{}, fmt.Errorf("reading the release manifest: %w", err)
}

// observeWithdrawal settles a withdrawn request: nothing more is checked or released.
func (r *OutputRequestReconciler) observeWithdrawal(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	or := s.or
	if or.Spec.State != fivesafesv1alpha1.RequestWithdrawn {
		return ctrl.Result{}, nil
	}
	s.done = true
	if s.before.Phase == fivesafesv1alpha1.OutputWithdrawn {
		return ctrl.Result{}, nil
	}
	requester := ""
	if or.Spec.Requester != nil {
		requester = or.Spec.Requester.Username
	}
	// The admission webhook names who withdrew the request; a request withdrawn before it did so
	// is recorded as the controller's observation.
	actor := or.Annotations[fivesafesv1alpha1.AnnotationWithdrawnBy]
	if actor == "" {
		actor = outputController
	}
	if _, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:    actor,
		Action:   audit.ActionOutputWithdraw,
		Object:   audit.ObjectRef{Kind: "OutputRequest", Namespace: or.Namespace, Name: or.Name},
		Decision: "withdrawn",
		Details: map[string]any{
			audit.DetailAgreement: strings.TrimPrefix(or.Namespace, WorkspaceNamespace("")),
			"request":             or.Name,
			"contentDigest":       string(or.Status.ContentDigest),
			"phaseBefore":         string(s.before.Phase),
			"requester":           requester,
		},
		IdempotencyKey: "output.withdraw/" + string(or.UID),
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("recording the withdrawal in the audit log: %w", err)
	}
	return ctrl.Result{}, nil
}

// resolveOutputAgreement finds the agreement whose workspace namespace holds the request.
func (r *OutputRequestReconciler) resolveOutputAgreement(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	notInWorkspace := func(msg string) (ctrl.Result, error) {
		s.done = true
		setOutputCondition(s.or, fivesafesv1alpha1.OutputChecked, metavFalse, ReasonOutputNotInWorkspace, msg)
		return ctrl.Result{}, nil
	}
	ns := &corev1.Namespace{}
	if err := r.Get(ctx, client.ObjectKey{Name: s.or.Namespace}, ns); err != nil {
		return ctrl.Result{}, fmt.Errorf("reading namespace %s: %w", s.or.Namespace, err)
	}
	wsName := ns.Labels[LabelWorkspace]
	if wsName == "" {
		return notInWorkspace("namespace " + s.or.Namespace + " is not a workspace")
	}
	ws := &fivesafesv1alpha1.Workspace{}
	if err := r.Get(ctx, client.ObjectKey{Name: wsName}, ws); err != nil {
		if apierrors.IsNotFound(err) {
			return notInWorkspace("workspace " + wsName + " does not exist")
		}
		return ctrl.Result{}, fmt.Errorf("reading workspace %s: %w", wsName, err)
	}
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := r.Get(ctx, client.ObjectKey{Name: ws.Spec.Agreement}, daa); err != nil {
		if apierrors.IsNotFound(err) {
			return notInWorkspace("agreement " + ws.Spec.Agreement + " does not exist")
		}
		return ctrl.Result{}, fmt.Errorf("reading agreement %s: %w", ws.Spec.Agreement, err)
	}
	if WorkspaceNamespace(daa.Name) != s.or.Namespace {
		return notInWorkspace("namespace " + s.or.Namespace + " is not the workspace namespace of agreement " + daa.Name)
	}
	s.agreement = daa
	return ctrl.Result{}, nil
}

// resetChecks forgets the previous snapshot, its checks and its reviews.
func resetChecks(or *fivesafesv1alpha1.OutputRequest) {
	st := &or.Status
	st.ContentDigest, st.PolicyDigest, st.Outcome = "", "", ""
	st.Files, st.Reviews, st.Approvals, st.Release = nil, nil, 0, nil
	meta.RemoveStatusCondition(&st.Conditions, fivesafesv1alpha1.OutputReviewed)
	meta.RemoveStatusCondition(&st.Conditions, fivesafesv1alpha1.OutputReleasedCondition)
}

// checkFailed records why the files could not be checked; the error brings backoff.
func (s *outputScope) checkFailed(reason, msg string, err error) (ctrl.Result, error) {
	resetChecks(s.or)
	setOutputCondition(s.or, fivesafesv1alpha1.OutputChecked, metavUnknown, reason, msg+": "+err.Error())
	return ctrl.Result{}, fmt.Errorf("%s: %w", msg, err)
}

// snapshotAndCheck copies each requested file, once per generation, from the workspace bucket
// to a staging prefix of the egress bucket that the researcher cannot write, and checks the
// copies against the egress policy. The check is recorded in the audit log before the status
// shows its outcome.
func (r *OutputRequestReconciler) snapshotAndCheck(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	or := s.or
	if checkedAt(or) {
		if c := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked); c.Status != metavTrue {
			s.done = true
		}
		return ctrl.Result{}, nil
	}
	resetChecks(or)
	bucket := WorkspaceBucket(s.agreement.Name)
	files := make([]fivesafesv1alpha1.FileCheck, len(or.Spec.Files))
	// sidecars are the ACRO-style statistics (<path>.sdc.json) found beside requested tables,
	// snapshotted with them so that dominance and p-ratio are checked on what will be released.
	sidecars := map[string]fivesafesv1alpha1.FileCheck{}
	var missing []string
	for i, f := range or.Spec.Files {
		files[i].Path = f.Path
		src := "outputs/" + f.Path
		if _, err := r.Storage.StatObject(ctx, bucket, src); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				missing = append(missing, f.Path)
				files[i].Findings = []fivesafesv1alpha1.Finding{{Rule: RuleOutputMissing, Message: "The file is not under outputs/ in the workspace bucket.", Location: src}}
				continue
			}
			return s.checkFailed(ReasonOutputStorageUnavailable, "reading the workspace bucket", err)
		}
		dst := stagingKey(or, or.Generation, f.Path)
		if _, err := r.Storage.CopyObject(ctx, bucket, src, r.EgressBucket, dst, storage.CopyOptions{}); err != nil {
			return s.checkFailed(ReasonOutputStorageUnavailable, "snapshotting "+f.Path, err)
		}
		digest, size, err := r.Storage.SHA256Object(ctx, r.EgressBucket, dst)
		if err != nil {
			return s.checkFailed(ReasonOutputStorageUnavailable, "hashing the snapshot of "+f.Path, err)
		}
		files[i].SHA256, files[i].Size = fivesafesv1alpha1.Digest(digest), size
		sc, err := r.snapshotSidecar(ctx, bucket, or, f.Path)
		if err != nil {
			return s.checkFailed(ReasonOutputStorageUnavailable, "snapshotting the sidecar of "+f.Path, err)
		}
		if sc != nil {
			sidecars[f.Path] = *sc
		}
	}
	if len(missing) > 0 {
		s.done = true
		or.Status.Files = files
		setOutputCondition(or, fivesafesv1alpha1.OutputChecked, metavFalse, ReasonOutputFilesMissing,
			fmt.Sprintf("not found under outputs/ in the workspace bucket: %s; add the files and raise spec.revision", strings.Join(missing, ", ")))
		return ctrl.Result{}, nil
	}

	in := make([]egress.CheckFile, len(or.Spec.Files))
	for i, f := range or.Spec.Files {
		key := stagingKey(or, or.Generation, f.Path)
		in[i] = egress.CheckFile{
			Path: f.Path, Kind: f.Kind, ExceptionJustification: f.ExceptionJustification,
			Open: func() (io.ReadCloser, error) {
				rc, _, err := r.Storage.OpenObject(ctx, r.EgressBucket, key)
				return rc, err
			},
		}
		if _, ok := sidecars[f.Path]; ok {
			in[i].Sidecar = func() (io.ReadCloser, error) {
				rc, _, err := r.Storage.OpenObject(ctx, r.EgressBucket, key+egress.SidecarSuffix)
				return rc, err
			}
		}
	}
	res, err := egress.Check(ctx, r.Policy, in, s.agreement.Spec.OutputRules, r.Limits)
	if err != nil {
		return s.checkFailed(ReasonOutputPolicyUnavailable, "the egress policy could not decide, so nothing is released", err)
	}
	for i, fr := range res.Files {
		files[i].Type, files[i].Outcome = string(fr.Type), fr.Outcome
		if len(fr.Findings) > maxFileFindings {
			fr.Findings = fr.Findings[:maxFileFindings]
		}
		files[i].Findings = fr.Findings
	}
	// The sidecars are part of what the checkers approve.
	digested := append([]fivesafesv1alpha1.FileCheck(nil), files...)
	for _, sc := range sidecars {
		digested = append(digested, sc)
	}
	digest := contentDigest(digested)
	if err := r.recordCheck(ctx, s, files, digest, res); err != nil {
		return s.checkFailed(ReasonOutputAuditUnavailable, "the checks could not be recorded, so their outcome is not shown", err)
	}
	s.checked = true
	or.Status.Files, or.Status.ContentDigest = files, digest
	or.Status.PolicyDigest, or.Status.Outcome = fivesafesv1alpha1.Digest(res.PolicyDigest), res.Outcome
	switch res.Outcome {
	case fivesafesv1alpha1.OutcomeFail:
		s.done = true
		setOutputCondition(or, fivesafesv1alpha1.OutputChecked, metavFalse, ReasonOutputChecksFailed,
			fmt.Sprintf("%d of %d files failed the automatic checks; the findings say why", countOutcome(files, fivesafesv1alpha1.OutcomeFail), len(files)))
	case fivesafesv1alpha1.OutcomePass:
		setOutputCondition(or, fivesafesv1alpha1.OutputChecked, metavTrue, ReasonOutputPassed, fmt.Sprintf("all %d files passed the automatic checks", len(files)))
	default:
		setOutputCondition(or, fivesafesv1alpha1.OutputChecked, metavTrue, ReasonOutputNeedsReview,
			fmt.Sprintf("%d of %d files need a checker's review", countOutcome(files, fivesafesv1alpha1.OutcomeReview), len(files)))
	}
	return ctrl.Result{}, nil
}

func countOutcome(files []fivesafesv1alpha1.FileCheck, o fivesafesv1alpha1.CheckOutcome) int {
	n := 0
	for _, f := range files {
		if f.Outcome == o {
			n++
		}
	}
	return n
}

// recordCheck writes the automatic checks to the audit log.
func (r *OutputRequestReconciler) recordCheck(ctx context.Context, s *outputScope, files []fivesafesv1alpha1.FileCheck, digest fivesafesv1alpha1.Digest, res egress.CheckResult) error {
	perFile := make([]any, 0, len(files))
	findings := 0
	for _, f := range files {
		findings += len(f.Findings)
		perFile = append(perFile, map[string]any{"path": f.Path, "sha256": string(f.SHA256), "size": f.Size, "type": f.Type, "outcome": string(f.Outcome), "findings": len(f.Findings)})
	}
	_, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:    outputController,
		Action:   audit.ActionOutputCheck,
		Object:   audit.ObjectRef{Kind: "OutputRequest", Namespace: s.or.Namespace, Name: s.or.Name},
		Decision: string(res.Outcome),
		Details: map[string]any{
			audit.DetailAgreement: s.agreement.Name,
			"request":             s.or.Name,
			"generation":          s.or.Generation,
			"contentDigest":       string(digest),
			"policyDigest":        res.PolicyDigest,
			"files":               perFile,
			"findings":            findings,
		},
		IdempotencyKey: "output.check/" + string(s.or.UID) + "/" + strconv.FormatInt(s.or.Generation, 10) + "/" + string(digest),
	})
	if err != nil {
		return fmt.Errorf("appending to the audit log: %w", err)
	}
	return nil
}

// countedReview is a review of the current content and whether it counts.
type countedReview struct {
	rv      *fivesafesv1alpha1.OutputReview
	counted bool
	why     string
}

// judgeReviews says which reviews count: those from distinct members of the checkers group who
// are neither the requester nor a researcher on the agreement. The earliest review of each
// reviewer counts.
func judgeReviews(reviews []fivesafesv1alpha1.OutputReview, or *fivesafesv1alpha1.OutputRequest, daa *fivesafesv1alpha1.DataAccessAgreement, group string) []countedReview {
	sort.SliceStable(reviews, func(i, j int) bool {
		a, b := reviews[i].CreationTimestamp, reviews[j].CreationTimestamp
		if !a.Equal(&b) {
			return a.Before(&b)
		}
		return reviews[i].Name < reviews[j].Name
	})
	researchers := map[string]bool{}
	for _, x := range daa.Spec.Researchers {
		researchers[x.Name] = true
	}
	seen := map[string]bool{}
	out := make([]countedReview, 0, len(reviews))
	for i := range reviews {
		rv := &reviews[i]
		c := countedReview{rv: rv}
		who := rv.Spec.Reviewer
		switch {
		case who == nil || who.Username == "":
			c.why = "not counted: no authenticated reviewer was recorded"
		case !who.HasGroup(group):
			c.why = "not counted: the reviewer is not in the output checkers group " + group
		case or.Spec.Requester != nil && or.Spec.Requester.Username == who.Username:
			c.why = "not counted: the requester cannot review their own request"
		case researchers[who.Username]:
			c.why = "not counted: the reviewer is a researcher on the agreement"
		case seen[who.Username]:
			c.why = "not counted: an earlier review by the same checker counts"
		default:
			c.counted, c.why = true, "counted"
			seen[who.Username] = true
		}
		out = append(out, c)
	}
	return out
}

// countReviews counts the reviews of the current content digest, records each in the audit
// log, and decides: any counted rejection rejects, any counted request for changes returns the
// request, and enough counted approvals approve it.
func (r *OutputRequestReconciler) countReviews(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	or := s.or
	var list fivesafesv1alpha1.OutputReviewList
	if err := r.List(ctx, &list, client.InNamespace(or.Namespace)); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing reviews: %w", err)
	}
	var current []fivesafesv1alpha1.OutputReview
	for i := range list.Items {
		rv := &list.Items[i]
		if rv.Spec.OutputRequest != or.Name || rv.DeletionTimestamp != nil {
			continue
		}
		if rv.Spec.ContentDigest == or.Status.ContentDigest {
			current = append(current, *rv)
			continue
		}
		if err := r.markReview(ctx, rv, false, ReasonReviewStale, "the review is of content "+string(rv.Spec.ContentDigest)+
			"; the request's current content is "+string(or.Status.ContentDigest)); err != nil {
			return ctrl.Result{}, err
		}
	}
	judged := judgeReviews(current, or, s.agreement, r.CheckersGroup)
	for _, c := range judged {
		if err := r.recordReview(ctx, s, c); err != nil {
			setOutputCondition(or, fivesafesv1alpha1.OutputReviewed, metavUnknown, ReasonOutputAuditUnavailable,
				"a review could not be recorded, so it is not counted yet: "+err.Error())
			return ctrl.Result{}, err
		}
		reason := ReasonReviewCounted
		if !c.counted {
			reason = ReasonReviewNotCounted
		}
		if err := r.markReview(ctx, c.rv, c.counted, reason, c.why); err != nil {
			return ctrl.Result{}, err
		}
	}
	needed := int(s.agreement.Spec.OutputRules.Reviewers)
	if needed <= 0 {
		needed = defaultReviewers
	}
	records := make([]fivesafesv1alpha1.ReviewRecord, 0, len(judged))
	var approvals int32
	var rejected, changes []string
	for _, c := range judged {
		name := ""
		if c.rv.Spec.Reviewer != nil {
			name = c.rv.Spec.Reviewer.Username
		}
		if len(records) < maxReviewRecords {
			records = append(records, fivesafesv1alpha1.ReviewRecord{Review: c.rv.Name, Reviewer: name, Decision: c.rv.Spec.Decision, Counted: c.why})
		}
		if !c.counted {
			continue
		}
		switch c.rv.Spec.Decision {
		case fivesafesv1alpha1.ReviewApprove:
			approvals++
		case fivesafesv1alpha1.ReviewReject:
			rejected = append(rejected, c.rv.Name)
		case fivesafesv1alpha1.ReviewRequestChanges:
			changes = append(changes, c.rv.Name)
		}
	}
	or.Status.Reviews, or.Status.Approvals = records, approvals
	if len(records) == 0 {
		or.Status.Reviews = nil
	}
	switch {
	case len(rejected) > 0:
		s.done = true
		setOutputCondition(or, fivesafesv1alpha1.OutputReviewed, metavFalse, ReasonOutputReviewRejected, "rejected by review "+strings.Join(rejected, ", "))
	case len(changes) > 0:
		s.done = true
		setOutputCondition(or, fivesafesv1alpha1.OutputReviewed, metavFalse, ReasonOutputChangesRequested,
			"review "+strings.Join(changes, ", ")+" asked for changes; change the files and raise spec.revision")
	case int(approvals) >= needed:
		setOutputCondition(or, fivesafesv1alpha1.OutputReviewed, metavTrue, ReasonOutputApproved,
			fmt.Sprintf("%d independent checkers approved content %s", approvals, or.Status.ContentDigest))
	default:
		s.done = true
		setOutputCondition(or, fivesafesv1alpha1.OutputReviewed, metavFalse, ReasonOutputAwaitingReview,
			fmt.Sprintf("%d of %d approvals needed from independent output checkers", approvals, needed))
	}
	return ctrl.Result{}, nil
}

// markReview sets the review's Counted condition, writing only when it changed.
func (r *OutputRequestReconciler) markReview(ctx context.Context, rv *fivesafesv1alpha1.OutputReview, counted bool, reason, msg string) error {
	status := metavFalse
	if counted {
		status = metavTrue
	}
	before := rv.DeepCopy()
	rv.Status.ObservedGeneration = rv.Generation
	meta.SetStatusCondition(&rv.Status.Conditions, metav1.Condition{
		Type: fivesafesv1alpha1.ReviewCounted, Status: status, Reason: reason, Message: msg, ObservedGeneration: rv.Generation,
	})
	if equality.Semantic.DeepEqual(before.Status, rv.Status) {
		return nil
	}
	if err := r.Status().Patch(ctx, rv, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("patching the status of review %s: %w", rv.Name, err)
	}
	metrics.OutputReviews.WithLabelValues(string(rv.Spec.Decision), strconv.FormatBool(counted)).Inc()
	return nil
}

// recordReview writes one review to the audit log, once per review.
func (r *OutputRequestReconciler) recordReview(ctx context.Context, s *outputScope, c countedReview) error {
	actor := outputController
	if c.rv.Spec.Reviewer != nil && c.rv.Spec.Reviewer.Username != "" {
		actor = c.rv.Spec.Reviewer.Username
	}
	_, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:    actor,
		Action:   audit.ActionOutputReview,
		Object:   audit.ObjectRef{Kind: "OutputReview", Namespace: c.rv.Namespace, Name: c.rv.Name},
		Decision: string(c.rv.Spec.Decision),
		Details: map[string]any{
			audit.DetailAgreement: s.agreement.Name,
			"request":             s.or.Name,
			"contentDigest":       string(c.rv.Spec.ContentDigest),
			"counted":             c.counted,
			"why":                 c.why,
		},
		IdempotencyKey: "output.review/" + string(c.rv.UID),
	})
	if err != nil {
		return fmt.Errorf("appending review %s to the audit log: %w", c.rv.Name, err)
	}
	return nil
}

// releaseFailed records why the approved files were not released; the error brings backoff.
func (s *outputScope) releaseFailed(reason, msg string, err error) (ctrl.Result, error) {
	metrics.OutputReleases.WithLabelValues("failed").Inc()
	setOutputCondition(s.or, fivesafesv1alpha1.OutputReleasedCondition, metavFalse, reason, msg+": "+err.Error())
	return ctrl.Result{}, fmt.Errorf("%s: %w", msg, err)
}

// release records the release in the audit log, then copies the approved snapshot to
// releases/<agreement>/<request>/ in the egress bucket with its release manifest. Without the
// audit record nothing is copied.
func (r *OutputRequestReconciler) release(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	or := s.or
	if !meta.IsStatusConditionTrue(or.Status.Conditions, fivesafesv1alpha1.OutputReviewed) {
		return ctrl.Result{}, nil
	}
	m := r.releaseManifest(s)
	// A manifest that could not be written must not be announced in the audit log first.
	probe := m
	probe.AuditSequence, probe.ReleasedAt = 1, s.now
	if err := probe.Validate(); err != nil {
		s.done = true
		setOutputCondition(or, fivesafesv1alpha1.OutputReleasedCondition, metavFalse, ReasonOutputReleaseFailed,
			"the release manifest would be invalid, so nothing was released: "+err.Error())
		return ctrl.Result{}, nil
	}
	entry, err := r.intendRelease(ctx, audit.EntryInput{
		Actor:    outputController,
		Action:   audit.ActionOutputRelease,
		Object:   audit.ObjectRef{Kind: "OutputRequest", Namespace: or.Namespace, Name: or.Name},
		Decision: "release",
		Details: map[string]any{
			audit.DetailAgreement: s.agreement.Name,
			"request":             or.Name,
			"bucket":              r.EgressBucket,
			"prefix":              release.Prefix(s.agreement.Name, or.Name),
			"contentDigest":       string(or.Status.ContentDigest),
			"policyDigest":        string(or.Status.PolicyDigest),
			"files":               len(m.Files),
			"reviewers":           reviewerNames(m.Reviewers),
		},
		IdempotencyKey: "output.release/" + string(or.UID) + "/" + string(or.Status.ContentDigest),
	})
	if err != nil {
		return s.releaseFailed(ReasonOutputAuditUnavailable, "the release could not be recorded in the audit log, so nothing was released", err)
	}
	m.AuditSequence, m.ReleasedAt = entry.Seq, entry.Time.UTC()
	prefix := release.Prefix(s.agreement.Name, or.Name)
	for _, f := range or.Status.Files {
		dst := prefix + f.Path
		if _, err := r.Storage.CopyObject(ctx, r.EgressBucket, stagingKey(or, checkedGeneration(or), f.Path), r.EgressBucket, dst, storage.CopyOptions{}); err != nil {
			return s.releaseFailed(ReasonOutputReleaseFailed, "copying "+f.Path+" to the egress bucket", err)
		}
		digest, _, err := r.Storage.SHA256Object(ctx, r.EgressBucket, dst)
		if err != nil {
			return s.releaseFailed(ReasonOutputReleaseFailed, "hashing the released "+f.Path, err)
		}
		if fivesafesv1alpha1.Digest(digest) != f.SHA256 {
			return s.releaseFailed(ReasonOutputReleaseFailed, "releasing "+f.Path, errors.New("the released copy differs from the checked snapshot"))
		}
	}
	data, err := release.Encode(&m)
	if err != nil {
		return s.releaseFailed(ReasonOutputReleaseFailed, "writing the release manifest", err)
	}
	if _, err := r.Storage.S3().PutObject(ctx, r.EgressBucket, prefix+release.ManifestName, bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return s.releaseFailed(ReasonOutputReleaseFailed, "writing the release manifest", err)
	}
	if err := r.completeRelease(ctx, entry, release.Digest(data)); err != nil {
		return s.releaseFailed(ReasonOutputAuditUnavailable, "the files were copied but the release's completion could not be recorded, so it is not shown as released", err)
	}
	or.Status.Release = &fivesafesv1alpha1.Release{
		Bucket: r.EgressBucket, Prefix: prefix, ManifestSHA256: release.Digest(data),
		AuditSequence: entry.Seq, ReleasedAt: metav1.NewTime(m.ReleasedAt.Truncate(time.Second)),
	}
	s.released = true
	metrics.OutputReleases.WithLabelValues("released").Inc()
	setOutputCondition(or, fivesafesv1alpha1.OutputReleasedCondition, metavTrue, ReasonOutputReleased,
		fmt.Sprintf("%d files and their manifest are in %s/%s (audit entry %d)", len(m.Files), r.EgressBucket, prefix, entry.Seq))
	return ctrl.Result{}, nil
}

// releaseManifest describes the release of the checked snapshot, without its audit entry.
func (r *OutputRequestReconciler) releaseManifest(s *outputScope) release.Manifest {
	or := s.or
	kinds := map[string]fivesafesv1alpha1.OutputKind{}
	for _, f := range or.Spec.Files {
		kinds[f.Path] = f.Kind
	}
	m := release.Manifest{
		APIVersion: release.APIVersion, Kind: release.Kind,
		Agreement: s.agreement.Name, Reference: s.agreement.Spec.Reference,
		Namespace: or.Namespace, Request: or.Name,
		PolicyDigest: or.Status.PolicyDigest, ContentDigest: or.Status.ContentDigest,
	}
	if or.Spec.Requester != nil {
		m.Requester = or.Spec.Requester.Username
	}
	m.Checks.Outcome = or.Status.Outcome
	for _, f := range or.Status.Files {
		m.Files = append(m.Files, release.File{Path: f.Path, Kind: kinds[f.Path], SHA256: f.SHA256, Size: f.Size, Type: f.Type, Outcome: f.Outcome})
		m.Checks.Findings += len(f.Findings)
		switch f.Outcome {
		case fivesafesv1alpha1.OutcomePass:
			m.Checks.Pass++
		case fivesafesv1alpha1.OutcomeReview:
			m.Checks.Review++
		default:
			m.Checks.Fail++
		}
	}
	for _, rv := range or.Status.Reviews {
		if rv.Counted == "counted" && rv.Decision == fivesafesv1alpha1.ReviewApprove {
			m.Reviewers = append(m.Reviewers, release.Reviewer{Username: rv.Reviewer, Review: rv.Review, Decision: rv.Decision})
		}
	}
	return m
}

func reviewerNames(rs []release.Reviewer) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		out = append(out, r.Username)
	}
	return out
}

// intentLog is an audit log that records an action in two steps, its intention before and its
// outcome after. *audit.Log is one.
type intentLog interface {
	Intend(ctx context.Context, in audit.EntryInput) (audit.Entry, error)
	Complete(ctx context.Context, intent audit.Entry, out audit.Outcome) (audit.Entry, error)
}

// intendRelease writes the release's audit entry before anything is copied: an intention when
// the log records intentions, otherwise a single record. A retry returns the same entry.
func (r *OutputRequestReconciler) intendRelease(ctx context.Context, in audit.EntryInput) (audit.Entry, error) {
	var (
		e   audit.Entry
		err error
	)
	if l, ok := r.Audit.(intentLog); ok {
		e, err = l.Intend(ctx, in)
	} else {
		e, err = r.Audit.Append(ctx, in)
	}
	if err != nil {
		return audit.Entry{}, fmt.Errorf("appending to the audit log: %w", err)
	}
	return e, nil
}

// completeRelease records that the intended release was made, with its manifest's digest.
func (r *OutputRequestReconciler) completeRelease(ctx context.Context, intent audit.Entry, manifest fivesafesv1alpha1.Digest) error {
	l, ok := r.Audit.(intentLog)
	if !ok || intent.Stage != audit.StageIntended {
		return nil
	}
	details := map[string]any{"manifestSha256": string(manifest)}
	// The completion names the agreement and request as its intent does, so that filtering the
	// log by agreement, and exporting a release's entries, finds both.
	for _, k := range []string{audit.DetailAgreement, "request"} {
		if v, ok := intent.Details[k]; ok {
			details[k] = v
		}
	}
	if _, err := l.Complete(ctx, intent, audit.Outcome{Decision: "released", Details: details}); err != nil {
		return fmt.Errorf("appending to the audit log: %w", err)
	}
	return nil
}

// snapshotSidecar copies outputs/<path>.sdc.json, when there is one, beside the file's snapshot
// and returns its digest entry; nil when there is none.
func (r *OutputRequestReconciler) snapshotSidecar(ctx context.Context, bucket string, or *fivesafesv1alpha1.OutputRequest, path string) (*fivesafesv1alpha1.FileCheck, error) {
	src := "outputs/" + path + egress.SidecarSuffix
	if _, err := r.Storage.StatObject(ctx, bucket, src); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return nil, nil
		}
		return nil, err
	}
	dst := stagingKey(or, or.Generation, path) + egress.SidecarSuffix
	if _, err := r.Storage.CopyObject(ctx, bucket, src, r.EgressBucket, dst, storage.CopyOptions{}); err != nil {
		return nil, err
	}
	digest, size, err := r.Storage.SHA256Object(ctx, r.EgressBucket, dst)
	if err != nil {
		return nil, err
	}
	return &fivesafesv1alpha1.FileCheck{Path: path + egress.SidecarSuffix, SHA256: fivesafesv1alpha1.Digest(digest), Size: size}, nil
}
