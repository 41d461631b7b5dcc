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
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// statusWrites remembers, for each object whose status this process wrote, the resourceVersion
// the write replaced. A loop that reads the object at that version has read it before the write
// reached the cache: it would work from the status as it was, repeating what its predecessor did
// (copies, checks, requests to storage and Vault, audit entries) only to compute, at best, the
// status already written. Such a loop waits for the cache instead (see readBeforeOwnWrite).
type statusWrites struct {
	mu      sync.Mutex
	entries map[types.UID]statusWrite
	swept   time.Time
}

type statusWrite struct {
	over string
	at   time.Time
}

// statusWriteTTL is how long an entry is kept: a cache is seconds behind the API server at most,
// so an older entry no longer says anything about the cache, and a loop that still reads the
// version it names goes ahead rather than wait on a cache that may never catch up.
const statusWriteTTL = 2 * time.Minute

// newStatusWrites returns an empty record. Each reconciler set up with a manager keeps its own
// (SetupWithManager makes it), so that a loop is only ever held back by its own controller's
// writes: another reconciler of the same objects in the process, as tests run beside the
// manager's, keeps state of its own (an opt-out list's loaded set) that those writes say nothing
// about. Entries are keyed by object UID.
func newStatusWrites() *statusWrites {
	return &statusWrites{entries: map[types.UID]statusWrite{}}
}

// sharedStatusWrites is the record of the reconcilers used without a manager, as tests use them.
var sharedStatusWrites = newStatusWrites()

// recordOf returns w, or the shared record when w is nil.
func recordOf(w *statusWrites) *statusWrites {
	if w != nil {
		return w
	}
	return sharedStatusWrites
}

// behind reports whether rv, the resourceVersion of the object with uid a loop has read, is the
// one this process's last status write to the object replaced: the read predates that write. (A
// cache never goes back, so once a loop has read a later version, no loop reads this one again;
// the entry is left to expire.)
func (w *statusWrites) behind(uid types.UID, rv string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	e, ok := w.entries[uid]
	if ok && time.Since(e.at) > statusWriteTTL {
		delete(w.entries, uid)
		return false
	}
	return ok && e.over == rv
}

// wrote records that this process wrote the status of the object with uid over resourceVersion rv.
func (w *statusWrites) wrote(uid types.UID, rv string) {
	if uid == "" {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.entries[uid] = statusWrite{over: rv, at: now}
	if now.Sub(w.swept) > statusWriteTTL {
		for k, e := range w.entries {
			if now.Sub(e.at) > statusWriteTTL {
				delete(w.entries, k)
			}
		}
		w.swept = now
	}
}
