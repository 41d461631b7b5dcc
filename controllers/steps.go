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
	"runtime"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apiruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fivesafes/fivesafes/internal/metrics"
)

// step is one part of a reconcile: it reads or writes one thing and records what it learnt in
// the loop's scope S.
type step[S any] func(context.Context, S) (ctrl.Result, error)

// runSteps runs the steps in order until one fails or settled reports that the loop has nothing
// more to do. It returns the soonest requeue any step asked for, and whether the loop was
// settled early. On an error the result is empty: controller-runtime backs off by itself.
func runSteps[S any](ctx context.Context, s S, steps []step[S], settled func() bool) (ctrl.Result, bool, error) {
	var result ctrl.Result
	for _, st := range steps {
		start := time.Now()
		res, err := st(ctx, s)
		observeStep(st, time.Since(start), err)
		if err != nil {
			return ctrl.Result{}, false, err
		}
		result = lowestRequeue(result, res)
		if settled != nil && settled() {
			return result, true, nil
		}
	}
	return result, false, nil
}

// stepNames caches the controller and step label of each step function, by its code pointer.
var stepNames sync.Map

// observeStep records how long a step took in the step duration histogram, labelled with the
// reconciler and method it is, such as "Workspace" and "reconcileStorage".
func observeStep[S any](st step[S], took time.Duration, err error) {
	pc := reflect.ValueOf(st).Pointer()
	v, ok := stepNames.Load(pc)
	if !ok {
		v, _ = stepNames.LoadOrStore(pc, stepName(runtime.FuncForPC(pc).Name()))
	}
	name := v.([2]string)
	result := "ok"
	if err != nil {
		result = "error"
	}
	metrics.StepSeconds.WithLabelValues(name[0], name[1], result).Observe(took.Seconds())
}

// stepName turns the name of a method value, such as
// "example.org/controllers.(*WorkspaceReconciler).reconcileStorage-fm", into its controller and
// step: "Workspace" and "reconcileStorage". A name of another form is kept whole as the step.
func stepName(fn string) [2]string {
	fn = fn[strings.LastIndex(fn, "/")+1:]
	fn = strings.TrimSuffix(fn, "-fm")
	open, closing := strings.Index(fn, "(*"), strings.Index(fn, ").")
	if open < 0 || closing < open {
		return [2]string{"", fn}
	}
	return [2]string{strings.TrimSuffix(fn[open+2:closing], "Reconciler"), fn[closing+2:]}
}

// lowestRequeue keeps the sooner of two requested requeues.
func lowestRequeue(a, b ctrl.Result) ctrl.Result {
	if b.RequeueAfter > 0 && (a.RequeueAfter == 0 || b.RequeueAfter < a.RequeueAfter) {
		a.RequeueAfter = b.RequeueAfter
	}
	return a
}

// announcement is an event a loop makes once the status that shows it is written: a loop that
// read an object before its predecessor's write took effect computes that change again, and must
// not announce it twice.
type announcement struct {
	eventType, reason, action, note string
}

// announce emits each announcement about obj; with no recorder it emits nothing.
func announce(rec events.EventRecorder, obj apiruntime.Object, as []announcement) {
	if rec == nil {
		return
	}
	for _, a := range as {
		rec.Eventf(obj, nil, a.eventType, a.reason, a.action, "%s", a.note)
	}
}

// readBeforeOwnWrite reports whether obj, as a loop has just read it, predates the controller's
// last status write to it, as recorded in w: the cache has not caught up with that write. The
// loop then does nothing and looks again after ownWriteRequeue, rather than repeat its
// predecessor's work from the status as it was. (Only status writes are remembered; the
// controllers' watches do not all wake them for their own status writes, hence the requeue.)
func readBeforeOwnWrite(w *statusWrites, obj client.Object) bool {
	return recordOf(w).behind(obj.GetUID(), obj.GetResourceVersion())
}

// ownWriteRequeue is how soon a loop that read an object before its own last status write took
// effect looks again: caches are milliseconds behind the API server, seldom more.
const ownWriteRequeue = 200 * time.Millisecond

// writeStatus writes obj's status, once per loop and only when it changed: from before, the
// status as read, and from what the controller last wrote (see statusWrites), and records the
// write in w. It is a merge patch against base, which is obj as read with its status as it was; a
// change the patch cannot carry (a nil list made empty, a time read back at a coarser precision)
// writes nothing, nor does a patch the API server finds to change nothing. An object already gone
// is no error. It reports whether it wrote the status: a loop announces a change only when it is
// the one that made it.
func writeStatus(ctx context.Context, w *statusWrites, c client.Client, obj client.Object, before, after any, base func() client.Object, kind string) (bool, error) {
	if equality.Semantic.DeepEqual(before, after) {
		return false, nil
	}
	uid, rv := obj.GetUID(), obj.GetResourceVersion()
	if recordOf(w).written(uid, after) {
		return false, nil
	}
	data, err := client.MergeFrom(base()).Data(obj)
	if err != nil {
		return false, fmt.Errorf("computing the %s status patch: %w", kind, err)
	}
	if string(data) == "{}" {
		return false, nil
	}
	if err := c.Status().Patch(ctx, obj, client.RawPatch(types.MergePatchType, data)); err != nil {
		if client.IgnoreNotFound(err) != nil {
			return false, fmt.Errorf("patching %s status: %w", kind, err)
		}
		return false, nil
	}
	if obj.GetResourceVersion() == rv {
		// The API server found nothing to change, as when another loop has just written the same
		// status: there is no write to announce, and none for a loop to wait on.
		return false, nil
	}
	recordOf(w).wrote(uid, rv, after)
	return true, nil
}
