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
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/extractjob"
	"github.com/fivesafes/fivesafes/internal/extractworker"
	"github.com/fivesafes/fivesafes/internal/metrics"
)

// +kubebuilder:rbac:groups=batch,namespace=fivesafes-system,resources=jobs,verbs=get;list;watch;create;delete
// +kubebuilder:rbac:groups="",namespace=fivesafes-system,resources=configmaps,verbs=get;list;watch;create;delete

// ExtractJobs says when and how copies are made by indexed Jobs rather than in the manager.
type ExtractJobs struct {
	// Threshold is the source size, in bytes, from which a copy runs as a Job.
	Threshold int64
	// Storage locates the object store for the workers.
	Storage extractworker.Storage
	// Options say how the Jobs run; their namespace is the reconciler's SystemNamespace.
	Options extractworker.JobOptions
}

// ExtractJobName is the name of the Job, and of its plan ConfigMap, that copies extract ns/name.
func ExtractJobName(namespace, name string) string {
	sum := sha256.Sum256([]byte(namespace + "/" + name))
	return "fivesafes-extract-" + hex.EncodeToString(sum[:8])
}

// byJob says whether this copy runs as a Job.
func (r *DatasetExtractReconciler) byJob(s *extractScope) bool {
	return r.Jobs != nil && s.source.Bytes() >= r.Jobs.Threshold
}

// copyByJob makes the copy with an indexed Job, one completion per source object. It plans the
// run and starts the Job; while the Job runs it reports progress; when the Job completes it
// publishes the copy from the parts' records exactly as an in-process copy would be published
// (the audit record first); when the Job fails, or the plan no longer matches what the copy must
// be, the Job is removed and a new run is planned.
func (r *DatasetExtractReconciler) copyByJob(ctx context.Context, s *extractScope) (ctrl.Result, error) {
	name := ExtractJobName(s.dx.Namespace, s.dx.Name)
	key := client.ObjectKey{Namespace: r.SystemNamespace, Name: name}
	job := &batchv1.Job{}
	if err := r.Get(ctx, key, job); apierrors.IsNotFound(err) {
		return r.startJob(ctx, s, name)
	} else if err != nil {
		return ctrl.Result{}, fmt.Errorf("reading extraction job %s: %w", key, err)
	}
	cm := &corev1.ConfigMap{}
	if err := r.Get(ctx, key, cm); err != nil {
		if apierrors.IsNotFound(err) {
			return r.restartJob(ctx, key, "its plan is gone")
		}
		return ctrl.Result{}, fmt.Errorf("reading the plan of extraction job %s: %w", key, err)
	}
	plan, err := extractworker.DecodePlan([]byte(cm.Data[extractworker.PlanFile]))
	if err != nil {
		return r.restartJob(ctx, key, err.Error())
	}
	if changes := s.want.Changes(plan.Provenance); len(changes) > 0 || plan.Previous != previousETag(s.current) {
		return r.restartJob(ctx, key, "the copy it makes is no longer the one needed")
	}
	switch finished, cond := jobFinished(job); {
	case finished && cond == batchv1.JobFailed:
		msg := "the extraction job failed"
		if c := findJobCondition(job, batchv1.JobFailed); c != nil && c.Message != "" {
			msg += ": " + c.Message
		}
		if err := r.deleteJob(ctx, key); err != nil {
			return ctrl.Result{}, err
		}
		metrics.ObserveExtract(s.dx.Spec.Dataset, fivesafesv1alpha1.RowCounts{}, time.Since(plan.StartedAt), errors.New(msg))
		return s.copyFailed(ReasonExtractCopyFailed, "copying the dataset in job "+key.String(), errors.New(msg))
	case finished:
		return r.publishJob(ctx, s, key, plan)
	}
	done := job.Status.Succeeded
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavFalse, ReasonExtractCopying,
		fmt.Sprintf("%s; job %s has made %d of %d parts", outdatedMessage(s.needed), key, done, len(plan.Objects)))
	s.waiting = true
	return ctrl.Result{}, nil
}

// startJob plans a run and starts its Job.
func (r *DatasetExtractReconciler) startJob(ctx context.Context, s *extractScope, name string) (ctrl.Result, error) {
	plan := extractworker.Plan{
		Version:      extractworker.PlanVersion,
		Provenance:   s.want,
		Objects:      s.source.Objects,
		Bucket:       WorkspaceBucket(s.dx.Spec.Agreement),
		RunID:        extractjob.NewRunID(time.Now()),
		Previous:     previousETag(s.current),
		StartedAt:    time.Now().UTC(),
		Schema:       extractworker.PlanColumns(s.schema),
		Key:          s.key.name,
		TransitMount: r.TransitMount,
		Storage:      r.Jobs.Storage,
		BatchSize:    r.BatchSize,
		Concurrency:  r.TransformConcurrency,
	}
	if s.want.OptOuts.Applied {
		e, ok := r.OptOuts.Get(s.want.OptOuts.List)
		if !ok || e.Digest != s.want.OptOuts.Digest || s.optOutSource == nil {
			return s.copyFailed(ReasonExtractOptOutsUnavailable, "planning the copy",
				fmt.Errorf("snapshot %s of list %s is not loaded in this manager", s.want.OptOuts.Digest, s.want.OptOuts.List))
		}
		plan.OptOuts = &extractworker.OptOutSource{Bucket: s.optOutSource.Bucket, Key: s.optOutSource.Key, ETag: e.ETag, Digest: e.Digest}
	}
	opts := r.Jobs.Options
	opts.Namespace = r.SystemNamespace
	cm, job, err := extractworker.Job(name, KeyAccessSecret(s.dx.Spec.Agreement), plan, map[string]string{
		extractworker.LabelExtractNamespace: s.dx.Namespace,
		extractworker.LabelExtractName:      s.dx.Name,
	}, opts)
	if err != nil {
		return s.copyFailed(ReasonExtractCopyFailed, "planning the copy", err)
	}
	if err := r.Create(ctx, cm); apierrors.IsAlreadyExists(err) {
		// A plan left by a run whose Job was never created: replace it.
		if err := r.Delete(ctx, cm); client.IgnoreNotFound(err) != nil {
			return ctrl.Result{}, fmt.Errorf("removing a stale extraction plan: %w", err)
		}
		return ctrl.Result{RequeueAfter: time.Second}, nil
	} else if err != nil {
		return ctrl.Result{}, fmt.Errorf("writing the extraction plan: %w", err)
	}
	if err := r.Create(ctx, job); err != nil && !apierrors.IsAlreadyExists(err) {
		return ctrl.Result{}, fmt.Errorf("starting the extraction job: %w", err)
	}
	ctrl.LoggerFrom(ctx).Info("Started extraction job", "job", name, "dataset", s.want.Dataset, "run", plan.RunID,
		"parts", len(plan.Objects), "bytes", s.source.Bytes())
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavFalse, ReasonExtractCopying,
		fmt.Sprintf("%s; job %s/%s is copying %d objects (%d bytes)", outdatedMessage(s.needed), r.SystemNamespace, name, len(plan.Objects), s.source.Bytes()))
	s.waiting = true
	return ctrl.Result{}, nil
}

// publishJob publishes the copy a completed Job made, then removes the Job and its plan.
func (r *DatasetExtractReconciler) publishJob(ctx context.Context, s *extractScope, key client.ObjectKey, plan extractworker.Plan) (ctrl.Result, error) {
	in := extractjob.Input{
		Store: r.Store, Provenance: plan.Provenance, Source: plan.Source(), Bucket: plan.Bucket, RunID: plan.RunID,
		Previous: plan.Previous, Schema: plan.SchemaColumns(),
	}
	if plan.Provenance.OptOuts.Applied {
		set, ok := r.OptOuts.Lookup(plan.Provenance.OptOuts.List, plan.Provenance.OptOuts.Digest)
		if !ok {
			return s.copyFailed(ReasonExtractOptOutsUnavailable, "publishing the copy",
				fmt.Errorf("snapshot %s of list %s is not loaded in this manager", plan.Provenance.OptOuts.Digest, plan.Provenance.OptOuts.List))
		}
		in.OptOuts = set
	}
	var auditErr error
	in.BeforePublish = func(ctx context.Context, m extractjob.Manifest) error {
		auditErr = r.recordCopy(ctx, s, m)
		return auditErr
	}
	m, err := extractjob.Publish(ctx, in, plan.StartedAt)
	failed := auditErr
	if err != nil && !errors.Is(err, extractjob.ErrPrune) {
		failed = err
	}
	switch {
	case auditErr != nil:
		// Nothing is published without its record; the Job's parts stay for the next attempt.
		return s.copyFailed(ReasonExtractAuditUnavailable, "recording the copy in the audit log", auditErr)
	case failed != nil:
		metrics.ObserveExtract(s.dx.Spec.Dataset, m.Rows, time.Since(plan.StartedAt), failed)
		if derr := r.deleteJob(ctx, key); derr != nil {
			return ctrl.Result{}, derr
		}
		return s.copyFailed(ReasonExtractCopyFailed, "publishing the copy made by job "+key.String(), failed)
	}
	metrics.ObserveExtract(s.dx.Spec.Dataset, m.Rows, time.Since(plan.StartedAt), nil)
	s.copied, s.current, s.needed = true, &m, nil
	mirrorManifest(s.dx, &m)
	setExtractCondition(s.dx, fivesafesv1alpha1.ExtractCurrent, metavTrue, ReasonExtractUpToDate, currentMessage(&m))
	ctrl.LoggerFrom(ctx).Info("Copied dataset", "dataset", m.Dataset, "run", m.RunID, "job", key.Name, "rowsRead", m.Rows.Read,
		"rowsWritten", m.Rows.Written, "optedOut", m.Rows.OptedOut, "invalidIdentifier", m.Rows.InvalidIdentifier, "malformed", m.Rows.Malformed)
	if err := r.deleteJob(ctx, key); err != nil {
		return ctrl.Result{}, err
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("after publishing the copy: %w", err)
	}
	return ctrl.Result{}, nil
}

// restartJob removes a Job that can no longer make the copy needed; the next loop plans anew.
func (r *DatasetExtractReconciler) restartJob(ctx context.Context, key client.ObjectKey, why string) (ctrl.Result, error) {
	ctrl.LoggerFrom(ctx).Info("Replacing extraction job", "job", key.Name, "because", why)
	if err := r.deleteJob(ctx, key); err != nil {
		return ctrl.Result{}, err
	}
	return ctrl.Result{RequeueAfter: time.Second}, nil
}

// deleteJob removes an extraction Job, its pods and its plan.
func (r *DatasetExtractReconciler) deleteJob(ctx context.Context, key client.ObjectKey) error {
	job := &batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := r.Delete(ctx, job, client.PropagationPolicy(metav1.DeletePropagationBackground)); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting extraction job %s: %w", key, err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
	if err := r.Delete(ctx, cm); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("deleting the plan of extraction job %s: %w", key, err)
	}
	return nil
}

// removeStaleJob deletes the extract's Job when no copy is needed any more.
func (r *DatasetExtractReconciler) removeStaleJob(ctx context.Context, s *extractScope) error {
	if r.Jobs == nil {
		return nil
	}
	key := client.ObjectKey{Namespace: r.SystemNamespace, Name: ExtractJobName(s.dx.Namespace, s.dx.Name)}
	if err := r.Get(ctx, key, &batchv1.Job{}); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return fmt.Errorf("reading extraction job %s: %w", key, err)
	}
	return r.deleteJob(ctx, key)
}

// jobFinished says whether the Job has finished, and how.
func jobFinished(job *batchv1.Job) (bool, batchv1.JobConditionType) {
	for _, c := range job.Status.Conditions {
		if (c.Type == batchv1.JobComplete || c.Type == batchv1.JobFailed) && c.Status == corev1.ConditionTrue {
			return true, c.Type
		}
	}
	return false, ""
}

func findJobCondition(job *batchv1.Job, t batchv1.JobConditionType) *batchv1.JobCondition {
	for i := range job.Status.Conditions {
		if job.Status.Conditions[i].Type == t {
			return &job.Status.Conditions[i]
		}
	}
	return nil
}

// extractOfJob maps an extraction Job to its DatasetExtract.
func extractOfJob(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	if l[extractworker.LabelComponent] != extractworker.ComponentExtract || l[extractworker.LabelExtractName] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: l[extractworker.LabelExtractNamespace], Name: l[extractworker.LabelExtractName]}}}
}
