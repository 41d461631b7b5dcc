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

package testname

import "testing"

// run stands for one run of a test named name.
type run struct {
	testing.TB
	name string
}

func (r *run) Name() string { return r.name }

func TestFresh(t *testing.T) {
	// The runs of this test's made-up tests start from none, in every run of this test.
	runs.Lock()
	runs.byTest = map[string]testRun{}
	runs.Unlock()
	first, second, other := &run{t, "TestJourney"}, &run{t, "TestJourney"}, &run{t, "TestOther"}
	for _, c := range []struct {
		t    testing.TB
		name string
		want string
	}{
		{first, "ws", "ws"},
		{first, "ws", "ws"},
		{first, "bucket", "bucket"},
		{second, "ws", "ws-r2"},
		{second, "bucket", "bucket-r2"},
		{other, "ws", "ws"},
		{&run{t, "TestJourney"}, "ws", "ws-r3"},
	} {
		if got := Fresh(c.t, c.name); got != c.want {
			t.Errorf("Fresh(%s, %q) = %q, want %q", c.t.Name(), c.name, got, c.want)
		}
	}
}
