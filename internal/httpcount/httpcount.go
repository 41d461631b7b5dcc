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

// Package httpcount counts the HTTP requests a client sends, for tests that check how many
// requests a component makes: how often it tries a store that is down, or that a loop with
// nothing to do sends none.
package httpcount

import (
	"net/http"
	"sync/atomic"
)

// Transport counts the requests it carries and hands them to http.DefaultTransport.
type Transport struct {
	n atomic.Int64
}

// RoundTrip counts req and sends it.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.n.Add(1)
	return http.DefaultTransport.RoundTrip(req)
}

// Count returns how many requests have been carried since the start or the last Reset.
func (t *Transport) Count() int64 { return t.n.Load() }

// Reset starts the count again from zero.
func (t *Transport) Reset() { t.n.Store(0) }
