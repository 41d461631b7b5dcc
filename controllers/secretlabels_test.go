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
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// A Secret an earlier version made in a workspace namespace, owned by a Fivesafes object but
// without the label the manager's cache now selects on, is labelled; a Secret of someone else is
// left alone, and the Secrets of namespaces the manager does not manage are not read.
func TestLabelOwnedSecrets(t *testing.T) {
	ctx := context.Background()
	ws := activeAgreement(t, testname.Fresh(t, "secret-labels"))
	owner := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ws.Spec.Agreement}, owner); err != nil {
		t.Fatal(err)
	}
	elsewhere := testname.Fresh(t, "secret-labels-elsewhere")
	if err := env.EnsureNamespace(ctx, elsewhere); err != nil {
		t.Fatal(err)
	}
	ns := controllers.WorkspaceNamespace(ws.Spec.Agreement)
	old := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "made-earlier", Namespace: ns, Labels: map[string]string{"keep": "yes"}}}
	other := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "someone-elses", Namespace: ns}}
	unmanaged := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "made-earlier", Namespace: elsewhere}}
	for _, s := range []*corev1.Secret{old, unmanaged} {
		if err := controllerutil.SetControllerReference(owner, s, env.Scheme); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range []*corev1.Secret{old, other, unmanaged} {
		if err := env.Client.Create(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	// Every List the pass makes is recorded, to show which namespaces it read.
	var read []string
	direct, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	reader := interceptor.NewClient(direct, interceptor.Funcs{
		List: func(ctx context.Context, c client.WithWatch, list client.ObjectList, opts ...client.ListOption) error {
			if _, ok := list.(*corev1.SecretList); ok {
				o := (&client.ListOptions{}).ApplyOptions(opts)
				read = append(read, o.Namespace)
			}
			return c.List(ctx, list, opts...)
		},
	})
	n, err := controllers.LabelOwnedSecrets(ctx, reader, env.Client, "fivesafes-system")
	if err != nil {
		t.Fatal(err)
	}
	if n < 1 {
		t.Fatalf("%d Secrets labelled, want at least the one made earlier", n)
	}
	if !slices.Contains(read, ns) || !slices.Contains(read, "fivesafes-system") || slices.Contains(read, elsewhere) || slices.Contains(read, "") {
		t.Errorf("the Secrets of %q were read; want the system and workspace namespaces, not %s nor the whole cluster", read, elsewhere)
	}
	for _, s := range []*corev1.Secret{old, other, unmanaged} {
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
	if controllers.ManagedSecrets().Matches(labels.Set(unmanaged.Labels)) {
		t.Errorf("a Secret outside the managed namespaces was labelled: %v", unmanaged.Labels)
	}
	// A second pass has nothing left to do.
	if n, err := controllers.LabelOwnedSecrets(ctx, env.Client, env.Client, "fivesafes-system"); err != nil || n != 0 {
		t.Fatalf("second pass labelled %d Secrets (%v), want none", n, err)
	}
}
