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
	"fmt"
	"reflect"
	"strings"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/keys"
	"github.com/fivesafes/fivesafes/internal/storage"
)

const workspaceController = "controller:workspace"

// Condition reasons of a Workspace.
const (
	ReasonCreated        = "Created"
	ReasonIsolated       = "Isolated"
	ReasonProvisioned    = "Provisioned"
	ReasonStorageFailed  = "StorageUnavailable"
	ReasonKeyFailed      = "KeyUnavailable"
	ReasonSuspended      = "Suspended"
	ReasonDestroyed      = "Destroyed"
	ReasonProvisioning   = "Provisioning"
	ReasonWorkspaceReady = "WorkspaceReady"
	// ReasonPolicyNotEnforced says the pod policy is bound but the API server does not refuse
	// disallowed pods yet.
	ReasonPolicyNotEnforced = "PolicyNotEnforced"
)

func (r *WorkspaceReconciler) own(ctx context.Context, s *workspaceScope, obj client.Object, mutate func() error) error {
	desired := func() error {
		obj.SetLabels(mergeLabels(obj.GetLabels(), workspaceLabels(s.ws)))
		if err := mutate(); err != nil {
			return err
		}
		return controllerutil.SetControllerReference(s.ws, obj, r.Scheme)
	}
	// The cluster makes each new namespace's default ServiceAccount itself, at the same moment as
	// this loop.
	if err := r.createOrUpdateLive(ctx, obj, desired); err != nil {
		return fmt.Errorf("ensuring %T %s: %w", obj, obj.GetName(), err)
	}
	return nil
}

// createOrUpdateLive creates obj or updates it to desired, as controllerutil.CreateOrUpdate does;
// when someone else made it after the cache was read (another loop, the manager at start, or the
// cluster), it updates it as the API server has it now.
func (r *WorkspaceReconciler) createOrUpdateLive(ctx context.Context, obj client.Object, desired func() error) error {
	_, err := controllerutil.CreateOrUpdate(ctx, r.Client, obj, desired)
	if apierrors.IsAlreadyExists(err) {
		err = r.updateLive(ctx, obj, desired)
	}
	return err
}

// updateLive reads obj from the API server rather than the cache, applies desired and writes it
// back when that changed it.
func (r *WorkspaceReconciler) updateLive(ctx context.Context, obj client.Object, desired func() error) error {
	reader := r.APIReader
	if reader == nil {
		reader = r.Client
	}
	key := client.ObjectKeyFromObject(obj)
	// Start from an empty object, so that nothing set for the failed create survives the read.
	v := reflect.ValueOf(obj).Elem()
	v.Set(reflect.Zero(v.Type()))
	if err := reader.Get(ctx, key, obj); err != nil {
		return err
	}
	before := obj.DeepCopyObject()
	if err := desired(); err != nil {
		return err
	}
	if equality.Semantic.DeepEqual(before, obj) {
		return nil
	}
	return r.Update(ctx, obj)
}

// reconcileNamespace makes the namespace, labelled for Pod Security restricted, and its service
// accounts, which never mount a token.
func (r *WorkspaceReconciler) reconcileNamespace(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns}}
	if err := r.own(ctx, s, ns, func() error {
		ns.Labels = mergeLabels(ns.Labels, namespaceLabels(s.ws))
		if ns.Annotations == nil {
			ns.Annotations = map[string]string{}
		}
		ns.Annotations[AnnotationAllowedImages] = strings.Join(s.ws.Spec.Resources.Images, ",")
		return nil
	}); err != nil {
		return ctrl.Result{}, err
	}
	for _, name := range []string{"default", workloadSA} {
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns}}
		if err := r.own(ctx, s, sa, func() error {
			sa.AutomountServiceAccountToken = ptr.To(false)
			return nil
		}); err != nil {
			return ctrl.Result{}, err
		}
	}
	s.ws.Status.Namespace = s.ns
	setCondition(s.ws, fivesafesv1alpha1.WorkspaceNamespaceReady, true, ReasonCreated,
		"namespace "+s.ns+" enforces Pod Security restricted; service accounts mount no token")
	return ctrl.Result{}, nil
}

// reconcileNetwork denies all traffic but DNS and the object store.
func (r *WorkspaceReconciler) reconcileNetwork(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	for name, spec := range desiredNetworkPolicies(s.ns, r.Network) {
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns}}
		if err := r.own(ctx, s, np, func() error {
			np.Spec = spec
			return nil
		}); err != nil {
			return ctrl.Result{}, err
		}
	}
	setCondition(s.ws, fivesafesv1alpha1.WorkspaceNetworkIsolated, true, ReasonIsolated,
		fmt.Sprintf("all ingress and egress denied except DNS and the object store (%s port %d)", r.Network.ObjectStoreCIDR, r.Network.ObjectStorePort))
	return ctrl.Result{}, nil
}

// reconcileQuota caps what the workspace's pods may use.
func (r *WorkspaceReconciler) reconcileQuota(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	q := &corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Name: quotaName, Namespace: s.ns}}
	if err := r.own(ctx, s, q, func() error {
		q.Spec = desiredQuota(s.ws.Spec.Resources)
		return nil
	}); err != nil {
		return ctrl.Result{}, err
	}
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: limitRangeName, Namespace: s.ns}}
	if err := r.own(ctx, s, lr, func() error {
		lr.Spec = desiredLimitRange()
		return nil
	}); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}

// reconcilePodPolicy ensures the pod policy and its one binding to every workspace namespace;
// the namespace's annotation says which images its pods may run. It removes the per-workspace
// binding earlier versions made.
func (r *WorkspaceReconciler) reconcilePodPolicy(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	if err := r.ensurePodPolicy(ctx); err != nil {
		return ctrl.Result{}, err
	}
	old := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{}
	if err := r.Get(ctx, client.ObjectKey{Name: "fivesafes-ws-" + s.ws.Name}, old); err == nil {
		if err := r.Delete(ctx, old); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("removing the earlier per-workspace pod policy binding: %w", err)
		}
	} else if !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading the earlier per-workspace pod policy binding: %w", err)
	}
	return ctrl.Result{}, nil
}

// ensurePodPolicy makes the cluster-wide workspace pod policy and its binding as they should be.
// Several loops, and the manager at start, may make them at once: one that finds them made since
// its cache was read updates them as they are.
func (r *WorkspaceReconciler) ensurePodPolicy(ctx context.Context) error {
	policy := &admissionregistrationv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: PodPolicyName}}
	if err := r.createOrUpdateLive(ctx, policy, func() error {
		policy.Labels = mergeLabels(policy.Labels, map[string]string{LabelManagedBy: managedBy})
		policy.Spec = desiredPodPolicy()
		return nil
	}); err != nil {
		return fmt.Errorf("ensuring the workspace pod policy: %w", err)
	}
	b := &admissionregistrationv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: PodPolicyName}}
	if err := r.createOrUpdateLive(ctx, b, func() error {
		b.Labels = mergeLabels(b.Labels, map[string]string{LabelManagedBy: managedBy})
		b.Spec = desiredPodPolicyBinding()
		return nil
	}); err != nil {
		return fmt.Errorf("ensuring the workspace pod policy binding: %w", err)
	}
	return nil
}

// reconcileStorage makes the bucket and a user confined to it, and keeps the credentials in the
// namespace. The user is enabled only while the workspace is active.
func (r *WorkspaceReconciler) reconcileStorage(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	bucket, user := WorkspaceBucket(s.ws.Spec.Agreement), WorkspaceStorageUser(s.ws.Spec.Agreement)
	fail := func(what string, err error) (ctrl.Result, error) {
		setCondition(s.ws, fivesafesv1alpha1.WorkspaceStorageReady, false, ReasonStorageFailed, what+": "+err.Error())
		return ctrl.Result{}, fmt.Errorf("%s: %w", what, err)
	}
	// The bucket and the user's policy do not depend on each other: they are made at once.
	bucketDone := make(chan error, 1)
	go func() { bucketDone <- r.Storage.EnsureBucket(ctx, bucket, storage.BucketOptions{Versioning: true}) }()
	doc, err := storage.WorkspacePolicy(bucket)
	if err == nil {
		err = r.Storage.EnsurePolicy(ctx, user, doc)
	}
	if berr := <-bucketDone; berr != nil {
		return fail("ensuring bucket "+bucket, berr)
	}
	if err != nil {
		return fail("ensuring storage policy "+user, err)
	}
	secret := &corev1.Secret{}
	err = r.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: CredentialsSecret}, secret)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading storage credentials: %w", err)
	}
	secretKey := string(secret.Data["AWS_SECRET_ACCESS_KEY"])
	if secretKey == "" || string(secret.Data["AWS_ACCESS_KEY_ID"]) != user {
		secretKey = storage.GenerateSecretKey()
	}
	// The user is made (or its secret reset) before the Secret is written, so a crash between
	// the two only means a new secret next time, never a Secret for a user that does not exist.
	if err := r.Storage.EnsureConfinedUser(ctx, user, secretKey, user, s.ws.Spec.State == fivesafesv1alpha1.WorkspaceActive); err != nil {
		return fail("ensuring storage user "+user, err)
	}
	secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: CredentialsSecret, Namespace: s.ns}}
	if err := r.own(ctx, s, secret, func() error {
		secret.Type = corev1.SecretTypeOpaque
		secret.Data = map[string][]byte{
			"AWS_ACCESS_KEY_ID":     []byte(user),
			"AWS_SECRET_ACCESS_KEY": []byte(secretKey),
			"S3_ENDPOINT":           []byte(r.StorageEndpoint),
			"S3_BUCKET":             []byte(bucket),
		}
		return nil
	}); err != nil {
		return ctrl.Result{}, err
	}
	s.ws.Status.Bucket, s.ws.Status.StorageUser, s.ws.Status.CredentialsSecret = bucket, user, CredentialsSecret
	setCondition(s.ws, fivesafesv1alpha1.WorkspaceStorageReady, true, ReasonProvisioned,
		"bucket "+bucket+" with a user confined to it: datasets/ read-only, scratch/ and outputs/ read-write")
	return ctrl.Result{}, nil
}

// reconcileKey makes the agreement's transit key and pins the version pseudonyms are made with.
func (r *WorkspaceReconciler) reconcileKey(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	name := WorkspaceKey(s.ws.Spec.Agreement)
	k, err := r.Keys.EnsureKey(ctx, name)
	if err != nil {
		setCondition(s.ws, fivesafesv1alpha1.WorkspaceKeyReady, false, ReasonKeyFailed, "ensuring transit key: "+err.Error())
		return ctrl.Result{}, fmt.Errorf("ensuring transit key %s: %w", name, err)
	}
	s.ws.Status.KeyName = k.Name
	if s.ws.Status.KeyVersion == 0 {
		s.ws.Status.KeyVersion = int32(k.LatestVersion) //nolint:gosec // transit key versions are small
	}
	setCondition(s.ws, fivesafesv1alpha1.WorkspaceKeyReady, true, ReasonProvisioned,
		fmt.Sprintf("transit key %s, not exportable, pseudonyms pinned to version %d", k.Name, s.ws.Status.KeyVersion))
	return ctrl.Result{}, nil
}

// KeyAccessSecret is the Secret, in the system namespace, holding an agreement's Vault token
// (confined to its key) and its wrapped data key. Never in the workspace: whoever holds the
// token can pseudonymise any NHS number they know.
func KeyAccessSecret(agreement string) string { return "fivesafes-ws-" + agreement + "-key" }

// KeyPolicy is the Vault policy that confines a token to one agreement's key.
func KeyPolicy(agreement string) string { return "fivesafes-ws-" + agreement }

// reconcileKeyAccess keeps, outside the workspace, a Vault token that can use only this
// agreement's key and the agreement's data key wrapped by it, for extraction.
func (r *WorkspaceReconciler) reconcileKeyAccess(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	agreement := s.ws.Spec.Agreement
	fail := func(what string, err error) (ctrl.Result, error) {
		setCondition(s.ws, fivesafesv1alpha1.WorkspaceKeyReady, false, ReasonKeyFailed, what+": "+err.Error())
		return ctrl.Result{}, fmt.Errorf("%s: %w", what, err)
	}
	hcl, err := keys.WorkspacePolicy(r.TransitMount, s.ws.Status.KeyName)
	if err != nil {
		return fail("writing the key policy", err)
	}
	if err := keys.EnsurePolicy(ctx, r.Vault, KeyPolicy(agreement), hcl); err != nil {
		return fail("ensuring the key policy", err)
	}
	secret := &corev1.Secret{}
	err = r.Get(ctx, client.ObjectKey{Namespace: r.SystemNamespace, Name: KeyAccessSecret(agreement)}, secret)
	if err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("reading key access: %w", err)
	}
	data := map[string][]byte{}
	for k, v := range secret.Data {
		data[k] = v
	}
	// Replace the token when it is missing, revoked or within a tenth of its life of expiring.
	oldAccessor := string(data["accessor"])
	expires, _ := time.Parse(time.RFC3339, string(data["expires"]))
	valid := false
	if oldAccessor != "" && s.now.Before(expires.Add(-r.TokenTTL/10)) {
		if valid, err = keys.TokenValid(ctx, r.Vault, oldAccessor); err != nil {
			return fail("looking up the key token", err)
		}
	}
	if !valid {
		tok, err := keys.IssueToken(ctx, r.Vault, KeyPolicy(agreement), r.TokenTTL)
		if err != nil {
			return fail("issuing the key token", err)
		}
		data["token"], data["accessor"] = []byte(tok.ID), []byte(tok.Accessor)
		data["expires"] = []byte(tok.Expires.UTC().Format(time.RFC3339))
	}
	if len(data["wrappedDataKey"]) == 0 {
		wk, err := r.Keys.NewDataKey(ctx, s.ws.Status.KeyName, int(s.ws.Status.KeyVersion))
		if err != nil {
			return fail("making the wrapped data key", err)
		}
		data["wrappedDataKey"] = []byte(wk.Ciphertext)
		data["keyVersion"] = []byte(fmt.Sprint(wk.KeyVersion))
	}
	secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: KeyAccessSecret(agreement), Namespace: r.SystemNamespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, secret, func() error {
		secret.Labels = mergeLabels(secret.Labels, workspaceLabels(s.ws))
		secret.Type = corev1.SecretTypeOpaque
		secret.Data = data
		return controllerutil.SetControllerReference(s.ws, secret, r.Scheme)
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("storing key access: %w", err)
	}
	if !valid && oldAccessor != "" {
		if err := keys.RevokeAccessor(ctx, r.Vault, oldAccessor); err != nil {
			return fail("revoking the replaced key token", err)
		}
	}
	return ctrl.Result{}, nil
}

// reconcileAccess binds the researchers while the workspace is active, and unbinds them
// otherwise. The first grant is recorded in the audit log before it is made.
func (r *WorkspaceReconciler) reconcileAccess(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	bindings := []string{researchersBinding, credentialsRole}
	if s.ws.Spec.State != fivesafesv1alpha1.WorkspaceActive {
		for _, name := range bindings {
			rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns}}
			if err := r.Delete(ctx, rb); err != nil && !apierrors.IsNotFound(err) {
				return ctrl.Result{}, fmt.Errorf("removing researcher binding %s: %w", name, err)
			}
		}
		return ctrl.Result{}, nil
	}
	existing := &rbacv1.RoleBinding{}
	err := r.Get(ctx, client.ObjectKey{Namespace: s.ns, Name: researchersBinding}, existing)
	if apierrors.IsNotFound(err) {
		// Researchers get in only once the pod policy is seen to refuse a pod it should: the API
		// server takes a moment to start enforcing a new binding.
		enforced, err := r.podPolicyEnforced(ctx, s)
		if err != nil {
			return ctrl.Result{}, err
		}
		if !enforced {
			setCondition(s.ws, fivesafesv1alpha1.WorkspaceNamespaceReady, false, ReasonPolicyNotEnforced,
				"waiting for the API server to enforce the workspace pod policy before researchers are let in")
			return ctrl.Result{RequeueAfter: 250 * time.Millisecond}, nil
		}
		if _, err := r.Audit.Append(ctx, audit.EntryInput{
			Actor:    workspaceController,
			Action:   audit.ActionWorkspaceProvision,
			Object:   audit.ObjectRef{Kind: "Workspace", Name: s.ws.Name},
			Decision: "access-granted",
			Details: map[string]any{
				audit.DetailAgreement: s.ws.Spec.Agreement,
				"namespace":           s.ns,
				"bucket":              s.ws.Status.Bucket,
				"key":                 s.ws.Status.KeyName,
				"keyVersion":          s.ws.Status.KeyVersion,
				"researchers":         len(s.ws.Spec.Researchers),
			},
			// Access granted again after a resumption is a new grant: the generation moved.
			IdempotencyKey: fmt.Sprintf("provision/%s/%d/%s", s.ws.UID, s.ws.Generation, strings.Join(s.ws.Spec.Researchers, ",")),
		}); err != nil {
			return ctrl.Result{}, fmt.Errorf("recording workspace access in the audit log: %w", err)
		}
	} else if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading researcher binding: %w", err)
	}
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: credentialsRole, Namespace: s.ns}}
	if err := r.own(ctx, s, role, func() error {
		role.Rules = []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}, ResourceNames: []string{CredentialsSecret}}}
		return nil
	}); err != nil {
		return ctrl.Result{}, err
	}
	subjects := researcherSubjects(s.ws)
	for name, ref := range map[string]rbacv1.RoleRef{
		researchersBinding: {APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ResearcherClusterRole},
		credentialsRole:    {APIGroup: rbacv1.GroupName, Kind: "Role", Name: credentialsRole},
	} {
		rb := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.ns}}
		if err := r.own(ctx, s, rb, func() error {
			if rb.CreationTimestamp.IsZero() {
				rb.RoleRef = ref
			}
			rb.Subjects = subjects
			return nil
		}); err != nil {
			return ctrl.Result{}, err
		}
	}
	return ctrl.Result{}, nil
}

// resume clears the suspension of a workspace made active again before its data was destroyed.
func (r *WorkspaceReconciler) resume(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	if s.ws.Status.SuspendedAt == nil {
		return ctrl.Result{}, nil
	}
	if _, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:    workspaceController,
		Action:   audit.ActionWorkspaceResume,
		Object:   audit.ObjectRef{Kind: "Workspace", Name: s.ws.Name},
		Decision: "resumed",
		Details: map[string]any{
			audit.DetailAgreement: s.ws.Spec.Agreement,
			"suspendedAt":         s.ws.Status.SuspendedAt.UTC().Format(time.RFC3339),
		},
		IdempotencyKey: fmt.Sprintf("resume/%s/%d", s.ws.UID, s.ws.Generation),
	}); err != nil {
		return ctrl.Result{}, fmt.Errorf("recording the resumption in the audit log: %w", err)
	}
	s.ws.Status.SuspendedAt, s.ws.Status.DestroyAfter = nil, nil
	return ctrl.Result{}, nil
}

// disableStorageUser stops the workspace's storage credentials working.
func (r *WorkspaceReconciler) disableStorageUser(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	if err := r.Storage.SetUserEnabled(ctx, WorkspaceStorageUser(s.ws.Spec.Agreement), false); err != nil {
		setCondition(s.ws, fivesafesv1alpha1.WorkspaceStorageReady, false, ReasonStorageFailed, "disabling the storage user: "+err.Error())
		return ctrl.Result{}, fmt.Errorf("disabling storage user: %w", err)
	}
	return ctrl.Result{}, nil
}

// podPolicyEnforced asks the API server, in a dry run, to admit a pod with an image no agreement
// allows, in an otherwise restricted-compliant form; the policy is in force when it refuses it for
// that image.
func (r *WorkspaceReconciler) podPolicyEnforced(ctx context.Context, s *workspaceScope) (bool, error) {
	probe := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "fivesafes-policy-probe", Namespace: s.ns},
		Spec: corev1.PodSpec{
			AutomountServiceAccountToken: ptr.To(false),
			SecurityContext:              &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "probe", Image: "policy-probe.fivesafes.invalid/not-allowed:0",
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	err := r.Create(ctx, probe, client.DryRunAll)
	switch {
	case err == nil:
		return false, nil
	case (apierrors.IsForbidden(err) || apierrors.IsInvalid(err)) && strings.Contains(err.Error(), "allow-list"):
		return true, nil
	default:
		return false, fmt.Errorf("probing the workspace pod policy: %w", err)
	}
}

// reconcileSuspension stops work in a suspended workspace at once and destroys its data when the
// retention period has passed.
func (r *WorkspaceReconciler) reconcileSuspension(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	if err := r.stopWork(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	days := int32(0)
	if s.ws.Spec.RetentionDays != nil {
		days = *s.ws.Spec.RetentionDays
	}
	if s.ws.Status.SuspendedAt == nil {
		// Access is cut (reconcileAccess ran first), work stopped and credentials disabled.
		t := metav1.NewTime(s.now)
		if _, err := r.Audit.Append(ctx, audit.EntryInput{
			Actor:    workspaceController,
			Action:   audit.ActionWorkspaceSuspend,
			Object:   audit.ObjectRef{Kind: "Workspace", Name: s.ws.Name},
			Decision: "suspended",
			Details: map[string]any{
				audit.DetailAgreement: s.ws.Spec.Agreement,
				"state":               string(s.ws.Spec.State),
				"retentionDays":       days,
				"destroyAfter":        t.Add(time.Duration(days) * 24 * time.Hour).UTC().Format(time.RFC3339),
			},
			IdempotencyKey: fmt.Sprintf("suspend/%s/%d", s.ws.UID, s.ws.Generation),
		}); err != nil {
			return ctrl.Result{}, fmt.Errorf("recording the suspension in the audit log: %w", err)
		}
		s.ws.Status.SuspendedAt = &t
	}
	destroyAfter := metav1.NewTime(s.ws.Status.SuspendedAt.Add(time.Duration(days) * 24 * time.Hour))
	s.ws.Status.DestroyAfter = &destroyAfter
	if s.now.Before(destroyAfter.Time) {
		return ctrl.Result{RequeueAfter: destroyAfter.Sub(s.now)}, nil
	}
	if err := r.destroyExternal(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.ns}}
	if err := r.Delete(ctx, ns); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, fmt.Errorf("deleting namespace %s: %w", s.ns, err)
	}
	recordDestruction(s, "Namespace", "namespace "+s.ns+" deleted with everything in it")
	s.ws.Status.Phase = fivesafesv1alpha1.WorkspaceDestroyed
	return ctrl.Result{}, nil
}

// stopWork deletes the pods and jobs running in a suspended workspace, when there are any.
func (r *WorkspaceReconciler) stopWork(ctx context.Context, s *workspaceScope) error {
	var pods corev1.PodList
	if err := r.List(ctx, &pods, client.InNamespace(s.ns), client.Limit(1)); err != nil {
		return fmt.Errorf("listing pods: %w", err)
	}
	if len(pods.Items) > 0 {
		if err := r.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(s.ns), client.GracePeriodSeconds(0)); err != nil {
			return fmt.Errorf("stopping pods: %w", err)
		}
	}
	var jobs batchv1.JobList
	if err := r.List(ctx, &jobs, client.InNamespace(s.ns), client.Limit(1)); err != nil {
		return fmt.Errorf("listing jobs: %w", err)
	}
	if len(jobs.Items) > 0 {
		if err := r.DeleteAllOf(ctx, &batchv1.Job{}, client.InNamespace(s.ns), client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil {
			return fmt.Errorf("stopping jobs: %w", err)
		}
	}
	return nil
}

// destroyExternal removes the bucket with every object version, the storage user and policy, and
// the pseudonymisation key, recording each destruction as it is confirmed. Deleting the key is
// the crypto-shredding evidence: pseudonyms made with it can never be recomputed.
func (r *WorkspaceReconciler) destroyExternal(ctx context.Context, s *workspaceScope) error {
	agreement := s.ws.Spec.Agreement
	bucket, user, key := WorkspaceBucket(agreement), WorkspaceStorageUser(agreement), WorkspaceKey(agreement)
	if _, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor: workspaceController, Action: audit.ActionWorkspaceTeardown,
		Object:         audit.ObjectRef{Kind: "Workspace", Name: s.ws.Name},
		Decision:       "intended",
		Details:        map[string]any{audit.DetailAgreement: agreement, "bucket": bucket, "storageUser": user, "key": key, "namespace": s.ns},
		IdempotencyKey: "teardown/" + string(s.ws.UID),
	}); err != nil {
		return fmt.Errorf("recording the teardown in the audit log: %w", err)
	}
	if err := r.Storage.DeleteBucket(ctx, bucket); err != nil {
		return fmt.Errorf("destroying bucket %s: %w", bucket, err)
	}
	recordDestruction(s, "Bucket", "bucket "+bucket+" emptied of every object version and removed")
	if err := r.Storage.RemoveUser(ctx, user); err != nil {
		return fmt.Errorf("removing storage user %s: %w", user, err)
	}
	if err := r.Storage.RemovePolicy(ctx, user); err != nil {
		return fmt.Errorf("removing storage policy %s: %w", user, err)
	}
	recordDestruction(s, "StorageUser", "storage user and policy "+user+" removed")
	// Everything that could use the key goes first: the token's policy, then the key itself.
	if err := keys.DeletePolicy(ctx, r.Vault, KeyPolicy(agreement)); err != nil {
		return fmt.Errorf("deleting key policy: %w", err)
	}
	access := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: KeyAccessSecret(agreement), Namespace: r.SystemNamespace}}
	if err := r.Delete(ctx, access); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting key access: %w", err)
	}
	if err := r.shredKey(ctx, s, key); err != nil {
		return err
	}
	recordDestruction(s, "Key", "transit key "+key+" deleted (crypto-shredding): pseudonyms can no longer be recomputed")
	return nil
}

// shredKey deletes the agreement's transit key and records it: the intention first, then, once
// Vault has deleted the key, its completion, so the log never claims a destruction that did not
// happen. With a log that records no intentions, the one entry is written after the deletion. A
// retry deletes nothing more (a missing key is deleted) and completes the same intention.
func (r *WorkspaceReconciler) shredKey(ctx context.Context, s *workspaceScope, key string) error {
	agreement := s.ws.Spec.Agreement
	in := audit.EntryInput{
		Actor: workspaceController, Action: audit.ActionKeyDestroy,
		Object:         audit.ObjectRef{Kind: "Workspace", Name: s.ws.Name},
		Decision:       "crypto-shred",
		Details:        map[string]any{audit.DetailAgreement: agreement, "key": key, "keyVersion": s.ws.Status.KeyVersion},
		IdempotencyKey: "key-destroy/" + string(s.ws.UID),
	}
	l, intends := r.Audit.(interface {
		Intend(ctx context.Context, in audit.EntryInput) (audit.Entry, error)
		Complete(ctx context.Context, intent audit.Entry, out audit.Outcome) (audit.Entry, error)
	})
	var intent audit.Entry
	if intends {
		var err error
		if intent, err = l.Intend(ctx, in); err != nil {
			return fmt.Errorf("recording the intended key destruction in the audit log: %w", err)
		}
	}
	if err := r.Keys.DeleteKey(ctx, key); err != nil {
		return fmt.Errorf("deleting transit key %s: %w", key, err)
	}
	done := audit.Outcome{Decision: "crypto-shredded", Details: map[string]any{audit.DetailAgreement: agreement, "key": key}}
	if intends && intent.Stage == audit.StageIntended {
		if _, err := l.Complete(ctx, intent, done); err != nil {
			return fmt.Errorf("recording the key destruction in the audit log: %w", err)
		}
		return nil
	}
	if intends {
		return nil
	}
	in.Decision = done.Decision
	if _, err := r.Audit.Append(ctx, in); err != nil {
		return fmt.Errorf("recording the key destruction in the audit log: %w", err)
	}
	return nil
}

func recordDestruction(s *workspaceScope, part, method string) {
	for _, d := range s.ws.Status.Destruction {
		if d.Part == part {
			return
		}
	}
	s.ws.Status.Destruction = append(s.ws.Status.Destruction, fivesafesv1alpha1.DestructionRecord{Part: part, Method: method, Time: metav1.NewTime(s.now)})
}

// workspaceEvents returns the events that announce the change of a workspace's status from
// before to after: the workspace becoming Ready, leaving Ready (suspended, destroyed, or broken
// after it was ready), and one of its parts failing. Progress while it is provisioned is not
// announced: a new workspace normally gets one event, when it becomes Ready.
func workspaceEvents(before, after *fivesafesv1alpha1.WorkspaceStatus) []announcement {
	var out []announcement
	was := meta.FindStatusCondition(before.Conditions, fivesafesv1alpha1.ConditionReady)
	now := meta.FindStatusCondition(after.Conditions, fivesafesv1alpha1.ConditionReady)
	if now != nil && (was == nil || was.Status != now.Status || was.Reason != now.Reason) {
		switch {
		case now.Status == metav1.ConditionTrue:
			out = append(out, announcement{corev1.EventTypeNormal, now.Reason, "Provision", "The workspace is ready: " + now.Message})
		case now.Reason == ReasonSuspended:
			out = append(out, announcement{corev1.EventTypeNormal, now.Reason, "Suspend", "The workspace is suspended: " + now.Message})
		case now.Reason == ReasonDestroyed:
			out = append(out, announcement{corev1.EventTypeNormal, now.Reason, "Destroy", "The workspace is destroyed: " + now.Message})
		case was != nil && was.Status == metav1.ConditionTrue:
			out = append(out, announcement{corev1.EventTypeWarning, now.Reason, "Provision", "The workspace is no longer ready: " + now.Message})
		}
	}
	for _, part := range workspaceParts {
		c, p := meta.FindStatusCondition(after.Conditions, part), meta.FindStatusCondition(before.Conditions, part)
		if c == nil || c.Status != metav1.ConditionFalse || c.Reason == ReasonPolicyNotEnforced {
			continue
		}
		if p == nil || p.Status != c.Status || p.Reason != c.Reason {
			out = append(out, announcement{corev1.EventTypeWarning, c.Reason, "Provision", part + " failed: " + c.Message})
		}
	}
	return out
}

// workspaceParts are the conditions of the parts a Ready workspace needs.
var workspaceParts = []string{
	fivesafesv1alpha1.WorkspaceNamespaceReady, fivesafesv1alpha1.WorkspaceNetworkIsolated,
	fivesafesv1alpha1.WorkspaceStorageReady, fivesafesv1alpha1.WorkspaceKeyReady,
}

// summariseWorkspace sets the phase, Ready and observedGeneration.
func (r *WorkspaceReconciler) summariseWorkspace(s *workspaceScope) {
	ws := s.ws
	ws.Status.ObservedGeneration = ws.Generation
	var missing []string
	for _, p := range workspaceParts {
		if !meta.IsStatusConditionTrue(ws.Status.Conditions, p) {
			missing = append(missing, p)
		}
	}
	switch {
	case ws.Status.Phase == fivesafesv1alpha1.WorkspaceDestroyed:
		setCondition(ws, fivesafesv1alpha1.ConditionReady, false, ReasonDestroyed, "the workspace's data, key and namespace were destroyed")
	case ws.Spec.State == fivesafesv1alpha1.WorkspaceSuspended:
		ws.Status.Phase = fivesafesv1alpha1.WorkspaceSuspendedPh
		msg := "access is cut; pods stopped; storage user disabled"
		if ws.Status.DestroyAfter != nil {
			msg += "; data will be destroyed after " + ws.Status.DestroyAfter.UTC().Format(time.RFC3339)
		}
		setCondition(ws, fivesafesv1alpha1.ConditionReady, false, ReasonSuspended, msg)
	case len(missing) == 0:
		ws.Status.Phase = fivesafesv1alpha1.WorkspaceReady
		setCondition(ws, fivesafesv1alpha1.ConditionReady, true, ReasonWorkspaceReady, "every part of the workspace is in place")
		if ws.Status.ReadyAt == nil {
			t := metav1.NewTime(s.now)
			ws.Status.ReadyAt = &t
		}
	default:
		ws.Status.Phase = fivesafesv1alpha1.WorkspaceProvisioning
		setCondition(ws, fivesafesv1alpha1.ConditionReady, false, ReasonProvisioning, "waiting for "+strings.Join(missing, ", "))
	}
}
