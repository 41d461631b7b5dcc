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
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

func TestStatusWrites(t *testing.T) {
	w := &statusWrites{entries: map[types.UID]statusWrite{}}
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
	if w.written(uid, "10", active(1, 2)) {
		t.Fatal("nothing was written, yet written reports a write")
	}
	w.wrote(uid, "10", active(1, 2))
	if !w.written(uid, "10", active(1, 2)) {
		t.Error("a read of version 10 computing the status written over it: not reported")
	}
	if !w.written(uid, "10", active(3, 2)) {
		t.Error("the same status stamped two seconds later: not reported")
	}
	if w.written(uid, "10", active(1, 3)) {
		t.Error("a different status reported as already written")
	}
	if w.written("b", "10", active(1, 2)) {
		t.Error("another object's write reported")
	}
	// A read of a later version has seen the write: the entry is dropped.
	if w.written(uid, "11", active(1, 2)) {
		t.Error("a read of version 11 reported as predating the write")
	}
	if w.written(uid, "10", active(1, 2)) {
		t.Error("the entry outlived a read that had seen the write")
	}
	// Entries older than the cache can lag are swept.
	w.wrote(uid, "12", active(1, 2))
	w.entries[uid] = statusWrite{over: "12", digest: w.entries[uid].digest, at: time.Now().Add(-2 * statusWriteTTL)}
	if w.written(uid, "12", active(1, 2)) {
		t.Error("an expired entry spared a write")
	}
	w.wrote("c", "1", active(1, 1))
	w.entries["c"] = statusWrite{over: "1", at: time.Now().Add(-2 * statusWriteTTL)}
	w.swept = time.Time{}
	w.wrote("d", "1", active(1, 1))
	if _, ok := w.entries["c"]; ok || len(w.entries) != 1 {
		t.Errorf("after a sweep %d entries remain, want only the new one", len(w.entries))
	}
}
