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
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
)

// DefaultOptOutResync is how often, by default, an opt-out list's object is checked for having
// been replaced in storage. Object storage sends no notice of a change, so it is looked at.
const DefaultOptOutResync = 10 * time.Minute

// OptOutStore reads opt-out snapshot objects. *minio.Client satisfies it.
type OptOutStore interface {
	StatObject(ctx context.Context, bucket, key string, o minio.StatObjectOptions) (minio.ObjectInfo, error)
	GetObject(ctx context.Context, bucket, key string, o minio.GetObjectOptions) (*minio.Object, error)
}

// OptOutListReconciler loads each OptOutList's snapshot from object storage into Cache, checks
// it against the expected digest, and records its date, digest and counts in status.
type OptOutListReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder events.EventRecorder
	Clock    clock.PassiveClock
	// S3 reads the snapshot objects.
	S3 OptOutStore
	// Cache receives the loaded snapshots; extraction reads them from it.
	Cache *optoutcache.Cache
	// Resync is how often a list's object is checked for having been replaced; zero means
	// DefaultOptOutResync.
	Resync time.Duration

	// refused remembers, by list name, the object version that last failed its expected digest,
	// so an unchanged object is not read again until the object or the spec changes.
	refused sync.Map

	// writes records the controller's status writes (see readBeforeOwnWrite); SetupWithManager
	// makes it.
	writes *statusWrites
}

// optOutScope carries what one reconcile has learnt between steps.
type optOutScope struct {
	list   *fivesafesv1alpha1.OptOutList
	before fivesafesv1alpha1.OptOutListStatus
	now    time.Time
	// object is what storage says of the snapshot object now.
	object minio.ObjectInfo
	// loaded is the snapshot the spec and the object name, once it is in the cache.
	loaded *optoutcache.Entry
	// fresh is true when this loop read the object rather than finding it in the cache.
	fresh bool
}

// +kubebuilder:rbac:groups=fivesafes.io,resources=optoutlists,verbs=get;list;watch
// +kubebuilder:rbac:groups=fivesafes.io,resources=optoutlists/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile loads one opt-out list's snapshot, unless the cache already holds the version of the
// object its spec names, and records what it found.
func (r *OptOutListReconciler) Reconcile(ctx context.Context, req ctrl.Request) (result ctrl.Result, err error) {
	list := &fivesafesv1alpha1.OptOutList{}
	if err := r.Get(ctx, req.NamespacedName, list); err != nil {
		if apierrors.IsNotFound(err) {
			r.Cache.Delete(req.Name)
			r.refused.Delete(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if readBeforeOwnWrite(r.writes, list) {
		return ctrl.Result{RequeueAfter: ownWriteRequeue}, nil
	}
	s := &optOutScope{list: list, before: *list.Status.DeepCopy(), now: r.Clock.Now()}
	defer func() {
		summariseOptOutList(s)
		if perr := r.patchOptOutStatus(ctx, s); perr != nil && err == nil {
			err = perr
		}
	}()

	steps := []step[*optOutScope]{
		r.statSnapshot,
		r.loadSnapshot,
		r.recordSnapshot,
	}
	result, _, err = runSteps(ctx, s, steps, nil)
	if err != nil {
		return ctrl.Result{}, err
	}
	return lowestRequeue(result, ctrl.Result{RequeueAfter: r.resync()}), nil
}

// patchOptOutStatus writes the status once, and only when it changed, then announces what the
// loop did: a refused object version is announced by the loop that read it, a change of what is
// loaded only by the loop that wrote it.
func (r *OptOutListReconciler) patchOptOutStatus(ctx context.Context, s *optOutScope) error {
	wrote, err := writeStatus(ctx, r.writes, r.Client, s.list, s.before, s.list.Status, func() client.Object {
		base := s.list.DeepCopy()
		base.Status = s.before
		return base
	}, "opt-out list")
	r.announceOptOutLoad(s, err == nil && wrote)
	return err
}

func (r *OptOutListReconciler) resync() time.Duration {
	if r.Resync > 0 {
		return r.Resync
	}
	return DefaultOptOutResync
}

// SetupWithManager registers the controller. Status writes do not wake it; a spec change does,
// and every Resync it looks at the object in storage again. Lists are reconciled one at a time so
// that no more than one snapshot is being built in memory at once.
func (r *OptOutListReconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.writes = newStatusWrites()
	return ctrl.NewControllerManagedBy(mgr).
		For(&fivesafesv1alpha1.OptOutList{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Named("optoutlist").
		WithOptions(controller.Options{MaxConcurrentReconciles: 1}).
		Complete(r)
}
