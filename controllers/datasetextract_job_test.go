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

package controllers_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/minio/minio-go/v7"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	psapi "k8s.io/pod-security-admission/api"
	pspolicy "k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/extractjob"
	"github.com/fivesafes/fivesafes/internal/extractworker"
	"github.com/fivesafes/fivesafes/internal/synth"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// A source above the Job threshold is copied by an indexed Job of the manager image, one
// completion per source object. No kubelet runs here, so the test checks the Job's spec, runs
// the worker entrypoint in-process for each index on the plan and Secret the pods would mount,
// and completes the Job as the job controller would. The controller then publishes the copy,
// recorded in the audit log, and removes the Job; copied again in the manager, the same
// inputs give the same objects, byte for byte.
func TestDatasetExtractByJob(t *testing.T) {
	ctx := t.Context()
	h := newExtractHarness(t)
	system := env.ManagerOptions().LeaderElectionNamespace
	h.r.Jobs = &controllers.ExtractJobs{
		Threshold: 1,
		Storage:   extractworker.Storage{Endpoint: env.MinIO.Endpoint},
		Options: extractworker.JobOptions{
			Image: "registry.example.org/fivesafes/manager:test", Parallelism: 2,
			StorageSecret: "fivesafes-storage", VaultAddress: env.Vault.Addr,
		},
	}
	admin, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.MakeBucket(ctx, catalogueBucket, minio.MakeBucketOptions{}); err != nil {
		if code := minio.ToErrorResponse(err).Code; code != "BucketAlreadyOwnedByYou" && code != "BucketAlreadyExists" {
			t.Fatal(err)
		}
	}
	const prefix = "hes-apc-by-job/"
	for i := range 3 {
		var buf bytes.Buffer
		if err := synth.Generate(ctx, &buf, synth.Options{Dataset: synth.HESAPC, Rows: 2000, Seed: extractSeed + int64(i), Population: extractPopulation}); err != nil {
			t.Fatal(err)
		}
		putObject(t, admin, catalogueBucket, fmt.Sprintf("%spart-%04d.csv", prefix, i+1), buf.Bytes())
	}
	everyone := synth.OptedOutBelow(extractSeed, extractPopulation)
	putObject(t, admin, catalogueBucket, "opt-outs/2026-11-01.csv", generate(t, synth.OptOuts, everyone/2))

	ws := activeAgreement(t, testname.Fresh(t, "extract-by-job"))
	// The catalogue entry points at the three objects while this test runs.
	ds := &fivesafesv1alpha1.Dataset{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: "hes-apc"}, ds); err != nil {
		t.Fatal(err)
	}
	was := ds.Spec.Source
	ds.Spec.Source.Prefix = prefix
	if err := env.Client.Update(ctx, ds); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ds := &fivesafesv1alpha1.Dataset{}
		if err := env.Client.Get(t.Context(), client.ObjectKey{Name: "hes-apc"}, ds); err == nil {
			ds.Spec.Source = was
			_ = env.Client.Update(t.Context(), ds)
		}
	})
	if _, _, err := h.optOut.reconcile(t, extractOptOuts); err != nil {
		t.Fatal(err)
	}
	daa := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: ws.Spec.Agreement}, daa); err != nil {
		t.Fatal(err)
	}
	dx := extractFor(t, daa, "hes-apc")

	// The first loop plans the copy and starts the Job.
	dx, _, err = h.reconcile(t, dx)
	if err != nil {
		t.Fatal(err)
	}
	cond := meta.FindStatusCondition(dx.Status.Conditions, fivesafesv1alpha1.ExtractCurrent)
	if cond == nil || cond.Reason != controllers.ReasonExtractCopying {
		t.Fatalf("Current = %+v, want Copying", cond)
	}
	key := client.ObjectKey{Namespace: system, Name: controllers.ExtractJobName(dx.Namespace, dx.Name)}
	job := &batchv1.Job{}
	if err := env.Client.Get(ctx, key, job); err != nil {
		t.Fatalf("no extraction job: %v", err)
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion || *spec.Completions != 3 || *spec.Parallelism != 2 ||
		spec.BackoffLimitPerIndex == nil || spec.Template.Spec.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("job spec: completion mode %v, completions %v, parallelism %v", spec.CompletionMode, spec.Completions, spec.Parallelism)
	}
	pod := spec.Template.Spec
	c := pod.Containers[0]
	if c.Image != h.r.Jobs.Options.Image || len(c.Command) != 2 || c.Command[0] != "/manager" || c.Command[1] != "extract" {
		t.Errorf("worker container runs %s %v", c.Image, c.Command)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("workers get a service account token they never need")
	}
	mounted := map[string]string{}
	for _, v := range pod.Volumes {
		switch {
		case v.Secret != nil:
			mounted[v.Name] = "secret/" + v.Secret.SecretName
		case v.ConfigMap != nil:
			mounted[v.Name] = "configmap/" + v.ConfigMap.Name
		}
	}
	if mounted["key"] != "secret/"+controllers.KeyAccessSecret(daa.Name) || mounted["plan"] != "configmap/"+key.Name {
		t.Errorf("worker volumes %v", mounted)
	}
	if l := job.Labels; l[extractworker.LabelExtractNamespace] != dx.Namespace || l[extractworker.LabelExtractName] != dx.Name {
		t.Errorf("job labels %v do not name the extract", l)
	}
	eval, err := pspolicy.NewEvaluator(pspolicy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range eval.EvaluatePod(psapi.LevelVersion{Level: psapi.LevelRestricted, Version: psapi.LatestVersion()}, &spec.Template.ObjectMeta, &pod) {
		if !r.Allowed {
			t.Errorf("the worker pod breaks Pod Security restricted: %s: %s", r.ForbiddenReason, r.ForbiddenDetail)
		}
	}
	// The Job is submitted for real: the API server accepts its spec.
	if job.UID == "" {
		t.Fatal("the job was not stored")
	}

	// While the Job runs, loops only report progress.
	dx, _, err = h.reconcile(t, dx)
	if err != nil {
		t.Fatal(err)
	}
	if cond := meta.FindStatusCondition(dx.Status.Conditions, fivesafesv1alpha1.ExtractCurrent); cond == nil || cond.Reason != controllers.ReasonExtractCopying {
		t.Fatalf("Current = %+v while the job runs", cond)
	}
	if m, _ := extractjob.ReadManifest(ctx, admin, controllers.WorkspaceBucket(daa.Name), "hes-apc"); m != nil {
		t.Fatal("a copy is visible before the job finished")
	}

	// Each completion index runs `manager extract` with the plan and key Secret mounted.
	cm := &corev1.ConfigMap{}
	if err := env.Client.Get(ctx, key, cm); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	planFile := filepath.Join(dir, extractworker.PlanFile)
	if err := os.WriteFile(planFile, []byte(cm.Data[extractworker.PlanFile]), 0o600); err != nil {
		t.Fatal(err)
	}
	keyDir := filepath.Join(dir, "key")
	if err := os.Mkdir(keyDir, 0o700); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{}
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: system, Name: controllers.KeyAccessSecret(daa.Name)}, secret); err != nil {
		t.Fatal(err)
	}
	for k, v := range secret.Data {
		if err := os.WriteFile(filepath.Join(keyDir, k), v, 0o400); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FIVESAFES_STORAGE_ACCESS_KEY", env.MinIO.RootUser)
	t.Setenv("FIVESAFES_STORAGE_SECRET_KEY", env.MinIO.RootPassword)
	t.Setenv("VAULT_ADDR", env.Vault.Addr)
	for i := range 3 {
		t.Setenv("JOB_COMPLETION_INDEX", strconv.Itoa(i))
		var stdout, stderr bytes.Buffer
		if code := extractworker.Main(ctx, []string{"--plan", planFile, "--key-dir", keyDir}, &stdout, &stderr); code != 0 {
			t.Fatalf("worker %d exited %d: %s", i, code, stderr.String())
		}
	}
	// The job controller's part: the Job succeeded.
	now := metav1.Now()
	job.Status = batchv1.JobStatus{
		StartTime: &job.CreationTimestamp, CompletionTime: &now, Succeeded: 3, CompletedIndexes: "0-2",
		Conditions: []batchv1.JobCondition{
			{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
			{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now},
		},
	}
	if err := env.Client.Status().Update(ctx, job); err != nil {
		t.Fatal(err)
	}
	dx, _, err = h.reconcile(t, dx)
	if err != nil {
		t.Fatal(err)
	}
	checkReady(t, dx, controllers.ReasonExtractUpToDate)
	byJob, err := extractjob.ReadManifest(ctx, admin, controllers.WorkspaceBucket(daa.Name), "hes-apc")
	if err != nil || byJob == nil {
		t.Fatalf("no copy after the job: %v", err)
	}
	if len(byJob.Objects) != 3 || dx.Status.Rows != byJob.Rows || byJob.Rows.OptedOut == 0 {
		t.Fatalf("the job's copy: %d objects, rows %+v, status %+v", len(byJob.Objects), byJob.Rows, dx.Status.Rows)
	}
	if n := len(h.extractAudits(t, dx)); n != 1 {
		t.Fatalf("%d dataset.extract entries, want 1", n)
	}
	for _, obj := range []client.Object{&batchv1.Job{}, &corev1.ConfigMap{}} {
		if err := env.Client.Get(ctx, key, obj); !apierrors.IsNotFound(err) {
			t.Errorf("the %T of the finished copy was not removed: %v", obj, err)
		}
	}
	for oi := range admin.ListObjects(ctx, controllers.WorkspaceBucket(daa.Name), minio.ListObjectsOptions{Prefix: "datasets/hes-apc/", Recursive: true}) {
		if oi.Err != nil {
			t.Fatal(oi.Err)
		}
		if filepath.Base(filepath.Dir(oi.Key)) == "parts" {
			t.Errorf("part record %s is visible in the workspace", oi.Key)
		}
	}

	// The same inputs copied in the manager give the same objects.
	h.r.Jobs = nil
	if err := admin.RemoveObject(ctx, controllers.WorkspaceBucket(daa.Name), extractjob.ManifestKey("hes-apc"), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	dx, _, err = h.reconcile(t, dx)
	if err != nil {
		t.Fatal(err)
	}
	checkReady(t, dx, controllers.ReasonExtractUpToDate)
	inProcess, err := extractjob.ReadManifest(ctx, admin, controllers.WorkspaceBucket(daa.Name), "hes-apc")
	if err != nil || inProcess == nil {
		t.Fatalf("no copy made in the manager: %v", err)
	}
	if inProcess.RunID == byJob.RunID || inProcess.Rows != byJob.Rows || len(inProcess.Objects) != len(byJob.Objects) {
		t.Fatalf("in the manager: run %s rows %+v; by job: run %s rows %+v", inProcess.RunID, inProcess.Rows, byJob.RunID, byJob.Rows)
	}
	sources := sets.New[string]()
	for i := range byJob.Objects {
		j, p := byJob.Objects[i], inProcess.Objects[i]
		sources.Insert(j.Source)
		if j.SHA256 != p.SHA256 || j.Size != p.Size || j.Rows != p.Rows || j.Counts != p.Counts || j.Source != p.Source {
			t.Errorf("object %d differs: by job %+v, in the manager %+v", i+1, j, p)
		}
	}
	if sources.Len() != 3 {
		t.Errorf("the copy was made from %v, want the three source objects", sets.List(sources))
	}
}
