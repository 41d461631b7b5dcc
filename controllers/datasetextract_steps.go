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
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/extract"
	"github.com/fivesafes/fivesafes/internal/extractjob"
	"github.com/fivesafes/fivesafes/internal/metrics"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
)

const extractController = "controller:datasetextract"

// keyAccess is what a copy needs of the agreement's key: the token confined to it, the key's
// name and pinned version, and in Envelope mode the wrapped data key.
type keyAccess struct {
	token   string
	name    string
	version int32
	wrapped pseudonym.WrappedKey
}

// wait records that the copy waits for something outside the extract, which a watch will report.
func (s *extractScope) wait(reason, msg string) (ctrl.Result, error) {
	s.waiting = true
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavUnknown, reason, msg)
	return ctrl.Result{}, nil
}

// unavailable records that a system the copy needs could not answer; the error brings backoff.
func (s *extractScope) unavailable(reason, msg string, err error) (ctrl.Result, error) {
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavUnknown, reason, msg+": "+err.Error())
	return ctrl.Result{}, fmt.Errorf("%s: %w", msg, err)
}

// resolveAgreement requires the extract to be one the agreement approves, in the agreement's
// workspace namespace, while the agreement is active.
func (r *DatasetExtractReconciler) resolveAgreement(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	spec := s.dx.Spec
	if ns := WorkspaceNamespace(spec.Agreement); s.dx.Namespace != ns {
		return s.wait(ReasonExtractNotApproved, fmt.Sprintf("an extract under agreement %s must be in its workspace namespace %s", spec.Agreement, ns))
	}
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := r.Get(ctx, client.ObjectKey{Name: spec.Agreement}, daa); err != nil {
		if apierrors.IsNotFound(err) {
			return s.wait(ReasonExtractAgreementNotActive, "agreement "+spec.Agreement+" does not exist")
		}
		return ctrl.Result{}, fmt.Errorf("reading agreement %s: %w", spec.Agreement, err)
	}
	if daa.Status.Phase != fivesafesv1alpha1.AgreementActive {
		return s.wait(ReasonExtractAgreementNotActive, fmt.Sprintf("agreement %s is %s, not Active", spec.Agreement, orUnknown(string(daa.Status.Phase))))
	}
	if msg := notApproved(daa, spec); msg != "" {
		return s.wait(ReasonExtractNotApproved, msg)
	}
	if s.dx.Name != spec.Dataset {
		// Copies live under datasets/<dataset>/: two extracts of one dataset would overwrite
		// each other's copy.
		return s.wait(ReasonExtractNotApproved, fmt.Sprintf("an extract is named after its dataset, %s, so that a workspace holds one copy of it", spec.Dataset))
	}
	s.agreement = daa
	return ctrl.Result{}, nil
}

func orUnknown(s string) string {
	if s == "" {
		return "not yet decided"
	}
	return s
}

// notApproved says how the extract goes beyond what the agreement approves, or "" when it does
// not: a dataset it does not name, a column it does not approve, opt-outs it honours left out.
func notApproved(daa *fivesafesv1alpha1.DataAccessAgreement, spec fivesafesv1alpha1.DatasetExtractSpec) string {
	i := slices.IndexFunc(daa.Spec.Datasets, func(d fivesafesv1alpha1.AgreementDataset) bool { return d.Name == spec.Dataset })
	if i < 0 {
		return fmt.Sprintf("agreement %s does not approve dataset %s", daa.Name, spec.Dataset)
	}
	approved := daa.Spec.Datasets[i]
	var extra []string
	for _, c := range spec.Columns {
		if !slices.Contains(approved.Columns, c) {
			extra = append(extra, c)
		}
	}
	switch {
	case len(extra) > 0:
		return fmt.Sprintf("agreement %s does not approve column(s) %s of dataset %s", daa.Name, strings.Join(extra, ", "), spec.Dataset)
	case approved.OptOuts == fivesafesv1alpha1.OptOutsHonoured && spec.OptOuts != fivesafesv1alpha1.OptOutsHonoured:
		return fmt.Sprintf("agreement %s honours opt-outs for dataset %s; the extract must apply them", daa.Name, spec.Dataset)
	case spec.OptOuts == fivesafesv1alpha1.OptOutsNotApplied && strings.TrimSpace(spec.OptOutJustification) == "":
		return "opt-outs are not applied but the extract records no justification"
	}
	return ""
}

// resolveDataset reads the catalogue entry and checks every approved column is in its schema.
func (r *DatasetExtractReconciler) resolveDataset(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	name := s.dx.Spec.Dataset
	ds := &fivesafesv1alpha1.Dataset{}
	if err := r.Get(ctx, client.ObjectKey{Name: name}, ds); err != nil {
		if apierrors.IsNotFound(err) {
			return s.wait(ReasonExtractDatasetNotFound, "dataset "+name+" is not in the catalogue")
		}
		return ctrl.Result{}, fmt.Errorf("reading dataset %s: %w", name, err)
	}
	if f := ds.Spec.Format; f != "" && f != fivesafesv1alpha1.FormatCSV {
		return s.wait(ReasonExtractDatasetNotFound, fmt.Sprintf("dataset %s is in format %s, which cannot be extracted", name, f))
	}
	if err := extractjob.CheckDataset(name); err != nil {
		return s.wait(ReasonExtractDatasetNotFound, err.Error())
	}
	s.schema = make([]extract.Column, 0, len(ds.Spec.Columns))
	for _, c := range ds.Spec.Columns {
		s.schema = append(s.schema, extract.Column{Name: c.Name, Identifier: c.Identifier})
	}
	var missing []string
	for _, c := range s.dx.Spec.Columns {
		if !slices.ContainsFunc(s.schema, func(sc extract.Column) bool { return sc.Name == c }) {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return s.wait(ReasonExtractDatasetNotFound, fmt.Sprintf("column(s) %s are not in the schema of dataset %s", strings.Join(missing, ", "), name))
	}
	s.want.Agreement, s.want.Dataset = s.dx.Spec.Agreement, name
	s.want.Columns = slices.Clone(s.dx.Spec.Columns)
	s.want.SchemaDigest = extractjob.SchemaDigest(s.schema)
	s.want.SourceBucket, s.want.SourcePrefix = ds.Spec.Source.Bucket, ds.Spec.Source.Prefix
	return ctrl.Result{}, nil
}

// resolveWorkspace waits for the agreement's workspace to be active and Ready.
func (r *DatasetExtractReconciler) resolveWorkspace(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	ws := &fivesafesv1alpha1.Workspace{}
	if err := r.Get(ctx, client.ObjectKey{Name: s.dx.Spec.Agreement}, ws); err != nil {
		if apierrors.IsNotFound(err) {
			return s.wait(ReasonExtractWorkspaceNotReady, "the workspace of agreement "+s.dx.Spec.Agreement+" does not exist yet")
		}
		return ctrl.Result{}, fmt.Errorf("reading workspace %s: %w", s.dx.Spec.Agreement, err)
	}
	if ws.Spec.State != fivesafesv1alpha1.WorkspaceActive || !meta.IsStatusConditionTrue(ws.Status.Conditions, fivesafesv1alpha1.ConditionReady) {
		return s.wait(ReasonExtractWorkspaceNotReady, fmt.Sprintf("workspace %s is %s, not Ready", ws.Name, orUnknown(string(ws.Status.Phase))))
	}
	s.workspace = ws
	return ctrl.Result{}, nil
}

// resolveKey reads, from outside the workspace, the agreement's key access: the token confined
// to its key, and the pinned key version (and wrapped data key in Envelope mode). It calls no
// Vault endpoint: that happens only when a copy is made.
func (r *DatasetExtractReconciler) resolveKey(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	agreement := s.dx.Spec.Agreement
	secret := &corev1.Secret{}
	key := client.ObjectKey{Namespace: r.SystemNamespace, Name: KeyAccessSecret(agreement)}
	if err := r.Get(ctx, key, secret); err != nil {
		return s.unavailable(ReasonExtractKeyUnavailable, "reading the agreement's key access", err)
	}
	ka := keyAccess{token: string(secret.Data["token"]), name: s.workspace.Status.KeyName}
	if ka.name == "" {
		ka.name = WorkspaceKey(agreement)
	}
	if ka.token == "" {
		return s.unavailable(ReasonExtractKeyUnavailable, "reading the agreement's key access", errors.New("it holds no token"))
	}
	switch mode := pseudonymMode(s.dx); mode {
	case fivesafesv1alpha1.PseudonymTransit:
		ka.version = s.workspace.Status.KeyVersion
		if ka.version < 1 {
			return s.unavailable(ReasonExtractKeyUnavailable, "reading the pinned key version", errors.New("the workspace has pinned none"))
		}
	default:
		wrapped := string(secret.Data["wrappedDataKey"])
		v, err := strconv.ParseInt(string(secret.Data["keyVersion"]), 10, 32)
		if wrapped == "" || err != nil || v < 1 {
			return s.unavailable(ReasonExtractKeyUnavailable, "reading the agreement's key access", errors.New("it holds no usable wrapped data key"))
		}
		ka.version = int32(v)
		ka.wrapped = pseudonym.WrappedKey{Ciphertext: wrapped, KeyVersion: int(v)}
		s.want.DataKeyDigest = extractjob.DataKeyDigest(wrapped)
	}
	s.key = ka
	s.want.PseudonymMode = string(pseudonymMode(s.dx))
	s.want.KeyVersion = ka.version
	return ctrl.Result{}, nil
}

func pseudonymMode(dx *fivesafesv1alpha1.DatasetExtract) fivesafesv1alpha1.PseudonymMode {
	if dx.Spec.PseudonymMode == "" {
		return fivesafesv1alpha1.PseudonymEnvelope
	}
	return dx.Spec.PseudonymMode
}

// resolveOptOuts decides which opt-out snapshot the copy must apply: for Honoured, the one the
// named list has loaded at its current generation; for NotApplied, none, with the justification.
func (r *DatasetExtractReconciler) resolveOptOuts(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	spec := s.dx.Spec
	if spec.OptOuts != fivesafesv1alpha1.OptOutsHonoured {
		s.want.OptOuts = extractjob.OptOutRecord{Justification: spec.OptOutJustification}
		return ctrl.Result{}, nil
	}
	if spec.OptOutList == "" {
		return s.wait(ReasonExtractOptOutsNotLoaded, "opt-outs are honoured but the extract names no opt-out list")
	}
	list := &fivesafesv1alpha1.OptOutList{}
	if err := r.Get(ctx, client.ObjectKey{Name: spec.OptOutList}, list); err != nil {
		if apierrors.IsNotFound(err) {
			return s.wait(ReasonExtractOptOutsNotLoaded, "opt-out list "+spec.OptOutList+" does not exist")
		}
		return ctrl.Result{}, fmt.Errorf("reading opt-out list %s: %w", spec.OptOutList, err)
	}
	ready := meta.FindStatusCondition(list.Status.Conditions, fivesafesv1alpha1.ConditionReady)
	if ready == nil || ready.Status != metavTrue || ready.ObservedGeneration != list.Generation || list.Status.Digest == "" {
		msg := "opt-out list " + list.Name + " has not loaded the snapshot its spec names"
		if ready != nil && ready.Status != metavTrue {
			msg += ": " + ready.Message
		}
		return s.wait(ReasonExtractOptOutsNotLoaded, msg)
	}
	s.optOutSource = &list.Spec.Source
	s.want.OptOuts = extractjob.OptOutRecord{
		Applied: true, List: list.Name, SnapshotDate: list.Status.SnapshotDate, Digest: string(list.Status.Digest),
	}
	return ctrl.Result{}, nil
}

// observeSource lists the source objects and their digest.
func (r *DatasetExtractReconciler) observeSource(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	src, err := extractjob.ListSource(ctx, r.Store, s.want.SourceBucket, s.want.SourcePrefix)
	if err != nil {
		return s.unavailable(ReasonExtractSourceUnavailable, "listing the source objects", err)
	}
	s.source = src
	s.want.SourceDigest = src.Digest
	return ctrl.Result{}, nil
}

// observeCopy reads the visible copy's manifest, mirrors it in status, and decides whether a new
// copy is needed. When the copy is current it only removes what failed runs left behind.
func (r *DatasetExtractReconciler) observeCopy(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	bucket := WorkspaceBucket(s.dx.Spec.Agreement)
	m, err := extractjob.ReadManifest(ctx, r.Store, bucket, s.dx.Spec.Dataset)
	if err != nil {
		return s.unavailable(ReasonExtractStorageUnavailable, "reading the copy's manifest", err)
	}
	s.current = m
	mirrorManifest(s.dx, m)
	s.needed = copyNeeded(s.want, m)
	if len(s.needed) > 0 {
		setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavFalse, ReasonExtractOutdated, outdatedMessage(s.needed))
		return ctrl.Result{}, nil
	}
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavTrue, ReasonExtractUpToDate, currentMessage(m))
	if err := r.removeStaleJob(ctx, s); err != nil {
		return ctrl.Result{}, err
	}
	if n, err := extractjob.Prune(ctx, r.Store, bucket, s.dx.Spec.Dataset, m.RunID); err != nil {
		return ctrl.Result{}, fmt.Errorf("removing objects no manifest names: %w", err)
	} else if n > 0 {
		ctrl.LoggerFrom(ctx).Info("Removed objects no manifest names", "versions", n)
	}
	return ctrl.Result{}, nil
}

// makeCopy makes a new copy when one is needed: it unwraps the agreement's key (or uses Vault
// transit) with the agreement's own token, takes the opt-out snapshot the list loaded, and runs
// the copy. The copy is recorded in the audit log before its manifest makes it visible.
func (r *DatasetExtractReconciler) makeCopy(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	if len(s.needed) == 0 {
		return ctrl.Result{}, nil
	}
	if r.byJob(s) {
		return r.copyByJob(ctx, s)
	}
	ps, closeKey, err := r.pseudonymiser(ctx, s)
	if err != nil {
		return s.copyFailed(ReasonExtractKeyUnavailable, "preparing the agreement's pseudonyms", err)
	}
	defer closeKey()
	var set extract.OptOuts
	if s.want.OptOuts.Applied {
		got, ok := r.OptOuts.Lookup(s.want.OptOuts.List, s.want.OptOuts.Digest)
		if !ok {
			return s.copyFailed(ReasonExtractOptOutsUnavailable, "taking the opt-out snapshot",
				fmt.Errorf("snapshot %s of list %s is not loaded in this manager", s.want.OptOuts.Digest, s.want.OptOuts.List))
		}
		set = got
	}
	log := ctrl.LoggerFrom(ctx)
	log.Info("Copying dataset", "dataset", s.want.Dataset, "objects", len(s.source.Objects), "bytes", s.source.Bytes(), "because", strings.Join(s.needed, "; "))
	var auditErr error
	started := time.Now()
	m, err := extractjob.Run(ctx, extractjob.Input{
		Store:         r.Store,
		Provenance:    s.want,
		Source:        s.source,
		Bucket:        WorkspaceBucket(s.dx.Spec.Agreement),
		RunID:         extractjob.NewRunID(time.Now()), // Run identifiers order runs by when they really started.
		Previous:      previousETag(s.current),
		Schema:        s.schema,
		Pseudonymiser: ps,
		OptOuts:       set,
		BatchSize:     r.BatchSize,
		Concurrency:   r.TransformConcurrency,
		BeforePublish: func(ctx context.Context, m extractjob.Manifest) error {
			auditErr = r.recordCopy(ctx, s, m)
			return auditErr
		},
	})
	failed := auditErr
	if err != nil && !errors.Is(err, extractjob.ErrPrune) {
		failed = err
	}
	metrics.ObserveExtract(s.dx.Spec.Dataset, m.Rows, time.Since(started), failed)
	switch {
	case auditErr != nil:
		return s.copyFailed(ReasonExtractAuditUnavailable, "recording the copy in the audit log", auditErr)
	case err != nil && !errors.Is(err, extractjob.ErrPrune):
		return s.copyFailed(ReasonExtractCopyFailed, "copying the dataset", err)
	}
	s.copied, s.current, s.needed = true, &m, nil
	mirrorManifest(s.dx, &m)
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavTrue, ReasonExtractUpToDate, currentMessage(&m))
	log.Info("Copied dataset", "dataset", m.Dataset, "run", m.RunID, "rowsRead", m.Rows.Read, "rowsWritten", m.Rows.Written,
		"optedOut", m.Rows.OptedOut, "invalidIdentifier", m.Rows.InvalidIdentifier, "malformed", m.Rows.Malformed, "millis", m.DurationMillis)
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("after publishing the copy: %w", err)
	}
	return ctrl.Result{}, nil
}

func previousETag(m *extractjob.Manifest) string {
	if m == nil {
		return ""
	}
	return m.ETag
}

// copyFailed records why no new copy was made; the previous copy, if any, stays visible.
func (s *extractScope) copyFailed(reason, msg string, err error) (ctrl.Result, error) {
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavFalse, reason,
		outdatedMessage(s.needed)+"; "+msg+" failed: "+err.Error())
	return ctrl.Result{}, fmt.Errorf("%s: %w", msg, err)
}

// pseudonymiser returns the agreement's pseudonymiser, made with a Vault client that carries
// only the agreement's own token, and a function that wipes any key held in memory.
func (r *DatasetExtractReconciler) pseudonymiser(ctx context.Context, s *extractScope) (extract.Pseudonymiser, func(), error) {
	if r.Vault == nil {
		return nil, nil, errors.New("no vault client is configured")
	}
	c, err := r.Vault.Clone()
	if err != nil {
		return nil, nil, fmt.Errorf("cloning the vault client: %w", err)
	}
	c.SetToken(s.key.token)
	v, err := pseudonym.NewVault(c, r.TransitMount)
	if err != nil {
		return nil, nil, err
	}
	if pseudonymMode(s.dx) == fivesafesv1alpha1.PseudonymTransit {
		t, err := v.Transit(s.key.name, int(s.key.version))
		if err != nil {
			return nil, nil, err
		}
		return t, func() {}, nil
	}
	local, err := v.Unwrap(ctx, s.key.name, s.key.wrapped)
	if err != nil {
		return nil, nil, err
	}
	return local, func() { _ = local.Close() }, nil
}

// recordCopy writes the copy to the audit log. It is called with the finished manifest, before
// the manifest is written, so no copy becomes visible without its record.
func (r *DatasetExtractReconciler) recordCopy(ctx context.Context, s *extractScope, m extractjob.Manifest) error {
	details := map[string]any{
		audit.DetailAgreement:   m.Agreement,
		"dataset":               m.Dataset,
		"run":                   m.RunID,
		"manifest":              extractjob.ManifestKey(m.Dataset),
		"manifestSha256":        m.SHA256,
		"objects":               len(m.Objects),
		"rowsRead":              m.Rows.Read,
		"rowsWritten":           m.Rows.Written,
		"rowsOptedOut":          m.Rows.OptedOut,
		"rowsInvalidIdentifier": m.Rows.InvalidIdentifier,
		"rowsMalformed":         m.Rows.Malformed,
		"columns":               m.Columns,
		"pseudonymMode":         m.PseudonymMode,
		"keyVersion":            m.KeyVersion,
		"sourceDigest":          m.SourceDigest,
		"optOutsApplied":        m.OptOuts.Applied,
	}
	if m.OptOuts.Applied {
		details["optOutList"] = m.OptOuts.List
		details["optOutSnapshotDate"] = m.OptOuts.SnapshotDate
		details["optOutSnapshotDigest"] = m.OptOuts.Digest
	}
	_, err := r.Audit.Append(ctx, audit.EntryInput{
		Actor:          extractController,
		Action:         audit.ActionDatasetExtract,
		Object:         audit.ObjectRef{Kind: "DatasetExtract", Namespace: s.dx.Namespace, Name: s.dx.Name},
		Decision:       "copied",
		Details:        details,
		IdempotencyKey: "extract/" + s.dx.Namespace + "/" + s.dx.Name + "/" + m.SHA256,
	})
	if err != nil {
		return fmt.Errorf("appending to the audit log: %w", err)
	}
	return nil
}
