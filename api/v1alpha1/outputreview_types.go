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

// ReviewDecision is an output checker's decision.
// +kubebuilder:validation:Enum=Approve;RequestChanges;Reject
type ReviewDecision string

// Review decisions.
const (
	ReviewApprove        ReviewDecision = "Approve"
	ReviewRequestChanges ReviewDecision = "RequestChanges"
	ReviewReject         ReviewDecision = "Reject"
)

// OutputReviewSpec is one checker's decision on one request at one content digest.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a review is immutable: create a new OutputReview instead of editing this one"
type OutputReviewSpec struct {
	// outputRequest is the OutputRequest's name, in the same namespace.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	OutputRequest string `json:"outputRequest"`

	// contentDigest is the request's status.contentDigest the decision is about.
	// +required
	ContentDigest Digest `json:"contentDigest"`

	// decision is Approve, RequestChanges or Reject.
	// +required
	Decision ReviewDecision `json:"decision"`

	// comment explains the decision to the researcher and the auditors.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Comment string `json:"comment"`

	// reviewer is the authenticated checker, written by the mutating webhook.
	// +optional
	Reviewer *UserInfo `json:"reviewer,omitempty"`
}

// OutputReviewStatus says whether the review counts.
type OutputReviewStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// conditions: Counted (True when the review counts for the request's current digest).
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ReviewCounted is True when the review counts for the request's current content digest.
const ReviewCounted = "Counted"

// OutputReview is an output checker's immutable decision on one OutputRequest at one content
// digest.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=outrev,categories=fivesafes
// +kubebuilder:printcolumn:name="Request",type=string,JSONPath=`.spec.outputRequest`
// +kubebuilder:printcolumn:name="Decision",type=string,JSONPath=`.spec.decision`
// +kubebuilder:printcolumn:name="Reviewer",type=string,JSONPath=`.spec.reviewer.username`
// +kubebuilder:printcolumn:name="Counted",type=string,JSONPath=`.status.conditions[?(@.type=="Counted")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OutputReview struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the decision.
	// +required
	Spec OutputReviewSpec `json:"spec"`

	// status says whether the review counts.
	// +optional
	Status OutputReviewStatus `json:"status,omitempty"`
}

// OutputReviewList is a list of OutputReviews.
// +kubebuilder:object:root=true
type OutputReviewList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OutputReview `json:"items"`
}

func init() {
	register(&OutputReview{}, &OutputReviewList{})
}
