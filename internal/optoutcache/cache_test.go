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

package optoutcache_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/fivesafes/fivesafes/internal/optout"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
)

func setOf(t *testing.T, lines ...string) *optout.Set {
	t.Helper()
	snap, err := optout.Parse(t.Context(), strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return snap.Set
}

func TestCache(t *testing.T) {
	a := optoutcache.Entry{Set: setOf(t, "9434765919"), SnapshotDate: "2026-10-01", Digest: "sha256:aa", ETag: "e1", Generation: 1}
	b := optoutcache.Entry{Set: setOf(t, "9434765919", "9434765870"), SnapshotDate: "2026-11-01", Digest: "sha256:bb", ETag: "e2", Generation: 2}
	type op struct {
		store  *optoutcache.Entry
		del    bool
		name   string
		want   *optoutcache.Entry
		digest string // for Lookup
		found  bool   // Lookup's answer
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"empty", []op{{name: "nde", digest: "sha256:aa"}}},
		{"stored", []op{{store: &a, name: "nde", want: &a, digest: "sha256:aa", found: true}}},
		{"other name", []op{{store: &a, name: "nde"}, {name: "other", digest: "sha256:aa"}}},
		{"replaced", []op{{store: &a, name: "nde"}, {store: &b, name: "nde", want: &b, digest: "sha256:bb", found: true}}},
		{"old digest not found", []op{{store: &a, name: "nde"}, {store: &b, name: "nde", want: &b, digest: "sha256:aa"}}},
		{"deleted", []op{{store: &a, name: "nde"}, {del: true, name: "nde", digest: "sha256:aa"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c optoutcache.Cache
			for _, o := range tt.ops {
				switch {
				case o.store != nil:
					c.Store(o.name, *o.store)
				case o.del:
					c.Delete(o.name)
				}
			}
			last := tt.ops[len(tt.ops)-1]
			set, date, digest, ok := c.Current(last.name)
			if ok != (last.want != nil) {
				t.Fatalf("Current ok = %v, want %v", ok, last.want != nil)
			}
			if last.want != nil && (set != last.want.Set || date != last.want.SnapshotDate || digest != last.want.Digest) {
				t.Errorf("Current = %p %s %s, want %p %s %s", set, date, digest, last.want.Set, last.want.SnapshotDate, last.want.Digest)
			}
			if last.want != nil {
				if e, _ := c.Get(last.name); e != *last.want {
					t.Errorf("Get = %+v, want %+v", e, *last.want)
				}
			}
			got, found := c.Lookup(last.name, last.digest)
			if found != last.found || (found && got != last.want.Set) {
				t.Errorf("Lookup(%s) = %p %v, want found %v", last.digest, got, found, last.found)
			}
		})
	}
}

// TestCacheConcurrent stores and reads from many goroutines; run with -race.
func TestCacheConcurrent(t *testing.T) {
	c := optoutcache.New()
	set := setOf(t, "9434765919")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 1000 {
				if (i+j)%3 == 0 {
					c.Store("nde", optoutcache.Entry{Set: set, Digest: "sha256:aa", Generation: int64(j)})
				} else if s, _, _, ok := c.Current("nde"); ok && s.Len() != 1 {
					t.Errorf("Len = %d, want 1", s.Len())
					return
				}
			}
		}()
	}
	wg.Wait()
	if s, _, _, ok := c.Current("nde"); !ok || !s.Contains(9434765919) {
		t.Error("the stored set is missing after concurrent use")
	}
}
