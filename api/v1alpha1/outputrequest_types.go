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

// OutputKind is what a researcher says a file is.
// +kubebuilder:validation:Enum=Table;Figure;Code;Text
type OutputKind string

// Output kinds.
const (
	OutputTable  OutputKind = "Table"
	OutputFigure OutputKind = "Figure"
	OutputCode   OutputKind = "Code"
	OutputText   OutputKind = "Text"
)

// CheckOutcome is the result of the automatic checks on a file or a request.
// +kubebuilder:validation:Enum=pass;review;fail
type CheckOutcome string

// Check outcomes.
const (
	OutcomePass   CheckOutcome = "pass"
	OutcomeReview CheckOutcome = "review"
	OutcomeFail   CheckOutcome = "fail"
)

// OutputPhase is where an output request is.
// +kubebuilder:validation:Enum=Checking;AwaitingReview;ChangesRequested;Approved;Rejected;Released;Withdrawn
type OutputPhase string

// Output request phases.
const (
	OutputChecking         OutputPhase = "Checking"
	OutputAwaitingReview   OutputPhase = "AwaitingReview"
	OutputChangesRequested OutputPhase = "ChangesRequested"
	OutputApproved         OutputPhase = "Approved"
	OutputRejected         OutputPhase = "Rejected"
	OutputReleased         OutputPhase = "Released"
	OutputWithdrawn        OutputPhase = "Withdrawn"
)

// AnnotationDownloadRequested asks for download URLs of a released request's files: set it to a
// new value (e.g. the time) and the operator issues fresh URLs, readable by the requester only.
const AnnotationDownloadRequested = "fivesafes.io/download-requested-at"

// AnnotationDownloadRequestedBy names who set AnnotationDownloadRequested; the admission webhook
// writes it from the authenticated request, so it cannot be forged, and the download's audit
// entry names that person.
const AnnotationDownloadRequestedBy = "fivesafes.io/download-requested-by"

// AnnotationWithdrawnBy names who withdrew a request (set spec.state to Withdrawn); the admission
// webhook writes it from the authenticated request, so it cannot be forged, and the withdrawal's
// audit entry names that person.
const AnnotationWithdrawnBy = "fivesafes.io/withdrawn-by"

// Condition types of an OutputRequest.
const (
	// OutputChecked is True when every file was snapshotted and checked against the policy.
	OutputChecked = "Checked"
	// OutputReviewed is True when enough independent approvals of the content digest were given.
	OutputReviewed = "Reviewed"
	// OutputReleasedCondition is True when the audit record was written and the files copied to
	// the egress bucket.
	OutputReleasedCondition = "Released"
)

// RequestState lets the researcher withdraw a request.
// +kubebuilder:validation:Enum=Submitted;Withdrawn
type RequestState string

// Request states.
const (
	RequestSubmitted RequestState = "Submitted"
	RequestWithdrawn RequestState = "Withdrawn"
)

// OutputFile is one file the researcher asks to release.
type OutputFile struct {
	// path is the file's path under outputs/ in the workspace bucket, e.g. tables/admissions.csv.
	// It must be local: no leading slash, no "." or ".." segments.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9_][A-Za-z0-9._/-]*$`
	// +kubebuilder:validation:XValidation:rule="!self.split('/').exists(s, s == '..' || s == '.' || s == '')",message="path must be local to outputs/: no empty, '.' or '..' segments"
	Path string `json:"path"`

	// kind is what the file is.
	// +required
	Kind OutputKind `json:"kind"`

	// description says what the file shows, for the output checkers.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Description string `json:"description"`

	// exceptionJustification asks the checkers to release a file that breaks a threshold rule. It
	// can turn a threshold failure into a review, never into a pass.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	ExceptionJustification string `json:"exceptionJustification,omitempty"`
}

// OutputRequestSpec is a researcher's request to release files from the workspace.
type OutputRequestSpec struct {
	// purpose says what the outputs are for, e.g. a paper or a report.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	Purpose string `json:"purpose"`

	// files are the files to release.
	// +required
	// +listType=map
	// +listMapKey=path
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Files []OutputFile `json:"files"`

	// revision is raised by the researcher after changing files, to have them checked again.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Revision int32 `json:"revision,omitempty"`

	// state lets the researcher withdraw the request.
	// +optional
	// +kubebuilder:default=Submitted
	State RequestState `json:"state,omitempty"`

	// requester is the authenticated user who made the request, written by the mutating webhook.
	// +optional
	Requester *UserInfo `json:"requester,omitempty"`
}

// FileCheck is the automatic check of one file.
type FileCheck struct {
	// path is the file's path under outputs/.
	// +kubebuilder:validation:MaxLength=512
	Path string `json:"path"`
	// sha256 is the digest of the snapshot that was checked.
	// +optional
	SHA256 Digest `json:"sha256,omitempty"`
	// size is the snapshot's size in bytes.
	// +optional
	Size int64 `json:"size,omitempty"`
	// type is the type detected from the content.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Type string `json:"type,omitempty"`
	// outcome is pass, review or fail.
	// +optional
	Outcome CheckOutcome `json:"outcome,omitempty"`
	// findings explain an outcome other than pass.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Findings []Finding `json:"findings,omitempty"`
}

// ReviewRecord is one review of the current content digest.
type ReviewRecord struct {
	// review is the OutputReview's name.
	// +kubebuilder:validation:MaxLength=253
	Review string `json:"review"`
	// reviewer is the checker's user name.
	// +kubebuilder:validation:MaxLength=253
	Reviewer string `json:"reviewer"`
	// decision is the review's decision.
	Decision ReviewDecision `json:"decision"`
	// counted says whether the review counts, and if not, why.
	// +kubebuilder:validation:MaxLength=256
	Counted string `json:"counted"`
}

// Release says where released files went.
type Release struct {
	// bucket is the egress bucket.
	// +kubebuilder:validation:MaxLength=63
	Bucket string `json:"bucket"`
	// prefix is releases/<agreement>/<request>/.
	// +kubebuilder:validation:MaxLength=1024
	Prefix string `json:"prefix"`
	// manifestSHA256 is the digest of the release manifest.
	ManifestSHA256 Digest `json:"manifestSHA256"`
	// auditSequence is the audit log entry that records the release.
	AuditSequence int64 `json:"auditSequence"`
	// releasedAt is when the copy completed.
	ReleasedAt metav1.Time `json:"releasedAt"`
	// downloadIssuedFor is the value of the fivesafes.io/download-requested-at annotation the
	// latest download URLs were issued for.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	DownloadIssuedFor string `json:"downloadIssuedFor,omitempty"`
	// downloadExpiresAt is when the latest download URLs stop working.
	// +optional
	DownloadExpiresAt *metav1.Time `json:"downloadExpiresAt,omitempty"`
}

// OutputRequestStatus is what the checks and reviews found.
type OutputRequestStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is where the request is.
	// +optional
	Phase OutputPhase `json:"phase,omitempty"`

	// contentDigest is sha256 over the paths and digests of every snapshotted file. Reviews count
	// only for this digest.
	// +optional
	ContentDigest Digest `json:"contentDigest,omitempty"`

	// policyDigest identifies the egress policy revision the files were checked against.
	// +optional
	PolicyDigest Digest `json:"policyDigest,omitempty"`

	// outcome is the overall check outcome: the worst of the files'.
	// +optional
	Outcome CheckOutcome `json:"outcome,omitempty"`

	// files are the per-file checks.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=100
	Files []FileCheck `json:"files,omitempty"`

	// approvals is the number of distinct reviews approving contentDigest that count.
	// +optional
	Approvals int32 `json:"approvals,omitempty"`

	// reviews lists every review of contentDigest and whether it counted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Reviews []ReviewRecord `json:"reviews,omitempty"`

	// release says where the released files went.
	// +optional
	Release *Release `json:"release,omitempty"`

	// conditions: Checked, Reviewed, Released and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=8
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// OutputRequest asks to release files from a workspace. Nothing leaves a workspace any other way.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=outreq,categories=fivesafes
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Outcome",type=string,JSONPath=`.status.outcome`
// +kubebuilder:printcolumn:name="Approvals",type=integer,JSONPath=`.status.approvals`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Requester",type=string,JSONPath=`.spec.requester.username`,priority=10
type OutputRequest struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the request.
	// +required
	Spec OutputRequestSpec `json:"spec"`

	// status is what the checks and reviews found.
	// +optional
	Status OutputRequestStatus `json:"status,omitempty"`
}

// OutputRequestList is a list of OutputRequests.
// +kubebuilder:object:root=true
type OutputRequestList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OutputRequest `json:"items"`
}

func init() {
	register(&OutputRequest{}, &OutputRequestList{})
}
