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

	"k8s.io/apimachinery/pkg/types"
)

func TestStatusWrites(t *testing.T) {
	w := &statusWrites{entries: map[types.UID]statusWrite{}}
	const uid = types.UID("a")
	if w.behind(uid, "10") {
		t.Fatal("nothing was written, yet a read is reported behind a write")
	}
	w.wrote(uid, "10")
	if !w.behind(uid, "10") {
		t.Error("a read of version 10, which the write replaced: not reported behind")
	}
	if !w.behind(uid, "10") {
		t.Error("a second read of version 10: not reported behind")
	}
	if w.behind("b", "10") {
		t.Error("a read of another object reported behind this one's write")
	}
	// A read of another version has seen the write.
	if w.behind(uid, "11") {
		t.Error("a read of version 11 reported behind the write over 10")
	}
	// The next write replaces the entry.
	w.wrote(uid, "11")
	if w.behind(uid, "10") || !w.behind(uid, "11") {
		t.Error("after a write over version 11, reads are judged against 10")
	}
	// An entry older than a cache can lag holds back no loop.
	w.wrote(uid, "12")
	w.entries[uid] = statusWrite{over: "12", at: time.Now().Add(-2 * statusWriteTTL)}
	if w.behind(uid, "12") {
		t.Error("an expired entry held back a loop")
	}
	// Old entries are swept.
	w.wrote("c", "1")
	w.entries["c"] = statusWrite{over: "1", at: time.Now().Add(-2 * statusWriteTTL)}
	w.swept = time.Time{}
	w.wrote("d", "1")
	if _, ok := w.entries["c"]; ok || len(w.entries) != 1 {
		t.Errorf("after a sweep %d entries remain, want only the new one", len(w.entries))
	}
	// An object without a UID is not remembered.
	w.wrote("", "1")
	if w.behind("", "1") {
		t.Error("a write to an object without a UID was remembered")
	}
}
