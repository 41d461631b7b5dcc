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

package stack

import (
	"net/http"
	"sync"
)

// WriteCounter is an http.RoundTripper that records the requests that may change state, every
// method but GET, HEAD and LIST (Vault's listing), so that a test can show a loop with nothing
// to do wrote nothing to object storage or Vault. It also counts every request it carries, reads
// included, for tests of how many requests a component sends: how often it tries a store that is
// down, or that a loop with nothing to do sends none.
type WriteCounter struct {
	// Base sends the requests; http.DefaultTransport when nil.
	Base http.RoundTripper

	mu       sync.Mutex
	writes   []string
	requests int
}

// RoundTrip counts the request, records it as "METHOD /path" if it may change state, and sends it.
func (w *WriteCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	w.mu.Lock()
	w.requests++
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != "LIST" {
		w.writes = append(w.writes, r.Method+" "+r.URL.Path)
	}
	w.mu.Unlock()
	base := w.Base
	if base == nil {
		base = http.DefaultTransport
	}
	return base.RoundTrip(r)
}

// Take returns the writes recorded since the last Take.
func (w *WriteCounter) Take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.writes
	w.writes = nil
	return out
}

// TakeRequests returns how many requests of any method were carried since the last TakeRequests.
func (w *WriteCounter) TakeRequests() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := w.requests
	w.requests = 0
	return n
}
