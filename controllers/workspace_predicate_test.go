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

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/event"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// The workspace controller is not woken by its own status writes, and is by every other change.
func TestNotStatusOnly(t *testing.T) {
	base := &fivesafesv1alpha1.Workspace{ObjectMeta: metav1.ObjectMeta{
		Name: "ws", Generation: 1, ResourceVersion: "10",
		Labels: map[string]string{"a": "b"}, Annotations: map[string]string{"c": "d"}, Finalizers: []string{WorkspaceFinalizer},
	}}
	now := metav1.Now()
	for name, tc := range map[string]struct {
		change func(*fivesafesv1alpha1.Workspace)
		want   bool
	}{
		"status only": {func(w *fivesafesv1alpha1.Workspace) {
			w.ResourceVersion = "11"
			w.Status.Phase = fivesafesv1alpha1.WorkspaceReady
		}, false},
		"spec":       {func(w *fivesafesv1alpha1.Workspace) { w.Generation = 2 }, true},
		"label":      {func(w *fivesafesv1alpha1.Workspace) { w.Labels["a"] = "x" }, true},
		"annotation": {func(w *fivesafesv1alpha1.Workspace) { w.Annotations = nil }, true},
		"finalizer":  {func(w *fivesafesv1alpha1.Workspace) { w.Finalizers = nil }, true},
		"deletion":   {func(w *fivesafesv1alpha1.Workspace) { w.DeletionTimestamp = &now }, true},
	} {
		changed := base.DeepCopy()
		tc.change(changed)
		if got := notStatusOnly.Update(event.UpdateEvent{ObjectOld: base, ObjectNew: changed}); got != tc.want {
			t.Errorf("%s: passed = %v, want %v", name, got, tc.want)
		}
	}
	if !notStatusOnly.Create(event.CreateEvent{Object: base}) || !notStatusOnly.Delete(event.DeleteEvent{Object: base}) {
		t.Error("creation and deletion must wake the controller")
	}
}
