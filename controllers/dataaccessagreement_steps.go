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
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
	"github.com/fivesafes/fivesafes/internal/audit"
)

// maxViolations is how many violations status holds (the CRD's bound).
const maxViolations = 128

// agreementController is the actor named in audit entries the agreement controller writes.
const agreementController = "controller:dataaccessagreement"

// computeDigest records the digest of the substantive spec.
func (r *DataAccessAgreementReconciler) computeDigest(_ context.Context, s *agreementScope) (ctrl.Result, error) {
	d, err := agreement.SpecDigest(s.daa.Spec)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("computing spec digest: %w", err)
	}
	s.daa.Status.SpecDigest = d
	return ctrl.Result{}, nil
}

// validate runs the governance policy against the spec and the catalogue. A policy that cannot
// answer leaves the agreement not valid: it fails closed.
func (r *DataAccessAgreementReconciler) validate(ctx context.Context, s *agreementScope) (ctrl.Result, error) {
	catalogue := map[string]fivesafesv1alpha1.DatasetSpec{}
	for _, d := range s.daa.Spec.Datasets {
		var ds fivesafesv1alpha1.Dataset
		err := r.Get(ctx, client.ObjectKey{Name: d.Name}, &ds)
		switch {
		case apierrors.IsNotFound(err):
			// The policy reports a dataset missing from the catalogue.
		case err != nil:
			return ctrl.Result{}, fmt.Errorf("reading catalogue dataset %s: %w", d.Name, err)
		default:
			catalogue[d.Name] = ds.Spec
		}
	}
	findings, policyDigest, err := r.Validator.ValidateAgreement(ctx, s.daa, catalogue)
	if err != nil {
		s.valid, s.policyErr = false, true
		setCondition(s.daa, fivesafesv1alpha1.AgreementValid, false, ReasonPolicyUnavailable,
			"the governance policy could not be evaluated; the agreement is treated as not valid: "+err.Error())
		return ctrl.Result{}, fmt.Errorf("evaluating governance policy: %w", err)
	}
	s.daa.Status.PolicyDigest = policyDigest
	s.daa.Status.Violations = findings
	if len(findings) > maxViolations {
		s.daa.Status.Violations = findings[:maxViolations]
	}
	s.valid = len(findings) == 0
	if s.before.SpecDigest != s.daa.Status.SpecDigest || s.before.PolicyDigest != policyDigest {
		if _, err := r.Audit.Append(ctx, audit.EntryInput{
			Actor:    agreementController,
			Action:   audit.ActionAgreementValidate,
			Object:   audit.ObjectRef{Kind: "DataAccessAgreement", Name: s.daa.Name},
			Decision: map[bool]string{true: "valid", false: "invalid"}[s.valid],
			Details: map[string]any{
				"specDigest":   string(s.daa.Status.SpecDigest),
				"policyDigest": string(policyDigest),
				"violations":   len(findings),
				"reference":    s.daa.Spec.Reference,
			},
			IdempotencyKey: "validate/" + string(s.daa.UID) + "/" + string(s.daa.Status.SpecDigest) + "/" + string(policyDigest),
		}); err != nil {
			s.daa.Status.SpecDigest, s.daa.Status.PolicyDigest = s.before.SpecDigest, s.before.PolicyDigest
			s.daa.Status.Violations = s.before.Violations
			setCondition(s.daa, fivesafesv1alpha1.ConditionReady, false, ReasonAuditUnavailable,
				fmt.Sprintf("the governance check waits for the audit log to record it: %v", err))
			return ctrl.Result{}, fmt.Errorf("recording the governance check in the audit log: %w", err)
		}
	}
	if s.valid {
		setCondition(s.daa, fivesafesv1alpha1.AgreementValid, true, ReasonPolicyPassed, "the agreement meets every governance rule")
	} else {
		setCondition(s.daa, fivesafesv1alpha1.AgreementValid, false, ReasonPolicyViolated,
			fmt.Sprintf("%d governance rule(s) broken; first: %s: %s", len(findings), findings[0].Field, findings[0].Message))
	}
	return ctrl.Result{}, nil
}

// countApprovals counts the distinct committee members who approved the current digest.
func (r *DataAccessAgreementReconciler) countApprovals(ctx context.Context, s *agreementScope) (ctrl.Result, error) {
	var list fivesafesv1alpha1.AgreementApprovalList
	if err := r.List(ctx, &list, client.MatchingFields{indexApprovalAgreement: s.daa.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing approvals: %w", err)
	}
	researchers := map[string]bool{}
	for _, x := range s.daa.Spec.Researchers {
		researchers[x.Name] = true
	}
	s.tally = countDecisions(list.Items, s.daa.Status.SpecDigest, r.Settings.CommitteeGroup, researchers)
	s.daa.Status.Approvals = int32(s.tally.approvals) //nolint:gosec // at most the number of approvals listed
	s.daa.Status.Decisions = s.tally.decisions
	return ctrl.Result{}, r.markApprovals(ctx, list.Items, s)
}

// markApprovals writes each approval's Counted condition, when it changed, so that
// `kubectl get agreementapprovals` shows which decisions count.
func (r *DataAccessAgreementReconciler) markApprovals(ctx context.Context, approvals []fivesafesv1alpha1.AgreementApproval, s *agreementScope) error {
	verdict := map[string]string{}
	for _, d := range s.tally.decisions {
		verdict[d.Approval] = d.Counted
	}
	for i := range approvals {
		a := &approvals[i]
		before := a.DeepCopy()
		counted, ok := verdict[a.Name]
		switch {
		case !ok:
			setCondition(a, fivesafesv1alpha1.ApprovalCounted, false, ReasonStaleDigest,
				"the agreement has changed since this decision: its digest is now "+string(s.daa.Status.SpecDigest))
		case counted == countedYes:
			setCondition(a, fivesafesv1alpha1.ApprovalCounted, true, ReasonCounted, "the decision counts for the agreement's current digest")
		default:
			setCondition(a, fivesafesv1alpha1.ApprovalCounted, false, ReasonNotCounted, counted)
		}
		a.Status.ObservedGeneration = a.Generation
		if equality.Semantic.DeepEqual(before.Status, a.Status) {
			continue
		}
		if len(before.Status.Conditions) == 0 {
			if err := r.recordDecision(ctx, a, counted, ok, s); err != nil {
				return err
			}
		}
		if err := r.Status().Patch(ctx, a, client.MergeFrom(before)); client.IgnoreNotFound(err) != nil {
			return fmt.Errorf("marking approval %s: %w", a.Name, err)
		}
	}
	return nil
}

// recordDecision writes a committee member's decision to the audit log the first time the
// controller sees it, before the decision is marked as counted or not.
func (r *DataAccessAgreementReconciler) recordDecision(ctx context.Context, a *fivesafesv1alpha1.AgreementApproval, counted string, current bool, s *agreementScope) error {
	actor := "(unknown)"
	if a.Spec.Approver != nil {
		actor = a.Spec.Approver.Username
	}
	if !current {
		counted = "No: decided on a digest that is no longer current"
	}
	_, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:    actor,
		Action:   audit.ActionAgreementApprove,
		Object:   audit.ObjectRef{Kind: "AgreementApproval", Name: a.Name},
		Decision: string(a.Spec.Decision),
		Details: map[string]any{
			audit.DetailAgreement: s.daa.Name,
			"specDigest":          string(a.Spec.SpecDigest),
			"counted":             counted,
		},
		IdempotencyKey: "approval/" + string(a.UID),
	})
	if err != nil {
		setCondition(s.daa, fivesafesv1alpha1.ConditionReady, false, ReasonAuditUnavailable,
			fmt.Sprintf("approval %s waits for the audit log to record it: %v", a.Name, err))
		return fmt.Errorf("recording approval %s in the audit log: %w", a.Name, err)
	}
	return nil
}

// computePhase derives the phase and the Approved, InValidity and ExpiringSoon conditions.
func (r *DataAccessAgreementReconciler) computePhase(_ context.Context, s *agreementScope) (ctrl.Result, error) {
	start, end, err := validityWindow(s.daa.Spec.Validity)
	if err != nil {
		// The CRD schema refuses such dates; an object stored before that rule cannot be used.
		s.valid = false
		setCondition(s.daa, fivesafesv1alpha1.AgreementValid, false, ReasonPolicyViolated, err.Error())
		s.daa.Status.Phase = fivesafesv1alpha1.AgreementPending
		return ctrl.Result{}, nil
	}
	s.outcome = computePhase(phaseInput{
		now:           s.now,
		revoked:       s.daa.Spec.Revocation != nil,
		valid:         s.valid,
		policyErr:     s.policyErr,
		tally:         s.tally,
		quorum:        r.Settings.Quorum,
		start:         start,
		end:           end,
		expiryWarning: r.Settings.ExpiryWarning,
	})
	s.daa.Status.Phase = s.outcome.phase
	for _, c := range []metav1.Condition{s.outcome.approved, s.outcome.inValidity, s.outcome.expiringSoon} {
		setCondition(s.daa, c.Type, c.Status == metav1.ConditionTrue, c.Reason, c.Message)
	}
	if s.outcome.phase == fivesafesv1alpha1.AgreementActive && s.daa.Status.ActivatedAt == nil {
		t := metav1.NewTime(s.now)
		s.daa.Status.ActivatedAt = &t
	}
	if (s.outcome.phase == fivesafesv1alpha1.AgreementExpired || s.outcome.phase == fivesafesv1alpha1.AgreementRevoked) && s.daa.Status.EndedAt == nil {
		t := metav1.NewTime(s.now)
		s.daa.Status.EndedAt = &t
	}
	return ctrl.Result{RequeueAfter: s.outcome.requeueAfter}, nil
}

// recordPhaseChange writes a phase change to the audit log before the status shows it, and
// emits an event. If the audit log cannot take the record the status keeps the old phase, so
// nothing that depends on the new phase happens.
func (r *DataAccessAgreementReconciler) recordPhaseChange(ctx context.Context, s *agreementScope) (ctrl.Result, error) {
	from, to := s.before.Phase, s.daa.Status.Phase
	if from == to {
		return ctrl.Result{}, nil
	}
	{
		_, err := r.Audit.Append(ctx, audit.EntryInput{
			Actor:    agreementController,
			Action:   audit.ActionPhaseChange,
			Object:   audit.ObjectRef{Kind: "DataAccessAgreement", Name: s.daa.Name},
			Decision: string(to),
			Details: map[string]any{
				"to":           string(to),
				"from":         string(from),
				"specDigest":   string(s.daa.Status.SpecDigest),
				"policyDigest": string(s.daa.Status.PolicyDigest),
				"approvals":    s.tally.approvals,
				"approvers":    countedApprovers(s.tally),
				"reference":    s.daa.Spec.Reference,
			},
			IdempotencyKey: string(s.daa.UID) + "/phase/" + string(to) + "/" + string(s.daa.Status.SpecDigest) + "/" + strconv.FormatInt(s.daa.Generation, 10),
		})
		if err != nil {
			s.daa.Status.Phase = from
			s.daa.Status.ActivatedAt = s.before.ActivatedAt
			s.daa.Status.EndedAt = s.before.EndedAt
			setCondition(s.daa, fivesafesv1alpha1.ConditionReady, false, ReasonAuditUnavailable,
				fmt.Sprintf("the move to %s waits for the audit log to record it: %v", to, err))
			return ctrl.Result{}, fmt.Errorf("recording phase change to %s in the audit log: %w", to, err)
		}
	}
	s.announce(corev1.EventTypeNormal, phaseReason(s), "PhaseChange", fmt.Sprintf("Phase changed from %s to %s", phaseOrNone(from), to))
	return ctrl.Result{}, nil
}

// announceExpiry emits a warning event when the agreement enters its last weeks.
func (r *DataAccessAgreementReconciler) announceExpiry(_ context.Context, s *agreementScope) (ctrl.Result, error) {
	was := meta.IsStatusConditionTrue(s.before.Conditions, fivesafesv1alpha1.AgreementExpiringSoon)
	now := meta.FindStatusCondition(s.daa.Status.Conditions, fivesafesv1alpha1.AgreementExpiringSoon)
	if !was && now != nil && now.Status == metav1.ConditionTrue && s.daa.Status.Phase == fivesafesv1alpha1.AgreementActive {
		s.announce(corev1.EventTypeWarning, ReasonEndsSoon, "ExpiryWarning", "The agreement "+now.Message)
	}
	return ctrl.Result{}, nil
}

func countedApprovers(t tally) []string {
	out := []string{}
	for _, d := range t.decisions {
		if d.Counted == countedYes && d.Decision == fivesafesv1alpha1.DecisionApprove {
			out = append(out, d.Username)
		}
	}
	return out
}

func phaseOrNone(p fivesafesv1alpha1.AgreementPhase) string {
	if p == "" {
		return "(none)"
	}
	return string(p)
}

// phaseReason is the condition reason that best explains the current phase.
func phaseReason(s *agreementScope) string {
	switch s.daa.Status.Phase {
	case fivesafesv1alpha1.AgreementRevoked:
		return ReasonRevoked
	case fivesafesv1alpha1.AgreementExpired:
		return ReasonValidityEnded
	case fivesafesv1alpha1.AgreementRejected:
		return ReasonRejectedByMember
	case fivesafesv1alpha1.AgreementActive:
		return ReasonActive
	case fivesafesv1alpha1.AgreementApproved:
		return ReasonNotYetStarted
	default:
		if !s.valid {
			return ReasonPolicyViolated
		}
		return ReasonAwaitingApprovals
	}
}

// reconcileWorkspace creates the agreement's Workspace when it becomes active and suspends it
// whenever the agreement is not active.
func (r *DataAccessAgreementReconciler) reconcileWorkspace(ctx context.Context, s *agreementScope) (ctrl.Result, error) {
	ws := &fivesafesv1alpha1.Workspace{}
	err := r.Get(ctx, client.ObjectKey{Name: s.daa.Name}, ws)
	exists := err == nil
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading workspace: %w", err)
	}
	active := s.daa.Status.Phase == fivesafesv1alpha1.AgreementActive
	if !active && !exists {
		s.daa.Status.Workspace = ""
		return ctrl.Result{}, nil
	}
	if !exists {
		// The workspace is made with its finalizer, so that its controller's first loop need not
		// write it before building anything.
		ws = &fivesafesv1alpha1.Workspace{}
		ws.Name = s.daa.Name
		ws.Finalizers = []string{WorkspaceFinalizer}
	}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, ws, func() error {
		desiredWorkspaceSpec(&ws.Spec, s.daa, active, r.Settings.RetentionDays)
		return controllerutil.SetControllerReference(s.daa, ws, r.Scheme)
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("ensuring workspace: %w", err)
	}
	s.daa.Status.Workspace = ws.Name
	s.daa.Status.Destruction = ws.Status.Destruction
	s.workspace = ws
	return ctrl.Result{}, nil
}

// reconcileExtracts asks for one DatasetExtract per approved dataset in the workspace namespace
// once the workspace is ready, and removes those for datasets no longer approved. The extracts
// belong to the workspace, so they go with it.
func (r *DataAccessAgreementReconciler) reconcileExtracts(ctx context.Context, s *agreementScope) (ctrl.Result, error) {
	if s.daa.Status.Phase != fivesafesv1alpha1.AgreementActive || s.workspace == nil ||
		!meta.IsStatusConditionTrue(s.workspace.Status.Conditions, fivesafesv1alpha1.ConditionReady) {
		return ctrl.Result{}, nil
	}
	ns := WorkspaceNamespace(s.daa.Name)
	wanted := map[string]bool{}
	for _, d := range s.daa.Spec.Datasets {
		wanted[d.Name] = true
		dx := &fivesafesv1alpha1.DatasetExtract{ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: ns}}
		if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, dx, func() error {
			dx.Labels = mergeLabels(dx.Labels, map[string]string{LabelWorkspace: s.workspace.Name, LabelManagedBy: managedBy})
			dx.Spec.Agreement = s.daa.Name
			dx.Spec.Dataset = d.Name
			dx.Spec.Columns = d.Columns
			dx.Spec.OptOuts = d.OptOuts
			dx.Spec.OptOutJustification = d.OptOutJustification
			dx.Spec.OptOutList = ""
			if d.OptOuts == fivesafesv1alpha1.OptOutsHonoured {
				dx.Spec.OptOutList = r.Settings.OptOutList
			}
			if dx.Spec.PseudonymMode == "" {
				dx.Spec.PseudonymMode = fivesafesv1alpha1.PseudonymEnvelope
			}
			return controllerutil.SetControllerReference(s.workspace, dx, r.Scheme)
		}); err != nil {
			return ctrl.Result{}, fmt.Errorf("ensuring extract of %s: %w", d.Name, err)
		}
	}
	var existing fivesafesv1alpha1.DatasetExtractList
	if err := r.List(ctx, &existing, client.InNamespace(ns), client.MatchingLabels{LabelWorkspace: s.workspace.Name}); err != nil {
		return ctrl.Result{}, fmt.Errorf("listing extracts: %w", err)
	}
	for i := range existing.Items {
		if dx := &existing.Items[i]; !wanted[dx.Name] {
			if err := r.Delete(ctx, dx); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("removing extract of %s, no longer approved: %w", dx.Name, err)
			}
		}
	}
	return ctrl.Result{}, nil
}

// desiredWorkspaceSpec writes what the agreement asks of its workspace into spec.
func desiredWorkspaceSpec(spec *fivesafesv1alpha1.WorkspaceSpec, daa *fivesafesv1alpha1.DataAccessAgreement, active bool, retentionDays int32) {
	spec.Agreement = daa.Name
	spec.State = fivesafesv1alpha1.WorkspaceSuspended
	if active {
		spec.State = fivesafesv1alpha1.WorkspaceActive
	}
	spec.Researchers = spec.Researchers[:0]
	for _, x := range daa.Spec.Researchers {
		spec.Researchers = append(spec.Researchers, x.Name)
	}
	spec.Resources = daa.Spec.Workspace
	days := retentionDays
	spec.RetentionDays = &days
}

// summarise sets Ready and observedGeneration. Ready is True when the agreement is active and
// its workspace is ready.
func (r *DataAccessAgreementReconciler) summarise(s *agreementScope) {
	s.daa.Status.ObservedGeneration = s.daa.Generation
	if c := meta.FindStatusCondition(s.daa.Status.Conditions, fivesafesv1alpha1.ConditionReady); c != nil && c.Reason == ReasonAuditUnavailable && s.daa.Status.Phase != s.outcome.phase {
		return
	}
	switch {
	case s.daa.Status.Phase != fivesafesv1alpha1.AgreementActive:
		setCondition(s.daa, fivesafesv1alpha1.ConditionReady, false, ReasonNotActive, "the agreement is "+phaseOrNone(s.daa.Status.Phase))
	case s.workspace == nil || !meta.IsStatusConditionTrue(s.workspace.Status.Conditions, fivesafesv1alpha1.ConditionReady):
		setCondition(s.daa, fivesafesv1alpha1.ConditionReady, false, ReasonWorkspaceNotReady, "the agreement is Active; its workspace is not ready yet")
	default:
		setCondition(s.daa, fivesafesv1alpha1.ConditionReady, true, ReasonActive, "the agreement is Active and its workspace is ready")
	}
}

// conditioned is an object with conditions and a generation.
type conditioned interface {
	client.Object
	GetConditions() *[]metav1.Condition
}

func setCondition(o conditioned, t string, ok bool, reason, msg string) {
	c := cond(t, ok, reason, msg)
	c.ObservedGeneration = o.GetGeneration()
	meta.SetStatusCondition(o.GetConditions(), c)
}
