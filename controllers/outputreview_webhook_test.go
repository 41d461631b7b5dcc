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
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/testname"
)

const checkers = "fivesafes:output-checkers"

// Reviews are refused at admission unless they come from an output checker who is neither the
// requester nor a researcher on the agreement, and name the request's current content; the
// requester is stamped from the authenticated request.
func TestOutputReviewAdmission(t *testing.T) {
	ctx := context.Background()
	agreement := testname.Fresh(t, "reviews")
	activeAgreement(t, agreement)
	ns := controllers.WorkspaceNamespace(agreement)

	amara := clientAs(t, researcher, "fivesafes:researchers")
	req := &fivesafesv1alpha1.OutputRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "admissions", Namespace: ns},
		Spec: fivesafesv1alpha1.OutputRequestSpec{
			Purpose:   "Readmissions report",
			Files:     []fivesafesv1alpha1.OutputFile{{Path: "tables/admissions.csv", Kind: fivesafesv1alpha1.OutputTable, Description: "Admissions by provider"}},
			Requester: &fivesafesv1alpha1.UserInfo{Username: "someone-else@example.org"},
		},
	}
	if err := amara.Create(ctx, req); err != nil {
		t.Fatalf("a researcher cannot request an output: %v", err)
	}
	if req.Spec.Requester == nil || req.Spec.Requester.Username != researcher {
		t.Fatalf("requester = %+v, want the authenticated researcher", req.Spec.Requester)
	}
	digest := fivesafesv1alpha1.Digest("sha256:" + strings.Repeat("c", 64))
	req.Status.ContentDigest = digest
	if err := env.Client.Status().Update(ctx, req); err != nil {
		t.Fatal(err)
	}

	review := func(c interface {
		Create(context.Context, *fivesafesv1alpha1.OutputReview) error
	}, name string, d fivesafesv1alpha1.Digest) error {
		return c.Create(ctx, &fivesafesv1alpha1.OutputReview{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
			Spec:       fivesafesv1alpha1.OutputReviewSpec{OutputRequest: "admissions", ContentDigest: d, Decision: fivesafesv1alpha1.ReviewApprove, Comment: "Counts above ten."},
		})
	}
	cases := []struct {
		name, user string
		groups     []string
		digest     fivesafesv1alpha1.Digest
		want       string
	}{
		{"requester", researcher, []string{checkers}, digest, "cannot review it"},
		{"researcher", "tom.hughes@cpccg.example.nhs.uk", []string{checkers}, digest, "is a researcher"},
		{"stale", "carol@outputs.example.org", []string{checkers}, fivesafesv1alpha1.Digest("sha256:" + strings.Repeat("d", 64)), "has changed since you read it"},
		{"independent", "carol@outputs.example.org", []string{checkers}, digest, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cl := clientAs(t, c.user, c.groups...)
			err := review(reviewClient{cl}, "review-"+c.name, c.digest)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("an independent checker's review was refused: %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("review by %s: %v, want refusal mentioning %q", c.user, err, c.want)
			}
		})
	}

	// Someone given the role directly, outside the checkers group, is refused by the webhook.
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: testname.Fresh(t, "frank-checker-role")},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "frank@example.org"}},
		RoleRef:    rbacv1.RoleRef{Kind: "ClusterRole", APIGroup: rbacv1.GroupName, Name: "fivesafes-output-checker"},
	}
	if err := env.Client.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	err := review(reviewClient{clientAs(t, "frank@example.org")}, "review-frank", digest)
	if err == nil || !strings.Contains(err.Error(), "is not an output checker") {
		t.Fatalf("review from outside the checkers group: %v", err)
	}
}

// reviewClient narrows a client to creating reviews.
type reviewClient struct{ c client.Client }

func (r reviewClient) Create(ctx context.Context, rv *fivesafesv1alpha1.OutputReview) error {
	return r.c.Create(ctx, rv)
}
