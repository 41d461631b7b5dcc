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

// DataFormat is the encoding of a dataset's source objects.
// +kubebuilder:validation:Enum=CSV
type DataFormat string

// Data formats.
const (
	// FormatCSV is RFC 4180 CSV in UTF-8 (with or without a byte order mark) with a header row.
	FormatCSV DataFormat = "CSV"
)

// ColumnType is the type of a column's values.
// +kubebuilder:validation:Enum=String;Integer;Decimal;Date;Code
type ColumnType string

// Column types.
const (
	ColumnString  ColumnType = "String"
	ColumnInteger ColumnType = "Integer"
	ColumnDecimal ColumnType = "Decimal"
	ColumnDate    ColumnType = "Date"
	ColumnCode    ColumnType = "Code"
)

// IdentifierKind says whether, and how, a column identifies a person.
// +kubebuilder:validation:Enum=None;NHSNumber;LocalIdentifier
type IdentifierKind string

// Identifier kinds.
const (
	// IdentifierNone: the column does not directly identify a person.
	IdentifierNone IdentifierKind = "None"
	// IdentifierNHSNumber: a 10-digit NHS number; validated (mod 11) and pseudonymised.
	IdentifierNHSNumber IdentifierKind = "NHSNumber"
	// IdentifierLocal: another direct identifier (e.g. a local client number); pseudonymised.
	IdentifierLocal IdentifierKind = "LocalIdentifier"
)

// Column is one column of a dataset's schema.
type Column struct {
	// name is the column's header in the source files.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`

	// type is the type of the column's values.
	// +optional
	// +kubebuilder:default=String
	Type ColumnType `json:"type,omitempty"`

	// identifier says whether the column directly identifies a person. Identifier columns are only
	// ever released pseudonymised.
	// +optional
	// +kubebuilder:default=None
	Identifier IdentifierKind `json:"identifier,omitempty"`

	// description says what the column holds.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
}

// ObjectSource is a location in object storage.
type ObjectSource struct {
	// bucket is the source bucket.
	// +required
	// +kubebuilder:validation:MinLength=3
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`

	// prefix selects the source objects (every object under it is part of the dataset).
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Prefix string `json:"prefix,omitempty"`
}

// DatasetSpec is a catalogue entry.
type DatasetSpec struct {
	// title is the dataset's full name, e.g. "Hospital Episode Statistics Admitted Patient Care".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title"`

	// description says what the dataset holds and how it is collected.
	// +optional
	// +kubebuilder:validation:MaxLength=8192
	Description string `json:"description,omitempty"`

	// dataController is the organisation that controls the dataset.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	DataController string `json:"dataController"`

	// source is where the dataset's objects live.
	// +required
	Source ObjectSource `json:"source"`

	// format is the encoding of the source objects.
	// +optional
	// +kubebuilder:default=CSV
	Format DataFormat `json:"format,omitempty"`

	// columns is the dataset's schema.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	Columns []Column `json:"columns"`
}

// DatasetStatus is what the operator observed of the source.
type DatasetStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// objects is the number of source objects found.
	// +optional
	Objects int32 `json:"objects,omitempty"`

	// bytes is the total size of the source objects.
	// +optional
	Bytes int64 `json:"bytes,omitempty"`

	// conditions: SourceReady (True when the source objects can be listed) and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DatasetSourceReady is True when the dataset's source objects can be listed.
const DatasetSourceReady = "SourceReady"

// Dataset is a catalogue entry: where a dataset lives, its schema, and which columns identify
// people.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ds,categories=fivesafes
// +kubebuilder:printcolumn:name="Title",type=string,JSONPath=`.spec.title`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Controller",type=string,JSONPath=`.spec.dataController`,priority=10
// +kubebuilder:printcolumn:name="Objects",type=integer,JSONPath=`.status.objects`,priority=10
type Dataset struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the catalogue entry.
	// +required
	Spec DatasetSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status DatasetStatus `json:"status,omitempty"`
}

// DatasetList is a list of Datasets.
// +kubebuilder:object:root=true
type DatasetList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Dataset `json:"items"`
}

func init() {
	register(&Dataset{}, &DatasetList{})
}
