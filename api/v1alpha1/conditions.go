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

// GetConditions returns a pointer to the agreement's conditions, for condition helpers.
func (a *DataAccessAgreement) GetConditions() *[]metav1.Condition { return &a.Status.Conditions }

// GetConditions returns a pointer to the approval's conditions, for condition helpers.
func (a *AgreementApproval) GetConditions() *[]metav1.Condition { return &a.Status.Conditions }

// GetConditions returns a pointer to the workspace's conditions, for condition helpers.
func (w *Workspace) GetConditions() *[]metav1.Condition { return &w.Status.Conditions }

// GetConditions returns a pointer to the dataset's conditions, for condition helpers.
func (d *Dataset) GetConditions() *[]metav1.Condition { return &d.Status.Conditions }

// GetConditions returns a pointer to the opt-out list's conditions, for condition helpers.
func (o *OptOutList) GetConditions() *[]metav1.Condition { return &o.Status.Conditions }

// GetConditions returns a pointer to the extract's conditions, for condition helpers.
func (d *DatasetExtract) GetConditions() *[]metav1.Condition { return &d.Status.Conditions }

// GetConditions returns a pointer to the request's conditions, for condition helpers.
func (o *OutputRequest) GetConditions() *[]metav1.Condition { return &o.Status.Conditions }

// GetConditions returns a pointer to the review's conditions, for condition helpers.
func (o *OutputReview) GetConditions() *[]metav1.Condition { return &o.Status.Conditions }
