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

package v1alpha1_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
	"github.com/fivesafes/fivesafes/internal/manifest"
	"github.com/fivesafes/fivesafes/internal/testenv"
	"github.com/fivesafes/fivesafes/internal/testname"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	testenv.Main(m, testenv.Options{}, &env)
}

// Every sample applies cleanly to a real API server with the generated CRDs.
func TestSamplesApply(t *testing.T) {
	ctx := context.Background()
	objs, err := manifest.ReadDir(filepath.Join("..", "..", "config", "samples"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 4 {
		t.Fatalf("only %d sample objects", len(objs))
	}
	if err := manifest.Apply(ctx, env.Client, "crd-test", objs); err != nil {
		t.Fatal(err)
	}
	var daa fivesafesv1alpha1.DataAccessAgreement
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "nic-38002-s3k0v"}, &daa); err != nil {
		t.Fatal(err)
	}
	if daa.Spec.Reference != "NIC-38002-S3K0V" || len(daa.Spec.Datasets) != 2 {
		t.Fatalf("sample agreement read back as %+v", daa.Spec)
	}
	// Defaults from the CRD are applied by the API server.
	if daa.Spec.OutputRules.Zeros != fivesafesv1alpha1.ZerosDisclosive || daa.Spec.AccessMethod != fivesafesv1alpha1.AccessOngoing {
		t.Fatalf("CRD defaults not applied: %+v", daa.Spec.OutputRules)
	}
}

// The sample approvals name the sample agreement's current digest.
func TestSampleApprovalsNameTheCurrentDigest(t *testing.T) {
	objs, err := manifest.ReadFile(filepath.Join("..", "..", "config", "samples", "fivesafes_v1alpha1_dataaccessagreement.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(objs[0].Object, daa); err != nil {
		t.Fatal(err)
	}
	want, err := agreement.SpecDigest(daa.Spec)
	if err != nil {
		t.Fatal(err)
	}
	approvals, err := manifest.ReadDir(filepath.Join("..", "..", "config", "samples", "approvals"))
	if err != nil {
		t.Fatal(err)
	}
	if len(approvals) != 2 {
		t.Fatalf("%d sample approvals, want 2", len(approvals))
	}
	for _, a := range approvals {
		got, _, _ := unstructured.NestedString(a.Object, "spec", "specDigest")
		if got != string(want) {
			t.Errorf("%s names digest %s; the sample agreement's is %s", a.Source, got, want)
		}
	}
}

// The API server refuses structurally invalid objects with a message a person can act on.
func TestInvalidObjectsRefused(t *testing.T) {
	tests := []struct {
		file string
		want []string
	}{
		{"invalid-legal-basis.yaml", []string{"spec.legalBases[0]", `Unsupported value: "LegitimateInterest"`, `"Section251"`}},
		{"end-before-start.yaml", []string{"spec.validity", "validity.end must be after validity.start"}},
		{"notapplied-without-justification.yaml", []string{"spec.datasets[0]", "needs an optOutJustification"}},
		{"bad-output-path.yaml", []string{"spec.files[0].path", "path must be local to outputs/"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			objs, err := manifest.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			err = manifest.Apply(context.Background(), env.Client, "crd-test", objs)
			if !apierrors.IsInvalid(err) {
				t.Fatalf("apply error = %v, want Invalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// Approvals are immutable once made.
func TestApprovalImmutable(t *testing.T) {
	ctx := context.Background()
	a := &fivesafesv1alpha1.AgreementApproval{}
	a.Name = testname.Fresh(t, "immutable")
	a.Spec = fivesafesv1alpha1.AgreementApprovalSpec{
		Agreement:  "nic-38002-s3k0v",
		SpecDigest: fivesafesv1alpha1.Digest("sha256:" + strings.Repeat("a", 64)),
		Decision:   fivesafesv1alpha1.DecisionApprove,
		Comment:    "Approved.",
	}
	if err := env.Client.Create(ctx, a); err != nil {
		t.Fatal(err)
	}
	a.Spec.Decision = fivesafesv1alpha1.DecisionReject
	err := env.Client.Update(ctx, a)
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "an approval is immutable") {
		t.Fatalf("changing an approval: %v, want Invalid with the immutability message", err)
	}
}
