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
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

const (
	digestA = fivesafesv1alpha1.Digest("sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
	digestB = fivesafesv1alpha1.Digest("sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
	group   = "fivesafes:committee"
)

func approval(name, user string, groups []string, digest fivesafesv1alpha1.Digest, d fivesafesv1alpha1.ApprovalDecision, age int) fivesafesv1alpha1.AgreementApproval {
	a := fivesafesv1alpha1.AgreementApproval{}
	a.Name = name
	a.CreationTimestamp = metav1.NewTime(time.Date(2026, 1, 1, 0, age, 0, 0, time.UTC))
	a.Spec = fivesafesv1alpha1.AgreementApprovalSpec{Agreement: "x", SpecDigest: digest, Decision: d, Comment: "c"}
	if user != "" {
		a.Spec.Approver = &fivesafesv1alpha1.UserInfo{Username: user, Groups: groups}
	}
	return a
}

func TestCountDecisions(t *testing.T) {
	committee := []string{group}
	approve, reject := fivesafesv1alpha1.DecisionApprove, fivesafesv1alpha1.DecisionReject
	researchers := map[string]bool{"rita": true}
	tests := []struct {
		name      string
		approvals []fivesafesv1alpha1.AgreementApproval
		want      int
		rejected  bool
		counted   map[string]string // approval name -> prefix of Counted
	}{
		{"two members", []fivesafesv1alpha1.AgreementApproval{
			approval("a1", "alice", committee, digestA, approve, 1),
			approval("b1", "bob", committee, digestA, approve, 2),
		}, 2, false, map[string]string{"a1": "Yes", "b1": "Yes"}},
		{"same person twice counts once", []fivesafesv1alpha1.AgreementApproval{
			approval("a1", "alice", committee, digestA, approve, 1),
			approval("a2", "alice", committee, digestA, approve, 2),
		}, 1, false, map[string]string{"a1": "Yes", "a2": "No: this person has already"}},
		{"stale digest ignored", []fivesafesv1alpha1.AgreementApproval{
			approval("a1", "alice", committee, digestB, approve, 1),
			approval("b1", "bob", committee, digestA, approve, 2),
		}, 1, false, map[string]string{"b1": "Yes"}},
		{"researcher does not count", []fivesafesv1alpha1.AgreementApproval{
			approval("r1", "rita", committee, digestA, approve, 1),
		}, 0, false, map[string]string{"r1": "No: the approver is a researcher"}},
		{"outside the committee does not count", []fivesafesv1alpha1.AgreementApproval{
			approval("e1", "eve", []string{"other"}, digestA, approve, 1),
		}, 0, false, map[string]string{"e1": "No: the approver is not in the committee group"}},
		{"no stamped approver does not count", []fivesafesv1alpha1.AgreementApproval{
			approval("n1", "", nil, digestA, approve, 1),
		}, 0, false, map[string]string{"n1": "No: no authenticated approver"}},
		{"a member's rejection rejects", []fivesafesv1alpha1.AgreementApproval{
			approval("a1", "alice", committee, digestA, approve, 1),
			approval("b1", "bob", committee, digestA, reject, 2),
		}, 1, true, map[string]string{"a1": "Yes", "b1": "Yes"}},
		{"an outsider's rejection does not reject", []fivesafesv1alpha1.AgreementApproval{
			approval("e1", "eve", nil, digestA, reject, 1),
		}, 0, false, map[string]string{"e1": "No"}},
		{"a rejection of a stale digest does not reject", []fivesafesv1alpha1.AgreementApproval{
			approval("b1", "bob", committee, digestB, reject, 1),
		}, 0, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := countDecisions(tt.approvals, digestA, group, researchers)
			if got.approvals != tt.want || got.rejected != tt.rejected {
				t.Fatalf("approvals=%d rejected=%v, want %d %v (%+v)", got.approvals, got.rejected, tt.want, tt.rejected, got.decisions)
			}
			if len(got.decisions) != len(tt.counted) {
				t.Fatalf("decisions = %+v, want %d", got.decisions, len(tt.counted))
			}
			for _, d := range got.decisions {
				if !strings.HasPrefix(d.Counted, tt.counted[d.Approval]) {
					t.Errorf("%s counted %q, want prefix %q", d.Approval, d.Counted, tt.counted[d.Approval])
				}
			}
		})
	}
}

func TestComputePhase(t *testing.T) {
	start := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC)
	base := phaseInput{valid: true, tally: tally{approvals: 2}, quorum: 2, start: start, end: end, expiryWarning: 30 * 24 * time.Hour}
	with := func(f func(*phaseInput)) phaseInput { in := base; f(&in); return in }
	tests := []struct {
		name    string
		in      phaseInput
		phase   fivesafesv1alpha1.AgreementPhase
		requeue time.Duration
		soon    bool
	}{
		{"before start", with(func(i *phaseInput) { i.now = start.Add(-time.Hour) }), fivesafesv1alpha1.AgreementApproved, time.Hour, false},
		{"at start", with(func(i *phaseInput) { i.now = start }), fivesafesv1alpha1.AgreementActive, end.Add(-30 * 24 * time.Hour).Sub(start), false},
		{"in warning period", with(func(i *phaseInput) { i.now = end.Add(-24 * time.Hour) }), fivesafesv1alpha1.AgreementActive, 24 * time.Hour, true},
		{"last second", with(func(i *phaseInput) { i.now = end.Add(-time.Second) }), fivesafesv1alpha1.AgreementActive, time.Second, true},
		{"at end", with(func(i *phaseInput) { i.now = end }), fivesafesv1alpha1.AgreementExpired, 0, false},
		{"below quorum", with(func(i *phaseInput) { i.now = start; i.tally.approvals = 1 }), fivesafesv1alpha1.AgreementPending, end.Add(-30 * 24 * time.Hour).Sub(start), false},
		{"invalid", with(func(i *phaseInput) { i.now = start; i.valid = false }), fivesafesv1alpha1.AgreementPending, end.Add(-30 * 24 * time.Hour).Sub(start), false},
		{"policy unavailable", with(func(i *phaseInput) { i.now = start; i.policyErr = true }), fivesafesv1alpha1.AgreementPending, end.Add(-30 * 24 * time.Hour).Sub(start), false},
		{"rejected", with(func(i *phaseInput) { i.now = start; i.tally.rejected = true }), fivesafesv1alpha1.AgreementRejected, end.Add(-30 * 24 * time.Hour).Sub(start), false},
		{"revoked wins over everything", with(func(i *phaseInput) { i.now = end.Add(time.Hour); i.revoked = true }), fivesafesv1alpha1.AgreementRevoked, 0, false},
		{"expired even if rejected", with(func(i *phaseInput) { i.now = end; i.tally.rejected = true }), fivesafesv1alpha1.AgreementExpired, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := computePhase(tt.in)
			if got.phase != tt.phase {
				t.Fatalf("phase = %s, want %s", got.phase, tt.phase)
			}
			if got.requeueAfter != tt.requeue {
				t.Errorf("requeueAfter = %s, want %s", got.requeueAfter, tt.requeue)
			}
			if soon := got.expiringSoon.Status == metav1.ConditionTrue; soon != tt.soon {
				t.Errorf("ExpiringSoon = %v, want %v", soon, tt.soon)
			}
		})
	}
}

func TestValidityWindow(t *testing.T) {
	start, end, err := validityWindow(fivesafesv1alpha1.Validity{Start: "2026-04-01", End: "2028-03-31"})
	if err != nil {
		t.Fatal(err)
	}
	if !start.Equal(time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("window = %s .. %s", start, end)
	}
	if _, _, err := validityWindow(fivesafesv1alpha1.Validity{Start: "2026-13-01", End: "2028-03-31"}); err == nil {
		t.Fatal("a month 13 was accepted")
	}
}
