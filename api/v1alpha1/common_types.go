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

// UserInfo is an authenticated Kubernetes identity. Fivesafes never trusts a user to write one:
// the mutating webhook fills it from the admission request.
type UserInfo struct {
	// username is the authenticated user name, as the API server saw it.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Username string `json:"username"`

	// uid is the authenticated user's unique identifier, when the authenticator provides one.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	UID string `json:"uid,omitempty"`

	// groups are the groups the user belonged to when the request was made.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=253
	Groups []string `json:"groups,omitempty"`
}

// HasGroup reports whether the user was in group g.
func (u *UserInfo) HasGroup(g string) bool {
	if u == nil {
		return false
	}
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// Finding is one reason an automatic check did not simply pass: a governance rule an agreement
// breaks, or a disclosure risk in an output file.
type Finding struct {
	// rule is the stable identifier of the rule that produced the finding.
	// +required
	// +kubebuilder:validation:MaxLength=128
	Rule string `json:"rule"`

	// message explains the finding in words the person who must act on it understands.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	Message string `json:"message"`

	// field is the path of the offending spec field (for agreements), e.g. spec.validity.end.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Field string `json:"field,omitempty"`

	// location points into a file (for outputs), e.g. "row 4, column count". Never an identifier
	// value.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Location string `json:"location,omitempty"`
}

// Condition types shared by several kinds. Each is True when the thing it names holds.
const (
	// ConditionReady summarises the object: True when every other condition that applies is True.
	ConditionReady = "Ready"
)

// Digest is a content digest written as "sha256:" and 64 lower-case hex characters.
// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
// +kubebuilder:validation:MaxLength=71
type Digest string
