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

package cli

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/testname"
)

// Digests of a checked request, in the project's written form.
const (
	testContentDigest fivesafesv1alpha1.Digest = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	testPolicyDigest  fivesafesv1alpha1.Digest = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	testFileDigest    fivesafesv1alpha1.Digest = "sha256:3333333333333333333333333333333333333333333333333333333333333333"
)

func TestOutputParseFiles(t *testing.T) {
	for _, tc := range []struct {
		name       string
		files, exc []string
		want       []fivesafesv1alpha1.OutputFile
		err        string
	}{
		{
			name: "kinds, outputs/ prefix and colons in the description",
			files: []string{
				"tables/admissions.csv=table:Admissions by month: counts rounded to 5",
				"outputs/figures/trend.png=Figure: Monthly trend",
				"code/model.R=CODE:The model",
				"notes.md=text:Notes, with commas",
			},
			exc: []string{"tables/admissions.csv=Counts of 8 are published by ONS already."},
			want: []fivesafesv1alpha1.OutputFile{
				{Path: "tables/admissions.csv", Kind: fivesafesv1alpha1.OutputTable, Description: "Admissions by month: counts rounded to 5",
					ExceptionJustification: "Counts of 8 are published by ONS already."},
				{Path: "figures/trend.png", Kind: fivesafesv1alpha1.OutputFigure, Description: "Monthly trend"},
				{Path: "code/model.R", Kind: fivesafesv1alpha1.OutputCode, Description: "The model"},
				{Path: "notes.md", Kind: fivesafesv1alpha1.OutputText, Description: "Notes, with commas"},
			},
		},
		{name: "no files", err: "at least one file"},
		{name: "no equals", files: []string{"tables/a.csv"}, err: "want PATH=KIND:DESCRIPTION"},
		{name: "no kind", files: []string{"tables/a.csv=Admissions"}, err: "want PATH=KIND:DESCRIPTION"},
		{name: "unknown kind", files: []string{"tables/a.csv=spreadsheet:Admissions"}, err: `unknown kind "spreadsheet"`},
		{name: "blank description", files: []string{"tables/a.csv=table:  "}, err: "description must say"},
		{name: "traversal", files: []string{"../secrets.csv=table:x"}, err: "file 1"},
		{name: "absolute", files: []string{"/etc/passwd=text:x"}, err: "absolute"},
		{name: "empty path", files: []string{"=table:x"}, err: "empty"},
		{name: "duplicate ignoring case", files: []string{"a.csv=table:x", "A.csv=table:y"}, err: "same path as file 1"},
		{name: "exception for no file", files: []string{"a.csv=table:x"}, exc: []string{"b.csv=why"}, err: "names no file"},
		{name: "exception without text", files: []string{"a.csv=table:x"}, exc: []string{"a.csv= "}, err: "justification is empty"},
		{name: "exception without equals", files: []string{"a.csv=table:x"}, exc: []string{"a.csv"}, err: "want PATH=TEXT"},
		{name: "two exceptions for one file", files: []string{"a.csv=table:x"}, exc: []string{"a.csv=one", "a.csv=two"}, err: "already has an exception"},
		{name: "too many files", files: manyFiles(maxOutputFiles + 1), err: "at most 100 files"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseOutputFiles(tc.files, tc.exc)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("file %d = %+v, want %+v", i+1, got[i], tc.want[i])
				}
			}
		})
	}
}

func manyFiles(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "f" + strings.Repeat("x", i) + ".csv=table:x"
	}
	return out
}

// FuzzOutputParseFiles checks that whatever is given as --file and --exception, the files
// accepted have valid, distinct paths, known kinds and descriptions.
func FuzzOutputParseFiles(f *testing.F) {
	for _, s := range []string{
		"tables/a.csv=table:Admissions", "../../etc/passwd=text:x", "a=b=c:d:e", "=:", "a.csv=table:\x00",
		"CON=text:x", "a/./b=text:x", "a//b=table:y", "outputs/outputs/a=code:z", "é.csv=table:x", "a.csv=TABLE:\r\n",
	} {
		f.Add(s, "a.csv", "tables/a.csv=why")
	}
	f.Fuzz(func(t *testing.T, f1, f2, exc string) {
		files, err := parseOutputFiles([]string{f1, f2}, []string{exc})
		if err != nil {
			return
		}
		if len(files) != 2 || strings.EqualFold(files[0].Path, files[1].Path) {
			t.Fatalf("accepted %+v", files)
		}
		for _, fl := range files {
			if fl.Path == "" || strings.HasPrefix(fl.Path, "/") || strings.Contains(fl.Path, "..") ||
				strings.TrimSpace(fl.Description) == "" || fl.Kind == "" {
				t.Fatalf("accepted %+v", fl)
			}
		}
		if files[0].ExceptionJustification == "" && files[1].ExceptionJustification == "" {
			t.Fatalf("accepted exception %q without attaching it: %+v", exc, files)
		}
	})
}

// outputNamespace creates a workspace namespace for a test.
func outputNamespace(t *testing.T, name string) string {
	t.Helper()
	name = testname.Fresh(t, name)
	createObject(t, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}})
	return name
}

// getRequest reads an output request with the administrator's client.
func getRequest(t *testing.T, ns, name string) *fivesafesv1alpha1.OutputRequest {
	t.Helper()
	r := &fivesafesv1alpha1.OutputRequest{}
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, r); err != nil {
		t.Fatal(err)
	}
	return r
}

// setRequestStatus writes the status the operator would write.
func setRequestStatus(t *testing.T, r *fivesafesv1alpha1.OutputRequest, st fivesafesv1alpha1.OutputRequestStatus) {
	t.Helper()
	r.Status = st
	if err := env.Client.Status().Update(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func TestOutputRequestStatusWithdraw(t *testing.T) {
	ns := outputNamespace(t, "ws-output-request")
	stdout, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", ns, "output", "request", "winter-2026",
		"--file", "tables/admissions.csv=table:Admissions by month and region, counts rounded to 5",
		"--file", "outputs/figures/trend.png=figure:Monthly admissions trend",
		"--exception", "tables/admissions.csv=The count of 8 in March is published by ONS.",
		"--purpose", "Figures 1 and 2 of the winter pressures paper")
	for _, want := range []string{
		"outputrequest.fivesafes.io/winter-2026 created in namespace " + ns,
		"file:    tables/admissions.csv (Table): Admissions by month and region, counts rounded to 5",
		"exception asked: The count of 8 in March is published by ONS.",
		"file:    figures/trend.png (Figure): Monthly admissions trend",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	r := getRequest(t, ns, "winter-2026")
	want := []fivesafesv1alpha1.OutputFile{
		{Path: "tables/admissions.csv", Kind: fivesafesv1alpha1.OutputTable, Description: "Admissions by month and region, counts rounded to 5",
			ExceptionJustification: "The count of 8 in March is published by ONS."},
		{Path: "figures/trend.png", Kind: fivesafesv1alpha1.OutputFigure, Description: "Monthly admissions trend"},
	}
	if r.Spec.Purpose != "Figures 1 and 2 of the winter pressures paper" || r.Spec.Requester != nil || len(r.Spec.Files) != 2 ||
		r.Spec.Files[0] != want[0] || r.Spec.Files[1] != want[1] || r.Spec.State != fivesafesv1alpha1.RequestSubmitted {
		t.Fatalf("spec = %+v", r.Spec)
	}

	// Before the operator has checked it, status says so.
	text, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", ns, "output", "status", r.Name)
	for _, want := range []string{"Phase:           (not yet observed)", "tables/admissions.csv: not checked yet", "the operator has not checked the request yet"} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	released := metav1.NewTime(time.Date(2026, 11, 20, 10, 30, 0, 0, time.UTC))
	setRequestStatus(t, r, fivesafesv1alpha1.OutputRequestStatus{
		ObservedGeneration: r.Generation,
		Phase:              fivesafesv1alpha1.OutputReleased,
		ContentDigest:      testContentDigest,
		PolicyDigest:       testPolicyDigest,
		Outcome:            fivesafesv1alpha1.OutcomeReview,
		Approvals:          2,
		Files: []fivesafesv1alpha1.FileCheck{
			{Path: "tables/admissions.csv", SHA256: testFileDigest, Size: 2048, Type: "csv", Outcome: fivesafesv1alpha1.OutcomeReview,
				Findings: []fivesafesv1alpha1.Finding{{Rule: "sdc.threshold", Message: "A count is below the threshold of 10.", Location: "row 4, column count"}}},
			{Path: "figures/trend.png", SHA256: testFileDigest, Size: 4096, Type: "png", Outcome: fivesafesv1alpha1.OutcomeReview,
				Findings: []fivesafesv1alpha1.Finding{{Rule: "egress.figure", Message: "Figures always need review by a person."}}},
		},
		Reviews: []fivesafesv1alpha1.ReviewRecord{
			{Review: "winter-2026-aaaaa", Reviewer: "checker-one", Decision: fivesafesv1alpha1.ReviewApprove, Counted: "counted"},
			{Review: "winter-2026-bbbbb", Reviewer: "checker-two", Decision: fivesafesv1alpha1.ReviewApprove, Counted: "counted"},
			{Review: "winter-2026-ccccc", Reviewer: "researcher", Decision: fivesafesv1alpha1.ReviewApprove, Counted: "not counted: the requester cannot review their own request"},
		},
		Release: &fivesafesv1alpha1.Release{
			Bucket: "egress", Prefix: "releases/nic-38002/winter-2026/", ManifestSHA256: testFileDigest, AuditSequence: 42, ReleasedAt: released,
		},
	})

	text, _ = mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", ns, "output", "status", r.Name)
	for _, want := range []string{
		"Phase:           Released",
		"Outcome:         review",
		"Content digest:  " + string(testContentDigest),
		"Approvals:       2",
		"Released to:     s3://egress/releases/nic-38002/winter-2026/",
		"(audit entry 42)",
		"tables/admissions.csv: review (Table, detected csv, " + string(testFileDigest) + ")",
		"[sdc.threshold] A count is below the threshold of 10. At row 4, column count.",
		"[egress.figure] Figures always need review by a person.",
		"checker-one ",
		"no: the requester cannot review their own request",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("status lacks %q:\n%s", want, text)
		}
	}

	js, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", ns, "output", "status", r.Name, "--format", "json")
	var v outputStatusView
	if err := json.Unmarshal([]byte(js), &v); err != nil {
		t.Fatal(err)
	}
	if v.Phase != "Released" || v.Outcome != "review" || v.ContentDigest != testContentDigest || v.Approvals != 2 || len(v.Files) != 2 ||
		v.Files[0].Outcome != "review" || len(v.Files[0].Findings) != 1 || v.Files[0].Findings[0].Rule != "sdc.threshold" ||
		len(v.Reviews) != 3 || !v.Reviews[0].Counted || v.Reviews[2].Counted || v.Reviews[2].Why != "the requester cannot review their own request" ||
		v.Release == nil || v.Release.Location != "s3://egress/releases/nic-38002/winter-2026/" || !v.Release.ReleasedAt.Equal(released.Time) ||
		len(v.Notes) != 0 {
		t.Fatalf("status = %s", js)
	}

	stdout, _ = mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", ns, "output", "withdraw", r.Name)
	if !strings.Contains(stdout, "outputrequest.fivesafes.io/winter-2026 withdrawn") {
		t.Fatalf("output = %q", stdout)
	}
	after := getRequest(t, ns, r.Name)
	if after.Spec.State != fivesafesv1alpha1.RequestWithdrawn || len(after.Spec.Files) != 2 || after.Spec.Purpose != r.Spec.Purpose {
		t.Fatalf("spec after withdrawal = %+v", after.Spec)
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"request exists", []string{"request", r.Name, "--file", "a.csv=table:x", "--purpose", "p"}, "already exists"},
		{"request bad file", []string{"request", "bad", "--file", "../a.csv=table:x", "--purpose", "p"}, "--file"},
		{"request no purpose", []string{"request", "bad", "--file", "a.csv=table:x", "--purpose", " "}, "--purpose must say"},
		{"request no file", []string{"request", "bad", "--purpose", "p"}, `"file" not set`},
		{"status unknown", []string{"status", "no-such-request"}, "not found"},
		{"status bad format", []string{"status", r.Name, "--format", "yaml"}, "unknown --format"},
		{"withdraw unknown", []string{"withdraw", "no-such-request"}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr := mustExec(t, ExitUsage, append([]string{"--kubeconfig", kubeconfig, "-n", ns, "output"}, tc.args...)...)
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}

// TestOutputRequestDefaultNamespace uses the kubeconfig context's namespace when -n is not given.
func TestOutputRequestDefaultNamespace(t *testing.T) {
	name := testname.Fresh(t, "default-ns-request")
	mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "output", "request", name, "--file", "a.csv=table:x", "--purpose", "p")
	r := getRequest(t, "default", name)
	if len(r.Spec.Files) != 1 || r.Spec.Files[0].Path != "a.csv" {
		t.Fatalf("spec = %+v", r.Spec)
	}
}

// reviewsOf lists the OutputReviews of request name in namespace ns.
func reviewsOf(t *testing.T, ns, name string) []fivesafesv1alpha1.OutputReview {
	t.Helper()
	var list fivesafesv1alpha1.OutputReviewList
	if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []fivesafesv1alpha1.OutputReview
	for _, rv := range list.Items {
		if rv.Spec.OutputRequest == name {
			out = append(out, rv)
		}
	}
	return out
}

func TestOutputReview(t *testing.T) {
	ns := outputNamespace(t, "ws-output-review")
	mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", ns, "output", "request", "trend", "--file", "figures/trend.png=figure:Trend", "--purpose", "A report")

	// Not checked yet: there is no digest to review.
	_, stderr := mustExec(t, ExitUsage, "--kubeconfig", kubeconfig, "-n", ns, "output", "review", "trend", "--approve", "--comment", "Fine.")
	if !strings.Contains(stderr, "not checked yet") {
		t.Fatalf("stderr = %q", stderr)
	}
	if n := len(reviewsOf(t, ns, "trend")); n != 0 {
		t.Fatalf("%d reviews of an unchecked request", n)
	}

	r := getRequest(t, ns, "trend")
	setRequestStatus(t, r, fivesafesv1alpha1.OutputRequestStatus{Phase: fivesafesv1alpha1.OutputAwaitingReview, ContentDigest: testContentDigest, Outcome: fivesafesv1alpha1.OutcomeReview})

	for _, tc := range []struct {
		flag string
		want fivesafesv1alpha1.ReviewDecision
	}{
		{"--approve", fivesafesv1alpha1.ReviewApprove},
		{"--request-changes", fivesafesv1alpha1.ReviewRequestChanges},
		{"--reject", fivesafesv1alpha1.ReviewReject},
	} {
		t.Run(tc.flag, func(t *testing.T) {
			before := len(reviewsOf(t, ns, "trend"))
			stdout, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", ns, "output", "review", "trend", tc.flag, "--comment", "  Decision "+tc.flag+".  ")
			m := regexp.MustCompile(`outputreview\.fivesafes\.io/(trend-[a-z0-9]{5}) created in namespace ` + ns).FindStringSubmatch(stdout)
			if m == nil || !strings.Contains(stdout, "content digest: "+string(testContentDigest)) || !strings.Contains(stdout, "recorded by the cluster") {
				t.Fatalf("output = %q", stdout)
			}
			got := reviewsOf(t, ns, "trend")
			if len(got) != before+1 {
				t.Fatalf("%d reviews, want %d", len(got), before+1)
			}
			var rv *fivesafesv1alpha1.OutputReview
			for i := range got {
				if got[i].Name == m[1] {
					rv = &got[i]
				}
			}
			if rv == nil || rv.Spec.ContentDigest != testContentDigest || rv.Spec.Decision != tc.want ||
				rv.Spec.Comment != "Decision "+tc.flag+"." || rv.Spec.Reviewer != nil {
				t.Fatalf("review = %+v", rv)
			}
		})
	}

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no decision", []string{"trend", "--comment", "x"}, "exactly one of"},
		{"two decisions", []string{"trend", "--approve", "--reject", "--comment", "x"}, "exactly one of"},
		{"blank comment", []string{"trend", "--approve", "--comment", " "}, "--comment must explain"},
		{"no comment", []string{"trend", "--approve"}, `"comment" not set`},
		{"unknown request", []string{"no-such-request", "--approve", "--comment", "x"}, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr := mustExec(t, ExitUsage, append([]string{"--kubeconfig", kubeconfig, "-n", ns, "output", "review"}, tc.args...)...)
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
	if n := len(reviewsOf(t, ns, "trend")); n != 3 {
		t.Fatalf("%d reviews after refused ones, want 3", n)
	}
}

func TestOutputQueue(t *testing.T) {
	nsA := outputNamespace(t, "ws-output-queue-a")
	nsB := outputNamespace(t, "ws-output-queue-b")
	mk := func(ns, name string, files int, phase fivesafesv1alpha1.OutputPhase, approvals int32) {
		args := []string{"--kubeconfig", kubeconfig, "-n", ns, "output", "request", name, "--purpose", "p"}
		for i := range files {
			args = append(args, "--file", "file"+strings.Repeat("x", i)+".csv=table:t")
		}
		mustExec(t, ExitOK, args...)
		if phase != "" {
			setRequestStatus(t, getRequest(t, ns, name), fivesafesv1alpha1.OutputRequestStatus{Phase: phase, ContentDigest: testContentDigest, Approvals: approvals})
		}
	}
	mk(nsA, "queue-waiting-a", 3, fivesafesv1alpha1.OutputAwaitingReview, 1)
	mk(nsA, "queue-checking", 1, fivesafesv1alpha1.OutputChecking, 0)
	mk(nsA, "queue-unjudged", 1, "", 0)
	mk(nsA, "queue-released", 1, fivesafesv1alpha1.OutputReleased, 2)
	mk(nsB, "queue-waiting-b", 2, fivesafesv1alpha1.OutputAwaitingReview, 0)
	mk(nsB, "queue-changes", 1, fivesafesv1alpha1.OutputChangesRequested, 0)

	rowRE := func(name, ns string, files, approvals int) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^` + name + `\s+` + ns + `\s+\S+\s+` + string(rune('0'+files)) + `\s+` + string(rune('0'+approvals)) + `\s*$`)
	}
	stdout, _ := mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", nsA, "output", "queue")
	if !strings.HasPrefix(stdout, "NAME ") || !rowRE("queue-waiting-a", nsA, 3, 1).MatchString(stdout) || strings.Count(stdout, "\n") != 2 {
		t.Fatalf("queue of %s:\n%s", nsA, stdout)
	}

	stdout, _ = mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "output", "queue", "--all-namespaces")
	if !rowRE("queue-waiting-a", nsA, 3, 1).MatchString(stdout) || !rowRE("queue-waiting-b", nsB, 2, 0).MatchString(stdout) {
		t.Fatalf("queue of all namespaces:\n%s", stdout)
	}
	for _, not := range []string{"queue-checking", "queue-unjudged", "queue-released", "queue-changes"} {
		if strings.Contains(stdout, not) {
			t.Errorf("queue lists %s:\n%s", not, stdout)
		}
	}
	if strings.Index(stdout, "queue-waiting-a") > strings.Index(stdout, "queue-waiting-b") {
		t.Errorf("queue is not oldest first:\n%s", stdout)
	}

	empty := outputNamespace(t, "ws-output-queue-empty")
	stdout, _ = mustExec(t, ExitOK, "--kubeconfig", kubeconfig, "-n", empty, "output", "queue")
	if stdout != "No output requests await review.\n" {
		t.Fatalf("empty queue = %q", stdout)
	}
}

func TestOutputQueueOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	req := func(ns, name string, created time.Time, phase fivesafesv1alpha1.OutputPhase) fivesafesv1alpha1.OutputRequest {
		return fivesafesv1alpha1.OutputRequest{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(created)},
			Status:     fivesafesv1alpha1.OutputRequestStatus{Phase: phase},
		}
	}
	got := awaitingReview([]fivesafesv1alpha1.OutputRequest{
		req("b", "late", t0.Add(time.Hour), fivesafesv1alpha1.OutputAwaitingReview),
		req("b", "same-time", t0, fivesafesv1alpha1.OutputAwaitingReview),
		req("a", "same-time", t0, fivesafesv1alpha1.OutputAwaitingReview),
		req("a", "approved", t0.Add(-time.Hour), fivesafesv1alpha1.OutputApproved),
		req("a", "unjudged", t0.Add(-time.Hour), ""),
	})
	var names []string
	for _, r := range got {
		names = append(names, r.Namespace+"/"+r.Name)
	}
	if strings.Join(names, " ") != "a/same-time b/same-time b/late" {
		t.Fatalf("queue = %v", names)
	}
	var b strings.Builder
	if err := writeOutputQueue(&b, got, t0.Add(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^late\s+b\s+120m\s+0\s+0\s*$`).MatchString(b.String()) {
		t.Fatalf("queue table:\n%s", b.String())
	}
}
