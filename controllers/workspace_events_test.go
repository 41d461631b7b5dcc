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
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

func status(conds ...metav1.Condition) *fivesafesv1alpha1.WorkspaceStatus {
	return &fivesafesv1alpha1.WorkspaceStatus{Conditions: conds}
}

func condOf(t string, ok bool, reason string) metav1.Condition {
	return cond(t, ok, reason, "message of "+reason)
}

func TestWorkspaceEvents(t *testing.T) {
	allParts := func(ok bool, reason string) []metav1.Condition {
		var out []metav1.Condition
		for _, p := range workspaceParts {
			out = append(out, condOf(p, ok, reason))
		}
		return out
	}
	ready := append(allParts(true, ReasonCreated), condOf(fivesafesv1alpha1.ConditionReady, true, ReasonWorkspaceReady))
	provisioning := []metav1.Condition{condOf(fivesafesv1alpha1.ConditionReady, false, ReasonProvisioning)}
	storageDown := append(allParts(true, ReasonCreated)[:2], condOf(fivesafesv1alpha1.WorkspaceStorageReady, false, ReasonStorageFailed),
		condOf(fivesafesv1alpha1.WorkspaceKeyReady, true, ReasonProvisioned), condOf(fivesafesv1alpha1.ConditionReady, false, ReasonProvisioning))
	tests := []struct {
		name          string
		before, after []metav1.Condition
		want          []string // type/reason/action of each event
	}{
		{name: "a new workspace ready in one loop", after: ready, want: []string{"Normal/WorkspaceReady/Provision"}},
		{name: "a new workspace still provisioning", after: provisioning},
		{name: "waiting for the pod policy is not a failure",
			after: []metav1.Condition{condOf(fivesafesv1alpha1.WorkspaceNamespaceReady, false, ReasonPolicyNotEnforced), condOf(fivesafesv1alpha1.ConditionReady, false, ReasonProvisioning)}},
		{name: "provisioning, then ready", before: provisioning, after: ready, want: []string{"Normal/WorkspaceReady/Provision"}},
		{name: "no change", before: ready, after: ready},
		{name: "storage fails while provisioning", before: provisioning, after: storageDown, want: []string{"Warning/StorageUnavailable/Provision"}},
		{name: "storage still failing", before: storageDown, after: storageDown},
		{name: "storage fails after ready", before: ready, after: storageDown,
			want: []string{"Warning/Provisioning/Provision", "Warning/StorageUnavailable/Provision"}},
		{name: "suspended", before: ready, after: []metav1.Condition{condOf(fivesafesv1alpha1.ConditionReady, false, ReasonSuspended)},
			want: []string{"Normal/Suspended/Suspend"}},
		{name: "destroyed", before: []metav1.Condition{condOf(fivesafesv1alpha1.ConditionReady, false, ReasonSuspended)},
			after: []metav1.Condition{condOf(fivesafesv1alpha1.ConditionReady, false, ReasonDestroyed)}, want: []string{"Normal/Destroyed/Destroy"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, e := range workspaceEvents(status(tt.before...), status(tt.after...)) {
				got = append(got, e.eventType+"/"+e.reason+"/"+e.action)
				if e.note == "" {
					t.Errorf("event %s/%s has no note", e.eventType, e.reason)
				}
				if e.eventType != corev1.EventTypeNormal && e.eventType != corev1.EventTypeWarning {
					t.Errorf("event type %q", e.eventType)
				}
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("events = %v, want %v", got, tt.want)
			}
		})
	}
}
