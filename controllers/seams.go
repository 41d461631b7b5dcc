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

package controllers

import (
	"context"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// AgreementValidator checks an agreement against the governance policy. catalogue holds the
// catalogue Datasets the agreement names that exist. It returns the violations and the digest of
// the policy revision used; an error means the policy could not answer, which fails closed.
type AgreementValidator interface {
	ValidateAgreement(ctx context.Context, daa *fivesafesv1alpha1.DataAccessAgreement, catalogue map[string]fivesafesv1alpha1.DatasetSpec) ([]fivesafesv1alpha1.Finding, fivesafesv1alpha1.Digest, error)
}

// AuditEvent is one thing to write to the audit log.
type AuditEvent struct {
	// Actor is the user or controller that acted.
	Actor string
	// Action is what happened, e.g. "agreement.phase".
	Action string
	// Kind, Namespace and Name identify the object acted on.
	Kind, Namespace, Name string
	// Decision is the outcome, e.g. the new phase.
	Decision string
	// Details are digests and counts, never identifier values.
	Details map[string]any
	// IdempotencyKey makes a retried write after an uncertain failure a no-op.
	IdempotencyKey string
}

// AuditLog records events durably before the action they describe takes effect.
type AuditLog interface {
	Record(ctx context.Context, e AuditEvent) error
}
