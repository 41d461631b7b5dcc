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

// WorkspaceState is what the agreement asks of its workspace.
// +kubebuilder:validation:Enum=Active;Suspended
type WorkspaceState string

// Workspace states.
const (
	// WorkspaceActive: researchers may work and data may be copied in.
	WorkspaceActive WorkspaceState = "Active"
	// WorkspaceSuspended: access is cut; the data is kept until the retention period ends, then
	// destroyed.
	WorkspaceSuspended WorkspaceState = "Suspended"
)

// WorkspacePhase summarises the workspace's life.
// +kubebuilder:validation:Enum=Provisioning;Ready;Suspended;Destroying;Destroyed;Failed
type WorkspacePhase string

// Workspace phases.
const (
	WorkspaceProvisioning WorkspacePhase = "Provisioning"
	WorkspaceReady        WorkspacePhase = "Ready"
	WorkspaceSuspendedPh  WorkspacePhase = "Suspended"
	WorkspaceDestroying   WorkspacePhase = "Destroying"
	WorkspaceDestroyed    WorkspacePhase = "Destroyed"
	WorkspaceFailed       WorkspacePhase = "Failed"
)

// Condition types of a Workspace. Each is True when the part it names is in place.
const (
	WorkspaceNamespaceReady  = "NamespaceReady"
	WorkspaceNetworkIsolated = "NetworkIsolated"
	WorkspaceStorageReady    = "StorageReady"
	WorkspaceKeyReady        = "KeyReady"
	WorkspaceDatasetsReady   = "DatasetsReady"
)

// WorkspaceSpec is derived from an active agreement by the operator.
type WorkspaceSpec struct {
	// agreement is the owning DataAccessAgreement's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a workspace belongs to one agreement for its whole life"
	Agreement string `json:"agreement"`

	// state is Active while the agreement is active, Suspended once it has ended.
	// +optional
	// +kubebuilder:default=Active
	State WorkspaceState `json:"state,omitempty"`

	// researchers are the user names bound to the researcher role in the workspace.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=100
	// +kubebuilder:validation:items:MaxLength=253
	Researchers []string `json:"researchers,omitempty"`

	// resources and images, copied from the agreement.
	// +required
	Resources WorkspaceResources `json:"resources"`

	// retentionDays is how long data is kept after suspension before it is destroyed.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3650
	RetentionDays *int32 `json:"retentionDays,omitempty"`
}

// WorkspaceStatus is what the operator observed of the workspace's parts.
type WorkspaceStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase summarises the workspace's life.
	// +optional
	Phase WorkspacePhase `json:"phase,omitempty"`

	// namespace is the workspace's namespace, ws-<agreement>.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace,omitempty"`

	// bucket is the workspace's object storage bucket.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket,omitempty"`

	// storageUser is the object storage user confined to the bucket.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	StorageUser string `json:"storageUser,omitempty"`

	// credentialsSecret is the Secret in the namespace holding the storage credentials.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	CredentialsSecret string `json:"credentialsSecret,omitempty"`

	// keyName is the Vault transit key holding the agreement's pseudonymisation key.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	KeyName string `json:"keyName,omitempty"`

	// keyVersion is the pinned key version pseudonyms are made with.
	// +optional
	KeyVersion int32 `json:"keyVersion,omitempty"`

	// readyAt is when the workspace first became Ready: every part in place and researchers let in.
	// +optional
	ReadyAt *metav1.Time `json:"readyAt,omitempty"`

	// suspendedAt is when access was cut.
	// +optional
	SuspendedAt *metav1.Time `json:"suspendedAt,omitempty"`

	// destroyAfter is when the retained data will be destroyed.
	// +optional
	DestroyAfter *metav1.Time `json:"destroyAfter,omitempty"`

	// destruction records when and how each part was destroyed.
	// +optional
	// +listType=map
	// +listMapKey=part
	// +kubebuilder:validation:MaxItems=16
	Destruction []DestructionRecord `json:"destruction,omitempty"`

	// conditions: NamespaceReady, NetworkIsolated, StorageReady, KeyReady, DatasetsReady, Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// Workspace is the isolated setting made for one active agreement: a namespace with default-deny
// networking, quotas and bindings, a storage bucket with scoped credentials, and a
// pseudonymisation key.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=ws,categories=fivesafes
// +kubebuilder:printcolumn:name="Agreement",type=string,JSONPath=`.spec.agreement`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Namespace",type=string,JSONPath=`.status.namespace`,priority=10
// +kubebuilder:printcolumn:name="Bucket",type=string,JSONPath=`.status.bucket`,priority=10
type Workspace struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is derived from the agreement.
	// +required
	Spec WorkspaceSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status WorkspaceStatus `json:"status,omitempty"`
}

// WorkspaceList is a list of Workspaces.
// +kubebuilder:object:root=true
type WorkspaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Workspace `json:"items"`
}

func init() {
	register(&Workspace{}, &WorkspaceList{})
}
