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

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Field indexes the agreement controller looks objects up by.
const (
	indexApprovalAgreement = "spec.agreement"
	indexAgreementDataset  = "spec.datasets.name"
)

// AgreementSettings are the platform's governance settings.
type AgreementSettings struct {
	// CommitteeGroup is the group whose members' approvals count.
	CommitteeGroup string
	// Quorum is how many distinct committee members must approve.
	Quorum int
	// ExpiryWarning is how long before the end ExpiringSoon turns True.
	ExpiryWarning time.Duration
	// RetentionDays is how long a suspended workspace's data is kept before destruction.
	RetentionDays int32
	// OptOutList is the OptOutList applied to datasets whose opt-outs are Honoured.
	OptOutList string
}

// DataAccessAgreementReconciler computes an agreement's digest, validity against the governance
// policy, counted approvals and phase, and keeps its Workspace in step.
type DataAccessAgreementReconciler struct {
	client.Client
	Scheme    *runtime.Scheme
	Recorder  events.EventRecorder
	Clock     clock.PassiveClock
	Validator AgreementValidator
	Audit     AuditLog
	Settings  AgreementSettings
	// Concurrency is how many agreements are reconciled at once.
	Concurrency int

	// writes records the controller's status writes (see readBeforeOwnWrite); SetupWithManager
	// makes it.
	writes *statusWrites
}

// agreementScope carries what one reconcile has learnt between steps.
type agreementScope struct {
	daa       *fivesafesv1alpha1.DataAccessAgreement
	before    fivesafesv1alpha1.DataAccessAgreementStatus
	now       time.Time
	valid     bool
	policyErr bool
	tally     tally
	outcome   phaseOutcome
	workspace *fivesafesv1alpha1.Workspace
	// events are announced once the status that shows them is written.
	events []announcement
}

func (s *agreementScope) announce(eventType, reason, action, note string) {
	s.events = append(s.events, announcement{eventType, reason, action, note})
}

// +kubebuilder:rbac:groups=fivesafes.io,resources=dataaccessagreements,verbs=get;list;watch
// +kubebuilder:rbac:groups=fivesafes.io,resources=dataaccessagreements/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=fivesafes.io,resources=agreementapprovals,verbs=get;list;watch
// +kubebuilder:rbac:groups=fivesafes.io,resources=datasets,verbs=get;list;watch
// +kubebuilder:rbac:groups=fivesafes.io,resources=workspaces,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups=fivesafes.io,resources=datasetextracts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile brings one agreement's status and workspace in line with its spec, its approvals
// and the clock.
func (r *DataAccessAgreementReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := r.Get(ctx, req.NamespacedName, daa); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if readBeforeOwnWrite(r.writes, daa) {
		return ctrl.Result{RequeueAfter: ownWriteRequeue}, nil
	}
	s := &agreementScope{daa: daa, before: *daa.Status.DeepCopy(), now: r.Clock.Now()}
	defer func() {
		r.summarise(s)
		if perr := r.patchStatus(ctx, s); perr != nil && err == nil {
			err = perr
		}
	}()

	steps := []step[*agreementScope]{
		r.computeDigest,
		r.validate,
		r.countApprovals,
		r.computePhase,
		r.recordPhaseChange,
		r.announceExpiry,
		r.reconcileWorkspace,
		r.reconcileExtracts,
	}
	result, _, err = runSteps(ctx, s, steps, nil)
	return result, err
}

// patchStatus writes the status once, and only when it changed, then announces the loop's
// events: only the loop that wrote a change announces it. (A loop that read the agreement before
// its predecessor's write took effect stops before its steps: see readBeforeOwnWrite.)
func (r *DataAccessAgreementReconciler) patchStatus(ctx context.Context, s *agreementScope) error {
	wrote, err := writeStatus(ctx, r.writes, r.Client, s.daa, s.before, s.daa.Status, func() client.Object {
		base := s.daa.DeepCopy()
		base.Status = s.before
		return base
	}, "agreement")
	if err != nil || !wrote {
		return err
	}
	announce(r.Recorder, s.daa, s.events)
	return nil
}

// SetupWithManager registers the controller, its indexes and its watches.
func (r *DataAccessAgreementReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.writes = newStatusWrites()
	ctx := context.Background()
	if err := mgr.GetFieldIndexer().IndexField(ctx, &fivesafesv1alpha1.AgreementApproval{}, indexApprovalAgreement,
		func(o client.Object) []string {
			return []string{o.(*fivesafesv1alpha1.AgreementApproval).Spec.Agreement}
		}); err != nil {
		return fmt.Errorf("indexing approvals by agreement: %w", err)
	}
	if err := mgr.GetFieldIndexer().IndexField(ctx, &fivesafesv1alpha1.DataAccessAgreement{}, indexAgreementDataset,
		func(o client.Object) []string {
			var names []string
			for _, d := range o.(*fivesafesv1alpha1.DataAccessAgreement).Spec.Datasets {
				names = append(names, d.Name)
			}
			return names
		}); err != nil {
		return fmt.Errorf("indexing agreements by dataset: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&fivesafesv1alpha1.DataAccessAgreement{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&fivesafesv1alpha1.Workspace{}).
		// A decision counts by its spec; its status is this controller's own record of whether it
		// counted, so writing that status needs no further look at the agreement.
		Watches(&fivesafesv1alpha1.AgreementApproval{}, handler.EnqueueRequestsFromMapFunc(
			func(_ context.Context, o client.Object) []reconcile.Request {
				return []reconcile.Request{{NamespacedName: client.ObjectKey{Name: o.(*fivesafesv1alpha1.AgreementApproval).Spec.Agreement}}}
			}), builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&fivesafesv1alpha1.Dataset{}, handler.EnqueueRequestsFromMapFunc(r.agreementsUsingDataset),
			builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("dataaccessagreement").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Complete(r)
}

func (r *DataAccessAgreementReconciler) agreementsUsingDataset(ctx context.Context, o client.Object) []reconcile.Request {
	var list fivesafesv1alpha1.DataAccessAgreementList
	if err := r.List(ctx, &list, client.MatchingFields{indexAgreementDataset: o.GetName()}); err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "Listing agreements that use a dataset", "dataset", o.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(list.Items))
	for _, a := range list.Items {
		reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&a)})
	}
	return reqs
}
