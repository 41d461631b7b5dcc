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
	batchv1 "k8s.io/api/batch/v1"
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
	"github.com/fivesafes/fivesafes/internal/extract"
	"github.com/fivesafes/fivesafes/internal/extractjob"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
)

// DefaultExtractResync is how often, by default, an extract's source objects are listed again
// for changes. Object storage sends no notice of a change, so it is looked at.
const DefaultExtractResync = time.Hour

// Field indexes the extract controller looks extracts up by.
const (
	indexExtractOptOutList = "spec.optOutList"
	indexExtractAgreement  = "spec.agreement"
	indexExtractDataset    = "spec.dataset"
)

// DatasetExtractReconciler copies one catalogue dataset into one workspace, in-process: only the
// approved columns, identifiers replaced by the agreement's pseudonyms, opted-out people removed
// when the agreement honours opt-outs, and the copy made visible by its manifest. It copies again
// only when what the copy is made from changes.
type DatasetExtractReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	// Store reads the catalogue buckets and writes the workspace buckets. *minio.Client
	// satisfies it.
	Store extractjob.Store
	// Vault is a template: each copy uses a clone of it carrying the agreement's own token, which
	// can use that agreement's key and nothing else. Its own token is never used for a copy.
	Vault *vaultapi.Client
	// TransitMount is the mount path of Vault's transit engine.
	TransitMount string
	// SystemNamespace holds each agreement's key access Secret.
	SystemNamespace string
	// OptOuts holds the opt-out snapshots the OptOutList controller loaded.
	OptOuts *optoutcache.Cache
	// Audit records each copy before it becomes visible.
	Audit AuditLog
	// Resync is how often the source objects are listed again; zero means DefaultExtractResync.
	Resync time.Duration
	// Concurrency is how many extracts are copied at once.
	Concurrency int
	// BatchSize and TransformConcurrency tune the CSV transform; zero takes its defaults.
	BatchSize, TransformConcurrency int
	// Jobs, when set, makes copies of large sources in indexed Jobs; nil copies every source in
	// the manager.
	Jobs *ExtractJobs

	// writes records the controller's status writes (see readBeforeOwnWrite); SetupWithManager
	// makes it.
	writes *statusWrites
}

// extractScope carries what one reconcile has learnt between steps.
type extractScope struct {
	dx     *fivesafesv1alpha1.DatasetExtract
	before fivesafesv1alpha1.DatasetExtractStatus
	now    time.Time

	agreement *fivesafesv1alpha1.DataAccessAgreement
	workspace *fivesafesv1alpha1.Workspace
	schema    []extract.Column
	key       keyAccess
	source    extractjob.Source
	// want is the provenance of the copy that should be visible now.
	want extractjob.Provenance
	// current is the visible copy's manifest, nil when there is none.
	current *extractjob.Manifest
	// needed says why a new copy is needed; empty when the visible copy is current.
	needed []string
	// waiting is set when something outside this extract must change first: later steps do
	// nothing, and a watch wakes the extract when it changes.
	waiting bool
	// failed is set when the loop could not do what it had to.
	failed bool
	// copied is set when this loop made the copy.
	copied bool
	// optOutSource is where the opt-out list's snapshot is, when opt-outs are applied.
	optOutSource *fivesafesv1alpha1.OptOutSource
}

// +kubebuilder:rbac:groups=fivesafes.io,resources=datasetextracts,verbs=get;list;watch
// +kubebuilder:rbac:groups=fivesafes.io,resources=datasetextracts/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=fivesafes.io,resources=datasets;optoutlists;workspaces;dataaccessagreements,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile makes the extract's copy current, or says why it cannot.
func (r *DatasetExtractReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	dx := &fivesafesv1alpha1.DatasetExtract{}
	if err := r.Get(ctx, req.NamespacedName, dx); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if readBeforeOwnWrite(r.writes, dx) {
		return ctrl.Result{RequeueAfter: ownWriteRequeue}, nil
	}
	s := &extractScope{dx: dx, before: *dx.Status.DeepCopy(), now: r.Clock.Now()}
	defer func() {
		if err != nil {
			s.failed = true
		}
		summariseExtract(s)
		if perr := r.patchExtractStatus(ctx, s); perr != nil && err == nil {
			err = perr
		}
	}()

	steps := []step[*extractScope]{
		r.resolveAgreement,
		r.resolveDataset,
		r.resolveWorkspace,
		r.resolveKey,
		r.resolveOptOuts,
		r.observeSource,
		r.observeCopy,
		r.makeCopy,
	}
	result, waiting, err := runSteps(ctx, s, steps, func() bool { return s.waiting })
	if err != nil || waiting {
		return result, err
	}
	return lowestRequeue(result, ctrl.Result{RequeueAfter: r.resync()}), nil
}

// patchExtractStatus writes the status once, and only when it changed, then announces what the
// loop did. A copy is announced by the loop that made it, whose status write may fail: the next
// loop finds the copy current and does not make it again. A change of readiness is announced only
// by the loop that wrote it. (A loop that read the extract before its predecessor's write took
// effect stops before its steps: see readBeforeOwnWrite.)
func (r *DatasetExtractReconciler) patchExtractStatus(ctx context.Context, s *extractScope) error {
	wrote, err := writeStatus(ctx, r.writes, r.Client, s.dx, s.before, s.dx.Status, func() client.Object {
		base := s.dx.DeepCopy()
		base.Status = s.before
		if base.Status.Rows != s.dx.Status.Rows {
			// Every count is a required field: a merge patch must carry all of them, not only
			// those that changed, or a first write that leaves some at zero is refused.
			base.Status.Rows = fivesafesv1alpha1.RowCounts{Read: -1, Written: -1, OptedOut: -1, InvalidIdentifier: -1, Malformed: -1}
		}
		return base
	}, "extract")
	if s.copied {
		r.announceCopy(s)
	} else if err == nil && wrote {
		r.announceReadiness(s)
	}
	return err
}

func (r *DatasetExtractReconciler) resync() time.Duration {
	if r.Resync > 0 {
		return r.Resync
	}
	return DefaultExtractResync
}

// SetupWithManager registers the controller, its indexes and its watches. A spec change wakes
// an extract; so do a new opt-out snapshot of the list it applies, a change of its agreement,
// workspace or catalogue entry. Its source objects are listed again every Resync.
func (r *DatasetExtractReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.writes = newStatusWrites()
	ctx := context.Background()
	indexes := map[string]func(*fivesafesv1alpha1.DatasetExtract) string{
		indexExtractOptOutList: func(x *fivesafesv1alpha1.DatasetExtract) string {
			if x.Spec.OptOuts != fivesafesv1alpha1.OptOutsHonoured {
				return ""
			}
			return x.Spec.OptOutList
		},
		indexExtractAgreement: func(x *fivesafesv1alpha1.DatasetExtract) string { return x.Spec.Agreement },
		indexExtractDataset:   func(x *fivesafesv1alpha1.DatasetExtract) string { return x.Spec.Dataset },
	}
	for field, value := range indexes {
		if err := mgr.GetFieldIndexer().IndexField(ctx, &fivesafesv1alpha1.DatasetExtract{}, field, func(o client.Object) []string {
			if v := value(o.(*fivesafesv1alpha1.DatasetExtract)); v != "" {
				return []string{v}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("indexing extracts by %s: %w", field, err)
		}
	}
	byName := func(o client.Object) string { return o.GetName() }
	b := ctrl.NewControllerManagedBy(mgr).
		For(&fivesafesv1alpha1.DatasetExtract{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Watches(&fivesafesv1alpha1.OptOutList{}, handler.EnqueueRequestsFromMapFunc(r.extractsWith(indexExtractOptOutList, byName))).
		Watches(&fivesafesv1alpha1.DataAccessAgreement{}, handler.EnqueueRequestsFromMapFunc(r.extractsWith(indexExtractAgreement, byName))).
		Watches(&fivesafesv1alpha1.Workspace{}, handler.EnqueueRequestsFromMapFunc(r.extractsWith(indexExtractAgreement,
			func(o client.Object) string { return o.(*fivesafesv1alpha1.Workspace).Spec.Agreement }))).
		Watches(&fivesafesv1alpha1.Dataset{}, handler.EnqueueRequestsFromMapFunc(r.extractsWith(indexExtractDataset, byName)),
			builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	if r.Jobs != nil {
		// Extraction Jobs run in the system namespace; the manager's cache holds only those.
		b = b.Watches(&batchv1.Job{}, handler.EnqueueRequestsFromMapFunc(extractOfJob))
	}
	return b.Named("datasetextract").
		WithOptions(controller.Options{MaxConcurrentReconciles: max(r.Concurrency, 1)}).
		Complete(r)
}

// extractsWith maps an object to the extracts whose indexed field equals value(object).
func (r *DatasetExtractReconciler) extractsWith(field string, value func(client.Object) string) handler.MapFunc {
	return func(ctx context.Context, o client.Object) []reconcile.Request {
		v := value(o)
		if v == "" {
			return nil
		}
		var list fivesafesv1alpha1.DatasetExtractList
		if err := r.List(ctx, &list, client.MatchingFields{field: v}); err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "Listing extracts to wake", "field", field, "value", v)
			return nil
		}
		reqs := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			reqs = append(reqs, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
		return reqs
	}
}
