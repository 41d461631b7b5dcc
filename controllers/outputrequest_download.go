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
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/metrics"
)

// DownloadSecret is the Secret, in the workspace namespace, holding a released request's download
// URLs; only the requester may read it.
func DownloadSecret(request string) string { return request + "-download" }

// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch

// issueDownload answers a new fivesafes.io/download-requested-at annotation on a released request:
// it records the issuance in the audit log, then presigns a short-lived URL for each released file
// and puts them in a Secret that only the requester can read. Researchers' own storage
// credentials never reach the egress bucket.
func (r *OutputRequestReconciler) issueDownload(ctx context.Context, s *outputScope) (ctrl.Result, error) {
	or, rel := s.or, s.or.Status.Release
	want := or.Annotations[fivesafesv1alpha1.AnnotationDownloadRequested]
	if want == "" || rel.DownloadIssuedFor == want {
		return ctrl.Result{}, nil
	}
	if or.Spec.Requester == nil || or.Spec.Requester.Username == "" {
		return ctrl.Result{}, fmt.Errorf("request %s has no authenticated requester to give download URLs to", or.Name)
	}
	expiry := r.DownloadExpiry
	if expiry <= 0 {
		expiry = 15 * time.Minute
	}
	expires := metav1.NewTime(s.now.Add(expiry).UTC())
	// The actor is who asked, as the admission webhook recorded; the URLs go to the requester.
	actor := or.Annotations[fivesafesv1alpha1.AnnotationDownloadRequestedBy]
	if actor == "" {
		actor = or.Spec.Requester.Username
	}
	if _, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:    actor,
		Action:   audit.ActionDownloadURL,
		Object:   audit.ObjectRef{Kind: "OutputRequest", Namespace: or.Namespace, Name: or.Name},
		Decision: "issued",
		Details: map[string]any{
			audit.DetailAgreement: releaseAgreement(rel.Prefix),
			"request":             or.Name,
			"files":               len(or.Status.Files),
			"expiresAt":           expires.Format(time.RFC3339),
			"releasePrefix":       rel.Prefix,
			"issuedTo":            or.Spec.Requester.Username,
		},
		IdempotencyKey: "download/" + string(or.UID) + "/" + want,
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("recording the download in the audit log: %w", err)
	}
	urls := map[string]string{}
	for _, f := range or.Status.Files {
		u, err := r.Storage.PresignGet(ctx, rel.Bucket, rel.Prefix+f.Path, expiry)
		if err != nil {
			return ctrl.Result{}, fmt.Errorf("presigning %s: %w", f.Path, err)
		}
		urls[f.Path] = u
	}
	body, err := json.Marshal(urls)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("encoding download URLs: %w", err)
	}
	name := DownloadSecret(or.Name)
	if err := r.writeSharedSecret(ctx, or, name, map[string][]byte{
		"urls.json": body, "expiresAt": []byte(expires.Format(time.RFC3339)), "requestedAt": []byte(want),
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("storing download URLs: %w", err)
	}
	if err := r.grantSecretRead(ctx, or, name, rbacv1.Subject{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: or.Spec.Requester.Username}); err != nil {
		return ctrl.Result{}, fmt.Errorf("letting the requester read the download URLs: %w", err)
	}
	rel.DownloadIssuedFor = want
	metrics.DownloadURLs.Inc()
	rel.DownloadExpiresAt = &expires
	if r.Recorder != nil {
		r.Recorder.Eventf(or, nil, corev1.EventTypeNormal, "DownloadIssued", "IssueDownload",
			"Download URLs for %d file(s) issued to %s, valid until %s", len(urls), or.Spec.Requester.Username, expires.Format(time.RFC3339))
	}
	return ctrl.Result{}, nil
}

// releaseAgreement reads the agreement's name from a release prefix, releases/<agreement>/<request>/.
func releaseAgreement(prefix string) string {
	parts := strings.Split(prefix, "/")
	if len(parts) < 3 {
		return ""
	}
	return parts[1]
}

// writeSharedSecret creates or updates the Secret name in the request's namespace, holding data,
// for grantSecretRead to share: labelled as the manager's, so that its cache sees it, and owned by
// the request, so that it goes with it.
func (r *OutputRequestReconciler) writeSharedSecret(ctx context.Context, or *fivesafesv1alpha1.OutputRequest, name string, data map[string][]byte) error {
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: or.Namespace}}
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, secret, func() error {
		secret.Labels = mergeLabels(secret.Labels, map[string]string{LabelManagedBy: managedBy})
		secret.Type = corev1.SecretTypeOpaque
		secret.Data = data
		return controllerutil.SetControllerReference(or, secret, r.Scheme)
	})
	return err
}

// grantSecretRead lets subject, and nobody else, read the Secret name in the request's namespace:
// a Role naming only that Secret and a RoleBinding to subject, both owned by the request.
func (r *OutputRequestReconciler) grantSecretRead(ctx context.Context, or *fivesafesv1alpha1.OutputRequest, name string, subject rbacv1.Subject) error {
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: or.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, role, func() error {
		role.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{name}}}
		return controllerutil.SetControllerReference(or, role, r.Scheme)
	}); err != nil {
		return fmt.Errorf("ensuring role %s: %w", name, err)
	}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: or.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, binding, func() error {
		if binding.CreationTimestamp.IsZero() {
			binding.RoleRef = rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}
		}
		binding.Subjects = []rbacv1.Subject{subject}
		return controllerutil.SetControllerReference(or, binding, r.Scheme)
	}); err != nil {
		return fmt.Errorf("ensuring role binding %s: %w", name, err)
	}
	return nil
}
