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

package manager

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
	"github.com/fivesafes/fivesafes/internal/scheme"
)

// A module that adds one rule on top of the built-in policy.
const extraRule = `package fivesafes.agreement

violations contains v if {
	count(input.agreement.spec.researchers) > 1
	v := {"field": "spec.researchers", "rule": "agreement.single-researcher", "message": "this platform allows one researcher per agreement"}
}
`

func sampleForPolicy(t *testing.T) *fivesafesv1alpha1.DataAccessAgreement {
	t.Helper()
	daa, err := agreement.ParseFile(filepath.Join("..", "..", "config", "samples", "fivesafes_v1alpha1_dataaccessagreement.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return daa
}

// The policy ConfigMap adds and replaces modules; removing it restores the built-in policy; a
// module that does not compile fails closed.
func TestPolicyConfigMapOverride(t *testing.T) {
	ctx := context.Background()
	key := types.NamespacedName{Namespace: "fivesafes-system", Name: "fivesafes-policies"}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).Build()
	src, err := newPolicySource(ctx, c, key, agreement.DefaultParams())
	if err != nil {
		t.Fatal(err)
	}
	daa := sampleForPolicy(t)

	findings, builtin, err := src.ValidateAgreement(ctx, daa, nil)
	if err != nil || len(findings) != 0 {
		t.Fatalf("built-in policy on the sample: %v %v", findings, err)
	}

	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name},
		Data:       map[string]string{"single-researcher.rego": extraRule, "README": "not a module"},
	}
	if err := c.Create(ctx, cm); err != nil {
		t.Fatal(err)
	}
	findings, overridden, err := src.ValidateAgreement(ctx, daa, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(findings) != 1 || findings[0].Rule != "agreement.single-researcher" {
		t.Fatalf("with the added module: %+v", findings)
	}
	if overridden == builtin {
		t.Fatal("the policy digest did not change with the override")
	}

	// Replacing the built-in agreement module with one that allows everything.
	cm.Data = map[string]string{"agreement.agreement.rego": "package fivesafes.agreement\n\nviolations := set()\n"}
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	bad := daa.DeepCopy()
	bad.Spec.Reference = "not a reference"
	findings, _, err = src.ValidateAgreement(ctx, bad, nil)
	if err != nil || len(findings) != 0 {
		t.Fatalf("with the replaced module: %v %v", findings, err)
	}

	// A module that does not compile: evaluation fails, never passes.
	cm.Data = map[string]string{"broken.rego": "package fivesafes.agreement\n\nviolations contains v if {"}
	if err := c.Update(ctx, cm); err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.ValidateAgreement(ctx, daa, nil); err == nil || !strings.Contains(err.Error(), "fivesafes-policies") {
		t.Fatalf("a broken override: %v, want an error naming the ConfigMap", err)
	}

	// Deleting the ConfigMap restores the built-in policy.
	if err := c.Delete(ctx, cm); err != nil {
		t.Fatal(err)
	}
	findings, digest, err := src.ValidateAgreement(ctx, daa, nil)
	if err != nil || len(findings) != 0 || digest != builtin {
		t.Fatalf("after deleting the override: %v %s %v", findings, digest, err)
	}
}
