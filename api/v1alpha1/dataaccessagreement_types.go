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
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LegalBasis is the lawful basis on which data flows to the organisation.
// +kubebuilder:validation:Enum=Consent;Section251;HealthAndSocialCareAct2012;DirectCare;PublicTask;Anonymised
type LegalBasis string

// Legal bases an agreement may rest on.
const (
	LegalBasisConsent                    LegalBasis = "Consent"
	LegalBasisSection251                 LegalBasis = "Section251"
	LegalBasisHealthAndSocialCareAct2012 LegalBasis = "HealthAndSocialCareAct2012"
	LegalBasisDirectCare                 LegalBasis = "DirectCare"
	LegalBasisPublicTask                 LegalBasis = "PublicTask"
	LegalBasisAnonymised                 LegalBasis = "Anonymised"
)

// Sensitivity says whether the data includes sensitive (special category) data.
// +kubebuilder:validation:Enum=Sensitive;NonSensitive
type Sensitivity string

// Sensitivities.
const (
	SensitivitySensitive    Sensitivity = "Sensitive"
	SensitivityNonSensitive Sensitivity = "NonSensitive"
)

// OptOutHandling says whether the national data opt-out is applied to a dataset's copy.
// +kubebuilder:validation:Enum=Honoured;NotApplied
type OptOutHandling string

// Opt-out handlings.
const (
	OptOutsHonoured   OptOutHandling = "Honoured"
	OptOutsNotApplied OptOutHandling = "NotApplied"
)

// AccessMethod says whether data flows once or for the life of the agreement.
// +kubebuilder:validation:Enum=Ongoing;OneOff
type AccessMethod string

// Access methods.
const (
	AccessOngoing AccessMethod = "Ongoing"
	AccessOneOff  AccessMethod = "OneOff"
)

// Sublicensing says whether the organisation may pass the data on.
// +kubebuilder:validation:Enum=Allowed;NotAllowed
type Sublicensing string

// Sublicensing values.
const (
	SublicensingAllowed    Sublicensing = "Allowed"
	SublicensingNotAllowed Sublicensing = "NotAllowed"
)

// ZeroCells says how zero counts in output tables are treated.
// +kubebuilder:validation:Enum=Disclosive;Allowed
type ZeroCells string

// Zero-cell treatments.
const (
	ZerosDisclosive ZeroCells = "Disclosive"
	ZerosAllowed    ZeroCells = "Allowed"
)

// AgreementPhase is where an agreement is in its life.
// +kubebuilder:validation:Enum=Pending;Approved;Active;Expired;Revoked;Rejected
type AgreementPhase string

// Agreement phases.
const (
	// AgreementPending: not (or no longer) approved at its current digest.
	AgreementPending AgreementPhase = "Pending"
	// AgreementApproved: approved at its current digest, validity window not yet started.
	AgreementApproved AgreementPhase = "Approved"
	// AgreementActive: approved and inside its validity window; its workspace exists.
	AgreementActive AgreementPhase = "Active"
	// AgreementExpired: the validity window has ended. Only an amendment that is approved again
	// can make the agreement active again.
	AgreementExpired AgreementPhase = "Expired"
	// AgreementRevoked: spec.revocation was set. A revocation cannot be withdrawn.
	AgreementRevoked AgreementPhase = "Revoked"
	// AgreementRejected: a committee member rejected the current digest.
	AgreementRejected AgreementPhase = "Rejected"
)

// Condition types of a DataAccessAgreement.
const (
	// AgreementValid is True when the spec passes every governance rule.
	AgreementValid = "Valid"
	// AgreementApprovedCondition is True when a quorum of committee members approved the current
	// spec digest and nobody rejected it.
	AgreementApprovedCondition = "Approved"
	// AgreementInValidity is True inside the validity window.
	AgreementInValidity = "InValidity"
	// AgreementExpiringSoon is True within the warning period before validity ends.
	AgreementExpiringSoon = "ExpiringSoon"
)

// Organisation is the body that receives and processes the data.
type Organisation struct {
	// name is the organisation's legal name, as the register prints it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Name string `json:"name"`

	// code is the organisation's ODS code or other registry identifier.
	// +optional
	// +kubebuilder:validation:MaxLength=32
	Code string `json:"code,omitempty"`

	// type is the kind of data controller, e.g. "CCG", "ICB", "University", "Local Authority".
	// +optional
	// +kubebuilder:validation:MaxLength=64
	Type string `json:"type,omitempty"`
}

// Researcher is a named person approved to work in the workspace.
type Researcher struct {
	// name is the researcher's Kubernetes user name: the identity RBAC bindings are made for.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// displayName is how the researcher is shown to people.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DisplayName string `json:"displayName,omitempty"`

	// accreditationExpires is the date (YYYY-MM-DD) the researcher's safe-researcher
	// accreditation expires.
	// +required
	// +kubebuilder:validation:Format=date
	// +kubebuilder:validation:MaxLength=10
	AccreditationExpires string `json:"accreditationExpires"`
}

// AgreementDataset is one catalogue dataset the agreement releases, minimised to columns.
// +kubebuilder:validation:XValidation:rule="self.optOuts != 'NotApplied' || (has(self.optOutJustification) && size(self.optOutJustification) > 0)",message="a dataset with optOuts NotApplied needs an optOutJustification"
type AgreementDataset struct {
	// name is the catalogue Dataset's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// columns are the approved columns; every other column is dropped from the copy.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=512
	// +kubebuilder:validation:items:MaxLength=128
	Columns []string `json:"columns"`

	// optOuts says whether the national data opt-out is applied to the copy.
	// +required
	OptOuts OptOutHandling `json:"optOuts"`

	// optOutJustification explains why opt-outs are not applied. Required with NotApplied.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	OptOutJustification string `json:"optOutJustification,omitempty"`
}

// Validity is the window in which the agreement may be used. Both dates are inclusive and in UTC:
// access starts at 00:00 on start and ends at 24:00 on end.
// +kubebuilder:validation:XValidation:rule="self.end > self.start",message="validity.end must be after validity.start"
type Validity struct {
	// start is the first day (YYYY-MM-DD) of the agreement.
	// +required
	// +kubebuilder:validation:Format=date
	// +kubebuilder:validation:MaxLength=10
	Start string `json:"start"`

	// end is the last day (YYYY-MM-DD) of the agreement.
	// +required
	// +kubebuilder:validation:Format=date
	// +kubebuilder:validation:MaxLength=10
	End string `json:"end"`
}

// WorkspaceResources sizes the workspace and lists what may run in it.
type WorkspaceResources struct {
	// cpu is the total CPU the workspace's pods may request and use.
	// +optional
	// +kubebuilder:default="4"
	CPU resource.Quantity `json:"cpu,omitzero"`

	// memory is the total memory the workspace's pods may request and use.
	// +optional
	// +kubebuilder:default="16Gi"
	Memory resource.Quantity `json:"memory,omitzero"`

	// storage is the total persistent volume storage the workspace may claim.
	// +optional
	// +kubebuilder:default="50Gi"
	Storage resource.Quantity `json:"storage,omitzero"`

	// images are the container images pods in the workspace may run. An entry matches an image
	// that equals it, or that extends it with ":tag" or "@digest".
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9][A-Za-z0-9._/:@-]*$`
	Images []string `json:"images"`
}

// Dominance is the n-k dominance rule for magnitude tables: a cell fails when its n largest
// contributors make up more than k of its total.
type Dominance struct {
	// contributors is n: the number of largest contributors. (Not named "n": YAML 1.1 reads a bare
	// n as false.)
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10
	Contributors int32 `json:"contributors,omitempty"`

	// kBasisPoints is k in basis points of the cell total (9000 = 90%).
	// +optional
	// +kubebuilder:default=9000
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10000
	KBasisPoints int32 `json:"kBasisPoints,omitempty"`
}

// OutputRules are the disclosure-control rules outputs from the workspace are checked against.
type OutputRules struct {
	// minimumCellCount is the smallest count a released table cell may hold.
	// +optional
	// +kubebuilder:default=10
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MinimumCellCount int32 `json:"minimumCellCount,omitempty"`

	// reviewers is how many independent output checkers must approve a release.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=5
	Reviewers int32 `json:"reviewers,omitempty"`

	// dominance is the n-k dominance rule for magnitude tables.
	// +optional
	Dominance Dominance `json:"dominance,omitempty"`

	// pRatioBasisPoints is the p-ratio threshold in basis points (1000 = 10%): a cell fails when the
	// total less the two largest contributions is below this share of the largest.
	// +optional
	// +kubebuilder:default=1000
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=10000
	PRatioBasisPoints int32 `json:"pRatioBasisPoints,omitempty"`

	// zeros says whether zero cells are treated as disclosive.
	// +optional
	// +kubebuilder:default=Disclosive
	Zeros ZeroCells `json:"zeros,omitempty"`
}

// Revocation ends an agreement at once.
type Revocation struct {
	// reason says why the agreement was revoked, for the register and the audit log.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	Reason string `json:"reason"`

	// reference points at the committee decision, e.g. minutes or a ticket.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Reference string `json:"reference,omitempty"`
}

// DataAccessAgreementSpec is what the data access committee approves.
// +kubebuilder:validation:XValidation:rule="!has(oldSelf.revocation) || has(self.revocation)",message="a revocation cannot be withdrawn: write a new agreement instead"
type DataAccessAgreementSpec struct {
	// reference is the agreement's register reference, e.g. NIC-38002-S3K0V.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	Reference string `json:"reference"`

	// title is a short plain-language title.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Title string `json:"title"`

	// organisation receives and processes the data.
	// +required
	Organisation Organisation `json:"organisation"`

	// legalBases are the lawful bases for the flow of data.
	// +required
	// +listType=set
	// +kubebuilder:validation:MaxItems=6
	LegalBases []LegalBasis `json:"legalBases"`

	// purposes are the purposes the data may be used for.
	// +required
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	Purposes []string `json:"purposes"`

	// sensitivity says whether the data includes sensitive data.
	// +required
	Sensitivity Sensitivity `json:"sensitivity"`

	// accessMethod says whether data flows once or for the life of the agreement.
	// +optional
	// +kubebuilder:default=Ongoing
	AccessMethod AccessMethod `json:"accessMethod,omitempty"`

	// objectives describes what the organisation will do with the data and why.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=20000
	Objectives string `json:"objectives"`

	// expectedBenefits lists the benefits to health and care the use is expected to bring.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=4096
	ExpectedBenefits []string `json:"expectedBenefits,omitempty"`

	// expectedOutputs lists the outputs the organisation expects to produce.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=4096
	ExpectedOutputs []string `json:"expectedOutputs,omitempty"`

	// researchers are the people approved to work in the workspace.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=100
	Researchers []Researcher `json:"researchers"`

	// datasets are the catalogue datasets released, each minimised to approved columns.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	Datasets []AgreementDataset `json:"datasets"`

	// validity is the window in which the agreement may be used.
	// +required
	Validity Validity `json:"validity"`

	// workspace sizes the workspace and lists the images allowed to run in it.
	// +required
	Workspace WorkspaceResources `json:"workspace"`

	// outputRules are the disclosure-control rules outputs are checked against.
	// +optional
	OutputRules OutputRules `json:"outputRules,omitempty"`

	// sublicensing says whether the organisation may pass the data on.
	// +optional
	// +kubebuilder:default=NotAllowed
	Sublicensing Sublicensing `json:"sublicensing,omitempty"`

	// revocation, once set, revokes the agreement at once. It is a lifecycle field: it does not
	// change the spec digest the committee approved.
	// +optional
	Revocation *Revocation `json:"revocation,omitempty"`
}

// ApproverRecord is one counted or refused decision on the current digest.
type ApproverRecord struct {
	// username is the committee member who decided.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Username string `json:"username"`

	// approval is the AgreementApproval object's name.
	// +required
	// +kubebuilder:validation:MaxLength=253
	Approval string `json:"approval"`

	// decision is Approve or Reject.
	// +required
	Decision ApprovalDecision `json:"decision"`

	// counted says whether the decision counts towards the quorum, and if not, why.
	// +required
	// +kubebuilder:validation:MaxLength=256
	Counted string `json:"counted"`
}

// DestructionRecord says when and how one part of the setting was destroyed.
type DestructionRecord struct {
	// part is what was destroyed: Bucket, Key, Namespace, StorageUser.
	// +required
	// +kubebuilder:validation:MaxLength=64
	Part string `json:"part"`

	// method says how, e.g. "transit key deleted (crypto-shredding)".
	// +required
	// +kubebuilder:validation:MaxLength=512
	Method string `json:"method"`

	// time is when the destruction was confirmed.
	// +required
	Time metav1.Time `json:"time"`
}

// DataAccessAgreementStatus is what the operator observed of the agreement.
type DataAccessAgreementStatus struct {
	// observedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is where the agreement is in its life.
	// +optional
	Phase AgreementPhase `json:"phase,omitempty"`

	// specDigest is sha256 over the canonical encoding of the substantive spec (everything but
	// lifecycle fields such as revocation). Approvals count only for this digest.
	// +optional
	SpecDigest Digest `json:"specDigest,omitempty"`

	// approvals is the number of distinct committee members whose approval of specDigest counts.
	// +optional
	Approvals int32 `json:"approvals,omitempty"`

	// decisions lists every decision made on specDigest and whether it counted.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Decisions []ApproverRecord `json:"decisions,omitempty"`

	// violations are the governance rules the spec breaks.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=128
	Violations []Finding `json:"violations,omitempty"`

	// policyDigest identifies the governance policy revision the spec was checked against.
	// +optional
	PolicyDigest Digest `json:"policyDigest,omitempty"`

	// workspace is the name of the Workspace made for the agreement.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	Workspace string `json:"workspace,omitempty"`

	// activatedAt is when the agreement first became Active.
	// +optional
	ActivatedAt *metav1.Time `json:"activatedAt,omitempty"`

	// endedAt is when the agreement expired or was revoked.
	// +optional
	EndedAt *metav1.Time `json:"endedAt,omitempty"`

	// destruction records when and how each part of the setting was destroyed.
	// +optional
	// +listType=map
	// +listMapKey=part
	// +kubebuilder:validation:MaxItems=16
	Destruction []DestructionRecord `json:"destruction,omitempty"`

	// conditions: Valid, Approved, InValidity, ExpiringSoon and Ready.
	// +optional
	// +listType=map
	// +listMapKey=type
	// +kubebuilder:validation:MaxItems=16
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// DataAccessAgreement is a data access committee's agreement to release named datasets,
// minimised, to named researchers in a workspace, for stated purposes, for a stated time.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=daa,categories=fivesafes
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 60 && self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$')",message="an agreement's name names its workspace namespace and bucket (ws-<name>): use at most 60 lower-case letters, digits and dashes"
// +kubebuilder:printcolumn:name="Reference",type=string,JSONPath=`.spec.reference`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Approvals",type=integer,JSONPath=`.status.approvals`
// +kubebuilder:printcolumn:name="End",type=string,JSONPath=`.spec.validity.end`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:printcolumn:name="Organisation",type=string,JSONPath=`.spec.organisation.name`,priority=10
// +kubebuilder:printcolumn:name="Digest",type=string,JSONPath=`.status.specDigest`,priority=10
type DataAccessAgreement struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is what the committee approves.
	// +required
	Spec DataAccessAgreementSpec `json:"spec"`

	// status is what the operator observed.
	// +optional
	Status DataAccessAgreementStatus `json:"status,omitempty"`
}

// DataAccessAgreementList is a list of DataAccessAgreements.
// +kubebuilder:object:root=true
type DataAccessAgreementList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []DataAccessAgreement `json:"items"`
}

func init() {
	register(&DataAccessAgreement{}, &DataAccessAgreementList{})
}
