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
	"encoding/csv"
	"encoding/hex"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/extractjob"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
	"github.com/fivesafes/fivesafes/internal/stack"
	"github.com/fivesafes/fivesafes/internal/synth"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// The synthetic data of the extract tests: one population, so people link across the two
// datasets, and two opt-out snapshots of it, the second naming more people.
const (
	extractSeed       = 38123
	extractPopulation = 3000
	catalogueBucket   = "fivesafes-catalogue"
	// extractOptOuts is the sample OptOutList, the one the agreement controller names in the
	// extracts of datasets whose opt-outs are honoured; its snapshot is in the catalogue bucket.
	extractOptOuts = "national-data-opt-out"
	// extractOptBucket is the opt-out harness's own bucket, unused here.
	extractOptBucket = "extract-opt-outs"
)

var pseudonymRE = regexp.MustCompile(`^[0-9a-f]{64}$`)

// extractHarness is a DatasetExtractReconciler on the environment's API server, MinIO and
// Vault, with an audit log of its own and the opt-out snapshots its own OptOutListReconciler
// loads.
type extractHarness struct {
	r      *controllers.DatasetExtractReconciler
	optOut *optOutHarness
	s3     *minio.Client
	writes *stack.WriteCounter
	audit  *audit.MemStore
}

func newExtractHarness(t *testing.T) *extractHarness {
	t.Helper()
	ctx := t.Context()
	h := &extractHarness{optOut: newOptOutHarness(t, extractOptBucket), writes: &stack.WriteCounter{}, audit: audit.NewMemStore()}
	var err error
	h.s3, err = minio.New(env.MinIO.Endpoint, &minio.Options{
		Creds: credentials.NewStaticV4(env.MinIO.RootUser, env.MinIO.RootPassword, ""), Transport: h.writes,
	})
	if err != nil {
		t.Fatal(err)
	}
	vc, err := env.VaultClient()
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.Open(ctx, h.audit, audit.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.r = &controllers.DatasetExtractReconciler{
		Client:          env.Client,
		Scheme:          env.Client.Scheme(),
		Recorder:        h.optOut.r.Recorder,
		Clock:           clock,
		Store:           h.s3,
		Vault:           vc,
		TransitMount:    "transit",
		SystemNamespace: env.ManagerOptions().LeaderElectionNamespace,
		OptOuts:         h.optOut.cache,
		Audit:           log,
	}
	return h
}

// reconcile runs one loop for the extract and returns it as stored afterwards.
func (h *extractHarness) reconcile(t *testing.T, dx *fivesafesv1alpha1.DatasetExtract) (*fivesafesv1alpha1.DatasetExtract, ctrl.Result, error) {
	t.Helper()
	return reconcileExtract(t, h.r, dx)
}

func reconcileExtract(t *testing.T, r *controllers.DatasetExtractReconciler, dx *fivesafesv1alpha1.DatasetExtract) (*fivesafesv1alpha1.DatasetExtract, ctrl.Result, error) {
	t.Helper()
	return reconcileExtractCtx(t.Context(), t, r, dx)
}

func reconcileExtractCtx(ctx context.Context, t *testing.T, r *controllers.DatasetExtractReconciler, dx *fivesafesv1alpha1.DatasetExtract) (*fivesafesv1alpha1.DatasetExtract, ctrl.Result, error) {
	t.Helper()
	res, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(dx)})
	got := &fivesafesv1alpha1.DatasetExtract{}
	if gerr := env.Client.Get(t.Context(), client.ObjectKeyFromObject(dx), got); gerr != nil {
		t.Fatal(gerr)
	}
	return got, res, err
}

// generate returns a synthetic dataset of the extract tests' population.
func generate(t *testing.T, dataset string, rows int64) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := synth.Generate(t.Context(), &buf, synth.Options{Dataset: dataset, Rows: rows, Seed: extractSeed, Population: extractPopulation}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func putObject(t *testing.T, c *minio.Client, bucket, key string, body []byte) {
	t.Helper()
	if _, err := c.PutObject(context.Background(), bucket, key, bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
}

// extractFor makes the DatasetExtract the agreement's dataset entry asks for.
func extractFor(t *testing.T, daa *fivesafesv1alpha1.DataAccessAgreement, dataset string) *fivesafesv1alpha1.DatasetExtract {
	t.Helper()
	i := slices.IndexFunc(daa.Spec.Datasets, func(d fivesafesv1alpha1.AgreementDataset) bool { return d.Name == dataset })
	if i < 0 {
		t.Fatalf("the agreement has no dataset %s", dataset)
	}
	d := daa.Spec.Datasets[i]
	dx := &fivesafesv1alpha1.DatasetExtract{
		ObjectMeta: metav1.ObjectMeta{Name: dataset, Namespace: controllers.WorkspaceNamespace(daa.Name)},
		Spec: fivesafesv1alpha1.DatasetExtractSpec{
			Agreement: daa.Name, Dataset: dataset, Columns: d.Columns,
			OptOuts: d.OptOuts, OptOutJustification: d.OptOutJustification,
		},
	}
	if d.OptOuts == fivesafesv1alpha1.OptOutsHonoured {
		dx.Spec.OptOutList = extractOptOuts
	}
	// The agreement controller may have asked for the extract already; it must be this one.
	if err := env.Client.Create(t.Context(), dx); apierrors.IsAlreadyExists(err) {
		want := dx.Spec
		if err := env.Client.Get(t.Context(), client.ObjectKeyFromObject(dx), dx); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(dx.Spec.Columns, want.Columns) || dx.Spec.OptOuts != want.OptOuts || dx.Spec.OptOutList != want.OptOutList ||
			dx.Spec.OptOutJustification != want.OptOutJustification {
			t.Fatalf("the extract asked for is %+v, want %+v", dx.Spec, want)
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return dx
}

// sourceRow is one row of a source CSV as the test reads it, independently of package extract.
type sourceRow struct {
	person   int64 // the population index of a valid NHS number, or -1
	optedOut bool
}

// readSource reads a source CSV and says, for each row, whose it is and whether they opted out
// in the snapshot optedOut.
func readSource(t *testing.T, body []byte, optedOut map[uint64]bool) []sourceRow {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	pop := synth.NewPopulation(extractSeed)
	rows := make([]sourceRow, 0, len(recs)-1)
	for _, rec := range recs[1:] {
		r := sourceRow{person: -1}
		if n, err := nhsnumber.Parse(rec[0]); err == nil {
			idx, ok := pop.Index(n)
			if !ok {
				t.Fatal("a valid NHS number in the source is not of the population")
			}
			r.person, r.optedOut = idx, optedOut[n.Uint64()]
		}
		rows = append(rows, r)
	}
	return rows
}

// count is the independent count of what the copy of rows must hold.
func count(rows []sourceRow, honoured bool) fivesafesv1alpha1.RowCounts {
	var c fivesafesv1alpha1.RowCounts
	for _, r := range rows {
		c.Read++
		switch {
		case honoured && r.optedOut:
			c.OptedOut++
		case r.person < 0:
			c.InvalidIdentifier++
			c.Written++
		default:
			c.Written++
		}
	}
	return c
}

// readCopy reads the copy the extract's status describes, checks each object's digest and
// header, and returns its rows.
func readCopy(t *testing.T, c *minio.Client, dx *fivesafesv1alpha1.DatasetExtract) [][]string {
	t.Helper()
	bucket := controllers.WorkspaceBucket(dx.Spec.Agreement)
	if len(dx.Status.Objects) == 0 {
		t.Fatal("the status names no objects")
	}
	var rows [][]string
	for _, o := range dx.Status.Objects {
		obj, err := c.GetObject(t.Context(), bucket, o.Path, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj)
		_ = obj.Close()
		if err != nil {
			t.Fatalf("reading %s: %v", o.Path, err)
		}
		sum := sha256.Sum256(b)
		if got := fivesafesv1alpha1.Digest("sha256:" + hex.EncodeToString(sum[:])); got != o.SHA256 || int64(len(b)) != o.Size {
			t.Errorf("%s: digest %s size %d, status says %s %d", o.Path, got, len(b), o.SHA256, o.Size)
		}
		recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(recs[0], dx.Spec.Columns) {
			t.Errorf("%s: header %q, want only the approved columns %q", o.Path, recs[0], dx.Spec.Columns)
		}
		if int64(len(recs)-1) != o.Rows {
			t.Errorf("%s: %d rows, status says %d", o.Path, len(recs)-1, o.Rows)
		}
		rows = append(rows, recs[1:]...)
	}
	return rows
}

// pseudonymsOf pairs the copy's rows with the source rows the copy kept and returns each
// person's pseudonym, checking that every NHS number cell is a pseudonym or empty, that no cell
// holds an NHS number, and that each person has one pseudonym.
func pseudonymsOf(t *testing.T, copied [][]string, source []sourceRow, honoured bool) map[int64]string {
	t.Helper()
	var kept []sourceRow
	for _, r := range source {
		if !honoured || !r.optedOut {
			kept = append(kept, r)
		}
	}
	if len(kept) != len(copied) {
		t.Fatalf("the copy holds %d rows, the source %d that should be kept", len(copied), len(kept))
	}
	of := map[int64]string{}
	for i, rec := range copied {
		for _, cell := range rec {
			if nhsnumber.Valid(cell) {
				t.Fatal("the copy holds an NHS number")
			}
		}
		p, r := rec[0], kept[i]
		switch {
		case r.person < 0 && p != "":
			t.Fatal("an invalid NHS number was given a pseudonym")
		case r.person < 0:
		case !pseudonymRE.MatchString(p):
			t.Fatalf("an NHS number became %q, not a 64-hex pseudonym", p)
		case of[r.person] != "" && of[r.person] != p:
			t.Fatal("one person has two pseudonyms in one copy")
		default:
			of[r.person] = p
		}
	}
	return of
}

func checkReady(t *testing.T, dx *fivesafesv1alpha1.DatasetExtract, reason string) {
	t.Helper()
	for _, ty := range []string{fivesafesv1alpha1.ExtractComplete, fivesafesv1alpha1.ExtractCurrent, fivesafesv1alpha1.ConditionReady} {
		c := meta.FindStatusCondition(dx.Status.Conditions, ty)
		if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != dx.Generation {
			t.Errorf("%s = %+v, want True at generation %d", ty, c, dx.Generation)
		}
	}
	if c := meta.FindStatusCondition(dx.Status.Conditions, fivesafesv1alpha1.ExtractCurrent); c != nil && c.Reason != reason {
		t.Errorf("Current reason %s, want %s", c.Reason, reason)
	}
	if dx.Status.Phase != fivesafesv1alpha1.ExtractSucceeded || dx.Status.ObservedGeneration != dx.Generation {
		t.Errorf("phase %s at generation %d, want Succeeded at %d", dx.Status.Phase, dx.Status.ObservedGeneration, dx.Generation)
	}
}

// extractAudits returns the dataset.extract entries of the harness's audit log about dx.
func (h *extractHarness) extractAudits(t *testing.T, dx *fivesafesv1alpha1.DatasetExtract) []audit.Entry {
	t.Helper()
	var out []audit.Entry
	for e, err := range audit.Entries(t.Context(), h.audit) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Action == audit.ActionDatasetExtract && e.Object.Namespace == dx.Namespace && e.Object.Name == dx.Name {
			out = append(out, e)
		}
	}
	return out
}

// manifestDigest is the sha256 of the manifest object as stored.
func manifestDigest(t *testing.T, c *minio.Client, dx *fivesafesv1alpha1.DatasetExtract) string {
	t.Helper()
	m, err := extractjob.ReadManifest(t.Context(), c, controllers.WorkspaceBucket(dx.Spec.Agreement), dx.Spec.Dataset)
	if err != nil || m == nil {
		t.Fatalf("reading the manifest: %v", err)
	}
	return m.SHA256
}

// An agreement's two datasets are copied into its workspace holding only the approved columns,
// with pseudonyms that join across the two and differ from another agreement's; people who
// opted out are gone from the copy that honours opt-outs and present in the one that does not;
// the counts match an independent count. A resync copies nothing; a new opt-out snapshot copies
// again; a copy killed part-way leaves the previous one whole and visible.
func TestDatasetExtract(t *testing.T) {
	ctx := t.Context()
	h := newExtractHarness(t)
	admin, err := env.MinIOClient()
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := admin.BucketExists(ctx, catalogueBucket); err != nil {
		t.Fatal(err)
	} else if !ok {
		if err := admin.MakeBucket(ctx, catalogueBucket, minio.MakeBucketOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	hes, asc := generate(t, synth.HESAPC, 6000), generate(t, synth.ASCCLD, 3000)
	putObject(t, admin, catalogueBucket, "hes-apc/part-0001.csv", hes)
	putObject(t, admin, catalogueBucket, "asc-cld/part-0001.csv", asc)
	everyone := synth.OptedOutBelow(extractSeed, extractPopulation)
	firstSnap, secondSnap := generate(t, synth.OptOuts, everyone/2), generate(t, synth.OptOuts, everyone)
	putObject(t, admin, catalogueBucket, "opt-outs/2026-11-01.csv", firstSnap)
	putObject(t, admin, catalogueBucket, "opt-outs/2026-12-01.csv", secondSnap)
	firstOpted := countOptOuts(t, firstSnap)

	// Making the agreement applies the sample catalogue: the Datasets and the OptOutList.
	agreementA := testname.Fresh(t, "extract-a")
	wsA := activeAgreement(t, agreementA)
	sample := &fivesafesv1alpha1.OptOutList{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: extractOptOuts}, sample); err != nil {
		t.Fatal(err)
	}
	if sample.Spec.SnapshotDate != "2026-11-01" || sample.Spec.Source != (fivesafesv1alpha1.OptOutSource{Bucket: catalogueBucket, Key: "opt-outs/2026-11-01.csv"}) {
		t.Fatalf("the sample opt-out list names %+v", sample.Spec)
	}
	t.Cleanup(func() {
		list := &fivesafesv1alpha1.OptOutList{}
		if err := env.Client.Get(context.Background(), client.ObjectKey{Name: extractOptOuts}, list); err == nil {
			list.Spec = sample.Spec
			_ = env.Client.Update(context.Background(), list)
		}
	})
	if _, _, err := h.optOut.reconcile(t, extractOptOuts); err != nil {
		t.Fatal(err)
	}

	daaA := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := env.Client.Get(ctx, client.ObjectKey{Name: wsA.Spec.Agreement}, daaA); err != nil {
		t.Fatal(err)
	}
	hesX, ascX := extractFor(t, daaA, "hes-apc"), extractFor(t, daaA, "asc-cld")
	if hesX.Spec.OptOuts != fivesafesv1alpha1.OptOutsHonoured || ascX.Spec.OptOuts != fivesafesv1alpha1.OptOutsNotApplied {
		t.Fatal("the sample agreement no longer honours opt-outs for hes-apc alone")
	}

	hesX, res, err := h.reconcile(t, hesX)
	if err != nil {
		t.Fatal(err)
	}
	if res.RequeueAfter != controllers.DefaultExtractResync {
		t.Errorf("RequeueAfter = %v, want the source resync %v", res.RequeueAfter, controllers.DefaultExtractResync)
	}
	ascX, _, err = h.reconcile(t, ascX)
	if err != nil {
		t.Fatal(err)
	}
	checkReady(t, hesX, controllers.ReasonExtractUpToDate)
	checkReady(t, ascX, controllers.ReasonExtractUpToDate)

	hesRows, ascRows := readSource(t, hes, firstOpted.numbers), readSource(t, asc, firstOpted.numbers)
	if want := count(hesRows, true); hesX.Status.Rows != want {
		t.Errorf("hes-apc rows %+v, independent count %+v", hesX.Status.Rows, want)
	}
	if want := count(ascRows, false); ascX.Status.Rows != want {
		t.Errorf("asc-cld rows %+v, independent count %+v", ascX.Status.Rows, want)
	}
	if hesX.Status.Rows.OptedOut == 0 || ascX.Status.Rows.InvalidIdentifier == 0 {
		t.Fatalf("the test data has no opted-out or invalid rows; it proves nothing")
	}
	if hesX.Status.OptOutSnapshotDate != "2026-11-01" || hesX.Status.OptOutSnapshotDigest != firstOpted.digest {
		t.Errorf("hes-apc snapshot %s %s, want 2026-11-01 %s", hesX.Status.OptOutSnapshotDate, hesX.Status.OptOutSnapshotDigest, firstOpted.digest)
	}
	if ascX.Status.OptOutSnapshotDigest != "" || ascX.Status.Rows.OptedOut != 0 {
		t.Error("opt-outs were applied to the NotApplied copy")
	}
	if hesX.Status.KeyVersion != wsA.Status.KeyVersion || hesX.Status.SourceDigest == "" || hesX.Status.CompletedAt == nil ||
		hesX.Status.Manifest != "datasets/hes-apc/manifest.json" {
		t.Errorf("status does not mirror the manifest: %+v", hesX.Status)
	}

	hesOf := pseudonymsOf(t, readCopy(t, admin, hesX), hesRows, true)
	ascOf := pseudonymsOf(t, readCopy(t, admin, ascX), ascRows, false)
	pop := synth.NewPopulation(extractSeed)
	inHES := map[string]bool{}
	for _, p := range hesOf {
		inHES[p] = true
	}
	joined, optedOutInASC := 0, 0
	for person, p := range ascOf {
		if q, ok := hesOf[person]; ok {
			joined++
			if p != q {
				t.Fatal("a person's pseudonyms differ between the two datasets of one agreement")
			}
		}
		if firstOpted.numbers[pop.NHSNumber(person).Uint64()] {
			optedOutInASC++
			if inHES[p] {
				t.Fatal("a person who opted out is in the copy that honours opt-outs")
			}
		}
	}
	if joined == 0 || optedOutInASC == 0 {
		t.Fatalf("%d people join across the copies and %d who opted out are in the NotApplied one; the test proves nothing", joined, optedOutInASC)
	}

	for _, dx := range []*fivesafesv1alpha1.DatasetExtract{hesX, ascX} {
		entries := h.extractAudits(t, dx)
		if len(entries) != 1 {
			t.Fatalf("%s: %d audit entries, want 1", dx.Name, len(entries))
		}
		d := entries[0].Details
		if d[audit.DetailAgreement] != agreementA || d["manifestSha256"] != manifestDigest(t, admin, dx) || entries[0].Decision != "copied" {
			t.Errorf("%s: audit entry %v does not describe the copy", dx.Name, entries[0])
		}
	}

	t.Run("an extract beyond what the agreement approves copies nothing", func(t *testing.T) {
		wide := func(name string, change func(*fivesafesv1alpha1.DatasetExtractSpec)) *fivesafesv1alpha1.DatasetExtract {
			dx := &fivesafesv1alpha1.DatasetExtract{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: controllers.WorkspaceNamespace(agreementA)},
				Spec:       *hesX.Spec.DeepCopy(),
			}
			change(&dx.Spec)
			if err := env.Client.Create(ctx, dx); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = env.Client.Delete(context.Background(), dx) })
			return dx
		}
		for why, dx := range map[string]*fivesafesv1alpha1.DatasetExtract{
			"does not approve column(s) date_of_birth": wide("hes-apc-dob", func(s *fivesafesv1alpha1.DatasetExtractSpec) { s.Columns = append(s.Columns, "date_of_birth") }),
			"honours opt-outs for dataset hes-apc": wide("hes-apc-all", func(s *fivesafesv1alpha1.DatasetExtractSpec) {
				s.OptOuts, s.OptOutList, s.OptOutJustification = fivesafesv1alpha1.OptOutsNotApplied, "", "We would rather not."
			}),
			"must be in its workspace namespace ws-extract-b": wide("hes-apc-other", func(s *fivesafesv1alpha1.DatasetExtractSpec) { s.Agreement = "extract-b" }),
			"named after its dataset":                         wide("hes-apc-again", func(*fivesafesv1alpha1.DatasetExtractSpec) {}),
		} {
			h.writes.Take()
			h.optOut.events.take()
			got, _, err := h.reconcile(t, dx)
			if err != nil {
				t.Fatal(err)
			}
			ready := meta.FindStatusCondition(got.Status.Conditions, fivesafesv1alpha1.ConditionReady)
			if ready == nil || ready.Status == metav1.ConditionTrue || ready.Reason != controllers.ReasonExtractNotApproved || !strings.Contains(ready.Message, why) {
				t.Errorf("%s: Ready = %+v, want False %s saying it %s", dx.Name, ready, controllers.ReasonExtractNotApproved, why)
			}
			if got.Status.Phase != fivesafesv1alpha1.ExtractPending || len(got.Status.Objects) != 0 {
				t.Errorf("%s: phase %s with %d objects", dx.Name, got.Status.Phase, len(got.Status.Objects))
			}
			if w := h.writes.Take(); len(w) != 0 {
				t.Errorf("%s: wrote %q", dx.Name, w)
			}
			if ev := h.optOut.events.take(); len(ev) != 1 || ev[controllers.ReasonExtractNotApproved] != 1 {
				t.Errorf("%s: announced %v, want one %s", dx.Name, ev, controllers.ReasonExtractNotApproved)
			}
			// A loop that reads the extract as it was before that status write does nothing and
			// looks again soon.
			lagging := *h.r
			lagging.Client = laggingClient(t, dx)
			_, lagged, err := reconcileExtract(t, &lagging, dx)
			if err != nil {
				t.Fatal(err)
			}
			if ev := h.optOut.events.take(); len(ev) != 0 {
				t.Errorf("%s: a lagging loop announced %v again", dx.Name, ev)
			}
			if lagged.RequeueAfter <= 0 {
				t.Errorf("%s: a lagging loop did not ask to look again once the cache has caught up", dx.Name)
			}
		}
	})

	t.Run("another agreement's pseudonyms differ", func(t *testing.T) {
		wsB := activeAgreement(t, testname.Fresh(t, "extract-b"))
		daaB := &fivesafesv1alpha1.DataAccessAgreement{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: wsB.Spec.Agreement}, daaB); err != nil {
			t.Fatal(err)
		}
		hesB, _, err := h.reconcile(t, extractFor(t, daaB, "hes-apc"))
		if err != nil {
			t.Fatal(err)
		}
		checkReady(t, hesB, controllers.ReasonExtractUpToDate)
		ofB := pseudonymsOf(t, readCopy(t, admin, hesB), hesRows, true)
		if len(ofB) != len(hesOf) {
			t.Fatalf("agreement B's copy holds %d people, A's %d", len(ofB), len(hesOf))
		}
		for person, p := range ofB {
			if hesOf[person] == p {
				t.Fatal("two agreements gave a person the same pseudonym")
			}
		}
	})

	t.Run("a resync copies nothing and writes nothing", func(t *testing.T) {
		h.writes.Take()
		for _, dx := range []*fivesafesv1alpha1.DatasetExtract{hesX, ascX} {
			again, _, err := h.reconcile(t, dx)
			if err != nil {
				t.Fatal(err)
			}
			if again.ResourceVersion != dx.ResourceVersion {
				t.Errorf("%s: status was written", dx.Name)
			}
			if len(h.extractAudits(t, dx)) != 1 {
				t.Errorf("%s: a resync was audited as a copy", dx.Name)
			}
		}
		if w := h.writes.Take(); len(w) != 0 {
			t.Errorf("a resync wrote to object storage: %q", w)
		}
	})

	t.Run("a new opt-out snapshot copies again with more opted out", func(t *testing.T) {
		list := &fivesafesv1alpha1.OptOutList{}
		if err := env.Client.Get(ctx, client.ObjectKey{Name: extractOptOuts}, list); err != nil {
			t.Fatal(err)
		}
		list.Spec.SnapshotDate, list.Spec.Source.Key = "2026-12-01", "opt-outs/2026-12-01.csv"
		if err := env.Client.Update(ctx, list); err != nil {
			t.Fatal(err)
		}
		// Until the list loads the new snapshot, the copy waits for it and copies nothing.
		// (The manager's own OptOutList controller may load it first, into its memory, not this
		// harness's: then the copy fails for want of the snapshot instead.)
		h.writes.Take()
		waiting, _, err := h.reconcile(t, hesX)
		want := controllers.ReasonExtractOptOutsNotLoaded
		if err != nil {
			want = controllers.ReasonExtractOptOutsUnavailable
		}
		if c := meta.FindStatusCondition(waiting.Status.Conditions, fivesafesv1alpha1.ExtractCurrent); c == nil || c.Reason != want {
			t.Errorf("Current = %+v, want %s while the list loads (error %v)", c, want, err)
		}
		if w := h.writes.Take(); len(w) != 0 {
			t.Errorf("a copy was written without the new snapshot: %q", w)
		}
		if !meta.IsStatusConditionTrue(waiting.Status.Conditions, fivesafesv1alpha1.ExtractComplete) || waiting.Status.Rows != hesX.Status.Rows {
			t.Error("the visible copy is no longer described while the list loads")
		}
		if _, _, err := h.optOut.reconcile(t, extractOptOuts); err != nil {
			t.Fatal(err)
		}
		second := countOptOuts(t, secondSnap)
		h.writes.Take()
		again, _, err := h.reconcile(t, hesX)
		if err != nil {
			t.Fatal(err)
		}
		checkReady(t, again, controllers.ReasonExtractUpToDate)
		rows := readSource(t, hes, second.numbers)
		if want := count(rows, true); again.Status.Rows != want || want.OptedOut <= hesX.Status.Rows.OptedOut {
			t.Errorf("rows %+v, independent count %+v; first copy opted out %d", again.Status.Rows, want, hesX.Status.Rows.OptedOut)
		}
		if again.Status.OptOutSnapshotDate != "2026-12-01" || again.Status.OptOutSnapshotDigest != second.digest {
			t.Errorf("snapshot %s %s, want 2026-12-01 %s", again.Status.OptOutSnapshotDate, again.Status.OptOutSnapshotDigest, second.digest)
		}
		pseudonymsOf(t, readCopy(t, admin, again), rows, true)
		for _, o := range hesX.Status.Objects {
			if _, err := admin.StatObject(ctx, controllers.WorkspaceBucket(agreementA), o.Path, minio.StatObjectOptions{}); err == nil {
				t.Errorf("%s of the replaced copy is still there", o.Path)
			}
		}
		if n := len(h.extractAudits(t, hesX)); n != 2 {
			t.Errorf("%d audit entries, want 2", n)
		}
		// The NotApplied copy does not depend on the snapshot.
		if _, _, err := h.reconcile(t, ascX); err != nil {
			t.Fatal(err)
		}
		hesX = again
	})

	t.Run("a copy killed part-way leaves the previous copy whole and visible", func(t *testing.T) {
		putObject(t, admin, catalogueBucket, "hes-apc/part-0002.csv", generate(t, synth.HESAPC, 2000))
		t.Cleanup(func() {
			_ = admin.RemoveObject(context.Background(), catalogueBucket, "hes-apc/part-0002.csv", minio.RemoveObjectOptions{})
		})
		before := manifestDigest(t, admin, hesX)
		previous := readCopy(t, admin, hesX)

		// Without the opt-out snapshot in memory nothing is copied.
		cold := *h.r
		cold.OptOuts = optoutcache.New()
		failed, _, err := reconcileExtract(t, &cold, hesX)
		if err == nil {
			t.Fatal("a copy was made without the opt-out snapshot")
		}
		if c := meta.FindStatusCondition(failed.Status.Conditions, fivesafesv1alpha1.ExtractCurrent); c == nil || c.Reason != controllers.ReasonExtractOptOutsUnavailable {
			t.Errorf("Current = %+v, want %s", c, controllers.ReasonExtractOptOutsUnavailable)
		}

		// The process dies after the first object of the new copy is uploaded: nothing more is
		// written, not even the status, and the previous copy is untouched.
		rctx, kill := context.WithCancel(ctx)
		dying := *h.r
		dying.Store = killAfterPart{Store: h.s3, part: "/part-0001.csv", kill: kill}
		killed, _, err := reconcileExtractCtx(rctx, t, &dying, hesX)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Reconcile = %v, want the copy cancelled", err)
		}
		checkPrevious := func(t *testing.T, dx *fivesafesv1alpha1.DatasetExtract) {
			t.Helper()
			if manifestDigest(t, admin, hesX) != before {
				t.Fatal("the manifest changed")
			}
			if got := readCopy(t, admin, hesX); !slices.EqualFunc(got, previous, slices.Equal) {
				t.Fatal("the previous copy changed")
			}
			if !slices.Equal(dx.Status.Objects, hesX.Status.Objects) || dx.Status.Rows != hesX.Status.Rows ||
				!meta.IsStatusConditionTrue(dx.Status.Conditions, fivesafesv1alpha1.ExtractComplete) {
				t.Error("the status no longer describes the visible copy")
			}
			var left []string
			for oi := range admin.ListObjects(ctx, controllers.WorkspaceBucket(agreementA), minio.ListObjectsOptions{Prefix: "datasets/hes-apc/", Recursive: true, WithVersions: true}) {
				if oi.Key != "datasets/hes-apc/manifest.json" && !slices.ContainsFunc(hesX.Status.Objects, func(o fivesafesv1alpha1.ExtractObject) bool { return o.Path == oi.Key }) {
					left = append(left, oi.Key)
				}
			}
			if len(left) != 0 {
				t.Errorf("the failed copy left %q", left)
			}
		}
		checkPrevious(t, killed)

		// Storage fails while the second object is uploaded: the status says why.
		broken := *h.r
		broken.Store = failPart{Store: h.s3, part: "/part-0002.csv"}
		failed, _, err = reconcileExtract(t, &broken, hesX)
		if err == nil {
			t.Fatal("the copy succeeded")
		}
		checkPrevious(t, failed)
		if failed.Status.Phase != fivesafesv1alpha1.ExtractFailed || meta.IsStatusConditionTrue(failed.Status.Conditions, fivesafesv1alpha1.ConditionReady) {
			t.Errorf("after the failure: phase %s, conditions %+v", failed.Status.Phase, failed.Status.Conditions)
		}
		if c := meta.FindStatusCondition(failed.Status.Conditions, fivesafesv1alpha1.ExtractCurrent); c == nil || c.Reason != controllers.ReasonExtractCopyFailed ||
			!strings.Contains(c.Message, "the source objects changed") {
			t.Errorf("Current = %+v, want %s saying the source changed", c, controllers.ReasonExtractCopyFailed)
		}

		// The next loop makes the copy of both objects.
		done, _, err := h.reconcile(t, hesX)
		if err != nil {
			t.Fatal(err)
		}
		checkReady(t, done, controllers.ReasonExtractUpToDate)
		if len(done.Status.Objects) != 2 || done.Status.Rows.Read != hesX.Status.Rows.Read+2000 {
			t.Errorf("the copy holds %d objects and %d rows read", len(done.Status.Objects), done.Status.Rows.Read)
		}
		if n := len(h.extractAudits(t, hesX)); n != 3 {
			t.Errorf("%d audit entries, want 3: failed copies are not recorded", n)
		}
	})
}

// killAfterPart is the real store; it ends the reconcile's context, as a killed process would,
// once the object of a new copy whose key ends in part is uploaded.
type killAfterPart struct {
	extractjob.Store
	part string
	kill context.CancelFunc
}

func (s killAfterPart) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, o minio.PutObjectOptions) (minio.UploadInfo, error) {
	info, err := s.Store.PutObject(ctx, bucket, key, r, size, o)
	if strings.HasSuffix(key, s.part) {
		s.kill()
	}
	return info, err
}

// failPart is the real store, except that the upload of the object whose key ends in part
// breaks off part-way, as a dropped connection does.
type failPart struct {
	extractjob.Store
	part string
}

func (s failPart) PutObject(ctx context.Context, bucket, key string, r io.Reader, size int64, o minio.PutObjectOptions) (minio.UploadInfo, error) {
	if strings.HasSuffix(key, s.part) {
		_, _ = io.CopyN(io.Discard, r, 4096)
		return minio.UploadInfo{}, errors.New("connection reset by peer")
	}
	return s.Store.PutObject(ctx, bucket, key, r, size, o)
}
