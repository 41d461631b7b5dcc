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
	"reflect"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/events"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	"github.com/fivesafes/fivesafes/internal/testenv"
)

var (
	env *testenv.Env
	// clock is the manager's clock; tests move it instead of sleeping.
	clock = clocktesting.NewFakePassiveClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC))
)

func TestMain(m *testing.M) {
	testenv.MainWith(m, testenv.Options{Webhooks: true, UserRoles: true, ControllerManager: true, MinIO: true, Vault: true}, &env,
		func(ctx context.Context, e *testenv.Env) error {
			o := e.ManagerOptions()
			o.Clock = clock
			// The extract and output tests drive those reconcilers themselves, with a harness audit log.
			o.WithoutExtractor = true
			o.WithoutOutputs = true
			return e.StartManager(ctx, o)
		})
}

// countingRecorder records events to the API server, as the manager's recorder does, and counts
// them by reason, so that a test can say how many times a loop announced something.
type countingRecorder struct {
	events.EventRecorder

	mu       sync.Mutex
	byReason map[string]int
}

// newRecorder returns a countingRecorder for component, writing through a broadcaster that stops
// when the test ends.
func newRecorder(t *testing.T, component string) *countingRecorder {
	t.Helper()
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: cs.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(broadcaster.Shutdown)
	return &countingRecorder{EventRecorder: broadcaster.NewRecorder(env.Client.Scheme(), component), byReason: map[string]int{}}
}

func (r *countingRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...any) {
	r.mu.Lock()
	r.byReason[reason]++
	r.mu.Unlock()
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
}

// take returns the counts by reason since the last take, and starts counting again.
func (r *countingRecorder) take() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.byReason
	r.byReason = map[string]int{}
	return out
}

// laggingClient is a client of the environment's API server that reads stale's object as stale, as
// a cache that has not yet seen the writes made since would hand it to a loop.
func laggingClient(t *testing.T, stale client.Object) client.Client {
	t.Helper()
	base, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Client.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	key := client.ObjectKeyFromObject(stale)
	return interceptor.NewClient(base, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, k client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if k == key && reflect.TypeOf(obj) == reflect.TypeOf(stale) {
				reflect.ValueOf(obj).Elem().Set(reflect.ValueOf(stale.DeepCopyObject()).Elem())
				return nil
			}
			return c.Get(ctx, k, obj, opts...)
		},
	})
}
