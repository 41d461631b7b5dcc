//go:build e2e

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

// Package e2e runs whole user journeys on the local stack — the real API server, etcd,
// kube-controller-manager, MinIO, Vault and manager — through the fivesafes command line, as the
// people in each role would. Run with `make test-e2e`.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/cli"
	"github.com/fivesafes/fivesafes/internal/devstack"
	"github.com/fivesafes/fivesafes/internal/manifest"
	"github.com/fivesafes/fivesafes/internal/testenv"
)

var env *testenv.Env

// metricsAddr is where the manager serves /metrics.
var metricsAddr string

func TestMain(m *testing.M) {
	testenv.MainWith(m, testenv.Options{Webhooks: true, UserRoles: true, ControllerManager: true, MinIO: true, Vault: true}, &env,
		func(ctx context.Context, e *testenv.Env) error {
			o := e.ManagerOptions()
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			metricsAddr = l.Addr().String()
			if err := l.Close(); err != nil {
				return err
			}
			o.MetricsAddr, o.MetricsSecure = metricsAddr, false
			if err := e.StartManager(ctx, o); err != nil {
				return err
			}
			return devstack.SeedCatalogue(ctx, e)
		})
}

func fivesafes(t *testing.T, want int, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := cli.Execute(args, strings.NewReader(""), &out, &errOut); code != want {
		t.Fatalf("fivesafes %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out.String(), errOut.String())
	}
	return out.String()
}

// fivesafesCode runs the CLI and returns its exit code and output, for commands that may need retrying.
func fivesafesCode(t *testing.T, args ...string) (int, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(args, strings.NewReader(""), &out, &errOut)
	return code, out.String() + errOut.String()
}

func kubeconfig(t *testing.T, file, user string, groups ...string) string {
	t.Helper()
	path, err := env.WriteKubeconfig(file, user, groups...)
	if err != nil {
		t.Fatal(err)
	}
	return path
}

// A committee validates, applies and approves the sample agreement; the platform builds its
// workspace; a researcher works in it; an auditor verifies the record and the register shows it.
func TestCommitteeToWorkspaceJourney(t *testing.T) {
	ctx := context.Background()
	samples := filepath.Join("..", "..", "config", "samples")
	agreementFile := filepath.Join(samples, "fivesafes_v1alpha1_dataaccessagreement.yaml")
	const name = "nic-38002-s3k0v"

	// Write and validate, offline.
	fivesafes(t, cli.ExitOK, "agreement", "validate", agreementFile, "--catalogue", samples, "--format", "json")
	digest := strings.TrimSpace(fivesafes(t, cli.ExitOK, "agreement", "digest", agreementFile))

	// Apply, as the platform team would with kubectl apply -f config/samples/.
	objs, err := manifest.ReadDir(samples)
	if err != nil {
		t.Fatal(err)
	}
	if err := manifest.Apply(ctx, env.Client, "e2e", objs); err != nil {
		t.Fatal(err)
	}

	// Two committee members approve from their own logins.
	for _, who := range []string{"alice", "bob"} {
		kc := kubeconfig(t, "committee-"+who, who+"@committee.example.org", "fivesafes:committee")
		out := fivesafes(t, cli.ExitOK, "agreement", "approve", name, "--comment", "Approved at the November meeting", "--kubeconfig", kc)
		if !strings.Contains(out, digest) {
			t.Fatalf("approve did not name the digest %s: %s", digest, out)
		}
	}
	admin := env.KubeconfigPath
	var status struct {
		Phase      string `json:"phase"`
		Conditions []struct{ Type, Status string }
	}
	deadline := time.Now().Add(90 * time.Second)
	for {
		if err := json.Unmarshal([]byte(fivesafes(t, cli.ExitOK, "agreement", "status", name, "--format", "json", "--kubeconfig", admin)), &status); err != nil {
			t.Fatal(err)
		}
		ready := false
		for _, c := range status.Conditions {
			ready = ready || (c.Type == "Ready" && c.Status == "True")
		}
		if status.Phase == "Active" && ready {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agreement did not become Active and Ready: %+v", status)
		}
		time.Sleep(250 * time.Millisecond)
	}

	// The researcher reads their storage credentials and writes an output.
	researcher, err := env.ClientAs("amara.okafor@cpccg.example.nhs.uk", "fivesafes:researchers")
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{}
	if err := researcher.Get(ctx, client.ObjectKey{Namespace: "ws-" + name, Name: "storage-credentials"}, secret); err != nil {
		t.Fatalf("the researcher cannot read their storage credentials: %v", err)
	}
	s3, err := minio.New(string(secret.Data["S3_ENDPOINT"]), &minio.Options{Creds: credentials.NewStaticV4(string(secret.Data["AWS_ACCESS_KEY_ID"]), string(secret.Data["AWS_SECRET_ACCESS_KEY"]), "")})
	if err != nil {
		t.Fatal(err)
	}
	table := []byte("provider,admissions\nRGT,120\nRGN,85\n")
	if _, err := s3.PutObject(ctx, string(secret.Data["S3_BUCKET"]), "outputs/admissions.csv", bytes.NewReader(table), int64(len(table)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("writing an output: %v", err)
	}

	// The approved datasets are copied into the workspace, minimised and pseudonymised, with
	// opt-outs applied where the agreement honours them.
	extracts := map[string]*fivesafesv1alpha1.DatasetExtract{}
	deadline = time.Now().Add(120 * time.Second)
	for len(extracts) < 2 {
		var list fivesafesv1alpha1.DatasetExtractList
		if err := researcher.List(ctx, &list, client.InNamespace("ws-"+name)); err != nil {
			t.Fatalf("the researcher cannot list the extracts: %v", err)
		}
		for i := range list.Items {
			if dx := &list.Items[i]; dx.Status.Phase == fivesafesv1alpha1.ExtractSucceeded {
				extracts[dx.Spec.Dataset] = dx
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the extracts did not complete: %+v", list.Items)
		}
		time.Sleep(250 * time.Millisecond)
	}
	hes, asc := extracts["hes-apc"], extracts["asc-cld"]
	if hes.Status.Rows.Written == 0 || hes.Status.Rows.OptedOut == 0 || hes.Status.OptOutSnapshotDigest == "" {
		t.Errorf("hes-apc (opt-outs honoured) copy: %+v", hes.Status.Rows)
	}
	if asc.Status.Rows.Written == 0 || asc.Status.Rows.OptedOut != 0 {
		t.Errorf("asc-cld (opt-outs not applied) copy: %+v", asc.Status.Rows)
	}
	if r := hes.Status.Rows; r.Read != r.Written+r.OptedOut+r.Malformed {
		t.Errorf("hes-apc rows do not add up: %+v", r)
	}
	obj, err := s3.GetObject(ctx, string(secret.Data["S3_BUCKET"]), hes.Status.Objects[0].Path, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 512)
	n, _ := io.ReadFull(obj, head)
	header := strings.SplitN(string(head[:n]), "\n", 2)[0]
	if header != "nhs_number,sex,admission_date,discharge_date,primary_diagnosis,procedure,lsoa,provider_code" {
		t.Errorf("the researcher's copy of hes-apc has header %q: only approved columns, in order", header)
	}

	// The platform team sees the copies on the manager's /metrics.
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	written := 0.0
	for _, f := range families {
		if f.GetName() != "fivesafes_extract_rows_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == "written" {
					written += m.GetCounter().GetValue()
				}
			}
		}
	}
	if want := float64(hes.Status.Rows.Written + asc.Status.Rows.Written); written < want {
		t.Errorf("fivesafes_extract_rows_total{outcome=written} = %v, want at least %v", written, want)
	}

	// The researcher asks to release the table; two independent checkers approve it; it is
	// released to the egress bucket with a manifest.
	req := &fivesafesv1alpha1.OutputRequest{
		ObjectMeta: metav1.ObjectMeta{Name: "admissions", Namespace: "ws-" + name},
		Spec: fivesafesv1alpha1.OutputRequestSpec{
			Purpose: "Admissions by provider for the commissioning report",
			Files:   []fivesafesv1alpha1.OutputFile{{Path: "admissions.csv", Kind: fivesafesv1alpha1.OutputTable, Description: "Admissions by provider"}},
		},
	}
	if err := researcher.Create(ctx, req); err != nil {
		t.Fatalf("the researcher cannot request an output: %v", err)
	}
	waitOutput := func(what string, cond func(*fivesafesv1alpha1.OutputRequest) bool) *fivesafesv1alpha1.OutputRequest {
		t.Helper()
		got := &fivesafesv1alpha1.OutputRequest{}
		deadline := time.Now().Add(90 * time.Second)
		for {
			if err := researcher.Get(ctx, client.ObjectKeyFromObject(req), got); err != nil {
				t.Fatal(err)
			}
			if cond(got) {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("the output request never %s: %+v", what, got.Status)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	checked := waitOutput("awaited review", func(o *fivesafesv1alpha1.OutputRequest) bool {
		return o.Status.Phase == fivesafesv1alpha1.OutputAwaitingReview
	})
	// A checker fetches the snapshot that was checked, verified against its digests, to review it.
	carolKC := kubeconfig(t, "checker-carol", "carol@outputs.example.org", "fivesafes:output-checkers")
	reviewDir := t.TempDir()
	var fetched string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		// The checker's access to the copy reaches the API server's authoriser a moment after it is made.
		code, out := fivesafesCode(t, "output", "fetch", "admissions", "-n", "ws-"+name, "--dir", reviewDir, "--kubeconfig", carolKC)
		if code == cli.ExitOK {
			fetched = out
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the checker cannot fetch the snapshot: exit %d: %s", code, out)
		}
	}
	if got, err := os.ReadFile(filepath.Join(reviewDir, "admissions.csv")); err != nil || !bytes.Equal(got, table) {
		t.Fatalf("the checker's copy is %q (%v)", got, err)
	}
	if !strings.Contains(fetched, string(checked.Status.ContentDigest)) {
		t.Errorf("fetch does not name the content digest the review will approve: %s", fetched)
	}
	for _, who := range []string{"carol", "dan"} {
		c, err := env.ClientAs(who+"@outputs.example.org", "fivesafes:output-checkers")
		if err != nil {
			t.Fatal(err)
		}
		rv := &fivesafesv1alpha1.OutputReview{
			ObjectMeta: metav1.ObjectMeta{Name: "admissions-" + who, Namespace: "ws-" + name},
			Spec: fivesafesv1alpha1.OutputReviewSpec{OutputRequest: "admissions", ContentDigest: checked.Status.ContentDigest,
				Decision: fivesafesv1alpha1.ReviewApprove, Comment: "Aggregate counts, all above ten."},
		}
		if err := c.Create(ctx, rv); err != nil {
			t.Fatalf("%s cannot review: %v", who, err)
		}
	}
	released := waitOutput("was released", func(o *fivesafesv1alpha1.OutputRequest) bool {
		return o.Status.Phase == fivesafesv1alpha1.OutputReleased && o.Status.Release != nil
	})
	adminS3, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := adminS3.StatObject(ctx, released.Status.Release.Bucket, released.Status.Release.Prefix+"manifest.json", minio.StatObjectOptions{}); err != nil {
		t.Fatalf("no release manifest: %v", err)
	}
	if _, err := s3.StatObject(ctx, released.Status.Release.Bucket, released.Status.Release.Prefix+"admissions.csv", minio.StatObjectOptions{}); err == nil {
		t.Fatal("the researcher's own credentials can read the egress bucket")
	}

	// The requester gets a short-lived download URL; nobody else can read it.
	amaraKC := kubeconfig(t, "researcher-amara", "amara.okafor@cpccg.example.nhs.uk", "fivesafes:researchers")
	out := fivesafes(t, cli.ExitOK, "output", "download", "admissions", "-n", "ws-"+name, "--kubeconfig", amaraKC)
	var url string
	for _, line := range strings.Split(out, "\n") {
		if l := strings.TrimSpace(line); strings.HasPrefix(l, "http") {
			url = l
		}
	}
	if url == "" {
		t.Fatalf("no download URL in %q", out)
	}
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(got, table) {
		t.Fatalf("download: %d %q", resp.StatusCode, got)
	}
	tom, err := env.ClientAs("tom.hughes@cpccg.example.nhs.uk", "fivesafes:researchers")
	if err != nil {
		t.Fatal(err)
	}
	if err := tom.Get(ctx, client.ObjectKey{Namespace: "ws-" + name, Name: "admissions-download"}, &corev1.Secret{}); err == nil {
		t.Fatal("another researcher can read the requester's download URLs")
	}

	// The auditor verifies the live log and finds the activation.
	t.Setenv("FIVESAFES_STORAGE_ACCESS_KEY", env.MinIO.RootUser)
	t.Setenv("FIVESAFES_STORAGE_SECRET_KEY", env.MinIO.RootPassword)
	fivesafes(t, cli.ExitOK, "audit", "verify", "--storage-endpoint", env.MinIO.Endpoint)
	log := fivesafes(t, cli.ExitOK, "audit", "log", "--storage-endpoint", env.MinIO.Endpoint, "--agreement", name, "--format", "json")
	for _, want := range []string{`"agreement.validate"`, `"agreement.approve"`, `"phase.change"`, `"Active"`, `"workspace.provision"`, `"dataset.extract"`, `"output.check"`, `"output.review"`, `"output.release"`, `"output.download-url"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the audit log for %s has no %s", name, want)
		}
	}

	// The public register lists the agreement and raises the opt-out flag.
	reg := fivesafes(t, cli.ExitOK, "register", "--format", "json", "--kubeconfig", admin)
	for _, want := range []string{"NIC-38002-S3K0V", "NHS Cambridgeshire and Peterborough CCG", "opt-outs-not-applied"} {
		if !strings.Contains(reg, want) {
			t.Errorf("the register does not show %q", want)
		}
	}
	var summary struct {
		Summary struct{ Releases, ReleasedFiles int } `json:"summary"`
	}
	if err := json.Unmarshal([]byte(reg), &summary); err != nil {
		t.Fatal(err)
	}
	if summary.Summary.Releases != 1 || summary.Summary.ReleasedFiles != 1 {
		t.Errorf("the register counts %+v releases, want the one release of one file", summary.Summary)
	}

	// The whole journey shows on the manager's /metrics.
	resp, err = http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scrape, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, want := range []string{
		`fivesafes_agreements{phase="Active"} `,
		"fivesafes_agreement_validity_end_timestamp_seconds{",
		`fivesafes_workspaces{condition="Ready",status="True"} `,
		`fivesafes_extract_rows_total{dataset="hes-apc",outcome="written"} `,
		"fivesafes_extract_duration_seconds_bucket{",
		`fivesafes_output_checks_total{outcome=`,
		// Counters count attempts that reached their record: a retried loop may count twice.
		`fivesafes_output_reviews_total{counted="true",decision="Approve"} `,
		`fivesafes_output_releases_total{result="released"} `,
		`fivesafes_output_requests{phase="Released"} 1`,
		"fivesafes_output_download_urls_total ",
		"fivesafes_audit_append_duration_seconds_bucket{",
		"fivesafes_audit_append_failures_total 0",
		`fivesafes_policy_evaluation_duration_seconds_count{query="data.fivesafes.agreement.violations",result="ok"} `,
		`fivesafes_policy_evaluation_duration_seconds_count{query="data.fivesafes.egress.decision",result="ok"} `,
		"controller_runtime_reconcile_total{",
	} {
		if !strings.Contains(string(scrape), want) {
			t.Errorf("/metrics has no %s in\n%s", want, grepLines(string(scrape), "fivesafes_"))
		}
	}
}

// grepLines returns the lines of text that start with prefix.
func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) && !strings.Contains(l, "_bucket{") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
