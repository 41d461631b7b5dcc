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

package controllers_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/manifest"
	"github.com/fivesafes/fivesafes/internal/testname"
)

const committee = "fivesafes:committee"

// sampleAgreement returns the sample agreement under a new name, with the sample catalogue
// applied.
func sampleAgreement(t *testing.T, name string) *fivesafesv1alpha1.DataAccessAgreement {
	t.Helper()
	objs, err := manifest.ReadDir(filepath.Join("..", "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	var daa *fivesafesv1alpha1.DataAccessAgreement
	var catalogue []manifest.Object
	for _, o := range objs {
		switch o.GetKind() {
		case "DataAccessAgreement":
			daa = &fivesafesv1alpha1.DataAccessAgreement{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, daa); err != nil {
				t.Fatal(err)
			}
		case "Dataset", "OptOutList":
			catalogue = append(catalogue, o)
		}
	}
	if err := manifest.Apply(context.Background(), env.Client, "agreement-test", catalogue); err != nil {
		t.Fatal(err)
	}
	daa.ObjectMeta = metav1.ObjectMeta{Name: name}
	return daa
}

func clientAs(t *testing.T, user string, groups ...string) client.Client {
	t.Helper()
	c, err := env.ClientAs(user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// waitFor polls until cond holds for the agreement, failing with the last status seen.
func waitFor(t *testing.T, name string, what string, cond func(*fivesafesv1alpha1.DataAccessAgreement) bool) *fivesafesv1alpha1.DataAccessAgreement {
	t.Helper()
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, daa); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return cond(daa), nil
	})
	if err != nil {
		t.Fatalf("agreement %s never %s; last status: %+v", name, what, daa.Status)
	}
	return daa
}

func phaseIs(p fivesafesv1alpha1.AgreementPhase) func(*fivesafesv1alpha1.DataAccessAgreement) bool {
	return func(d *fivesafesv1alpha1.DataAccessAgreement) bool {
		return d.Status.Phase == p && d.Status.ObservedGeneration == d.Generation
	}
}

func approve(t *testing.T, c client.Client, name string, agreement string, digest fivesafesv1alpha1.Digest, d fivesafesv1alpha1.ApprovalDecision) (*fivesafesv1alpha1.AgreementApproval, error) {
	t.Helper()
	a := &fivesafesv1alpha1.AgreementApproval{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: fivesafesv1alpha1.AgreementApprovalSpec{
			Agreement: agreement, SpecDigest: digest, Decision: d, Comment: "Considered at the committee meeting.",
		},
	}
	return a, c.Create(context.Background(), a)
}

// poke asks the controller to look again, as `kubectl annotate` would after time has passed.
func poke(t *testing.T, name string) {
	t.Helper()
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Name: name}, daa); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(daa.DeepCopy())
	if daa.Annotations == nil {
		daa.Annotations = map[string]string{}
	}
	daa.Annotations["fivesafes.io/reconcile-requested-at"] = clock.Now().Format(time.RFC3339Nano)
	if err := env.Client.Patch(context.Background(), daa, patch); err != nil {
		t.Fatal(err)
	}
}

// wantWorkspaceState waits for the agreement's workspace to be asked for the state want. The
// agreement's phase and its workspace's state are written by the same loop, but a loop whose
// workspace update fails (its cache behind the workspace controller's write) still writes the
// phase, and the next loop updates the workspace.
func wantWorkspaceState(t *testing.T, name string, want fivesafesv1alpha1.WorkspaceState, when string) {
	t.Helper()
	waitForWorkspace(t, name, "asked to be "+string(want)+" "+when, func(ws *fivesafesv1alpha1.Workspace) bool {
		return ws.Spec.State == want
	})
}

func moveClock(t *testing.T, to time.Time) {
	t.Helper()
	was := clock.Now()
	clock.SetTime(to)
	t.Cleanup(func() { clock.SetTime(was) })
}

// An agreement goes Pending → Active with two committee approvals, drops back to Pending when
// what was approved changes, comes back with approvals of the new digest, warns before it ends
// and expires at the end of its last day.
func TestAgreementLifecycle(t *testing.T) {
	ctx := context.Background()
	name := testname.Fresh(t, "lifecycle")
	daa := sampleAgreement(t, name)
	if err := env.Client.Create(ctx, daa); err != nil {
		t.Fatal(err)
	}
	pending := waitFor(t, name, "became Pending with a digest", func(d *fivesafesv1alpha1.DataAccessAgreement) bool {
		return phaseIs(fivesafesv1alpha1.AgreementPending)(d) && d.Status.SpecDigest != ""
	})
	if !meta.IsStatusConditionTrue(pending.Status.Conditions, fivesafesv1alpha1.AgreementValid) {
		t.Fatalf("the sample agreement is not Valid: %+v", pending.Status.Violations)
	}
	digest := pending.Status.SpecDigest

	alice := clientAs(t, "alice@committee.example.org", committee)
	bob := clientAs(t, "bob@committee.example.org", committee)

	// A forged approver is overwritten by the authenticated user.
	forged := &fivesafesv1alpha1.AgreementApproval{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-alice"},
		Spec: fivesafesv1alpha1.AgreementApprovalSpec{
			Agreement: name, SpecDigest: digest, Decision: fivesafesv1alpha1.DecisionApprove, Comment: "Approved.",
			Approver: &fivesafesv1alpha1.UserInfo{Username: "bob@committee.example.org", Groups: []string{committee}},
		},
	}
	if err := alice.Create(ctx, forged); err != nil {
		t.Fatal(err)
	}
	if forged.Spec.Approver == nil || forged.Spec.Approver.Username != "alice@committee.example.org" {
		t.Fatalf("approver = %+v, want the authenticated alice", forged.Spec.Approver)
	}
	// One approval is not a quorum.
	one := waitFor(t, name, "counted one approval", func(d *fivesafesv1alpha1.DataAccessAgreement) bool { return d.Status.Approvals == 1 })
	if one.Status.Phase != fivesafesv1alpha1.AgreementPending {
		t.Fatalf("phase with one approval = %s, want Pending", one.Status.Phase)
	}
	// Alice approving twice still counts once.
	if _, err := approve(t, alice, name+"-alice-again", name, digest, fivesafesv1alpha1.DecisionApprove); err != nil {
		t.Fatal(err)
	}
	if _, err := approve(t, bob, name+"-bob", name, digest, fivesafesv1alpha1.DecisionApprove); err != nil {
		t.Fatal(err)
	}
	active := waitFor(t, name, "became Active", phaseIs(fivesafesv1alpha1.AgreementActive))
	if active.Status.Approvals != 2 {
		t.Fatalf("approvals = %d, want 2 (alice twice counts once): %+v", active.Status.Approvals, active.Status.Decisions)
	}
	if active.Status.ActivatedAt == nil || active.Status.Workspace != name {
		t.Fatalf("active status incomplete: %+v", active.Status)
	}
	wantWorkspaceState(t, name, fivesafesv1alpha1.WorkspaceActive, "once Active")
	ws := &fivesafesv1alpha1.Workspace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ws); err != nil {
		t.Fatal(err)
	}
	if ref := metav1.GetControllerOf(ws); ref == nil || ref.UID != active.UID {
		t.Fatalf("workspace is not controlled by the agreement: %+v", ws.OwnerReferences)
	}

	// Changing what was approved drops it back to Pending and suspends the workspace.
	active.Spec.Purposes = append(active.Spec.Purposes, "Service evaluation")
	if err := env.Client.Update(ctx, active); err != nil {
		t.Fatal(err)
	}
	amended := waitFor(t, name, "dropped to Pending after an amendment", func(d *fivesafesv1alpha1.DataAccessAgreement) bool {
		return phaseIs(fivesafesv1alpha1.AgreementPending)(d) && d.Status.SpecDigest != digest
	})
	if amended.Status.Approvals != 0 {
		t.Fatalf("approvals of the old digest still count: %+v", amended.Status.Decisions)
	}
	wantWorkspaceState(t, name, fivesafesv1alpha1.WorkspaceSuspended, "after amendment")
	// An approval of the old digest is refused with a message that says why.
	_, err := approve(t, alice, name+"-alice-stale", name, digest, fivesafesv1alpha1.DecisionApprove)
	if err == nil || !strings.Contains(err.Error(), "has changed since you read it") {
		t.Fatalf("stale approval: %v, want refusal naming the changed digest", err)
	}
	for _, who := range []struct {
		c    client.Client
		name string
	}{{alice, name + "-alice-2"}, {bob, name + "-bob-2"}} {
		if _, err := approve(t, who.c, who.name, name, amended.Status.SpecDigest, fivesafesv1alpha1.DecisionApprove); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, name, "became Active again", phaseIs(fivesafesv1alpha1.AgreementActive))
	wantWorkspaceState(t, name, fivesafesv1alpha1.WorkspaceActive, "after re-approval")

	// Ten days before the end it warns.
	end := time.Date(2028, 4, 1, 0, 0, 0, 0, time.UTC) // 24:00 on validity.end 2028-03-31
	moveClock(t, end.Add(-10*24*time.Hour))
	poke(t, name)
	waitFor(t, name, "reported ExpiringSoon", func(d *fivesafesv1alpha1.DataAccessAgreement) bool {
		return meta.IsStatusConditionTrue(d.Status.Conditions, fivesafesv1alpha1.AgreementExpiringSoon)
	})
	// One second before the end it is still active; at the end it expires.
	clock.SetTime(end.Add(-time.Second))
	poke(t, name)
	waitFor(t, name, "stayed Active to the last second", phaseIs(fivesafesv1alpha1.AgreementActive))
	clock.SetTime(end)
	poke(t, name)
	expired := waitFor(t, name, "expired", phaseIs(fivesafesv1alpha1.AgreementExpired))
	if expired.Status.EndedAt == nil || !expired.Status.EndedAt.Time.Equal(end) {
		t.Fatalf("endedAt = %v, want %v", expired.Status.EndedAt, end)
	}
	wantWorkspaceState(t, name, fivesafesv1alpha1.WorkspaceSuspended, "after expiry")
	// The phase changes and the warning were announced, each by the loop that wrote it.
	if e := waitForEvent(t, "DataAccessAgreement", name, controllers.ReasonEndsSoon); e.Type != corev1.EventTypeWarning || e.Action != "ExpiryWarning" {
		t.Errorf("expiry warning event: type %s, action %s", e.Type, e.Action)
	}
	if e := waitForEvent(t, "DataAccessAgreement", name, controllers.ReasonValidityEnded); e.Action != "PhaseChange" || !strings.Contains(e.Note, "to Expired") || e.Series != nil {
		t.Errorf("expiry event: action %s, note %q, series %v; want one PhaseChange to Expired", e.Action, e.Note, e.Series)
	}
}

// Approvals from a researcher on the agreement or from outside the committee group are refused
// at admission; a rejection by a committee member rejects.
func TestApprovalsThatDoNotCount(t *testing.T) {
	ctx := context.Background()
	name := testname.Fresh(t, "separation")
	daa := sampleAgreement(t, name)
	if err := env.Client.Create(ctx, daa); err != nil {
		t.Fatal(err)
	}
	digest := waitFor(t, name, "got a digest", func(d *fivesafesv1alpha1.DataAccessAgreement) bool { return d.Status.SpecDigest != "" }).Status.SpecDigest

	// A researcher on the agreement who also sits on the committee cannot approve it.
	amara := clientAs(t, "amara.okafor@cpccg.example.nhs.uk", committee)
	_, err := approve(t, amara, name+"-amara", name, digest, fivesafesv1alpha1.DecisionApprove)
	if err == nil || !strings.Contains(err.Error(), "is a researcher on agreement separation") {
		t.Fatalf("self-approval: %v, want refusal", err)
	}

	// Someone granted the role directly but not in the committee group is refused by the webhook.
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: testname.Fresh(t, "eve-committee-role")},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "eve@example.org"}},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", APIGroup: rbacv1.GroupName, Name: "fivesafes-committee"},
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	eve := clientAs(t, "eve@example.org")
	_, err = approve(t, eve, name+"-eve", name, digest, fivesafesv1alpha1.DecisionApprove)
	if err == nil || !strings.Contains(err.Error(), "is not a member of the data access committee") {
		t.Fatalf("non-committee approval: %v, want refusal", err)
	}
	// Without any role, RBAC refuses before admission.
	_, err = approve(t, clientAs(t, "mallory@example.org"), name+"-mallory", name, digest, fivesafesv1alpha1.DecisionApprove)
	if !apierrors.IsForbidden(err) {
		t.Fatalf("approval with no role: %v, want Forbidden", err)
	}

	// One approval and one rejection: rejected.
	if _, err := approve(t, clientAs(t, "alice@committee.example.org", committee), name+"-alice", name, digest, fivesafesv1alpha1.DecisionApprove); err != nil {
		t.Fatal(err)
	}
	if _, err := approve(t, clientAs(t, "bob@committee.example.org", committee), name+"-bob", name, digest, fivesafesv1alpha1.DecisionReject); err != nil {
		t.Fatal(err)
	}
	rejected := waitFor(t, name, "was rejected", phaseIs(fivesafesv1alpha1.AgreementRejected))
	c := meta.FindStatusCondition(rejected.Status.Conditions, fivesafesv1alpha1.AgreementApprovedCondition)
	if c == nil || c.Reason != "RejectedByCommittee" || !strings.Contains(c.Message, "bob@committee.example.org") {
		t.Fatalf("Approved condition = %+v", c)
	}
	ws := &fivesafesv1alpha1.Workspace{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, ws); !apierrors.IsNotFound(err) {
		t.Fatalf("a rejected agreement has a workspace: %v", err)
	}
}

// Revocation takes effect at once and cannot be withdrawn.
func TestRevocation(t *testing.T) {
	ctx := context.Background()
	name := testname.Fresh(t, "revocation")
	daa := sampleAgreement(t, name)
	if err := env.Client.Create(ctx, daa); err != nil {
		t.Fatal(err)
	}
	digest := waitFor(t, name, "got a digest", func(d *fivesafesv1alpha1.DataAccessAgreement) bool { return d.Status.SpecDigest != "" }).Status.SpecDigest
	for _, who := range []string{"alice@committee.example.org", "bob@committee.example.org"} {
		if _, err := approve(t, clientAs(t, who, committee), name+"-"+strings.Split(who, "@")[0], name, digest, fivesafesv1alpha1.DecisionApprove); err != nil {
			t.Fatal(err)
		}
	}
	active := waitFor(t, name, "became Active", phaseIs(fivesafesv1alpha1.AgreementActive))
	active.Spec.Revocation = &fivesafesv1alpha1.Revocation{Reason: "Data used outside the approved purposes.", Reference: "DAC-2026-11-04"}
	if err := env.Client.Update(ctx, active); err != nil {
		t.Fatal(err)
	}
	revoked := waitFor(t, name, "was revoked", phaseIs(fivesafesv1alpha1.AgreementRevoked))
	if revoked.Status.SpecDigest != digest {
		t.Fatalf("revocation changed the spec digest from %s to %s", digest, revoked.Status.SpecDigest)
	}
	wantWorkspaceState(t, name, fivesafesv1alpha1.WorkspaceSuspended, "after revocation")
	revoked.Spec.Revocation = nil
	err := env.Client.Update(ctx, revoked)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "a revocation cannot be withdrawn") {
		t.Fatalf("withdrawing a revocation: %v, want Invalid", err)
	}
}

// An agreement that breaks governance rules is refused at admission with every violation listed.
func TestInvalidAgreementRefused(t *testing.T) {
	daa := sampleAgreement(t, testname.Fresh(t, "invalid"))
	daa.Spec.Reference = "my project"
	daa.Spec.LegalBases = []fivesafesv1alpha1.LegalBasis{fivesafesv1alpha1.LegalBasisHealthAndSocialCareAct2012}
	daa.Spec.OutputRules.MinimumCellCount = 5
	err := env.Client.Create(context.Background(), daa)
	if err == nil {
		t.Fatal("an agreement breaking three rules was accepted")
	}
	for _, want := range []string{"governance rule", "spec.reference", "spec.datasets[1]", "spec.outputRules.minimumCellCount"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not mention %q", err, want)
		}
	}
}

// With the audit store unreachable an approved agreement does not become active, and status
// says why; when the store returns the agreement activates, recorded exactly once.
func TestAuditUnavailableHoldsActivation(t *testing.T) {
	ctx := context.Background()
	name := testname.Fresh(t, "audit-outage")
	daa := sampleAgreement(t, name)
	if err := env.Client.Create(ctx, daa); err != nil {
		t.Fatal(err)
	}
	digest := waitFor(t, name, "became Pending", phaseIs(fivesafesv1alpha1.AgreementPending)).Status.SpecDigest

	if err := env.StopMinIO(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			_ = env.RestartMinIO(ctx)
		}
	})
	for _, who := range []string{"alice@committee.example.org", "bob@committee.example.org"} {
		if _, err := approve(t, clientAs(t, who, committee), name+"-"+strings.Split(who, "@")[0], name, digest, fivesafesv1alpha1.DecisionApprove); err != nil {
			t.Fatal(err)
		}
	}
	held := waitFor(t, name, "reported the audit log unavailable", func(d *fivesafesv1alpha1.DataAccessAgreement) bool {
		c := meta.FindStatusCondition(d.Status.Conditions, fivesafesv1alpha1.ConditionReady)
		return c != nil && c.Reason == "AuditUnavailable" && d.Status.Approvals == 2
	})
	if held.Status.Phase != fivesafesv1alpha1.AgreementPending {
		t.Fatalf("phase with the audit log down = %s, want Pending", held.Status.Phase)
	}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, &fivesafesv1alpha1.Workspace{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a workspace was made with no audit record: %v", err)
	}

	if err := env.RestartMinIO(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		d := &fivesafesv1alpha1.DataAccessAgreement{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: name}, d); err != nil {
			return false, err
		}
		return d.Status.Phase == fivesafesv1alpha1.AgreementActive, nil
	})
	if err != nil {
		t.Fatalf("the agreement did not activate once the audit log returned: %v", err)
	}
	entries := auditEntries(t, name, "Active")
	if entries != 1 {
		t.Fatalf("%d audit entries record the activation, want exactly 1", entries)
	}
}

// auditEntries counts the phase-change entries for an agreement that moved it to phase.
func auditEntries(t *testing.T, agreement, phase string) int {
	t.Helper()
	return auditCount(t, audit.ActionPhaseChange, agreement, phase)
}

// auditCount counts the entries of the live audit log, which must verify, with this action,
// object name and decision.
func auditCount(t *testing.T, action audit.Action, object, decision string) int {
	t.Helper()
	ctx := context.Background()
	mc, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	store, err := audit.NewObjectStore(mc, "fivesafes-audit", audit.ObjectStoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := audit.VerifyStore(ctx, store)
	if err != nil || !res.OK {
		t.Fatalf("the audit chain does not verify: %+v %v", res, err)
	}
	n := 0
	for e, err := range audit.Entries(ctx, store) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Action == action && e.Object.Name == object && e.Decision == decision {
			n++
		}
	}
	return n
}
