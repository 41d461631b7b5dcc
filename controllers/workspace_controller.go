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
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/metrics"
)

// WorkspaceFinalizer guards the parts of a workspace that live outside the cluster: its bucket,
// storage user and policy, and pseudonymisation key.
const WorkspaceFinalizer = "fivesafes.io/workspace-cleanup"

// WorkspaceReconciler builds the isolated setting for an active agreement and tears it down, with
// proof, when the agreement ends.
type WorkspaceReconciler struct {
	client.Client
	// APIReader reads from the API server, not the cache, for objects someone else made while a
	// loop ran; nil uses Client.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	Storage   WorkspaceStorage
	Keys      WorkspaceKeys
	// Vault is the manager's Vault client, for the policies and tokens that confine extraction
	// for one agreement to that agreement's key.
	Vault *vaultapi.Client
	// TransitMount is the mount path of Vault's transit engine.
	TransitMount string
	// SystemNamespace holds what must stay outside every workspace: each agreement's Vault token
	// and wrapped data key.
	SystemNamespace string
	// TokenTTL is how long an agreement's Vault token lives before it is replaced.
	TokenTTL time.Duration
	Audit    AuditLog
	Network  NetworkSettings
	// StorageEndpoint is written into the credentials Secret for workloads to use.
	StorageEndpoint string
	// Concurrency is how many workspaces are reconciled at once.
	Concurrency int

	// writes records the controller's status writes (see readBeforeOwnWrite); SetupWithManager
	// makes it.
	writes *statusWrites
}

// workspaceScope carries what one reconcile has learnt between steps.
type workspaceScope struct {
	ws     *fivesafesv1alpha1.Workspace
	before fivesafesv1alpha1.WorkspaceStatus
	now    time.Time
	ns     string
}

// +kubebuilder:rbac:groups=fivesafes.io,resources=workspaces,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=fivesafes.io,resources=workspaces/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=fivesafes.io,resources=workspaces/finalizers,verbs=update
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts;resourcequotas;limitranges;secrets,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch;delete;deletecollection
// +kubebuilder:rbac:groups=batch,resources=jobs,verbs=get;list;watch;delete;deletecollection
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=clusterroles,verbs=bind,resourceNames=fivesafes-researcher
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete

// Reconcile brings one workspace's parts in line with its spec.
func (r *WorkspaceReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	ws := &fivesafesv1alpha1.Workspace{}
	if err := r.Get(ctx, req.NamespacedName, ws); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if readBeforeOwnWrite(r.writes, ws) {
		return ctrl.Result{RequeueAfter: ownWriteRequeue}, nil
	}
	s := &workspaceScope{ws: ws, before: *ws.Status.DeepCopy(), now: r.Clock.Now(), ns: WorkspaceNamespace(ws.Spec.Agreement)}
	if !ws.DeletionTimestamp.IsZero() {
		return r.reconcileDelete(ctx, s)
	}
	if controllerutil.AddFinalizer(ws, WorkspaceFinalizer) {
		if err := r.Update(ctx, ws); err != nil {
			return ctrl.Result{}, fmt.Errorf("adding finalizer: %w", err)
		}
	}
	defer func() {
		r.summariseWorkspace(s)
		if perr := r.patchWorkspaceStatus(ctx, s); perr != nil && err == nil {
			err = perr
		}
	}()

	if s.ws.Status.Phase == fivesafesv1alpha1.WorkspaceDestroyed {
		return ctrl.Result{}, nil
	}
	// An active workspace is built up; a suspended one is only ever taken down, so nothing
	// destroyed is made again.
	steps := []step[*workspaceScope]{
		r.reconcileNamespace,
		r.reconcileNetwork,
		r.reconcileQuota,
		r.reconcilePodPolicy,
		r.reconcileStorage,
		r.reconcileKey,
		r.reconcileKeyAccess,
		r.reconcileAccess,
		r.resume,
	}
	if s.ws.Spec.State != fivesafesv1alpha1.WorkspaceActive {
		steps = []step[*workspaceScope]{
			r.reconcileAccess,
			r.disableStorageUser,
			r.reconcileSuspension,
		}
	}
	result, _, err = runSteps(ctx, s, steps, func() bool { return s.ws.Status.Phase == fivesafesv1alpha1.WorkspaceDestroyed })
	return result, err
}

// reconcileDelete destroys everything outside the cluster, then lets the workspace go.
func (r *WorkspaceReconciler) reconcileDelete(ctx context.Context, s *workspaceScope) (ctrl.Result, error) {
	if !controllerutil.ContainsFinalizer(s.ws, WorkspaceFinalizer) {
		return ctrl.Result{}, nil
	}
	if err := r.destroyExternal(ctx, s); err != nil {
		_ = r.patchWorkspaceStatus(ctx, s)
		return ctrl.Result{}, err
	}
	controllerutil.RemoveFinalizer(s.ws, WorkspaceFinalizer)
	if err := r.Update(ctx, s.ws); client.IgnoreNotFound(err) != nil {
		return ctrl.Result{}, fmt.Errorf("removing finalizer: %w", err)
	}
	return ctrl.Result{}, nil
}

func (r *WorkspaceReconciler) patchWorkspaceStatus(ctx context.Context, s *workspaceScope) error {
	wrote, err := writeStatus(ctx, r.writes, r.Client, s.ws, s.before, s.ws.Status, func() client.Object {
		base := s.ws.DeepCopy()
		base.Status = s.before
		return base
	}, "workspace")
	if err != nil || !wrote {
		// Only the loop that wrote a change announces it.
		return err
	}
	if s.before.ReadyAt == nil && s.ws.Status.ReadyAt != nil {
		// The creation time is the API server's and readyAt the manager's: a skew between their
		// clocks must not make the time taken negative.
		metrics.WorkspaceReadySeconds.Observe(max(0, s.ws.Status.ReadyAt.Sub(s.ws.CreationTimestamp.Time).Seconds()))
	}
	// Events follow the status they announce: a status that could not be written is announced by
	// the loop that writes it.
	announce(r.Recorder, s.ws, workspaceEvents(&s.before, &s.ws.Status))
	return nil
}

// changedByOthers passes updates and deletions of a workspace's parts, so that drift is put
// right, but not their creation: the controller made them itself in the loop that is running.
var changedByOthers = builder.WithPredicates(predicate.Funcs{
	CreateFunc: func(event.CreateEvent) bool { return false },
})

// podPolicyAtStart makes the workspace pod policy and its binding as soon as the manager leads.
// The API server takes a moment to enforce a new policy, and researchers are let into a
// workspace only once it does: made at start, the policy is in force before the first workspace
// after an installation needs it, instead of holding that workspace back. Each workspace loop
// still checks the policy, and puts it right if it was changed.
type podPolicyAtStart struct{ r *WorkspaceReconciler }

// NeedLeaderElection makes only the leader write the policy.
func (podPolicyAtStart) NeedLeaderElection() bool { return true }

// Start makes the policy, trying again with a growing pause until it succeeds or the manager
// stops.
func (p podPolicyAtStart) Start(ctx context.Context) error {
	pause := 500 * time.Millisecond
	for {
		err := p.r.ensurePodPolicy(ctx)
		if err == nil {
			return nil
		}
		ctrl.LoggerFrom(ctx).Error(err, "Making the workspace pod policy at start; trying again", "after", pause)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(pause):
		}
		pause = min(2*pause, 30*time.Second)
	}
}

// notStatusOnly passes every workspace event but an update that changed only the status: the
// controller writes the status itself, once per loop, and reading it back would only run the
// loop again with nothing to do. A change to the spec, labels, annotations, finalizers or
// deletion still runs it.
var notStatusOnly = predicate.Or(
	predicate.GenerationChangedPredicate{},
	predicate.LabelChangedPredicate{},
	predicate.AnnotationChangedPredicate{},
	predicate.Funcs{UpdateFunc: func(e event.UpdateEvent) bool {
		return !equality.Semantic.DeepEqual(e.ObjectOld.GetFinalizers(), e.ObjectNew.GetFinalizers()) ||
			!equality.Semantic.DeepEqual(e.ObjectOld.GetDeletionTimestamp(), e.ObjectNew.GetDeletionTimestamp())
	}},
)

// SetupWithManager registers the controller, its watches, and the making of the pod policy when
// the manager starts.
func (r *WorkspaceReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.writes = newStatusWrites()
	if err := mgr.Add(podPolicyAtStart{r}); err != nil {
		return fmt.Errorf("adding the pod policy starter: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&fivesafesv1alpha1.Workspace{}, builder.WithPredicates(notStatusOnly)).
		Owns(&corev1.Namespace{}, changedByOthers).
		Owns(&networkingv1.NetworkPolicy{}, changedByOthers).
		Owns(&corev1.ResourceQuota{}, changedByOthers).
		Owns(&corev1.LimitRange{}, changedByOthers).
		Owns(&corev1.Secret{}, changedByOthers).
		Owns(&rbacv1.RoleBinding{}, changedByOthers).
		Owns(&admissionregistrationv1.ValidatingAdmissionPolicyBinding{}, changedByOthers).
		Named("workspace").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Complete(r)
}
