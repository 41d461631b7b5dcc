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

// Package optoutcache holds the opt-out snapshots the OptOutList controller has loaded, in
// memory, for extraction to look people up in. Each OptOutList has at most one snapshot here: the
// last one that was read in full and matched its expected digest.
package optoutcache

import (
	"sync"

	"github.com/fivesafes/fivesafes/internal/optout"
)

// Entry is one loaded snapshot and what identifies it.
type Entry struct {
	// Set holds the snapshot's distinct valid NHS numbers.
	Set *optout.Set
	// Invalid is the number of the snapshot's lines that were not valid NHS numbers.
	Invalid int64
	// SnapshotDate is the date (YYYY-MM-DD) the snapshot was taken, as the list's spec named it.
	SnapshotDate string
	// Digest is the sha256 of the snapshot object: "sha256:" and 64 lower-case hex characters.
	Digest string
	// ETag is the object's entity tag when it was read.
	ETag string
	// Generation is the OptOutList generation the snapshot was loaded for.
	Generation int64
	// UID is the uid of the OptOutList the snapshot was loaded for.
	UID string
}

// Cache maps OptOutList names to their loaded snapshots. The zero value is empty and ready to
// use; it is safe for concurrent use. A Set, once stored, is never changed, so callers may keep
// and use it after a newer snapshot replaces it.
type Cache struct {
	mu      sync.RWMutex
	entries map[string]Entry
}

// New returns an empty Cache.
func New() *Cache {
	return &Cache{}
}

// Current returns the snapshot loaded for the list name, with its date and digest. ok is false
// when none is loaded. The snapshot may be older than the list's spec names when the newer one
// could not be loaded; callers that must use exactly the snapshot the list names compare digest
// with the list's status and require its Ready condition.
func (c *Cache) Current(name string) (set *optout.Set, snapshotDate, digest string, ok bool) {
	e, ok := c.Get(name)
	if !ok {
		return nil, "", "", false
	}
	return e.Set, e.SnapshotDate, e.Digest, true
}

// Get returns the whole entry for the list name.
func (c *Cache) Get(name string) (Entry, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	e, ok := c.entries[name]
	return e, ok
}

// Lookup returns the snapshot loaded for the list name only when it has the given digest, so a
// caller that recorded a digest gets that snapshot or nothing.
func (c *Cache) Lookup(name, digest string) (*optout.Set, bool) {
	e, ok := c.Get(name)
	if !ok || e.Digest != digest {
		return nil, false
	}
	return e.Set, true
}

// Store makes e the snapshot loaded for the list name, replacing any earlier one.
func (c *Cache) Store(name string, e Entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]Entry{}
	}
	c.entries[name] = e
}

// Delete forgets the snapshot of the list name, so its memory can be reclaimed.
func (c *Cache) Delete(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, name)
}
