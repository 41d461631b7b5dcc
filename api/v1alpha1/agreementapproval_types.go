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

// ApprovalDecision is a committee member's decision on one agreement digest.
// +kubebuilder:validation:Enum=Approve;Reject
type ApprovalDecision string

// Approval decisions.
const (
	DecisionApprove ApprovalDecision = "Approve"
	DecisionReject  ApprovalDecision = "Reject"
)

// AgreementApprovalSpec is one committee member's decision on one agreement at one spec digest.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="an approval is immutable: create a new AgreementApproval instead of editing this one"
type AgreementApprovalSpec struct {
	// agreement is the DataAccessAgreement's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Agreement string `json:"agreement"`

	// specDigest is the agreement's status.specDigest the decision is about. The decision counts
	// only while the agreement still has this digest.
	// +required
	SpecDigest Digest `json:"specDigest"`

	// decision is Approve or Reject.
	// +required
	Decision ApprovalDecision `json:"decision"`

	// comment records the reasoning, for the minutes and the audit log.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Comment string `json:"comment"`

	// approver is the authenticated user who made the decision. The mutating webhook writes it
	// from the request; anything a user writes here is overwritten.
	// +optional
	Approver *UserInfo `json:"approver,omitempty"`
}

// AgreementApprovalStatus says whether the decision counts.
type AgreementApprovalStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Counted (True when the decision counts towards the agreement's current digest).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ApprovalCounted is True when the decision counts for the agreement's current digest.
const ApprovalCounted = "Counted"

// AgreementApproval is a committee member's immutable decision on one DataAccessAgreement at one
// spec digest.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=daaapproval,categories=fivesafes
// +kubebuilder:printcolumn:name="Agreement",type=string,JSONPath=`.spec.agreement`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="Approver",type=string,JSONPath=`.spec.approver.username`
// +kubebuilder:printcolumn:name="Counted",type=string,JSONPath=`.status.conditions[?(@.type=="Counted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Digest",type=string,JSONPath=`.spec.specDigest`,priority=10
type AgreementApproval struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the decision.
	// +required
	Spec AgreementApprovalSpec `json:"spec"`

	// status says whether the decision counts.
	// +optional
	Status AgreementApprovalStatus `json:"status,omitempty"`
}

// AgreementApprovalList is a list of AgreementApprovals.
// +kubebuilder:object:root=true
type AgreementApprovalList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AgreementApproval `json:"items"`
}

func init() {
	register(&AgreementApproval{}, &AgreementApprovalList{})
}
