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
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	clocktesting "k8s.io/utils/clock/testing"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
	"github.com/fivesafes/fivesafes/internal/synth"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// optOutHarness is an OptOutListReconciler on the environment's API server and MinIO, with a
// clock of its own and events recorded to the API server.
type optOutHarness struct {
	r      *controllers.OptOutListReconciler
	cache  *optoutcache.Cache
	clock  *clocktesting.FakePassiveClock
	s3     *readCounter
	events *countingRecorder
}

// readCounter is the MinIO client, counting the objects it opens.
type readCounter struct {
	*minio.Client
	reads atomic.Int64
}

func (c *readCounter) GetObject(ctx context.Context, bucket, key string, o minio.GetObjectOptions) (*minio.Object, error) {
	c.reads.Add(1)
	return c.Client.GetObject(ctx, bucket, key, o)
}

func newOptOutHarness(t *testing.T, bucket string) *optOutHarness {
	t.Helper()
	ctx := t.Context()
	mc, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := mc.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
		t.Fatal(err)
	}
	h := &optOutHarness{
		cache:  optoutcache.New(),
		clock:  clocktesting.NewFakePassiveClock(time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)),
		s3:     &readCounter{Client: mc},
		events: newRecorder(t, "fivesafes-optoutlist"),
	}
	h.r = &controllers.OptOutListReconciler{
		Client:   env.Client,
		Scheme:   env.Client.Scheme(),
		Recorder: h.events,
		Clock:    h.clock,
		S3:       h.s3,
		Cache:    h.cache,
		Resync:   7 * time.Minute,
	}
	return h
}

// reconcile runs one loop for the list and returns the list as stored afterwards.
func (h *optOutHarness) reconcile(t *testing.T, name string) (*fivesafesv1alpha1.OptOutList, ctrl.Result, error) {
	t.Helper()
	res, err := h.r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKey{Name: name}})
	list := &fivesafesv1alpha1.OptOutList{}
	if gerr := env.Client.Get(t.Context(), client.ObjectKey{Name: name}, list); gerr != nil {
		t.Fatal(gerr)
	}
	return list, res, err
}

func (h *optOutHarness) upload(t *testing.T, bucket, key string, body []byte) {
	t.Helper()
	if _, err := h.s3.PutObject(t.Context(), bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// optOutSnapshot generates a synthetic opt-out list of rows people, with extra lines appended.
func optOutSnapshot(t *testing.T, rows int64, extra ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.Generate(t.Context(), &buf, synth.Options{Dataset: synth.OptOuts, Rows: rows, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	for _, l := range extra {
		buf.WriteString(l + "\n")
	}
	return buf.Bytes()
}

// optOutCounts is what a snapshot holds, counted line by line without the optout package.
type optOutCounts struct {
	numbers map[uint64]bool
	invalid int64
	digest  fivesafesv1alpha1.Digest
}

func countOptOuts(t *testing.T, body []byte) optOutCounts {
	t.Helper()
	sum := sha256.Sum256(body)
	c := optOutCounts{numbers: map[uint64]bool{}, digest: fivesafesv1alpha1.Digest("sha256:" + hex.EncodeToString(sum[:]))}
	sc := bufio.NewScanner(bytes.NewReader(body))
	if !sc.Scan() || sc.Text() != "nhs_number" {
		t.Fatalf("the snapshot does not start with its header")
	}
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		n, err := nhsnumber.Parse(sc.Text())
		if err != nil {
			c.invalid++
			continue
		}
		c.numbers[n.Uint64()] = true
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return c
}

func createOptOutList(t *testing.T, name, bucket, key, date string, digest fivesafesv1alpha1.Digest) {
	t.Helper()
	list := &fivesafesv1alpha1.OptOutList{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: fivesafesv1alpha1.OptOutListSpec{
			SnapshotDate: date,
			Source:       fivesafesv1alpha1.OptOutSource{Bucket: bucket, Key: key},
			Digest:       digest,
		},
	}
	if err := env.Client.Create(t.Context(), list); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Client.Delete(context.Background(), list) })
}

// checkLoaded checks the status and the cache hold exactly the snapshot optOutCounts in want.
func checkLoaded(t *testing.T, h *optOutHarness, list *fivesafesv1alpha1.OptOutList, date string, want optOutCounts) {
	t.Helper()
	st := list.Status
	if st.SnapshotDate != date || st.Digest != want.digest || st.Count != int64(len(want.numbers)) || st.Invalid != want.invalid {
		t.Errorf("status = date %s digest %s count %d invalid %d; want %s %s %d %d",
			st.SnapshotDate, st.Digest, st.Count, st.Invalid, date, want.digest, len(want.numbers), want.invalid)
	}
	if st.ObservedGeneration != list.Generation {
		t.Errorf("observedGeneration = %d, want %d", st.ObservedGeneration, list.Generation)
	}
	for _, ty := range []string{fivesafesv1alpha1.OptOutLoaded, fivesafesv1alpha1.ConditionReady} {
		c := meta.FindStatusCondition(st.Conditions, ty)
		if c == nil || c.Status != metav1.ConditionTrue || c.Reason != controllers.ReasonOptOutLoaded || c.ObservedGeneration != list.Generation {
			t.Errorf("%s = %+v, want True %s at generation %d", ty, c, controllers.ReasonOptOutLoaded, list.Generation)
		}
	}
	set, gotDate, gotDigest, ok := h.cache.Current(list.Name)
	if !ok {
		t.Fatal("the cache holds no snapshot for the list")
	}
	if gotDate != date || fivesafesv1alpha1.Digest(gotDigest) != want.digest || set.Len() != len(want.numbers) {
		t.Errorf("cache = %s %s %d numbers, want %s %s %d", gotDate, gotDigest, set.Len(), date, want.digest, len(want.numbers))
	}
	for n := range want.numbers {
		if !set.Contains(n) {
			t.Fatal("a number in the snapshot is missing from the cached set")
		}
	}
}

func optOutCondition(list *fivesafesv1alpha1.OptOutList, ty string) *metav1.Condition {
	return meta.FindStatusCondition(list.Status.Conditions, ty)
}

// waitForEvent waits for an event about the object of this kind and name with the given reason.
func waitForEvent(t *testing.T, kind, name, reason string) eventsv1.Event {
	t.Helper()
	var found eventsv1.Event
	err := wait.PollUntilContextTimeout(t.Context(), 100*time.Millisecond, 20*time.Second, true, func(ctx context.Context) (bool, error) {
		var evs eventsv1.EventList
		if err := env.Client.List(ctx, &evs); err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.Regarding.Kind == kind && e.Regarding.Name == name && e.Reason == reason {
				found = e
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for %s %s: %v", reason, kind, name, err)
	}
	return found
}

func TestOptOutListLoadsAndReloads(t *testing.T) {
	bucket, key, name := testname.Fresh(t, "optout-reload"), "nde/current.csv", testname.Fresh(t, "nde-reload")
	h := newOptOutHarness(t, bucket)
	first := optOutSnapshot(t, 3000)
	h.upload(t, bucket, key, first)
	createOptOutList(t, name, bucket, key, "2026-10-01", "")
	stale := &fivesafesv1alpha1.OptOutList{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Name: name}, stale); err != nil {
		t.Fatal(err)
	}
	h.events.take()

	list, res, err := h.reconcile(t, name)
	if err != nil {
		t.Fatal(err)
	}
	// The manager's own opt-out controller may have loaded the list first, leaving this loop
	// nothing to write or announce.
	ev := h.events.take()
	if len(ev) > 1 || (len(ev) == 1 && ev[controllers.ReasonOptOutLoaded] != 1) {
		t.Errorf("the load was announced %v; want at most one %s", ev, controllers.ReasonOptOutLoaded)
	}
	if ev[controllers.ReasonOptOutLoaded] == 1 {
		// This loop wrote the load: a loop of the same controller that reads the list as it was
		// before that write does nothing and looks again soon. (When the manager's controller
		// wrote it, a lagging loop here would be another controller's, which that write does
		// not hold back.)
		direct := h.r.Client
		h.r.Client = laggingClient(t, stale)
		readsBefore := h.s3.reads.Load()
		_, lagged, err := h.reconcile(t, name)
		if err != nil {
			t.Fatal(err)
		}
		h.r.Client = direct
		if ev := h.events.take(); len(ev) != 0 {
			t.Errorf("a lagging loop announced %v again", ev)
		}
		if n := h.s3.reads.Load() - readsBefore; n != 0 || lagged.RequeueAfter <= 0 {
			t.Errorf("a lagging loop read %d snapshots and asked to look again after %v; want none, and soon", n, lagged.RequeueAfter)
		}
	}
	if res.RequeueAfter != h.r.Resync {
		t.Errorf("RequeueAfter = %v, want the resync period %v", res.RequeueAfter, h.r.Resync)
	}
	want := countOptOuts(t, first)
	checkLoaded(t, h, list, "2026-10-01", want)
	if list.Status.LoadedAt == nil || !list.Status.LoadedAt.Time.Equal(h.clock.Now()) {
		t.Errorf("loadedAt = %v, want %v", list.Status.LoadedAt, h.clock.Now())
	}
	waitForEvent(t, "OptOutList", name, controllers.ReasonOptOutLoaded)

	t.Run("resync with nothing changed writes no status and keeps the set", func(t *testing.T) {
		set, _, _, _ := h.cache.Current(name)
		reads := h.s3.reads.Load()
		h.clock.SetTime(h.clock.Now().Add(time.Hour))
		again, _, err := h.reconcile(t, name)
		if err != nil {
			t.Fatal(err)
		}
		if again.ResourceVersion != list.ResourceVersion {
			t.Errorf("status was written: resourceVersion %s, was %s", again.ResourceVersion, list.ResourceVersion)
		}
		if now, _, _, _ := h.cache.Current(name); now != set || h.s3.reads.Load() != reads {
			t.Error("the snapshot was loaded again")
		}
	})

	t.Run("a replaced object is reloaded", func(t *testing.T) {
		second := optOutSnapshot(t, 4500, "", "123 456 789", "not a number", "9434765918")
		h.upload(t, bucket, key, second)
		h.clock.SetTime(h.clock.Now().Add(time.Hour))
		list, _, err := h.reconcile(t, name)
		if err != nil {
			t.Fatal(err)
		}
		want2 := countOptOuts(t, second)
		if len(want2.numbers) <= len(want.numbers) || want2.invalid != 3 || want2.digest == want.digest {
			t.Fatalf("the second snapshot (%d numbers, %d invalid) is not the larger one the test needs", len(want2.numbers), want2.invalid)
		}
		checkLoaded(t, h, list, "2026-10-01", want2)
		if list.Status.LoadedAt == nil || !list.Status.LoadedAt.Time.Equal(h.clock.Now()) {
			t.Errorf("loadedAt = %v, want %v", list.Status.LoadedAt, h.clock.Now())
		}
	})

	t.Run("a new snapshot named in the spec is reloaded", func(t *testing.T) {
		third := optOutSnapshot(t, 1000)
		h.upload(t, bucket, "nde/2026-11-01.csv", third)
		want3 := countOptOuts(t, third)
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: name}, list); err != nil {
			t.Fatal(err)
		}
		list.Spec.SnapshotDate = "2026-11-01"
		list.Spec.Source.Key = "nde/2026-11-01.csv"
		list.Spec.Digest = want3.digest
		if err := env.Client.Update(t.Context(), list); err != nil {
			t.Fatal(err)
		}
		h.clock.SetTime(h.clock.Now().Add(time.Hour))
		got, _, err := h.reconcile(t, name)
		if err != nil {
			t.Fatal(err)
		}
		checkLoaded(t, h, got, "2026-11-01", want3)
	})
}

func TestOptOutListDigestMismatch(t *testing.T) {
	bucket, key, name := testname.Fresh(t, "optout-digest"), "nde/current.csv", testname.Fresh(t, "nde-digest")
	h := newOptOutHarness(t, bucket)
	body := optOutSnapshot(t, 2000)
	h.upload(t, bucket, key, body)
	wrong := fivesafesv1alpha1.Digest("sha256:" + hex.EncodeToString(make([]byte, 32)))
	createOptOutList(t, name, bucket, key, "2026-10-01", wrong)

	list, res, err := h.reconcile(t, name)
	if err != nil {
		t.Fatalf("a digest mismatch is the user's to fix, so Reconcile returns no error; got %v", err)
	}
	if res.RequeueAfter != h.r.Resync {
		t.Errorf("RequeueAfter = %v, want the resync period %v", res.RequeueAfter, h.r.Resync)
	}
	for _, ty := range []string{fivesafesv1alpha1.OptOutLoaded, fivesafesv1alpha1.ConditionReady} {
		if c := optOutCondition(list, ty); c == nil || c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonOptOutDigestMismatch {
			t.Errorf("%s = %+v, want False %s", ty, c, controllers.ReasonOptOutDigestMismatch)
		}
	}
	if list.Status.Digest != "" || list.Status.Count != 0 || list.Status.LoadedAt != nil {
		t.Errorf("a refused snapshot is recorded in status: %+v", list.Status)
	}
	if _, _, _, ok := h.cache.Current(name); ok {
		t.Error("a refused snapshot is in the cache")
	}
	waitForEvent(t, "OptOutList", name, controllers.ReasonOptOutDigestMismatch)

	reads := h.s3.reads.Load()
	again, _, err := h.reconcile(t, name)
	if err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != list.ResourceVersion {
		t.Error("status was written again with nothing changed")
	}
	if h.s3.reads.Load() != reads {
		t.Error("the refused object was read again though neither it nor the spec changed")
	}

	want := countOptOuts(t, body)
	again.Spec.Digest = want.digest
	if err := env.Client.Update(t.Context(), again); err != nil {
		t.Fatal(err)
	}
	fixed, _, err := h.reconcile(t, name)
	if err != nil {
		t.Fatal(err)
	}
	checkLoaded(t, h, fixed, "2026-10-01", want)

	t.Run("a replacement that does not match is refused and the verified snapshot kept", func(t *testing.T) {
		h.upload(t, bucket, key, optOutSnapshot(t, 2500))
		list, _, err := h.reconcile(t, name)
		if err != nil {
			t.Fatal(err)
		}
		for _, ty := range []string{fivesafesv1alpha1.OptOutLoaded, fivesafesv1alpha1.ConditionReady} {
			if c := optOutCondition(list, ty); c == nil || c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonOptOutDigestMismatch {
				t.Errorf("%s = %+v, want False %s", ty, c, controllers.ReasonOptOutDigestMismatch)
			}
		}
		if list.Status.Digest != want.digest || list.Status.Count != int64(len(want.numbers)) {
			t.Errorf("status = %s %d, want the verified snapshot %s %d", list.Status.Digest, list.Status.Count, want.digest, len(want.numbers))
		}
		if _, _, digest, ok := h.cache.Current(name); !ok || fivesafesv1alpha1.Digest(digest) != want.digest {
			t.Errorf("cache holds %s (%v), want the verified snapshot %s", digest, ok, want.digest)
		}
	})
}

func TestOptOutListSourceUnavailable(t *testing.T) {
	bucket, key, name := testname.Fresh(t, "optout-missing"), "nde/current.csv", testname.Fresh(t, "nde-missing")
	h := newOptOutHarness(t, bucket)
	createOptOutList(t, name, bucket, key, "2026-10-01", "")

	list, _, err := h.reconcile(t, name)
	if err == nil {
		t.Fatal("a missing object gives no error, so no backoff")
	}
	for _, ty := range []string{fivesafesv1alpha1.OptOutLoaded, fivesafesv1alpha1.ConditionReady} {
		if c := optOutCondition(list, ty); c == nil || c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonOptOutSourceUnavailable {
			t.Errorf("%s = %+v, want False %s", ty, c, controllers.ReasonOptOutSourceUnavailable)
		}
	}
	if _, _, _, ok := h.cache.Current(name); ok {
		t.Error("the cache holds a snapshot for a missing object")
	}
	waitForEvent(t, "OptOutList", name, controllers.ReasonOptOutSourceUnavailable)

	body := optOutSnapshot(t, 500)
	h.upload(t, bucket, key, body)
	list, _, err = h.reconcile(t, name)
	if err != nil {
		t.Fatal(err)
	}
	checkLoaded(t, h, list, "2026-10-01", countOptOuts(t, body))

	t.Run("a deleted list leaves the cache", func(t *testing.T) {
		if err := env.Client.Delete(t.Context(), list); err != nil {
			t.Fatal(err)
		}
		if _, err := h.r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKey{Name: name}}); err != nil {
			t.Fatal(err)
		}
		if _, _, _, ok := h.cache.Current(name); ok {
			t.Error("the cache still holds the deleted list's snapshot")
		}
	})
}
