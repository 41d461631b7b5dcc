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
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// A Secret an earlier version made, owned by a Fivesafes object but without the label the
// manager's cache now selects on, is labelled; a Secret of someone else is left alone.
func TestLabelOwnedSecrets(t *testing.T) {
	ctx := context.Background()
	owner := sampleAgreement(t, testname.Fresh(t, "secret-labels"))
	if err := env.Client.Create(ctx, owner); err != nil {
		t.Fatal(err)
	}
	ns := testname.Fresh(t, "secret-labels")
	if err := env.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	old := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "made-earlier", Namespace: ns, Labels: map[string]string{"keep": "yes"}}}
	if err := controllerutil.SetControllerReference(owner, old, env.Scheme); err != nil {
		t.Fatal(err)
	}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns}}
	for _, s := range []*corev1.Secret{old, other} {
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	n, err := controllers.LabelOwnedSecrets(ctx, env.Client, env.Client)
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("%d Secrets labelled, want at least the one made earlier", n)
	}
	for _, s := range []*corev1.Secret{old, other} {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(s), s); err != nil {
			t.Fatal(err)
		}
	}
	if !controllers.ManagedSecrets().Matches(labels.Set(old.Labels)) || old.Labels["keep"] != "yes" {
		t.Errorf("the owned Secret's labels are %v, want its own and managed-by", old.Labels)
	}
	if controllers.ManagedSecrets().Matches(labels.Set(other.Labels)) {
		t.Errorf("someone else's Secret was labelled: %v", other.Labels)
	}
	// A second pass has nothing left to do.
	if n, err := controllers.LabelOwnedSecrets(ctx, env.Client, env.Client); err != nil || n != 0 {
		t.Fatalf("second pass labelled %d Secrets (%v), want none", n, err)
	}
}
