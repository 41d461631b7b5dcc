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
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/egress"
	"github.com/fivesafes/fivesafes/internal/metrics"
	"github.com/fivesafes/fivesafes/internal/policy"
	"github.com/fivesafes/fivesafes/internal/storage"
)

// OutputRequestReconciler takes files out of a workspace, the only way they leave it: it
// snapshots the requested files where the researcher cannot write, checks them against the
// egress policy, counts independent reviews of the snapshot, and releases it to the egress
// bucket once the release is recorded in the audit log.
type OutputRequestReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	// Storage reads the workspace buckets and writes the egress bucket.
	Storage *storage.Client
	// Policy evaluates the egress policy; a policy that cannot be evaluated releases nothing.
	Policy *policy.Engine
	// Audit records checks, reviews and releases before the status shows them.
	Audit AuditLog
	// EgressBucket holds the snapshots under staging/ and the releases under releases/.
	// Researchers' own credentials are denied it.
	EgressBucket string
	// CheckersGroup is the group whose members' reviews count.
	CheckersGroup string
	// Limits cap how much of each file the checks read.
	Limits egress.Limits
	// DownloadExpiry is how long issued download URLs work.
	DownloadExpiry time.Duration
	// ReviewCopyExpiry is how long checkers' URLs of a checked snapshot work before they are
	// renewed; DefaultReviewCopyExpiry when zero.
	ReviewCopyExpiry time.Duration

	// writes records the controller's status writes (see readBeforeOwnWrite); SetupWithManager
	// makes it.
	writes *statusWrites
}

// outputScope carries what one reconcile has learnt between steps.
type outputScope struct {
	or     *fivesafesv1alpha1.OutputRequest
	before fivesafesv1alpha1.OutputRequestStatus
	now    time.Time

	agreement *fivesafesv1alpha1.DataAccessAgreement
	// done is set when a step settled the request for this loop: later steps do nothing.
	done bool
	// released is set when this loop made the release.
	released bool
	// checked is set when this loop ran the automatic checks.
	checked bool
}

// +kubebuilder:rbac:groups=fivesafes.io,resources=outputrequests,verbs=get;list;watch
// +kubebuilder:rbac:groups=fivesafes.io,resources=outputrequests/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=fivesafes.io,resources=outputreviews,verbs=get;list;watch
// +kubebuilder:rbac:groups=fivesafes.io,resources=outputreviews/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=fivesafes.io,resources=workspaces;dataaccessagreements,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile moves the request through snapshot, checks, reviews and release, or says why not.
func (r *OutputRequestReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	or := &fivesafesv1alpha1.OutputRequest{}
	if err := r.Get(ctx, req.NamespacedName, or); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if readBeforeOwnWrite(r.writes, or) {
		return ctrl.Result{RequeueAfter: ownWriteRequeue}, nil
	}
	s := &outputScope{or: or, before: *or.Status.DeepCopy(), now: r.Clock.Now()}
	defer func() {
		summariseOutput(or)
		if perr := r.patchOutputStatus(ctx, s); perr != nil && err == nil {
			err = perr
		}
	}()

	steps := []step[*outputScope]{
		r.observeRelease,
		r.observeWithdrawal,
		r.resolveOutputAgreement,
		r.snapshotAndCheck,
		r.issueReviewCopy,
		r.countReviews,
		r.release,
	}
	result, _, err = runSteps(ctx, s, steps, func() bool { return s.done })
	return result, err
}

// patchOutputStatus writes the status once, and only when it changed, then announces what the
// loop did. A release is announced by the loop that made it, whose status write may fail: the next
// loop finds the release made and does not make it again. A phase change, and the checks, are
// announced and counted only by the loop that wrote them. (A loop that read the request before its
// predecessor's write took effect stops before its steps, and snapshots and checks nothing: see
// readBeforeOwnWrite.)
func (r *OutputRequestReconciler) patchOutputStatus(ctx context.Context, s *outputScope) error {
	wrote, err := writeStatus(ctx, r.writes, r.Client, s.or, s.before, s.or.Status, func() client.Object {
		base := s.or.DeepCopy()
		base.Status = s.before
		return base
	}, "output request")
	if s.released {
		r.announceRelease(s)
	}
	if err != nil || !wrote {
		return err
	}
	if s.checked {
		metrics.ObserveCheck(s.or.Status.Outcome, s.or.Status.Files)
	}
	if !s.released {
		r.announcePhase(s)
	}
	return nil
}

// SetupWithManager registers the controller. A spec change wakes a request, and so does any
// review naming it.
func (r *OutputRequestReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.writes = newStatusWrites()
	return ctrl.NewControllerManagedBy(mgr).
		For(&fivesafesv1alpha1.OutputRequest{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Watches(&fivesafesv1alpha1.OutputReview{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
			rv, ok := o.(*fivesafesv1alpha1.OutputReview)
			if !ok || rv.Spec.OutputRequest == "" {
				return nil
			}
			return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: rv.Namespace, Name: rv.Spec.OutputRequest}}}
		})).
		Named("outputrequest").
		Complete(r)
}
