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
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/egress"
	"github.com/fivesafes/fivesafes/internal/policy"
	"github.com/fivesafes/fivesafes/internal/release"
	"github.com/fivesafes/fivesafes/internal/stack"
	"github.com/fivesafes/fivesafes/internal/storage"
	"github.com/fivesafes/fivesafes/internal/testname"
)

const (
	egressBucket = "fivesafes-egress-test"
	carol        = "carol@outputs.example.org"
	dan          = "dan@outputs.example.org"
)

// Tables of the output tests: every count at least ten, and one count of five.
var (
	safeTable  = []byte("region,admissions\nNorth,120\nSouth,85\nEast,64\nWest,40\n")
	safeTable2 = []byte("region,admissions\nNorth,121\nSouth,85\nEast,64\nWest,40\n")
	smallCell  = []byte("region,admissions\nNorth,120\nSouth,5\nEast,64\nWest,40\n")
)

// releaseFailingStore is an audit store that refuses entries recording a release while down is
// set, as an audit store that became unavailable at the worst moment would.
type releaseFailingStore struct {
	*audit.MemStore
	down atomic.Bool
}

func (s *releaseFailingStore) Put(ctx context.Context, name string, data []byte) error {
	if s.down.Load() && bytes.Contains(data, []byte(audit.ActionOutputRelease)) {
		return errors.New("audit store unavailable")
	}
	return s.MemStore.Put(ctx, name, data)
}

type outputHarness struct {
	r      *controllers.OutputRequestReconciler
	store  *storage.Client
	audit  *releaseFailingStore
	events *countingRecorder
}

func newOutputHarness(t *testing.T) *outputHarness {
	t.Helper()
	ctx := t.Context()
	st, err := storage.New(storage.Options{Endpoint: env.MinIO.Endpoint, AccessKey: env.MinIO.RootUser, SecretKey: env.MinIO.RootPassword})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.EnsureBucket(ctx, egressBucket, storage.BucketOptions{}); err != nil {
		t.Fatal(err)
	}
	eng, err := policy.NewDefaultEngine(ctx, egress.PolicyQuery)
	if err != nil {
		t.Fatal(err)
	}
	h := &outputHarness{store: st, audit: &releaseFailingStore{MemStore: audit.NewMemStore()}, events: newRecorder(t, "fivesafes-outputrequest")}
	log, err := audit.Open(ctx, h.audit, audit.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.r = &controllers.OutputRequestReconciler{
		Client:        env.Client,
		Scheme:        env.Client.Scheme(),
		Clock:         clock,
		Storage:       st,
		Policy:        eng,
		Audit:         log,
		EgressBucket:  egressBucket,
		CheckersGroup: checkers,
		Recorder:      h.events,
	}
	return h
}

// reconcile runs one loop for the request and returns it as stored afterwards.
func (h *outputHarness) reconcile(t *testing.T, or *fivesafesv1alpha1.OutputRequest) (*fivesafesv1alpha1.OutputRequest, error) {
	t.Helper()
	_, err := h.r.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(or)})
	got := &fivesafesv1alpha1.OutputRequest{}
	if gerr := env.Client.Get(t.Context(), client.ObjectKeyFromObject(or), got); gerr != nil {
		t.Fatal(gerr)
	}
	return got, err
}

// put writes an output file into the agreement's workspace bucket.
func (h *outputHarness) put(t *testing.T, agreement, path string, body []byte) {
	t.Helper()
	putObject(t, h.store.S3(), controllers.WorkspaceBucket(agreement), "outputs/"+path, body)
}

// read returns an object of the egress bucket, or nil when there is none.
func (h *outputHarness) read(t *testing.T, key string) []byte {
	t.Helper()
	rc, _, err := h.store.OpenObject(t.Context(), egressBucket, key)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rc.Close() }()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// entries returns the audit entries of one action about the request or its reviews.
func (h *outputHarness) entries(t *testing.T, action audit.Action, request string) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for e, err := range audit.Entries(t.Context(), h.audit.MemStore) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Action == action && e.Details["request"] == request {
			out = append(out, e)
		}
	}
	return out
}

// completion returns the entry completing the intention seq, or nil.
func (h *outputHarness) completion(t *testing.T, seq int64) *audit.Entry {
	t.Helper()
	for e, err := range audit.Entries(t.Context(), h.audit.MemStore) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Intent == seq && e.Stage == audit.StageDone {
			return &e
		}
	}
	return nil
}

// request has the researcher ask to release the files.
func request(t *testing.T, ns, name string, paths ...string) *fivesafesv1alpha1.OutputRequest {
	t.Helper()
	or := &fivesafesv1alpha1.OutputRequest{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       fivesafesv1alpha1.OutputRequestSpec{Purpose: "Readmissions paper"},
	}
	for _, p := range paths {
		kind := fivesafesv1alpha1.OutputTable
		if strings.HasSuffix(p, ".md") {
			kind = fivesafesv1alpha1.OutputText
		}
		or.Spec.Files = append(or.Spec.Files, fivesafesv1alpha1.OutputFile{Path: p, Kind: kind, Description: "Admissions by region"})
	}
	if err := clientAs(t, researcher, "fivesafes:researchers").Create(t.Context(), or); err != nil {
		t.Fatal(err)
	}
	return or
}

// review has a checker decide on the request's current content.
func review(t *testing.T, who, name string, or *fivesafesv1alpha1.OutputRequest, d fivesafesv1alpha1.ReviewDecision) {
	t.Helper()
	rv := &fivesafesv1alpha1.OutputReview{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: or.Namespace},
		Spec:       fivesafesv1alpha1.OutputReviewSpec{OutputRequest: or.Name, ContentDigest: or.Status.ContentDigest, Decision: d, Comment: "Checked the counts."},
	}
	if err := clientAs(t, who, checkers).Create(t.Context(), rv); err != nil {
		t.Fatalf("review by %s: %v", who, err)
	}
}

func digestOf(b []byte) fivesafesv1alpha1.Digest {
	sum := sha256.Sum256(b)
	return fivesafesv1alpha1.Digest("sha256:" + hex.EncodeToString(sum[:]))
}

// wantCounted checks the review's Counted condition.
func wantCounted(t *testing.T, ns, name string, status metav1.ConditionStatus, reason string) {
	t.Helper()
	rv := &fivesafesv1alpha1.OutputReview{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: name}, rv); err != nil {
		t.Fatal(err)
	}
	c := meta.FindStatusCondition(rv.Status.Conditions, fivesafesv1alpha1.ReviewCounted)
	if c == nil || c.Status != status || c.Reason != reason {
		t.Fatalf("review %s: Counted = %+v, want %s %s", name, c, status, reason)
	}
}

func wantPhase(t *testing.T, or *fivesafesv1alpha1.OutputRequest, p fivesafesv1alpha1.OutputPhase) {
	t.Helper()
	if or.Status.Phase != p {
		t.Fatalf("phase = %s, want %s; conditions: %+v", or.Status.Phase, p, or.Status.Conditions)
	}
}

// A request is snapshotted and checked, needs two independent approvals of its content, loses
// them when the researcher changes a file, and once approved is released with its manifest,
// after the release is recorded.
func TestOutputRequestJourney(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-journey")
	activeAgreement(t, agreement)
	ns := controllers.WorkspaceNamespace(agreement)
	h := newOutputHarness(t)
	notes := []byte("# Method\n\nAdmissions were counted by region of residence.\n")
	h.put(t, agreement, "tables/admissions.csv", safeTable)
	h.put(t, agreement, "notes/method.md", notes)
	or := request(t, ns, "paper", "tables/admissions.csv", "notes/method.md")

	or, err := h.reconcile(t, or)
	if err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputAwaitingReview)
	if or.Status.Outcome == fivesafesv1alpha1.OutcomeFail || or.Status.PolicyDigest == "" || len(or.Status.Files) != 2 {
		t.Fatalf("checks: outcome %s, policy %q, files %+v", or.Status.Outcome, or.Status.PolicyDigest, or.Status.Files)
	}
	if got := or.Status.Files[0].SHA256; got != digestOf(safeTable) {
		t.Fatalf("snapshot digest %s, want %s", got, digestOf(safeTable))
	}
	staged := h.read(t, "staging/"+ns+"/paper/1/tables/admissions.csv")
	if !bytes.Equal(staged, safeTable) {
		t.Fatalf("the snapshot in the egress bucket is %q", staged)
	}
	checks := h.entries(t, audit.ActionOutputCheck, "paper")
	if len(checks) != 1 || checks[0].Details["contentDigest"] != string(or.Status.ContentDigest) {
		t.Fatalf("output.check entries: %+v", checks)
	}
	first := or.Status.ContentDigest

	// The checkers, and only they, can fetch the exact snapshot that was checked.
	copyURLs := reviewCopy(t, or, first)
	if code, got := fetch(t, copyURLs["tables/admissions.csv"]); code != http.StatusOK || !bytes.Equal(got, safeTable) {
		t.Fatalf("the checkers' copy of the table: %d %q", code, got)
	}
	if n := len(h.entries(t, audit.ActionReviewCopy, "paper")); n != 1 {
		t.Fatalf("%d output.review-copy entries, want 1", n)
	}
	asResearcher, err := env.ClientAs(researcher, "fivesafes:researchers")
	if err != nil {
		t.Fatal(err)
	}
	if err := asResearcher.Get(t.Context(), client.ObjectKey{Namespace: ns, Name: controllers.ReviewCopySecret("paper")}, &corev1.Secret{}); err == nil {
		t.Fatal("a researcher can read the checkers' review copy")
	}

	// One approval is not enough; a review of the requester's is refused at admission.
	review(t, carol, "paper-carol-1", or, fivesafesv1alpha1.ReviewApprove)
	if or, err = h.reconcile(t, or); err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputAwaitingReview)
	if or.Status.Approvals != 1 || len(or.Status.Reviews) != 1 || or.Status.Reviews[0].Counted != "counted" {
		t.Fatalf("after one approval: approvals %d, reviews %+v", or.Status.Approvals, or.Status.Reviews)
	}

	// The researcher changes a file and raises the revision: the earlier approval no longer
	// matches the content, so it does not count.
	h.put(t, agreement, "tables/admissions.csv", safeTable2)
	patch := client.MergeFrom(or.DeepCopy())
	or.Spec.Revision = 1
	if err := clientAs(t, researcher, "fivesafes:researchers").Patch(t.Context(), or, patch); err != nil {
		t.Fatal(err)
	}
	if or, err = h.reconcile(t, or); err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputAwaitingReview)
	if or.Status.ContentDigest == first || or.Status.Approvals != 0 || len(or.Status.Reviews) != 0 {
		t.Fatalf("after a change: digest %s (was %s), approvals %d, reviews %+v", or.Status.ContentDigest, first, or.Status.Approvals, or.Status.Reviews)
	}

	wantCounted(t, or.Namespace, "paper-carol-1", metav1.ConditionFalse, controllers.ReasonReviewStale)
	// The checkers' copy is now of the new version.
	if code, got := fetch(t, reviewCopy(t, or, or.Status.ContentDigest)["tables/admissions.csv"]); code != http.StatusOK || !bytes.Equal(got, safeTable2) {
		t.Fatalf("the checkers' copy after the change: %d %q", code, got)
	}

	review(t, carol, "paper-carol-2", or, fivesafesv1alpha1.ReviewApprove)
	review(t, dan, "paper-dan-2", or, fivesafesv1alpha1.ReviewApprove)
	if or, err = h.reconcile(t, or); err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputReleased)
	if !meta.IsStatusConditionTrue(or.Status.Conditions, fivesafesv1alpha1.ConditionReady) {
		t.Fatalf("a released request is not Ready: %+v", or.Status.Conditions)
	}
	rel := or.Status.Release
	prefix := release.Prefix(agreement, "paper")
	if rel == nil || rel.Bucket != egressBucket || rel.Prefix != prefix {
		t.Fatalf("release = %+v", rel)
	}
	if got := h.read(t, prefix+"tables/admissions.csv"); !bytes.Equal(got, safeTable2) {
		t.Fatalf("released table is %q, want the changed file", got)
	}
	if got := h.read(t, prefix+"notes/method.md"); !bytes.Equal(got, notes) {
		t.Fatalf("released notes are %q", got)
	}
	data := h.read(t, prefix+release.ManifestName)
	m, err := release.Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if release.Digest(data) != rel.ManifestSHA256 || m.ContentDigest != or.Status.ContentDigest || m.AuditSequence != rel.AuditSequence || m.Requester != researcher {
		t.Fatalf("manifest %+v does not match status %+v", m, rel)
	}
	if len(m.Reviewers) != 2 || m.Reviewers[0].Username == m.Reviewers[1].Username {
		t.Fatalf("manifest reviewers %+v", m.Reviewers)
	}
	wantCounted(t, or.Namespace, "paper-dan-2", metav1.ConditionTrue, controllers.ReasonReviewCounted)
	releases := h.entries(t, audit.ActionOutputRelease, "paper")
	// The intent and its completion, both naming the agreement and the request.
	if len(releases) != 2 || releases[0].Seq != rel.AuditSequence || releases[0].Stage != audit.StageIntended || releases[1].Stage != audit.StageDone {
		t.Fatalf("output.release entries %+v, status sequence %d", releases, rel.AuditSequence)
	}
	if done := h.completion(t, rel.AuditSequence); done == nil || done.Details["manifestSha256"] != string(rel.ManifestSHA256) {
		t.Fatalf("the release's completion %+v does not name manifest %s", done, rel.ManifestSHA256)
	}
	if n := len(h.entries(t, audit.ActionOutputReview, "paper")); n != 3 {
		t.Fatalf("%d output.review entries, want one for each of the three reviews", n)
	}

	// Another loop changes nothing and records nothing more.
	again, err := h.reconcile(t, or)
	if err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != or.ResourceVersion || len(h.entries(t, audit.ActionOutputRelease, "paper")) != 2 {
		t.Fatal("a released request was written or recorded again")
	}

	// The requester asks for a download: the issuance is recorded, the URLs fetch the released
	// files, and once their lifetime has passed the object store refuses them.
	h.r.DownloadExpiry = 2 * time.Second
	wantDownloads := metricCount(t, "fivesafes_output_download_urls_total", nil) + 1
	annotate := client.MergeFrom(again.DeepCopy())
	metav1.SetMetaDataAnnotation(&again.ObjectMeta, fivesafesv1alpha1.AnnotationDownloadRequested, "2026-11-22T10:00:00Z")
	if err := env.Client.Patch(t.Context(), again, annotate); err != nil {
		t.Fatal(err)
	}
	or, err = h.reconcile(t, again)
	if err != nil {
		t.Fatal(err)
	}
	if or.Status.Release.DownloadIssuedFor != "2026-11-22T10:00:00Z" || or.Status.Release.DownloadExpiresAt == nil {
		t.Fatalf("release after a download request: %+v", or.Status.Release)
	}
	if n := len(h.entries(t, audit.ActionDownloadURL, "paper")); n != 1 {
		t.Fatalf("%d download.url entries, want 1", n)
	}
	if got := metricCount(t, "fivesafes_output_download_urls_total", nil); got != wantDownloads {
		t.Errorf("fivesafes_output_download_urls_total = %v, want %v", got, wantDownloads)
	}
	secret := &corev1.Secret{}
	if err := env.Client.Get(t.Context(), client.ObjectKey{Namespace: or.Namespace, Name: controllers.DownloadSecret("paper")}, secret); err != nil {
		t.Fatal(err)
	}
	urls := map[string]string{}
	if err := json.Unmarshal(secret.Data["urls.json"], &urls); err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{"tables/admissions.csv": safeTable2, "notes/method.md": notes}
	if len(urls) != len(want) {
		t.Fatalf("download URLs for %d files, want %d", len(urls), len(want))
	}
	for path, body := range want {
		if code, got := fetch(t, urls[path]); code != http.StatusOK || !bytes.Equal(got, body) {
			t.Fatalf("GET %s: %d %q", path, code, got)
		}
	}
	// The journey shows in the output metrics.
	for name, labels := range map[string]map[string]string{
		"fivesafes_output_checks_total":   nil,
		"fivesafes_output_reviews_total":  {"decision": "Approve", "counted": "true"},
		"fivesafes_output_releases_total": {"result": "released"},
		"fivesafes_output_requests":       {"phase": "Released"},
	} {
		if metricCount(t, name, labels) < 1 {
			t.Errorf("%s%v is not counted", name, labels)
		}
	}
	time.Sleep(3 * time.Second)
	for path := range want {
		if code, _ := fetch(t, urls[path]); code != http.StatusForbidden {
			t.Fatalf("GET %s after the URL expired: %d, want 403", path, code)
		}
	}
}

// reviewCopy reads, as an output checker, the review copy URLs of the request's content digest.
func reviewCopy(t *testing.T, or *fivesafesv1alpha1.OutputRequest, digest fivesafesv1alpha1.Digest) map[string]string {
	t.Helper()
	checker, err := env.ClientAs(carol, checkers)
	if err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{}
	// The API server's authoriser sees a new RoleBinding a moment after it is stored.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		err := checker.Get(t.Context(), client.ObjectKey{Namespace: or.Namespace, Name: controllers.ReviewCopySecret(or.Name)}, secret)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a checker cannot read the review copy: %v", err)
		}
	}
	if got := string(secret.Data["contentDigest"]); got != string(digest) {
		t.Fatalf("the review copy is of %s, want %s", got, digest)
	}
	urls := map[string]string{}
	if err := json.Unmarshal(secret.Data["urls.json"], &urls); err != nil {
		t.Fatal(err)
	}
	return urls
}

// fetch GETs url and returns the status code and body.
func fetch(t *testing.T, url string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// A table with a cell below the agreement's threshold fails the checks and the request is
// Rejected with findings; no review can be asked for it. The rejection is announced, and the check
// counted, once: a later loop that reads the request as it was before that status write, as a
// lagging cache can hand it, checks again but writes, announces, records and counts nothing more.
func TestOutputRequestSmallCellRejected(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-small")
	activeAgreement(t, agreement)
	h := newOutputHarness(t)
	h.put(t, agreement, "tables/admissions.csv", smallCell)
	or := request(t, controllers.WorkspaceNamespace(agreement), "small", "tables/admissions.csv")
	stale := or.DeepCopy()
	failedChecks := func() float64 {
		return metricCount(t, "fivesafes_output_checks_total", map[string]string{"outcome": "fail"})
	}
	counted := failedChecks()
	h.events.take()

	or, err := h.reconcile(t, or)
	if err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputRejected)
	c := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonOutputChecksFailed {
		t.Fatalf("Checked = %+v", c)
	}
	if or.Status.Outcome != fivesafesv1alpha1.OutcomeFail || len(or.Status.Files) != 1 || len(or.Status.Files[0].Findings) == 0 {
		t.Fatalf("checks: %+v", or.Status)
	}
	if n := len(h.entries(t, audit.ActionOutputCheck, "small")); n != 1 {
		t.Fatalf("%d output.check entries, want 1", n)
	}
	rule := or.Status.Files[0].Findings[0].Rule
	if metricCount(t, "fivesafes_output_findings_total", map[string]string{"rule": rule}) < 1 || failedChecks() != counted+1 {
		t.Errorf("the failed check and its %s finding are not counted once", rule)
	}
	if ev := h.events.take(); len(ev) != 1 || ev[controllers.ReasonOutputChecksFailed] != 1 {
		t.Errorf("the loop announced %v; want one %s", ev, controllers.ReasonOutputChecksFailed)
	}
	if h.read(t, release.Prefix(agreement, "small")+release.ManifestName) != nil {
		t.Fatal("a rejected request was released")
	}

	// A loop that reads the request as it was before that status write does nothing (no snapshot,
	// no check, no audit entry, no event) and looks again soon.
	lagging := *h.r
	lagging.Client = laggingClient(t, stale)
	requests := &stack.WriteCounter{}
	if lagging.Storage, err = storage.New(storage.Options{Endpoint: env.MinIO.Endpoint, AccessKey: env.MinIO.RootUser, SecretKey: env.MinIO.RootPassword, Transport: requests}); err != nil {
		t.Fatal(err)
	}
	lagged, err := lagging.Reconcile(t.Context(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(or)})
	if err != nil {
		t.Fatal(err)
	}
	if n := requests.TakeRequests(); n != 0 || lagged.RequeueAfter <= 0 {
		t.Errorf("the lagging loop made %d storage requests and asked to look again after %v; want none, and soon", n, lagged.RequeueAfter)
	}
	if ev := h.events.take(); len(ev) != 0 {
		t.Errorf("the lagging loop announced %v again", ev)
	}
	if n := failedChecks(); n != counted+1 {
		t.Errorf("failed checks counted %v after the lagging loop, want %v", n, counted+1)
	}
	if n := len(h.entries(t, audit.ActionOutputCheck, "small")); n != 1 {
		t.Errorf("%d output.check entries after the lagging loop, want 1", n)
	}
	after := &fivesafesv1alpha1.OutputRequest{}
	if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(or), after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != or.ResourceVersion {
		t.Errorf("the lagging loop wrote the request (resourceVersion %s, was %s)", after.ResourceVersion, or.ResourceVersion)
	}
}

// A requested file missing from the workspace returns the request to the researcher.
func TestOutputRequestMissingFile(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-missing")
	activeAgreement(t, agreement)
	h := newOutputHarness(t)
	or := request(t, controllers.WorkspaceNamespace(agreement), "missing", "tables/absent.csv")
	or, err := h.reconcile(t, or)
	if err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputChangesRequested)
	c := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked)
	if c == nil || c.Reason != controllers.ReasonOutputFilesMissing || !strings.Contains(c.Message, "tables/absent.csv") {
		t.Fatalf("Checked = %+v", c)
	}
	if len(or.Status.Files) != 1 || len(or.Status.Files[0].Findings) != 1 || or.Status.Files[0].Findings[0].Rule != controllers.RuleOutputMissing {
		t.Fatalf("files: %+v", or.Status.Files)
	}
}

// A withdrawn request is settled and its withdrawal recorded once.
func TestOutputRequestWithdrawn(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-withdrawn")
	activeAgreement(t, agreement)
	h := newOutputHarness(t)
	h.put(t, agreement, "tables/admissions.csv", safeTable)
	or := request(t, controllers.WorkspaceNamespace(agreement), "abandoned", "tables/admissions.csv")
	or, err := h.reconcile(t, or)
	if err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputAwaitingReview)
	patch := client.MergeFrom(or.DeepCopy())
	or.Spec.State = fivesafesv1alpha1.RequestWithdrawn
	if err := clientAs(t, researcher, "fivesafes:researchers").Patch(t.Context(), or, patch); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if or, err = h.reconcile(t, or); err != nil {
			t.Fatal(err)
		}
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputWithdrawn)
	got := h.entries(t, audit.ActionOutputWithdraw, "abandoned")
	if len(got) != 1 || got[0].Decision != "withdrawn" || got[0].Details[audit.DetailAgreement] != agreement {
		t.Fatalf("output.withdraw entries: %+v", got)
	}
	// The entry names the researcher who withdrew the request, as the webhook stamped it.
	if got[0].Actor != researcher || or.Annotations[fivesafesv1alpha1.AnnotationWithdrawnBy] != researcher {
		t.Fatalf("withdrawal recorded as by %q (annotation %q), want %s", got[0].Actor, or.Annotations[fivesafesv1alpha1.AnnotationWithdrawnBy], researcher)
	}
}

// With the audit log refusing the release record, nothing is copied to the egress bucket and the
// status says why; once the log is back the release is made.
func TestOutputRequestAuditUnavailable(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-audit")
	activeAgreement(t, agreement)
	h := newOutputHarness(t)
	h.put(t, agreement, "tables/admissions.csv", safeTable)
	or := request(t, controllers.WorkspaceNamespace(agreement), "held", "tables/admissions.csv")
	or, err := h.reconcile(t, or)
	if err != nil {
		t.Fatal(err)
	}
	review(t, carol, "held-carol", or, fivesafesv1alpha1.ReviewApprove)
	review(t, dan, "held-dan", or, fivesafesv1alpha1.ReviewApprove)

	h.audit.down.Store(true)
	if or, err = h.reconcile(t, or); err == nil {
		t.Fatal("a release without its audit record did not fail")
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputApproved)
	c := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputReleasedCondition)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != controllers.ReasonOutputAuditUnavailable {
		t.Fatalf("Released = %+v", c)
	}
	prefix := release.Prefix(agreement, "held")
	objects := h.store.S3().ListObjects(t.Context(), egressBucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true})
	for o := range objects {
		t.Fatalf("%s was released without an audit record (err %v)", o.Key, o.Err)
	}
	if or.Status.Release != nil {
		t.Fatalf("status shows a release: %+v", or.Status.Release)
	}

	h.audit.down.Store(false)
	if or, err = h.reconcile(t, or); err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputReleased)
	if h.read(t, prefix+release.ManifestName) == nil {
		t.Fatal("no manifest after the audit log came back")
	}
}

// A policy that cannot be evaluated decides nothing: the request stays Checking, shows no
// outcome, records no check and releases nothing.
func TestOutputRequestPolicyUnavailable(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-policy")
	activeAgreement(t, agreement)
	h := newOutputHarness(t)
	b, err := policy.NewBundle(map[string]string{"broken.rego": "package fivesafes.egress\n\ndecision := input.nothing\n"})
	if err != nil {
		t.Fatal(err)
	}
	if h.r.Policy, err = policy.NewEngine(t.Context(), b, egress.PolicyQuery); err != nil {
		t.Fatal(err)
	}
	h.put(t, agreement, "tables/admissions.csv", safeTable)
	or := request(t, controllers.WorkspaceNamespace(agreement), "undecided", "tables/admissions.csv")
	if or, err = h.reconcile(t, or); err == nil {
		t.Fatal("a check the policy could not decide did not fail")
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputChecking)
	c := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputChecked)
	if c == nil || c.Status != metav1.ConditionUnknown || c.Reason != controllers.ReasonOutputPolicyUnavailable {
		t.Fatalf("Checked = %+v", c)
	}
	if or.Status.Outcome != "" || or.Status.ContentDigest != "" || len(or.Status.Files) != 0 {
		t.Fatalf("an undecided check shows results: %+v", or.Status)
	}
	if n := len(h.entries(t, audit.ActionOutputCheck, "undecided")); n != 0 {
		t.Fatalf("%d output.check entries for an undecided check", n)
	}
}

// A checker asking for changes returns the request to the researcher, and a rejection rejects it,
// whatever the other reviews say.
func TestOutputRequestReviewDecisions(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-decisions")
	activeAgreement(t, agreement)
	ns := controllers.WorkspaceNamespace(agreement)
	h := newOutputHarness(t)
	h.put(t, agreement, "tables/admissions.csv", safeTable)
	cases := []struct {
		name     string
		decision fivesafesv1alpha1.ReviewDecision
		want     fivesafesv1alpha1.OutputPhase
		reason   string
	}{
		{"changes", fivesafesv1alpha1.ReviewRequestChanges, fivesafesv1alpha1.OutputChangesRequested, controllers.ReasonOutputChangesRequested},
		{"rejected", fivesafesv1alpha1.ReviewReject, fivesafesv1alpha1.OutputRejected, controllers.ReasonOutputReviewRejected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			or := request(t, ns, c.name, "tables/admissions.csv")
			or, err := h.reconcile(t, or)
			if err != nil {
				t.Fatal(err)
			}
			review(t, carol, c.name+"-carol", or, fivesafesv1alpha1.ReviewApprove)
			review(t, dan, c.name+"-dan", or, c.decision)
			if or, err = h.reconcile(t, or); err != nil {
				t.Fatal(err)
			}
			wantPhase(t, or, c.want)
			if r := meta.FindStatusCondition(or.Status.Conditions, fivesafesv1alpha1.OutputReviewed); r == nil || r.Reason != c.reason {
				t.Fatalf("Reviewed = %+v", r)
			}
			if h.read(t, release.Prefix(agreement, c.name)+release.ManifestName) != nil {
				t.Fatal("released despite a review that did not approve")
			}
			if n := len(h.entries(t, audit.ActionOutputReview, c.name)); n != 2 {
				t.Fatalf("%d output.review entries, want 2", n)
			}
		})
	}
}

// The hostile-input corpus is refused by the controller too: every hostile file fails its checks,
// the request is rejected and nothing is released; every bad path is refused at admission.
func TestOutputRequestHostileCorpus(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-hostile")
	activeAgreement(t, agreement)
	h := newOutputHarness(t)
	dir := filepath.Join("..", "internal", "egress", "testdata", "hostile")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || name == "README.md" || name == "bad-paths.json" || strings.HasPrefix(name, "control-") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		h.put(t, agreement, "hostile/"+name, body)
		paths = append(paths, "hostile/"+name)
	}
	if len(paths) < 20 {
		t.Fatalf("only %d hostile files", len(paths))
	}
	or := request(t, controllers.WorkspaceNamespace(agreement), "hostile", paths...)
	or, err = h.reconcile(t, or)
	if err != nil {
		t.Fatal(err)
	}
	wantPhase(t, or, fivesafesv1alpha1.OutputRejected)
	if len(or.Status.Files) != len(paths) {
		t.Fatalf("%d files checked, want %d", len(or.Status.Files), len(paths))
	}
	for _, f := range or.Status.Files {
		if f.Outcome != fivesafesv1alpha1.OutcomeFail || len(f.Findings) == 0 {
			t.Errorf("%s: outcome %s with %d findings, want fail", f.Path, f.Outcome, len(f.Findings))
		}
	}
	if h.read(t, release.Prefix(agreement, "hostile")+release.ManifestName) != nil {
		t.Fatal("a hostile request was released")
	}

	raw, err := os.ReadFile(filepath.Join(dir, "bad-paths.json"))
	if err != nil {
		t.Fatal(err)
	}
	var bad []string
	if err := json.Unmarshal(raw, &bad); err != nil {
		var wrapped struct {
			Paths []string `json:"paths"`
		}
		if err := json.Unmarshal(raw, &wrapped); err != nil {
			t.Fatalf("reading bad-paths.json: %v", err)
		}
		bad = wrapped.Paths
	}
	amara := clientAs(t, researcher, "fivesafes:researchers")
	for i, p := range bad {
		bp := &fivesafesv1alpha1.OutputRequest{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bad-path-%d", i), Namespace: controllers.WorkspaceNamespace(agreement)},
			Spec: fivesafesv1alpha1.OutputRequestSpec{Purpose: "Escape", Files: []fivesafesv1alpha1.OutputFile{
				{Path: p, Kind: fivesafesv1alpha1.OutputTable, Description: "Not a table"},
			}},
		}
		if err := amara.Create(t.Context(), bp); err == nil {
			t.Errorf("a request for path %q was admitted", p)
		}
	}
}

// A table's ACRO-style sidecar is snapshotted and checked with it: a dominant contributor fails
// the table, good statistics let it pass, and without a sidecar the magnitudes go to review.
func TestOutputRequestSidecar(t *testing.T) {
	agreement := testname.Fresh(t, "outputs-sidecar")
	activeAgreement(t, agreement)
	h := newOutputHarness(t)
	table := []byte("region,n,total_cost\nNorth,12,1000.00\nSouth,15,2000.00\n")
	good := []byte(`{"version": 1, "cells": [
		{"row": 1, "column": "total_cost", "contributors": 12, "largest": [300, 250], "total": 1000},
		{"row": 2, "column": "total_cost", "contributors": 15, "largest": [500, 400], "total": 2000}]}`)
	dominant := []byte(`{"version": 1, "cells": [
		{"row": 1, "column": "total_cost", "contributors": 12, "largest": [950, 30], "total": 1000},
		{"row": 2, "column": "total_cost", "contributors": 15, "largest": [500, 400], "total": 2000}]}`)
	ns := controllers.WorkspaceNamespace(agreement)
	for _, tc := range []struct {
		name    string
		sidecar []byte
		phase   fivesafesv1alpha1.OutputPhase
		outcome fivesafesv1alpha1.CheckOutcome
		rule    string
	}{
		{"dominant", dominant, fivesafesv1alpha1.OutputRejected, fivesafesv1alpha1.OutcomeFail, "egress.dominance"},
		{"good", good, fivesafesv1alpha1.OutputAwaitingReview, fivesafesv1alpha1.OutcomePass, ""},
		{"bare", nil, fivesafesv1alpha1.OutputAwaitingReview, fivesafesv1alpha1.OutcomeReview, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := tc.name + "/cost.csv"
			h.put(t, agreement, path, table)
			if tc.sidecar != nil {
				h.put(t, agreement, path+egress.SidecarSuffix, tc.sidecar)
			}
			or, err := h.reconcile(t, request(t, ns, "cost-"+tc.name, path))
			if err != nil {
				t.Fatal(err)
			}
			wantPhase(t, or, tc.phase)
			if or.Status.Outcome != tc.outcome {
				t.Fatalf("outcome = %s, want %s: %+v", or.Status.Outcome, tc.outcome, or.Status.Files)
			}
			if tc.rule != "" {
				found := false
				for _, f := range or.Status.Files[0].Findings {
					found = found || f.Rule == tc.rule
				}
				if !found {
					t.Fatalf("no %s finding: %+v", tc.rule, or.Status.Files[0].Findings)
				}
			}
		})
	}
}
