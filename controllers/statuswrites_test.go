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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/scheme"
)

func TestStatusWrites(t *testing.T) {
	w := newStatusWrites()
	at := func(sec int) *metav1.Time {
		t := metav1.NewTime(time.Date(2026, 11, 22, 9, 0, sec, 0, time.UTC))
		return &t
	}
	active := func(sec int, approvals int32) fivesafesv1alpha1.DataAccessAgreementStatus {
		return fivesafesv1alpha1.DataAccessAgreementStatus{
			Phase: fivesafesv1alpha1.AgreementActive, Approvals: approvals, ActivatedAt: at(sec),
			Conditions: []metav1.Condition{{Type: "Approved", Status: metav1.ConditionTrue, Reason: "QuorumReached", LastTransitionTime: *at(sec)}},
		}
	}
	const uid = types.UID("a")
	if w.behind(uid, "10") || w.written(uid, active(1, 2)) {
		t.Fatal("nothing was written, yet a read is reported behind a write, or a status written")
	}
	w.wrote(uid, "10", active(1, 2))
	for range 2 {
		if !w.behind(uid, "10") {
			t.Error("a read of version 10, which the write replaced: not reported behind")
		}
	}
	if w.behind(uid, "11") || w.behind("b", "10") {
		t.Error("a read of a later version, or of another object, reported behind the write")
	}
	if !w.written(uid, active(1, 2)) || !w.written(uid, active(3, 2)) {
		t.Error("the status written, or the same status stamped two seconds later: not reported written")
	}
	if w.written(uid, active(1, 3)) || w.written("b", active(1, 2)) {
		t.Error("a different status, or another object's, reported written")
	}
	// The next write replaces the entry.
	w.wrote(uid, "11", active(1, 3))
	if w.behind(uid, "10") || !w.behind(uid, "11") || w.written(uid, active(1, 2)) || !w.written(uid, active(1, 3)) {
		t.Error("after a write over version 11, reads and statuses are judged against the first write")
	}
	// An entry older than a cache can lag holds back no loop and spares no write.
	w.entries[uid] = statusWrite{over: "11", digest: w.entries[uid].digest, at: time.Now().Add(-2 * statusWriteTTL)}
	if w.written(uid, active(1, 3)) || w.behind(uid, "11") {
		t.Error("an expired entry held back a loop or spared a write")
	}
	// Old entries are swept.
	w.wrote("c", "1", active(1, 1))
	w.entries["c"] = statusWrite{over: "1", at: time.Now().Add(-2 * statusWriteTTL)}
	w.swept = time.Time{}
	w.wrote("d", "1", active(1, 1))
	if _, ok := w.entries["c"]; ok || len(w.entries) != 1 {
		t.Errorf("after a sweep %d entries remain, want only the new one", len(w.entries))
	}
	// An object without a UID is not remembered.
	w.wrote("", "1", active(1, 1))
	if w.behind("", "1") {
		t.Error("a write to an object without a UID was remembered")
	}
}

// writeStatus reports and records a write only when the API server made one: a patch it found to
// change nothing (as when another loop has just written the same status) leaves the version as it
// was, announces nothing, and holds back no loop that reads that version.
func TestWriteStatusRecordsRealWrites(t *testing.T) {
	for _, tc := range []struct {
		name string
		noop bool
	}{
		{"a write", false},
		{"a patch that changes nothing", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			daa := &fivesafesv1alpha1.DataAccessAgreement{ObjectMeta: metav1.ObjectMeta{Name: "writes", UID: types.UID("uid-" + tc.name)}}
			b := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(daa).WithStatusSubresource(daa)
			if tc.noop {
				b = b.WithInterceptorFuncs(interceptor.Funcs{
					SubResourcePatch: func(context.Context, client.Client, string, client.Object, client.Patch, ...client.SubResourcePatchOption) error {
						return nil
					},
				})
			}
			c := b.Build()
			read := &fivesafesv1alpha1.DataAccessAgreement{}
			if err := c.Get(t.Context(), client.ObjectKeyFromObject(daa), read); err != nil {
				t.Fatal(err)
			}
			rv := read.ResourceVersion
			w, other := newStatusWrites(), newStatusWrites()
			wrote := writePhase(t, w, c, read, fivesafesv1alpha1.AgreementPending)
			if wrote == tc.noop || w.behind(read.UID, rv) == tc.noop {
				t.Errorf("wrote %v, a loop reading version %s waits %v; want both %v", wrote, rv, w.behind(read.UID, rv), !tc.noop)
			}
			if other.behind(read.UID, rv) || sharedStatusWrites.behind(read.UID, rv) {
				t.Error("another reconciler's record holds back a loop over this one's write")
			}
		})
	}
}

// A write lands on whatever version the object has by then (a merge patch carries no
// resourceVersion): a loop that read a version from after its predecessor's read but before its
// write is not behind that write, and computes the same change again. It writes and announces
// nothing.
func TestWriteStatusOnceWhenAWriteLandsOnALaterVersion(t *testing.T) {
	daa := &fivesafesv1alpha1.DataAccessAgreement{ObjectMeta: metav1.ObjectMeta{Name: "landed", UID: "uid-landed"}}
	c := fake.NewClientBuilder().WithScheme(scheme.New()).WithObjects(daa).WithStatusSubresource(daa).Build()
	get := func() *fivesafesv1alpha1.DataAccessAgreement {
		got := &fivesafesv1alpha1.DataAccessAgreement{}
		if err := c.Get(t.Context(), client.ObjectKeyFromObject(daa), got); err != nil {
			t.Fatal(err)
		}
		return got
	}
	w := newStatusWrites()
	expire := func(read *fivesafesv1alpha1.DataAccessAgreement) bool {
		return writePhase(t, w, c, read, fivesafesv1alpha1.AgreementExpired)
	}
	first := get()
	// Someone annotates the agreement; a second loop reads that version.
	annotated := get()
	annotated.Annotations = map[string]string{"fivesafes.io/reconcile-requested-at": "now"}
	if err := c.Update(t.Context(), annotated); err != nil {
		t.Fatal(err)
	}
	second := get()
	if !expire(first) {
		t.Fatal("the first loop wrote nothing")
	}
	landed := get()
	if readBeforeOwnWrite(w, second) {
		t.Fatal("the second loop's read is reported behind the write, though it is a later version")
	}
	if expire(second) {
		t.Error("the second loop wrote, and would announce, the change again")
	}
	if after := get(); after.ResourceVersion != landed.ResourceVersion {
		t.Errorf("the second loop changed the agreement: version %s, was %s", after.ResourceVersion, landed.ResourceVersion)
	}
}

// writePhase has writeStatus write read's status with its phase set to phase, as a loop would,
// and returns whether it wrote.
func writePhase(t *testing.T, w *statusWrites, c client.Client, read *fivesafesv1alpha1.DataAccessAgreement, phase fivesafesv1alpha1.AgreementPhase) bool {
	t.Helper()
	before := *read.Status.DeepCopy()
	read.Status.Phase = phase
	wrote, err := writeStatus(t.Context(), w, c, read, before, read.Status, func() client.Object {
		base := read.DeepCopy()
		base.Status = before
		return base
	}, "agreement")
	if err != nil {
		t.Fatal(err)
	}
	return wrote
}
