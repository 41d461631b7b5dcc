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

// PseudonymMode is how pseudonyms are computed.
// +kubebuilder:validation:Enum=Envelope;Transit
type PseudonymMode string

// Pseudonymisation modes.
const (
	// PseudonymEnvelope: a data key from Vault transit, stored only wrapped, unwrapped in memory
	// for local HMAC-SHA256.
	PseudonymEnvelope PseudonymMode = "Envelope"
	// PseudonymTransit: Vault transit computes each HMAC (batched).
	PseudonymTransit PseudonymMode = "Transit"
)

// ExtractPhase is where an extract is.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type ExtractPhase string

// Extract phases.
const (
	ExtractPending   ExtractPhase = "Pending"
	ExtractRunning   ExtractPhase = "Running"
	ExtractSucceeded ExtractPhase = "Succeeded"
	ExtractFailed    ExtractPhase = "Failed"
)

// Condition types of a DatasetExtract.
const (
	// ExtractComplete is True when the copy described by status is visible in the workspace.
	ExtractComplete = "Complete"
	// ExtractCurrent is True when the copy was made with the current opt-out snapshot and key.
	ExtractCurrent = "Current"
)

// DatasetExtractSpec is one dataset copied into one workspace.
type DatasetExtractSpec struct {
	// agreement is the DataAccessAgreement the copy is made under.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Agreement string `json:"agreement"`

	// dataset is the catalogue Dataset's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Dataset string `json:"dataset"`

	// columns are the approved columns, in output order.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MaxLength=128
	Columns []string `json:"columns"`

	// optOuts says whether the opt-out list is applied.
	// +required
	OptOuts OptOutHandling `json:"optOuts"`

	// optOutJustification is copied from the agreement when opt-outs are not applied.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	OptOutJustification string `json:"optOutJustification,omitempty"`

	// optOutList is the OptOutList applied when optOuts is Honoured.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	OptOutList string `json:"optOutList,omitempty"`

	// pseudonymMode is how pseudonyms are computed.
	// +optional
	// +kubebuilder:default=Envelope
	PseudonymMode PseudonymMode `json:"pseudonymMode,omitempty"`
}

// RowCounts accounts for every row read.
type RowCounts struct {
	// read is the number of data rows read from the source.
	Read int64 `json:"read"`
	// written is the number of rows written to the copy.
	Written int64 `json:"written"`
	// optedOut is the number of rows dropped because the person opted out.
	OptedOut int64 `json:"optedOut"`
	// invalidIdentifier is the number of rows whose NHS number was missing or failed the check
	// digit; the cell is left empty in the copy.
	InvalidIdentifier int64 `json:"invalidIdentifier"`
	// malformed is the number of rows that could not be parsed and were not copied.
	Malformed int64 `json:"malformed"`
}

// ExtractObject is one object written to the workspace.
type ExtractObject struct {
	// path is the object key in the workspace bucket.
	// +kubebuilder:validation:MaxLength=1024
	Path string `json:"path"`
	// sha256 is the object's digest.
	SHA256 Digest `json:"sha256"`
	// size is the object's size in bytes.
	Size int64 `json:"size"`
	// rows is the number of data rows in the object.
	Rows int64 `json:"rows"`
}

// DatasetExtractStatus mirrors the extract's manifest.
type DatasetExtractStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is where the extract is.
	// +optional
	Phase ExtractPhase `json:"phase,omitempty"`

	// rows accounts for every row read.
	// +optional
	Rows RowCounts `json:"rows,omitempty"`

	// malformedLines are the source line numbers of the first malformed rows (at most 100).
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	MalformedLines []int64 `json:"malformedLines,omitempty"`

	// keyVersion is the transit key version the pseudonyms were made with.
	// +optional
	KeyVersion int32 `json:"keyVersion,omitempty"`

	// optOutSnapshotDate is the date of the opt-out snapshot applied.
	// +optional
	// +kubebuilder:validation:MaxLength=10
	OptOutSnapshotDate string `json:"optOutSnapshotDate,omitempty"`

	// optOutSnapshotDigest is the digest of the opt-out snapshot applied.
	// +optional
	OptOutSnapshotDigest Digest `json:"optOutSnapshotDigest,omitempty"`

	// sourceDigest identifies the source objects copied (sha256 over their names and ETags).
	// +optional
	SourceDigest Digest `json:"sourceDigest,omitempty"`

	// manifest is the path of the manifest in the workspace bucket.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Manifest string `json:"manifest,omitempty"`

	// objects are the objects written.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	Objects []ExtractObject `json:"objects,omitempty"`

	// startedAt is when the current copy was started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`

	// completedAt is when the current copy was made visible.
	// +optional
	CompletedAt *metav1.Time `json:"completedAt,omitempty"`

	// conditions: Complete, Current and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DatasetExtract is one catalogue dataset copied into one workspace: minimised to the approved
// columns, identifiers validated and pseudonymised, opt-outs applied, every row accounted for.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=dx,categories=fivesafes
// +kubebuilder:printcolumn:name="Dataset",type=string,JSONPath=`.spec.dataset`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Written",type=integer,JSONPath=`.status.rows.written`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Opted-out",type=integer,JSONPath=`.status.rows.optedOut`,priority=10
// +kubebuilder:printcolumn:name="Invalid",type=integer,JSONPath=`.status.rows.invalidIdentifier`,priority=10
type DatasetExtract struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the copy to make.
	// +required
	Spec DatasetExtractSpec `json:"spec"`

	// status mirrors the manifest of the copy made.
	// +optional
	Status DatasetExtractStatus `json:"status,omitempty"`
}

// DatasetExtractList is a list of DatasetExtracts.
// +kubebuilder:object:root=true
type DatasetExtractList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DatasetExtract `json:"items"`
}

func init() {
	register(&DatasetExtract{}, &DatasetExtractList{})
}
