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

package extractjob

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// A copy made part by part, in any order and with a part retried, publishes the same objects
// and counts as Run; until every part is recorded nothing is published; the part records do
// not outlive the publication.
func TestExtractPartsMatchRun(t *testing.T) {
	ctx := t.Context()
	set := optOutSet(t, 10, 2000)

	whole := newFixture(t, "parts-whole", 3)
	want, err := Run(ctx, whole.input(t, NewRunID(time.Now()), set, "sha256:01"))
	if err != nil {
		t.Fatal(err)
	}

	f := newFixture(t, "parts-split", 3)
	runID := NewRunID(time.Now())
	in := f.input(t, runID, set, "sha256:01")
	recorded := 0
	in.BeforePublish = func(context.Context, Manifest) error { recorded++; return nil }
	if _, err := Publish(ctx, in, time.Now()); !errors.Is(err, ErrPartsMissing) {
		t.Fatalf("publishing before any part: %v, want ErrPartsMissing", err)
	}
	for _, i := range []int{2, 0, 2} {
		if _, err := RunPart(ctx, in, i); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Publish(ctx, in, time.Now()); !errors.Is(err, ErrPartsMissing) || !strings.Contains(err.Error(), "1 of 3") {
		t.Fatalf("publishing with a part missing: %v", err)
	}
	if m, _ := ReadManifest(ctx, f.c, f.workspace, "hes-apc"); m != nil || recorded != 0 {
		t.Fatal("a copy with a part missing was published or recorded")
	}
	if _, err := RunPart(ctx, in, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := RunPart(ctx, in, 3); err == nil {
		t.Fatal("a part beyond the source was made")
	}
	got, err := Publish(ctx, in, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if recorded != 1 || got.Rows != want.Rows || len(got.Objects) != len(want.Objects) {
		t.Fatalf("parts published %+v (recorded %d times), Run %+v", got.Rows, recorded, want.Rows)
	}
	for i := range got.Objects {
		g, w := got.Objects[i], want.Objects[i]
		if g.SHA256 != w.SHA256 || g.Size != w.Size || g.Rows != w.Rows || g.Counts != w.Counts || g.Source != w.Source {
			t.Errorf("object %d: parts %+v, Run %+v", i+1, g, w)
		}
	}
	for _, k := range keys(t, f, "datasets/hes-apc/") {
		if strings.Contains(k, "/parts/") {
			t.Errorf("part record %s outlived the publication", k)
		}
	}
}
