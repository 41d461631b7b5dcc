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
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Condition reasons of a DataAccessAgreement. Event reasons are the same words.
const (
	ReasonPolicyPassed      = "PolicyPassed"
	ReasonPolicyViolated    = "PolicyViolated"
	ReasonPolicyUnavailable = "PolicyUnavailable"
	ReasonQuorumReached     = "QuorumReached"
	ReasonAwaitingApprovals = "AwaitingApprovals"
	ReasonRejectedByMember  = "RejectedByCommittee"
	ReasonNotYetStarted     = "NotYetStarted"
	ReasonWithinValidity    = "WithinValidity"
	ReasonValidityEnded     = "ValidityEnded"
	ReasonRevoked           = "Revoked"
	ReasonEndsSoon          = "EndsSoon"
	ReasonNotEndingSoon     = "NotEndingSoon"
	ReasonActive            = "Active"
	ReasonNotActive         = "NotActive"
	ReasonAuditUnavailable  = "AuditUnavailable"
	ReasonWorkspaceNotReady = "WorkspaceNotReady"
	ReasonStaleDigest       = "StaleDigest"
	ReasonCounted           = "Counted"
	ReasonNotCounted        = "NotCounted"
)

// Reasons an approval does not count, as written in status.decisions[].counted.
const (
	countedYes          = "Yes"
	countedNoApprover   = "No: no authenticated approver was recorded"
	countedNotCommittee = "No: the approver is not in the committee group %s"
	countedResearcher   = "No: the approver is a researcher on this agreement"
	countedDuplicate    = "No: this person has already decided on this digest"
)

// validityWindow returns the instants an agreement's validity starts and ends: 00:00 UTC on
// validity.start and 24:00 UTC on validity.end.
func validityWindow(v fivesafesv1alpha1.Validity) (start, end time.Time, err error) {
	start, err = time.Parse(time.DateOnly, v.Start)
	if err != nil {
		return start, end, fmt.Errorf("validity.start is not a YYYY-MM-DD date: %w", err)
	}
	last, err := time.Parse(time.DateOnly, v.End)
	if err != nil {
		return start, end, fmt.Errorf("validity.end is not a YYYY-MM-DD date: %w", err)
	}
	return start, last.AddDate(0, 0, 1), nil
}

// tally is the outcome of counting the decisions on one spec digest.
type tally struct {
	approvals int
	rejected  bool
	decisions []fivesafesv1alpha1.ApproverRecord
	// rejectedBy is the first committee member who rejected, for the condition message.
	rejectedBy string
}

// countDecisions counts the approvals of digest: one per distinct person in the committee group
// who is not a researcher on the agreement. A rejection from such a person rejects. Decisions on
// other digests are ignored.
func countDecisions(approvals []fivesafesv1alpha1.AgreementApproval, digest fivesafesv1alpha1.Digest, committeeGroup string, researchers map[string]bool) tally {
	sorted := make([]fivesafesv1alpha1.AgreementApproval, 0, len(approvals))
	for _, a := range approvals {
		if a.Spec.SpecDigest == digest && a.DeletionTimestamp == nil {
			sorted = append(sorted, a)
		}
	}
	sort.Slice(sorted, func(i, j int) bool {
		ti, tj := sorted[i].CreationTimestamp, sorted[j].CreationTimestamp
		if !ti.Equal(&tj) {
			return ti.Before(&tj)
		}
		return sorted[i].Name < sorted[j].Name
	})
	var t tally
	seen := map[string]bool{}
	for _, a := range sorted {
		rec := fivesafesv1alpha1.ApproverRecord{Approval: a.Name, Decision: a.Spec.Decision}
		switch {
		case a.Spec.Approver == nil || a.Spec.Approver.Username == "":
			rec.Counted = countedNoApprover
		case !a.Spec.Approver.HasGroup(committeeGroup):
			rec.Username = a.Spec.Approver.Username
			rec.Counted = fmt.Sprintf(countedNotCommittee, committeeGroup)
		case researchers[a.Spec.Approver.Username]:
			rec.Username = a.Spec.Approver.Username
			rec.Counted = countedResearcher
		case seen[a.Spec.Approver.Username]:
			rec.Username = a.Spec.Approver.Username
			rec.Counted = countedDuplicate
		default:
			rec.Username = a.Spec.Approver.Username
			rec.Counted = countedYes
			seen[rec.Username] = true
			switch a.Spec.Decision {
			case fivesafesv1alpha1.DecisionApprove:
				t.approvals++
			case fivesafesv1alpha1.DecisionReject:
				if !t.rejected {
					t.rejectedBy = rec.Username
				}
				t.rejected = true
			}
		}
		if len(t.decisions) < 64 {
			t.decisions = append(t.decisions, rec)
		}
	}
	return t
}

// phaseInput is everything the phase of an agreement depends on.
type phaseInput struct {
	now           time.Time
	revoked       bool
	valid         bool
	policyErr     bool
	tally         tally
	quorum        int
	start, end    time.Time
	expiryWarning time.Duration
}

// phaseOutcome is the phase, the conditions that explain it, and when to look again.
type phaseOutcome struct {
	phase        fivesafesv1alpha1.AgreementPhase
	approved     metav1.Condition
	inValidity   metav1.Condition
	expiringSoon metav1.Condition
	// requeueAfter is the time until the next boundary (start, warning, end); zero for none.
	requeueAfter time.Duration
}

// computePhase derives the phase from the current state of the world. It trusts nothing an
// earlier loop wrote: a revoked agreement stays revoked because a revocation cannot be withdrawn.
func computePhase(in phaseInput) phaseOutcome {
	var out phaseOutcome
	quorumMsg := fmt.Sprintf("%d of %d required committee approvals of the current digest", in.tally.approvals, in.quorum)
	switch {
	case in.tally.rejected:
		out.approved = cond(fivesafesv1alpha1.AgreementApprovedCondition, false, ReasonRejectedByMember,
			fmt.Sprintf("%s rejected the current digest", in.tally.rejectedBy))
	case in.tally.approvals >= in.quorum:
		out.approved = cond(fivesafesv1alpha1.AgreementApprovedCondition, true, ReasonQuorumReached, quorumMsg)
	default:
		out.approved = cond(fivesafesv1alpha1.AgreementApprovedCondition, false, ReasonAwaitingApprovals, quorumMsg)
	}

	warnAt := in.end.Add(-in.expiryWarning)
	switch {
	case in.now.Before(in.start):
		out.inValidity = cond(fivesafesv1alpha1.AgreementInValidity, false, ReasonNotYetStarted,
			"validity starts "+in.start.Format(time.RFC3339))
		out.requeueAfter = in.start.Sub(in.now)
	case in.now.Before(in.end):
		out.inValidity = cond(fivesafesv1alpha1.AgreementInValidity, true, ReasonWithinValidity,
			"validity ends "+in.end.Format(time.RFC3339))
		next := in.end
		if in.now.Before(warnAt) {
			next = warnAt
		}
		out.requeueAfter = next.Sub(in.now)
	default:
		out.inValidity = cond(fivesafesv1alpha1.AgreementInValidity, false, ReasonValidityEnded,
			"validity ended "+in.end.Format(time.RFC3339))
	}
	if !in.now.Before(warnAt) && in.now.Before(in.end) {
		days := int(in.end.Sub(in.now).Hours()/24) + 1
		out.expiringSoon = cond(fivesafesv1alpha1.AgreementExpiringSoon, true, ReasonEndsSoon,
			fmt.Sprintf("validity ends in %d day(s), at %s", days, in.end.Format(time.RFC3339)))
	} else {
		out.expiringSoon = cond(fivesafesv1alpha1.AgreementExpiringSoon, false, ReasonNotEndingSoon, "validity does not end within the warning period")
	}

	switch {
	case in.revoked:
		out.phase = fivesafesv1alpha1.AgreementRevoked
		out.requeueAfter = 0
	case !in.now.Before(in.end):
		out.phase = fivesafesv1alpha1.AgreementExpired
	case in.tally.rejected:
		out.phase = fivesafesv1alpha1.AgreementRejected
	case !in.valid || in.policyErr || in.tally.approvals < in.quorum:
		out.phase = fivesafesv1alpha1.AgreementPending
	case in.now.Before(in.start):
		out.phase = fivesafesv1alpha1.AgreementApproved
	default:
		out.phase = fivesafesv1alpha1.AgreementActive
	}
	return out
}

func cond(t string, ok bool, reason, msg string) metav1.Condition {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: msg}
}
