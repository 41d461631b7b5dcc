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

// Package v1alpha1 holds the Fivesafes API: data access agreements and their approvals, the
// workspaces made from them, the dataset catalogue and opt-out lists, dataset extracts, and
// output requests with their reviews.
// +kubebuilder:object:generate=true
// +groupName=fivesafes.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every Fivesafes kind.
	GroupVersion = schema.GroupVersion{Group: "fivesafes.io", Version: "v1alpha1"}

	// SchemeBuilder registers the Fivesafes kinds with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the Fivesafes kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
