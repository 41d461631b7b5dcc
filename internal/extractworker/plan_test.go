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

package extractworker

import (
	"bytes"
	"strings"
	"testing"

	"github.com/fivesafes/fivesafes/internal/extractjob"
)

func validPlan() Plan {
	return Plan{
		Version: PlanVersion,
		Provenance: extractjob.Provenance{
			Agreement: "nic-1", Dataset: "hes-apc", PseudonymMode: "Envelope", KeyVersion: 1,
			OptOuts: extractjob.OptOutRecord{Applied: true, List: "ndoo", Digest: "sha256:01"},
		},
		Objects: []extractjob.SourceObject{{Key: "hes-apc/part-0001.csv", ETag: "e1", Size: 10}},
		OptOuts: &OptOutSource{Bucket: "catalogue", Key: "opt-outs.csv", ETag: "e2", Digest: "sha256:01"},
	}
}

// A plan survives encoding; one from another version, with no objects, or whose opt-out
// snapshot is not the one its provenance names is refused, with the reason.
func TestDecodePlan(t *testing.T) {
	p := validPlan()
	b, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodePlan(b)
	if err != nil || got.Objects[0] != p.Objects[0] || *got.OptOuts != *p.OptOuts {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for name, tc := range map[string]struct {
		mutate func(*Plan)
		want   string
	}{
		"version":            {func(p *Plan) { p.Version = 99 }, "version 99"},
		"no objects":         {func(p *Plan) { p.Objects = nil }, "no source objects"},
		"snapshot missing":   {func(p *Plan) { p.OptOuts = nil }, "exactly when opt-outs are applied"},
		"snapshot not asked": {func(p *Plan) { p.Provenance.OptOuts = extractjob.OptOutRecord{Justification: "s251"} }, "exactly when opt-outs are applied"},
		"other snapshot":     {func(p *Plan) { p.OptOuts.Digest = "sha256:02" }, "not the one its provenance names"},
	} {
		t.Run(name, func(t *testing.T) {
			p := validPlan()
			tc.mutate(&p)
			b, err := p.Encode()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := DecodePlan(b); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("DecodePlan: %v, want an error saying %q", err, tc.want)
			}
		})
	}
	if _, err := DecodePlan([]byte("{")); err == nil {
		t.Fatal("a truncated plan was accepted")
	}
}

// The worker's command line refuses to run without an index or a readable plan.
func TestMainUsage(t *testing.T) {
	t.Setenv("JOB_COMPLETION_INDEX", "")
	var out, errOut bytes.Buffer
	if code := Main(t.Context(), []string{"--plan", "/nonexistent"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "JOB_COMPLETION_INDEX") {
		t.Fatalf("no index: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	if code := Main(t.Context(), []string{"--plan", "/nonexistent", "--index", "0"}, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "nonexistent") {
		t.Fatalf("no plan: exit %d, %q", code, errOut.String())
	}
}

// The Job has one completion per source object and mounts what its workers need: the plan, the
// agreement's key access and, when Vault's TLS has a private CA, that CA; it pulls with the
// pull secrets given.
func TestJob(t *testing.T) {
	p := validPlan()
	p.Objects = append(p.Objects, extractjob.SourceObject{Key: "hes-apc/part-0002.csv", ETag: "e3"}, extractjob.SourceObject{Key: "hes-apc/part-0003.csv", ETag: "e4"})
	cm, job, err := Job("fivesafes-extract-1", "fivesafes-ws-nic-1-key", p, map[string]string{LabelExtractName: "hes-apc"}, JobOptions{
		Namespace: "fivesafes-system", Image: "registry.example.org/manager:1", Parallelism: 8,
		StorageSecret: "fivesafes-storage", VaultAddress: "https://vault:8200",
		VaultCASecret: "vault-ca", ImagePullSecrets: []string{"registry"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodePlan([]byte(cm.Data[PlanFile])); err != nil {
		t.Fatalf("the ConfigMap's plan: %v", err)
	}
	if *job.Spec.Completions != 3 || *job.Spec.Parallelism != 3 || job.Labels[LabelExtractName] != "hes-apc" || job.Annotations[AnnotationRun] != p.RunID {
		t.Fatalf("job: completions %d, parallelism %d, labels %v", *job.Spec.Completions, *job.Spec.Parallelism, job.Labels)
	}
	pod := job.Spec.Template.Spec
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.Value
	}
	if env["VAULT_CACERT"] != VaultCADir+"/ca.crt" || env["VAULT_ADDR"] != "https://vault:8200" {
		t.Errorf("worker env %v", env)
	}
	secrets := map[string]bool{}
	for _, v := range pod.Volumes {
		if v.Secret != nil {
			secrets[v.Secret.SecretName] = true
		}
	}
	if !secrets["vault-ca"] || !secrets["fivesafes-ws-nic-1-key"] || len(pod.ImagePullSecrets) != 1 || pod.ImagePullSecrets[0].Name != "registry" {
		t.Errorf("worker secrets %v, pull secrets %v", secrets, pod.ImagePullSecrets)
	}
}
