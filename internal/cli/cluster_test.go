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

package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
	"github.com/fivesafes/fivesafes/internal/register"
	"github.com/fivesafes/fivesafes/internal/testenv"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// env is the API server and etcd the cluster commands talk to. No manager or webhooks run, so
// the tests write the status an operator would write themselves.
var (
	env        *testenv.Env
	kubeconfig string
)

func TestMain(m *testing.M) {
	flag.Parse()
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		// A fuzzing worker runs only the fuzz target, which needs no cluster; the coordinating
		// process starts the environment once for the tests.
		os.Exit(m.Run())
	}
	testenv.MainWith(m, testenv.Options{MinIO: true}, &env, func(_ context.Context, e *testenv.Env) error {
		var err error
		kubeconfig, err = e.WriteKubeconfig("admin", "admin", "system:masters")
		return err
	})
}

// sampleAgreementNamed reads the sample agreement and renames it.
func sampleAgreementNamed(t *testing.T, name string) *fivesafesv1alpha1.DataAccessAgreement {
	t.Helper()
	a, err := agreement.ParseFile(sampleAgreement)
	if err != nil {
		t.Fatal(err)
	}
	a.Name = name
	return a
}

func createObject(t *testing.T, obj client.Object) {
	t.Helper()
	if err := env.Client.Create(context.Background(), obj); err != nil {
		t.Fatalf("creating %s: %v", obj.GetName(), err)
	}
}

// approvalsOf lists the AgreementApprovals of agreement name.
func approvalsOf(t *testing.T, name string) []fivesafesv1alpha1.AgreementApproval {
	t.Helper()
	var list fivesafesv1alpha1.AgreementApprovalList
	if err := env.Client.List(context.Background(), &list); err != nil {
		t.Fatal(err)
	}
	var out []fivesafesv1alpha1.AgreementApproval
	for _, a := range list.Items {
		if a.Spec.Agreement == name {
			out = append(out, a)
		}
	}
	slices.SortFunc(out, func(a, b fivesafesv1alpha1.AgreementApproval) int {
		return strings.Compare(string(a.Spec.Decision), string(b.Spec.Decision))
	})
	return out
}

func TestAgreementApprove(t *testing.T) {
	ctx := context.Background()
	a := sampleAgreementNamed(t, testname.Fresh(t, "nic-38002-s3k0v"))
	createObject(t, a)
	digest := sampleDigest(t)

	// Before the operator has written a status, the digest is computed from the spec: the digest
	// the sample approvals name.
	stdout, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "agreement", "approve", a.Name, "--comment", "Approved at the November meeting.")
	nameRE := regexp.MustCompile(`agreementapproval\.fivesafes\.io/(` + regexp.QuoteMeta(a.Name) + `-1d398a40-[a-z0-9]{5}) created`)
	m := nameRE.FindStringSubmatch(stdout)
	if m == nil || !strings.Contains(stdout, "decision:    Approve") || !strings.Contains(stdout, "spec digest: "+string(digest)) {
		t.Fatalf("output = %q", stdout)
	}
	got := approvalsOf(t, a.Name)
	if len(got) != 1 {
		t.Fatalf("%d approvals, want 1", len(got))
	}
	ap := got[0]
	if ap.Name != m[1] || ap.Spec.SpecDigest != digest || ap.Spec.Decision != fivesafesv1alpha1.DecisionApprove ||
		ap.Spec.Comment != "Approved at the November meeting." || ap.Spec.Approver != nil {
		t.Fatalf("approval = %+v", ap)
	}

	// With a status, the status digest is used; --reject records a rejection.
	a.Status = fivesafesv1alpha1.DataAccessAgreementStatus{ObservedGeneration: a.Generation, Phase: fivesafesv1alpha1.AgreementPending, SpecDigest: digest}
	if err := env.Client.Status().Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "agreement", "approve", a.Name, "--reject", "--comment", "The CAG reference is wrong.")
	got = approvalsOf(t, a.Name)
	if len(got) != 2 || got[1].Spec.Decision != fivesafesv1alpha1.DecisionReject || got[1].Spec.SpecDigest != digest ||
		got[1].Name == got[0].Name || !strings.HasPrefix(got[1].Name, a.Name+"-1d398a40-") {
		t.Fatalf("approvals = %+v", got)
	}

	// A status digest that no longer matches the spec is not approved: the committee member
	// would be approving something other than what they read.
	a.Status.SpecDigest = fivesafesv1alpha1.Digest("sha256:" + strings.Repeat("ab", 32))
	if err := env.Client.Status().Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	_, stderr := mustExec(t, ExitUsage, "--kubeconfig", kubeconfig, "agreement", "approve", a.Name, "--comment", "Looks fine.")
	if !strings.Contains(stderr, "was changed after the operator computed its digest") {
		t.Fatalf("stderr = %q", stderr)
	}
	if n := len(approvalsOf(t, a.Name)); n != 2 {
		t.Fatalf("%d approvals after a refused approval, want 2", n)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown agreement", []string{"no-such-agreement", "--comment", "x"}, "not found"},
		{"no comment", []string{a.Name}, `"comment" not set`},
		{"blank comment", []string{a.Name, "--comment", "  "}, "--comment must say why"},
		{"no name", []string{"--comment", "x"}, "accepts 1 arg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr := mustExec(t, ExitUsage, append([]string{"--kubeconfig", kubeconfig, "agreement", "approve"}, tc.args...)...)
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}

func TestAgreementStatus(t *testing.T) {
	ctx := context.Background()
	defer func(f func() time.Time) { agreementNow = f }(agreementNow)
	agreementNow = func() time.Time { return time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC) }
	// Validity ends at 24:00 UTC on 2028-03-31, 700 days and 12 hours after noon on 2026-05-01.
	const daysLeft = 701

	a := sampleAgreementNamed(t, testname.Fresh(t, "status-demo"))
	createObject(t, a)
	digest, err := agreement.SpecDigest(a.Spec)
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	a.Status = fivesafesv1alpha1.DataAccessAgreementStatus{
		ObservedGeneration: a.Generation,
		Phase:              fivesafesv1alpha1.AgreementPending,
		SpecDigest:         digest,
		Approvals:          1,
		Decisions: []fivesafesv1alpha1.ApproverRecord{
			{Username: "alice", Approval: "status-demo-1d398a40-aaaaa", Decision: fivesafesv1alpha1.DecisionApprove, Counted: "Yes"},
			{Username: "amara.okafor@cpccg.example.nhs.uk", Approval: "status-demo-1d398a40-bbbbb", Decision: fivesafesv1alpha1.DecisionApprove,
				Counted: "No: the approver is a researcher on this agreement"},
		},
		Violations: []fivesafesv1alpha1.Finding{{Field: "spec.outputRules.reviewers", Rule: "agreement.reviewers", Message: "A Sensitive agreement needs at least 2 output checkers."}},
		Conditions: []metav1.Condition{
			{Type: "Valid", Status: metav1.ConditionFalse, Reason: "PolicyViolated", Message: "1 governance rule broken", LastTransitionTime: now, ObservedGeneration: a.Generation},
			{Type: "Approved", Status: metav1.ConditionFalse, Reason: "AwaitingApprovals", Message: "1 of 3 required committee approvals of the current digest", LastTransitionTime: now, ObservedGeneration: a.Generation},
		},
	}
	if err := env.Client.Status().Update(ctx, a); err != nil {
		t.Fatal(err)
	}

	text, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "agreement", "status", a.Name)
	for _, want := range []string{
		"Reference:     NIC-38002-S3K0V",
		"Organisation:  NHS Cambridgeshire and Peterborough CCG",
		"Phase:         Pending",
		"Spec digest:   " + string(digest) + "\n",
		"Approvals:     1 of 3",
		fmt.Sprintf("Validity:      2026-04-01 to 2028-03-31: %d days left (access ends 2028-04-01T00:00:00Z)", daysLeft),
		"alice ",
		"no: the approver is a researcher on this agreement",
		"Approved  False   AwaitingApprovals",
		"spec.outputRules.reviewers: A Sensitive agreement needs at least 2 output checkers. [agreement.reviewers]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	js, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "agreement", "status", a.Name, "--format", "json")
	var v agreementStatusView
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatal(err)
	}
	if v.Phase != "Pending" || v.SpecDigest != digest || v.DigestComputed || v.Approvals != (approvalCount{Counted: 1, Quorum: 3}) ||
		len(v.Decisions) != 2 || !v.Decisions[0].Counted || v.Decisions[1].Counted || v.Decisions[1].Why != "the approver is a researcher on this agreement" ||
		len(v.Conditions) != 2 || len(v.Violations) != 1 || v.Validity.DaysLeft != daysLeft || v.Validity.State != validityIn || len(v.Notes) != 0 {
		t.Fatalf("status = %s", js)
	}

	// An agreement the operator has not seen: the digest is computed and said to be.
	unseen := sampleAgreementNamed(t, testname.Fresh(t, "status-fresh"))
	createObject(t, unseen)
	text, _ = mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "agreement", "status", unseen.Name, "--quorum", "4")
	for _, want := range []string{"Phase:         (not yet observed)", string(sampleDigest(t)) + " (computed from the spec)", "Approvals:     0 of 4", "the operator has not written a status yet"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	_, stderr := mustExec(t, ExitUsage, "--kubeconfig", kubeconfig, "agreement", "status", "no-such-agreement")
	if !strings.Contains(stderr, "not found") {
		t.Fatalf("stderr = %q", stderr)
	}
	mustExec(t, ExitUsage, "--kubeconfig", kubeconfig, "agreement", "status", a.Name, "--format", "yaml")
}

// TestRegisterFromCluster builds the register from the cluster: approved agreements only (not
// pending ones, nor ones the operator has not judged yet), dataset titles from the catalogue, and
// the month each copy was made from the completed extracts, which raises the mixed opt-outs flag
// that the validity months alone would not.
func TestRegisterFromCluster(t *testing.T) {
	ctx := context.Background()
	org := testname.Fresh(t, "Register Test Organisation")
	data, err := os.ReadFile(samplesDir + "/fivesafes_v1alpha1_catalogue_dataset_hes-apc.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ds fivesafesv1alpha1.Dataset
	if err := yaml.Unmarshal(data, &ds); err != nil {
		t.Fatal(err)
	}
	ds.Name = testname.Fresh(t, "reg-hes-apc")
	createObject(t, &ds)

	mk := func(name, ref, start string, optOuts fivesafesv1alpha1.OptOutHandling, phase fivesafesv1alpha1.AgreementPhase) {
		a := sampleAgreementNamed(t, testname.Fresh(t, name))
		a.Spec.Reference = ref
		a.Spec.Organisation = fivesafesv1alpha1.Organisation{Name: org, Code: testname.Fresh(t, "RTO")}
		a.Spec.Validity = fivesafesv1alpha1.Validity{Start: start, End: "2027-12-31"}
		a.Spec.Datasets = []fivesafesv1alpha1.AgreementDataset{{Name: ds.Name, Columns: []string{"nhs_number", "sex"}, OptOuts: optOuts}}
		if optOuts == fivesafesv1alpha1.OptOutsNotApplied {
			a.Spec.Datasets[0].OptOutJustification = "Section 251 support covers this flow."
		}
		createObject(t, a)
		if phase == "" {
			return
		}
		a.Status = fivesafesv1alpha1.DataAccessAgreementStatus{ObservedGeneration: a.Generation, Phase: phase, Workspace: a.Name}
		if err := env.Client.Status().Update(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	mk("reg-honoured", "NIC-10001-AAAAA", "2026-01-01", fivesafesv1alpha1.OptOutsHonoured, fivesafesv1alpha1.AgreementActive)
	mk("reg-not-applied", "NIC-10002-BBBBB", "2026-05-01", fivesafesv1alpha1.OptOutsNotApplied, fivesafesv1alpha1.AgreementActive)
	mk("reg-pending", "NIC-10003-CCCCC", "2026-06-01", fivesafesv1alpha1.OptOutsHonoured, fivesafesv1alpha1.AgreementPending)
	mk("reg-unjudged", "NIC-10004-DDDDD", "2026-06-01", fivesafesv1alpha1.OptOutsHonoured, "")

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: testname.Fresh(t, "ws-register-test")}}
	createObject(t, ns)
	extract := func(name, agr string, optOuts fivesafesv1alpha1.OptOutHandling, completed time.Time) {
		x := &fivesafesv1alpha1.DatasetExtract{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns.Name},
			Spec:       fivesafesv1alpha1.DatasetExtractSpec{Agreement: testname.Fresh(t, agr), Dataset: ds.Name, Columns: []string{"nhs_number", "sex"}, OptOuts: optOuts},
		}
		if optOuts == fivesafesv1alpha1.OptOutsNotApplied {
			x.Spec.OptOutJustification = "Section 251 support covers this flow."
		}
		createObject(t, x)
		at := metav1.NewTime(completed)
		x.Status.Phase = fivesafesv1alpha1.ExtractSucceeded
		x.Status.CompletedAt = &at
		if err := env.Client.Status().Update(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	extract("honoured", "reg-honoured", fivesafesv1alpha1.OptOutsHonoured, time.Date(2026, 6, 3, 10, 0, 0, 0, time.UTC))
	extract("not-applied", "reg-not-applied", fivesafesv1alpha1.OptOutsNotApplied, time.Date(2026, 6, 28, 10, 0, 0, 0, time.UTC))

	defer func(f func() time.Time) { registerNow = f }(registerNow)
	generated := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC)
	registerNow = func() time.Time { return generated }

	js, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "register", "--format", "json")
	doc := decodeRegister(t, js)
	var refs, titles, phases []string
	for _, o := range doc.Organisations {
		if o.Name != org {
			continue
		}
		for _, a := range o.Agreements {
			refs = append(refs, a.Reference)
			phases = append(phases, a.Phase)
			titles = append(titles, a.Datasets[0].Title)
		}
	}
	if !slices.Equal(refs, []string{"NIC-10001-AAAAA", "NIC-10002-BBBBB"}) || !slices.Equal(phases, []string{"Active", "Active"}) ||
		titles[0] != ds.Spec.Title {
		t.Fatalf("agreements of %s: %v, phases %v, dataset titles %v", org, refs, phases, titles)
	}
	var mixed []string
	for _, f := range doc.Flags {
		if f.Organisation == org && f.Kind == register.FlagMixedOptOuts {
			mixed = append(mixed, f.Dataset+"|"+f.Month+"|"+strings.Join(f.Agreements, ","))
		}
	}
	if want := []string{ds.Name + "|2026-06|NIC-10001-AAAAA,NIC-10002-BBBBB"}; !slices.Equal(mixed, want) {
		t.Fatalf("mixed opt-outs flags of %s = %v, want %v", org, mixed, want)
	}
	var withTime struct {
		GeneratedAt time.Time `json:"generatedAt"`
	}
	if err := json.Unmarshal([]byte(js), &withTime); err != nil || !withTime.GeneratedAt.Equal(generated) {
		t.Fatalf("generatedAt = %v (%v), want %v", withTime.GeneratedAt, err, generated)
	}

	md, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "register")
	if !strings.Contains(md, "## "+org) || strings.Contains(md, "NIC-10003-CCCCC") || strings.Contains(md, "NIC-10004-DDDDD") {
		t.Fatalf("Markdown register:\n%s", md)
	}
}
