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

// Package extractworker runs a dataset copy as a Kubernetes indexed Job: the controller writes
// a Plan, every completion index copies one source object with extractjob.RunPart, and the
// controller publishes the copy with extractjob.Publish once the Job completes. The worker is
// the manager binary itself (`manager extract`), so both paths run the same code on the same
// inputs and make the same objects.
package extractworker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/extract"
	"github.com/fivesafes/fivesafes/internal/extractjob"
	"github.com/fivesafes/fivesafes/internal/optout"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
)

// PlanVersion is the version of the Plan format this package writes and reads.
const PlanVersion = 1

// PlanFile is the name of the plan in the Job's plan ConfigMap and volume.
const PlanFile = "plan.json"

// Plan is everything a worker needs to make its part of a copy, apart from credentials: those
// come from the key access Secret and the storage credentials, mounted into the pod.
type Plan struct {
	// Version is PlanVersion.
	Version int `json:"version"`
	// Provenance is the provenance of the copy to make.
	Provenance extractjob.Provenance `json:"provenance"`
	// Objects are the source objects, in order; completion index i copies Objects[i].
	Objects []extractjob.SourceObject `json:"objects"`
	// Bucket is the workspace bucket the copy is written to.
	Bucket string `json:"bucket"`
	// RunID names the run.
	RunID string `json:"runId"`
	// Previous is the ETag of the manifest the copy replaces, empty when there is none.
	Previous string `json:"previous,omitempty"`
	// StartedAt is when the controller planned the copy.
	StartedAt time.Time `json:"startedAt"`
	// Schema is the dataset's schema.
	Schema []Column `json:"schema"`
	// Key names the agreement's transit key.
	Key string `json:"key"`
	// TransitMount is the mount path of Vault's transit engine.
	TransitMount string `json:"transitMount"`
	// OptOuts locates the opt-out snapshot to apply; nil when opt-outs are not applied.
	OptOuts *OptOutSource `json:"optOuts,omitempty"`
	// Storage locates the object store.
	Storage Storage `json:"storage"`
	// BatchSize and Concurrency tune the transform; zero takes its defaults.
	BatchSize   int `json:"batchSize,omitempty"`
	Concurrency int `json:"concurrency,omitempty"`
}

// Column is one column of the dataset's schema.
type Column struct {
	Name       string                           `json:"name"`
	Identifier fivesafesv1alpha1.IdentifierKind `json:"identifier,omitempty"`
}

// OptOutSource is the opt-out snapshot object and the digest it must have.
type OptOutSource struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	// ETag pins the version the opt-out list loaded.
	ETag string `json:"etag"`
	// Digest is the snapshot's sha256; a snapshot with another digest is refused.
	Digest string `json:"digest"`
}

// Storage locates the object store.
type Storage struct {
	Endpoint string `json:"endpoint"`
	Secure   bool   `json:"secure,omitempty"`
}

// Encode returns the plan's stored form.
func (p *Plan) Encode() ([]byte, error) {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the extraction plan: %w", err)
	}
	return b, nil
}

// DecodePlan parses a stored plan and checks its version and parts agree.
func DecodePlan(b []byte) (Plan, error) {
	var p Plan
	if err := json.Unmarshal(b, &p); err != nil {
		return Plan{}, fmt.Errorf("decoding the extraction plan: %w", err)
	}
	switch {
	case p.Version != PlanVersion:
		return Plan{}, fmt.Errorf("the extraction plan is version %d; this worker reads version %d", p.Version, PlanVersion)
	case len(p.Objects) == 0:
		return Plan{}, errors.New("the extraction plan lists no source objects")
	case p.Provenance.OptOuts.Applied != (p.OptOuts != nil):
		return Plan{}, errors.New("the extraction plan must locate an opt-out snapshot exactly when opt-outs are applied")
	case p.OptOuts != nil && p.OptOuts.Digest != p.Provenance.OptOuts.Digest:
		return Plan{}, errors.New("the extraction plan's opt-out snapshot is not the one its provenance names")
	}
	return p, nil
}

// SchemaColumns converts the plan's schema for extract.
func (p *Plan) SchemaColumns() []extract.Column {
	out := make([]extract.Column, len(p.Schema))
	for i, c := range p.Schema {
		out[i] = extract.Column{Name: c.Name, Identifier: c.Identifier}
	}
	return out
}

// PlanColumns converts a schema for the plan.
func PlanColumns(schema []extract.Column) []Column {
	out := make([]Column, len(schema))
	for i, c := range schema {
		out[i] = Column{Name: c.Name, Identifier: c.Identifier}
	}
	return out
}

// Source returns the plan's source objects as extractjob lists them.
func (p *Plan) Source() extractjob.Source {
	return extractjob.Source{
		Bucket: p.Provenance.SourceBucket, Prefix: p.Provenance.SourcePrefix,
		Objects: p.Objects, Digest: p.Provenance.SourceDigest,
	}
}

// Access is the worker's credentials.
type Access struct {
	// StorageAccessKey and StorageSecretKey reach the catalogue and workspace buckets.
	StorageAccessKey, StorageSecretKey string
	// VaultAddress is Vault's URL.
	VaultAddress string
	// KeyDir holds the agreement's key access Secret: token, and in Envelope mode
	// wrappedDataKey and keyVersion.
	KeyDir string
}

// Input builds the extractjob input of the plan with the worker's credentials: a storage client,
// the agreement's pseudonymiser (Vault with the agreement's own token) and the opt-out snapshot,
// checked against its digest. The returned function wipes the key held in memory.
func Input(ctx context.Context, p Plan, a Access) (extractjob.Input, func(), error) {
	store, err := minio.New(p.Storage.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(a.StorageAccessKey, a.StorageSecretKey, ""), Secure: p.Storage.Secure,
	})
	if err != nil {
		return extractjob.Input{}, nil, fmt.Errorf("configuring the object storage client: %w", err)
	}
	ps, closeKey, err := pseudonymiser(ctx, p, a)
	if err != nil {
		return extractjob.Input{}, nil, err
	}
	in := extractjob.Input{
		Store: store, Provenance: p.Provenance, Source: p.Source(), Bucket: p.Bucket, RunID: p.RunID,
		Previous: p.Previous, Schema: p.SchemaColumns(), Pseudonymiser: ps,
		BatchSize: p.BatchSize, Concurrency: p.Concurrency,
	}
	if p.OptOuts != nil {
		set, err := loadOptOuts(ctx, store, *p.OptOuts)
		if err != nil {
			closeKey()
			return extractjob.Input{}, nil, err
		}
		in.OptOuts = set
	}
	return in, closeKey, nil
}

func readKeyFile(dir, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, name)) //nolint:gosec // the mounted key access directory
	if err != nil {
		return "", fmt.Errorf("reading the agreement's key access: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// pseudonymiser returns the agreement's pseudonymiser, using only the agreement's own token.
func pseudonymiser(ctx context.Context, p Plan, a Access) (extract.Pseudonymiser, func(), error) {
	token, err := readKeyFile(a.KeyDir, "token")
	if err != nil {
		return nil, nil, err
	}
	cfg := vaultapi.DefaultConfig()
	if a.VaultAddress != "" {
		cfg.Address = a.VaultAddress
	}
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("configuring the vault client: %w", err)
	}
	c.SetToken(token)
	v, err := pseudonym.NewVault(c, p.TransitMount)
	if err != nil {
		return nil, nil, err
	}
	if p.Provenance.PseudonymMode == string(fivesafesv1alpha1.PseudonymTransit) {
		t, err := v.Transit(p.Key, int(p.Provenance.KeyVersion))
		if err != nil {
			return nil, nil, err
		}
		return t, func() {}, nil
	}
	wrapped, err := readKeyFile(a.KeyDir, "wrappedDataKey")
	if err != nil {
		return nil, nil, err
	}
	if got := extractjob.DataKeyDigest(wrapped); got != p.Provenance.DataKeyDigest {
		return nil, nil, errors.New("the wrapped data key is not the one the plan was made with")
	}
	local, err := v.Unwrap(ctx, p.Key, pseudonym.WrappedKey{Ciphertext: wrapped, KeyVersion: int(p.Provenance.KeyVersion)})
	if err != nil {
		return nil, nil, err
	}
	return local, func() { _ = local.Close() }, nil
}

// loadOptOuts reads the pinned opt-out snapshot and refuses one whose digest differs.
func loadOptOuts(ctx context.Context, store *minio.Client, src OptOutSource) (*optout.Set, error) {
	var get minio.GetObjectOptions
	if err := get.SetMatchETag(src.ETag); err != nil {
		return nil, fmt.Errorf("pinning the opt-out snapshot: %w", err)
	}
	obj, err := store.GetObject(ctx, src.Bucket, src.Key, get)
	if err != nil {
		return nil, fmt.Errorf("opening the opt-out snapshot s3://%s/%s: %w", src.Bucket, src.Key, err)
	}
	defer func() { _ = obj.Close() }()
	snap, err := optout.Parse(ctx, obj)
	if err != nil {
		return nil, fmt.Errorf("reading the opt-out snapshot s3://%s/%s: %w", src.Bucket, src.Key, err)
	}
	if snap.Digest != src.Digest {
		return nil, fmt.Errorf("the opt-out snapshot s3://%s/%s has digest %s, not %s the plan names", src.Bucket, src.Key, snap.Digest, src.Digest)
	}
	return snap.Set, nil
}
