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
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
	"github.com/fivesafes/fivesafes/internal/storage"
)

// AgreementValidator checks an agreement against the governance policy. catalogue holds the
// catalogue Datasets the agreement names that exist. It returns the violations and the digest of
// the policy revision used; an error means the policy could not answer, which fails closed.
type AgreementValidator interface {
	ValidateAgreement(ctx context.Context, daa *fivesafesv1alpha1.DataAccessAgreement, catalogue map[string]fivesafesv1alpha1.DatasetSpec) ([]fivesafesv1alpha1.Finding, fivesafesv1alpha1.Digest, error)
}

// AuditLog records events durably before the action they describe takes effect. *audit.Log
// satisfies it; an error means nothing that depends on the record may happen.
type AuditLog interface {
	Append(ctx context.Context, in audit.EntryInput) (audit.Entry, error)
}

// WorkspaceStorage administers object storage for workspaces. *storage.Client satisfies it.
type WorkspaceStorage interface {
	EnsureBucket(ctx context.Context, name string, o storage.BucketOptions) error
	DeleteBucket(ctx context.Context, name string) error
	EnsurePolicy(ctx context.Context, name string, doc []byte) error
	RemovePolicy(ctx context.Context, name string) error
	EnsureConfinedUser(ctx context.Context, accessKey, secretKey, policy string, enabled bool) error
	SetUserEnabled(ctx context.Context, user string, enabled bool) error
	RemoveUser(ctx context.Context, user string) error
}

// WorkspaceKeys manages agreements' pseudonymisation keys. *pseudonym.Vault satisfies it.
type WorkspaceKeys interface {
	EnsureKey(ctx context.Context, name string) (pseudonym.Key, error)
	NewDataKey(ctx context.Context, name string, version int) (pseudonym.WrappedKey, error)
	DeleteKey(ctx context.Context, name string) error
}
