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

package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// OptOutSource is the object holding one opt-out snapshot: a text file with one NHS number a
// line, or a CSV whose first column is the NHS number.
type OptOutSource struct {
	// bucket is the bucket holding the snapshot.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`

	// key is the snapshot object's key.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	Key string `json:"key"`
}

// OptOutListSpec names the current snapshot of a national data opt-out list.
type OptOutListSpec struct {
	// snapshotDate is the date (YYYY-MM-DD) the snapshot was taken.
	// +required
	// +kubebuilder:validation:Format=date
	// +kubebuilder:validation:MaxLength=10
	SnapshotDate string `json:"snapshotDate"`

	// source is the snapshot object.
	// +required
	Source OptOutSource `json:"source"`

	// digest, when set, is the sha256 the snapshot object must have; a snapshot that does not
	// match is refused.
	// +optional
	Digest Digest `json:"digest,omitempty"`
}

// OptOutListStatus is what the operator found in the snapshot.
type OptOutListStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// snapshotDate is the date of the loaded snapshot.
	// +optional
	// +kubebuilder:validation:MaxLength=10
	SnapshotDate string `json:"snapshotDate,omitempty"`

	// digest is the sha256 of the loaded snapshot object.
	// +optional
	Digest Digest `json:"digest,omitempty"`

	// count is the number of distinct valid NHS numbers in the snapshot.
	// +optional
	Count int64 `json:"count,omitempty"`

	// invalid is the number of lines that were not valid NHS numbers.
	// +optional
	Invalid int64 `json:"invalid,omitempty"`

	// loadedAt is when the snapshot was loaded.
	// +optional
	LoadedAt *metav1.Time `json:"loadedAt,omitempty"`

	// conditions: Loaded and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// OptOutLoaded is True when the named snapshot was read and matched its digest.
const OptOutLoaded = "Loaded"

// OptOutList is a national data opt-out snapshot held in object storage. Extracts of datasets
// whose opt-outs are Honoured drop the people in it, and are made again when it changes.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=optout,categories=fivesafes
// +kubebuilder:printcolumn:name="Snapshot",type=string,JSONPath=`.status.snapshotDate`
// +kubebuilder:printcolumn:name="Count",type=integer,JSONPath=`.status.count`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Digest",type=string,JSONPath=`.status.digest`,priority=10
type OptOutList struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec names the current snapshot.
	// +required
	Spec OptOutListSpec `json:"spec"`

	// status is what the operator found in it.
	// +optional
	Status OptOutListStatus `json:"status,omitempty"`
}

// OptOutListList is a list of OptOutLists.
// +kubebuilder:object:root=true
type OptOutListList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OptOutList `json:"items"`
}

func init() {
	register(&OptOutList{}, &OptOutListList{})
}
