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

// Package testname names what tests make in shared servers (an API server, MinIO, Vault) so that
// repeated runs of a test in one process (go test -count) do not collide.
package testname

import (
	"fmt"
	"sync"
	"testing"
)

// runs counts the runs of each test in this process (go test -count), by test name.
var runs = struct {
	sync.Mutex
	byTest map[string]testRun
}{byTest: map[string]testRun{}}

type testRun struct {
	t testing.TB
	n int
}

// Fresh returns name in a test's first run in this process, and name with "-r2", "-r3", … in its
// later runs, so that what a test makes in a shared API server, MinIO or Vault does not collide
// with what its earlier runs made: envtest has no namespace controller, so nothing a run made
// goes away before the next. Every call within one run returns the same suffix.
func Fresh(t testing.TB, name string) string {
	runs.Lock()
	defer runs.Unlock()
	r := runs.byTest[t.Name()]
	if r.t != t {
		r = testRun{t: t, n: r.n + 1}
		runs.byTest[t.Name()] = r
	}
	if r.n == 1 {
		return name
	}
	return fmt.Sprintf("%s-r%d", name, r.n)
}
