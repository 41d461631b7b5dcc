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
	"crypto/sha256"
	"encoding/json"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// statusWrites remembers, for each object whose status a controller wrote, the resourceVersion
// the write replaced and a digest of the status written.
//
// A loop that reads the object at that version has read it before the write reached the cache:
// it would work from the status as it was, repeating what its predecessor did (copies, checks,
// requests to storage and Vault, audit entries) only to compute, at best, the status already
// written. Such a loop waits for the cache instead (see readBeforeOwnWrite).
//
// A merge patch carries no resourceVersion, so a write can land on a later version than the one
// its loop read (an annotation added meanwhile): a loop that reads that later version, from before
// the write, computes the same change again. The digest catches it: a status that is what the
// controller last wrote to the object is not written, nor announced, again.
type statusWrites struct {
	mu      sync.Mutex
	entries map[types.UID]statusWrite
	swept   time.Time
}

type statusWrite struct {
	over   string
	digest [sha256.Size]byte
	at     time.Time
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
// one the controller's last status write to the object replaced: the read predates that write. (A
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

// written reports whether status is, but for its times, what the controller last wrote to the
// object with uid, within statusWriteTTL.
func (w *statusWrites) written(uid types.UID, status any) bool {
	w.mu.Lock()
	e, ok := w.entries[uid]
	w.mu.Unlock()
	if !ok || time.Since(e.at) > statusWriteTTL {
		return false
	}
	d, ok := statusDigest(status)
	return ok && d == e.digest
}

// statusDigest is the digest of status with its times left out: a loop that computes a change
// already written stamps it again, with its own clock; the status it computes is the same, only
// later.
func statusDigest(status any) ([sha256.Size]byte, bool) {
	b, err := json.Marshal(status)
	if err != nil {
		return [sha256.Size]byte{}, false
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return [sha256.Size]byte{}, false
	}
	if b, err = json.Marshal(withoutTimes(v)); err != nil {
		return [sha256.Size]byte{}, false
	}
	return sha256.Sum256(b), true
}

// withoutTimes replaces every RFC 3339 time in a decoded JSON value with "".
func withoutTimes(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = withoutTimes(e)
		}
	case []any:
		for i, e := range x {
			x[i] = withoutTimes(e)
		}
	case string:
		if _, err := time.Parse(time.RFC3339, x); err == nil {
			return ""
		}
	}
	return v
}

// wrote records that the controller wrote status to the object with uid over resourceVersion rv.
func (w *statusWrites) wrote(uid types.UID, rv string, status any) {
	d, ok := statusDigest(status)
	if !ok || uid == "" {
		return
	}
	now := time.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.entries[uid] = statusWrite{over: rv, digest: d, at: now}
	if now.Sub(w.swept) > statusWriteTTL {
		for k, e := range w.entries {
			if now.Sub(e.at) > statusWriteTTL {
				delete(w.entries, k)
			}
		}
		w.swept = now
	}
}
