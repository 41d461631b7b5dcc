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
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/duration"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/egress"
)

func init() {
	outputSubcommands = append(outputSubcommands,
		newOutputRequestCmd, newOutputStatusCmd, newOutputWithdrawCmd, newOutputReviewCmd, newOutputQueueCmd)
}

// maxOutputFiles is the most files one OutputRequest may name, as the API allows.
const maxOutputFiles = 100

// namespaceOf returns the namespace chosen with -n, or else the kubeconfig context's.
func namespaceOf(kube *kubeFlags) (string, error) {
	if kube.namespace != "" {
		return kube.namespace, nil
	}
	ns, _, err := kube.loader().Namespace()
	if err != nil {
		return "", fmt.Errorf("reading the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

// clusterAndNamespace returns a client of the chosen cluster and the namespace to work in.
func clusterAndNamespace(kube *kubeFlags) (client.Client, string, error) {
	ns, err := namespaceOf(kube)
	if err != nil {
		return nil, "", err
	}
	c, err := kube.client()
	if err != nil {
		return nil, "", err
	}
	return c, ns, nil
}

// parseOutputFiles turns --file PATH=KIND:DESCRIPTION and --exception PATH=TEXT values into the
// files of a request, in the order given. Paths must be valid output paths, distinct (also
// ignoring case), and every exception must name one of the files.
func parseOutputFiles(files, exceptions []string) ([]fivesafesv1alpha1.OutputFile, error) {
	if len(files) == 0 {
		return nil, errors.New("name at least one file with --file PATH=KIND:DESCRIPTION")
	}
	if len(files) > maxOutputFiles {
		return nil, fmt.Errorf("a request may name at most %d files, not %d", maxOutputFiles, len(files))
	}
	out := make([]fivesafesv1alpha1.OutputFile, 0, len(files))
	paths := make([]string, 0, len(files))
	for i, v := range files {
		p, rest, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("--file %d: want PATH=KIND:DESCRIPTION", i+1)
		}
		kindName, desc, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, fmt.Errorf("--file %d: want PATH=KIND:DESCRIPTION", i+1)
		}
		kind, known := outputKinds[strings.ToLower(strings.TrimSpace(kindName))]
		if !known {
			return nil, fmt.Errorf("--file %d: unknown kind %q: use table, figure, code or text", i+1, kindName)
		}
		desc = strings.TrimSpace(desc)
		if desc == "" {
			return nil, fmt.Errorf("--file %d: the description must say what the file shows", i+1)
		}
		p = strings.TrimPrefix(strings.TrimSpace(p), "outputs/")
		paths = append(paths, p)
		out = append(out, fivesafesv1alpha1.OutputFile{Path: p, Kind: kind, Description: desc})
	}
	if err := egress.ValidPaths(paths); err != nil {
		return nil, fmt.Errorf("--file: %w", err)
	}
	for i, v := range exceptions {
		p, text, ok := strings.Cut(v, "=")
		if !ok {
			return nil, fmt.Errorf("--exception %d: want PATH=TEXT", i+1)
		}
		p = strings.TrimPrefix(strings.TrimSpace(p), "outputs/")
		text = strings.TrimSpace(text)
		if text == "" {
			return nil, fmt.Errorf("--exception %d: the justification is empty", i+1)
		}
		j := slices.Index(paths, p)
		if j < 0 {
			return nil, fmt.Errorf("--exception %d: names no file given with --file", i+1)
		}
		if out[j].ExceptionJustification != "" {
			return nil, fmt.Errorf("--exception %d: the file already has an exception", i+1)
		}
		out[j].ExceptionJustification = text
	}
	return out, nil
}

func newOutputRequestCmd(s streams, kube *kubeFlags) *cobra.Command {
	var (
		files, exceptions []string
		purpose           string
	)
	cmd := &cobra.Command{
		Use:   "request NAME --file PATH=KIND:DESCRIPTION... --purpose TEXT",
		Short: "Ask to release files from the workspace",
		Long: `Create the OutputRequest NAME in the workspace namespace, asking to release files under
outputs/ in the workspace bucket. Each --file names one file: its path under outputs/, its kind
(table, figure, code or text) and what it shows, for the output checkers. An --exception asks the
checkers to release a file that breaks a threshold rule; it can turn a threshold failure into a
review, never into a pass.

The cluster snapshots and checks the files, then waits for independent reviews. Your identity is
recorded by the cluster from the credentials you connect with. Run "fivesafes output check" on the
files first to see what the checks will say.

Example:
  fivesafes output request admissions-2026 -n ws-nic-38002 \
    --file tables/admissions.csv=table:"Admissions by month and region, counts rounded to 5" \
    --file figures/trend.png=figure:"Monthly admissions trend" \
    --purpose "Figures 1 and 2 of the paper on winter pressures"`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(purpose) == "" {
				return usageError("--purpose must say what the outputs are for")
			}
			fs, err := parseOutputFiles(files, exceptions)
			if err != nil {
				return usageError("%w", err)
			}
			c, ns, err := clusterAndNamespace(kube)
			if err != nil {
				return usageError("%w", err)
			}
			r := &fivesafesv1alpha1.OutputRequest{
				ObjectMeta: metav1.ObjectMeta{Name: args[0], Namespace: ns},
				Spec:       fivesafesv1alpha1.OutputRequestSpec{Purpose: strings.TrimSpace(purpose), Files: fs},
			}
			if err := c.Create(cmd.Context(), r); err != nil {
				return usageError("creating output request %s: %w", args[0], err)
			}
			return printOutputRequest(s.out, r)
		},
	}
	cmd.Flags().StringArrayVar(&files, "file", nil, "A file to release, as PATH=KIND:DESCRIPTION (repeatable).")
	cmd.Flags().StringArrayVar(&exceptions, "exception", nil, "An exception justification for a file, as PATH=TEXT (repeatable).")
	cmd.Flags().StringVar(&purpose, "purpose", "", "What the outputs are for, e.g. a paper or a report (required).")
	_ = cmd.MarkFlagRequired("file")
	_ = cmd.MarkFlagRequired("purpose")
	return cmd
}

func printOutputRequest(w io.Writer, r *fivesafesv1alpha1.OutputRequest) error {
	var b strings.Builder
	fmt.Fprintf(&b, "outputrequest.fivesafes.io/%s created in namespace %s\n", r.Name, r.Namespace)
	fmt.Fprintf(&b, "  purpose: %s\n", r.Spec.Purpose)
	for _, f := range r.Spec.Files {
		fmt.Fprintf(&b, "  file:    %s (%s): %s\n", f.Path, f.Kind, f.Description)
		if f.ExceptionJustification != "" {
			fmt.Fprintf(&b, "           exception asked: %s\n", f.ExceptionJustification)
		}
	}
	fmt.Fprintf(&b, "Follow it with: fivesafes output status %s -n %s\n", r.Name, r.Namespace)
	_, err := io.WriteString(w, b.String())
	return err
}

// getOutputRequest reads the request name in namespace ns.
func getOutputRequest(ctx context.Context, c client.Client, ns, name string) (*fivesafesv1alpha1.OutputRequest, error) {
	r := &fivesafesv1alpha1.OutputRequest{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, r); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("output request %s not found in namespace %s", name, ns)
		}
		return nil, fmt.Errorf("reading output request %s: %w", name, err)
	}
	return r, nil
}

func newOutputStatusCmd(s streams, kube *kubeFlags) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show an output request's phase, checks, reviews and release",
		Long: `Show where the OutputRequest NAME stands: its phase and overall check outcome, the content
digest reviews must name, each file's outcome and findings, each review of the current digest and
whether it counted, and where released files went.

Example:
  fivesafes output status admissions-2026 -n ws-nic-38002
  fivesafes output status admissions-2026 --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != outputFormatText && format != outputFormatJSON {
				return usageError("unknown --format %q: use %s or %s", format, outputFormatText, outputFormatJSON)
			}
			c, ns, err := clusterAndNamespace(kube)
			if err != nil {
				return usageError("%w", err)
			}
			r, err := getOutputRequest(cmd.Context(), c, ns, args[0])
			if err != nil {
				return usageError("%w", err)
			}
			v := newOutputStatusView(r)
			if format == outputFormatJSON {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return v.writeText(s.out)
		},
	}
	cmd.Flags().StringVar(&format, "format", outputFormatText, "Output format: text or json.")
	return cmd
}

// outputStatusView is what `fivesafes output status` shows, in the shape of its JSON form.
type outputStatusView struct {
	Name          string                   `json:"name"`
	Namespace     string                   `json:"namespace"`
	Purpose       string                   `json:"purpose"`
	Requester     string                   `json:"requester,omitempty"`
	State         string                   `json:"state"`
	Revision      int32                    `json:"revision"`
	Phase         string                   `json:"phase"`
	Outcome       string                   `json:"outcome,omitempty"`
	ContentDigest fivesafesv1alpha1.Digest `json:"contentDigest,omitempty"`
	PolicyDigest  fivesafesv1alpha1.Digest `json:"policyDigest,omitempty"`
	Approvals     int32                    `json:"approvals"`
	Files         []outputFileStatus       `json:"files"`
	Reviews       []outputReviewView       `json:"reviews"`
	Release       *outputReleaseView       `json:"release,omitempty"`
	Conditions    []metav1.Condition       `json:"conditions"`
	// Notes say when the status may be out of date.
	Notes []string `json:"notes,omitempty"`
}

// outputFileStatus is one requested file and its check.
type outputFileStatus struct {
	Path        string                      `json:"path"`
	Kind        string                      `json:"kind,omitempty"`
	Description string                      `json:"description,omitempty"`
	Exception   string                      `json:"exceptionJustification,omitempty"`
	Outcome     string                      `json:"outcome,omitempty"`
	Type        string                      `json:"type,omitempty"`
	SHA256      fivesafesv1alpha1.Digest    `json:"sha256,omitempty"`
	Size        int64                       `json:"size,omitempty"`
	Findings    []fivesafesv1alpha1.Finding `json:"findings"`
}

// outputReviewView is one review of the current content digest.
type outputReviewView struct {
	Review   string `json:"review"`
	Reviewer string `json:"reviewer"`
	Decision string `json:"decision"`
	Counted  bool   `json:"counted"`
	// Why says why a review does not count.
	Why string `json:"why,omitempty"`
}

// outputReleaseView says where the released files went.
type outputReleaseView struct {
	Location       string                   `json:"location"`
	ManifestSHA256 fivesafesv1alpha1.Digest `json:"manifestSHA256"`
	AuditSequence  int64                    `json:"auditSequence"`
	ReleasedAt     time.Time                `json:"releasedAt"`
}

func newOutputStatusView(r *fivesafesv1alpha1.OutputRequest) *outputStatusView {
	st := r.Status
	v := &outputStatusView{
		Name:          r.Name,
		Namespace:     r.Namespace,
		Purpose:       r.Spec.Purpose,
		State:         string(r.Spec.State),
		Revision:      r.Spec.Revision,
		Phase:         string(st.Phase),
		Outcome:       string(st.Outcome),
		ContentDigest: st.ContentDigest,
		PolicyDigest:  st.PolicyDigest,
		Approvals:     st.Approvals,
		Files:         []outputFileStatus{},
		Reviews:       []outputReviewView{},
		Conditions:    st.Conditions,
	}
	if r.Spec.Requester != nil {
		v.Requester = r.Spec.Requester.Username
	}
	if v.State == "" {
		v.State = string(fivesafesv1alpha1.RequestSubmitted)
	}
	if v.Phase == "" {
		v.Phase = "(not yet observed)"
		v.Notes = append(v.Notes, "the operator has not checked the request yet")
	} else if st.ObservedGeneration != 0 && st.ObservedGeneration < r.Generation {
		v.Notes = append(v.Notes, fmt.Sprintf("the status describes generation %d; the request is at generation %d", st.ObservedGeneration, r.Generation))
	}
	if v.Conditions == nil {
		v.Conditions = []metav1.Condition{}
	}
	checks := make(map[string]fivesafesv1alpha1.FileCheck, len(st.Files))
	for _, fc := range st.Files {
		checks[fc.Path] = fc
	}
	seen := make(map[string]bool, len(r.Spec.Files))
	add := func(f fivesafesv1alpha1.OutputFile, fc fivesafesv1alpha1.FileCheck) {
		fs := outputFileStatus{
			Path: f.Path, Kind: string(f.Kind), Description: f.Description, Exception: f.ExceptionJustification,
			Outcome: string(fc.Outcome), Type: fc.Type, SHA256: fc.SHA256, Size: fc.Size, Findings: fc.Findings,
		}
		if fs.Path == "" {
			fs.Path = fc.Path
		}
		if fs.Findings == nil {
			fs.Findings = []fivesafesv1alpha1.Finding{}
		}
		v.Files = append(v.Files, fs)
	}
	for _, f := range r.Spec.Files {
		seen[f.Path] = true
		add(f, checks[f.Path])
	}
	for _, fc := range st.Files {
		if !seen[fc.Path] {
			add(fivesafesv1alpha1.OutputFile{}, fc)
		}
	}
	for _, rr := range st.Reviews {
		// The controller writes "counted" or "not counted: <why>".
		rv := outputReviewView{Review: rr.Review, Reviewer: rr.Reviewer, Decision: string(rr.Decision), Counted: rr.Counted == reviewCounted}
		if !rv.Counted {
			rv.Why = strings.TrimSpace(strings.TrimPrefix(rr.Counted, "not counted:"))
		}
		v.Reviews = append(v.Reviews, rv)
	}
	if rel := st.Release; rel != nil {
		v.Release = &outputReleaseView{
			Location:       "s3://" + rel.Bucket + "/" + rel.Prefix,
			ManifestSHA256: rel.ManifestSHA256,
			AuditSequence:  rel.AuditSequence,
			ReleasedAt:     rel.ReleasedAt.UTC(),
		}
	}
	return v
}

func (v *outputStatusView) writeText(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	row := func(k, val string) { fmt.Fprintf(tw, "%s:\t%s\n", k, val) }
	row("Output request", v.Name)
	row("Namespace", v.Namespace)
	row("Purpose", v.Purpose)
	if v.Requester != "" {
		row("Requester", v.Requester)
	}
	row("State", fmt.Sprintf("%s (revision %d)", v.State, v.Revision))
	row("Phase", v.Phase)
	if v.Outcome != "" {
		row("Outcome", v.Outcome)
	}
	if v.ContentDigest != "" {
		row("Content digest", string(v.ContentDigest))
	}
	if v.PolicyDigest != "" {
		row("Policy digest", string(v.PolicyDigest))
	}
	row("Approvals", fmt.Sprintf("%d", v.Approvals))
	if v.Release != nil {
		row("Released to", v.Release.Location)
		row("Manifest", string(v.Release.ManifestSHA256))
		row("Released at", fmt.Sprintf("%s (audit entry %d)", v.Release.ReleasedAt.Format(time.RFC3339), v.Release.AuditSequence))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	b.WriteString("\nFiles:\n")
	for _, f := range v.Files {
		outcome := f.Outcome
		if outcome == "" {
			outcome = "not checked yet"
		}
		fmt.Fprintf(&b, "  %s: %s", printablePath(f.Path), outcome)
		if f.Kind != "" || f.Type != "" {
			fmt.Fprintf(&b, " (%s", f.Kind)
			if f.Type != "" {
				fmt.Fprintf(&b, ", detected %s", f.Type)
			}
			if f.SHA256 != "" {
				fmt.Fprintf(&b, ", %s", f.SHA256)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
		if f.Exception != "" {
			fmt.Fprintf(&b, "    exception asked: %s\n", f.Exception)
		}
		for _, x := range f.Findings {
			fmt.Fprintf(&b, "    [%s] %s", x.Rule, x.Message)
			if x.Location != "" {
				fmt.Fprintf(&b, " At %s.", x.Location)
			}
			b.WriteString("\n")
		}
	}

	rows := make([]decisionRow, 0, len(v.Reviews))
	for _, r := range v.Reviews {
		rows = append(rows, decisionRow{who: r.Reviewer, decision: r.Decision, counted: r.Counted, why: r.Why, object: r.Review})
	}
	if err := writeDecisions(&b, "Reviews of this digest", "REVIEW", rows); err != nil {
		return err
	}

	if len(v.Conditions) > 0 {
		b.WriteString("\nConditions:\n")
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tMESSAGE")
		for _, c := range v.Conditions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "\nNote: %s.\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func newOutputWithdrawCmd(s streams, kube *kubeFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "withdraw NAME",
		Short: "Withdraw an output request",
		Long: `Withdraw the OutputRequest NAME: its spec.state becomes Withdrawn, and nothing more is checked,
reviewed or released for it. The request and its history stay for the audit.

Example:
  fivesafes output withdraw admissions-2026 -n ws-nic-38002`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, ns, err := clusterAndNamespace(kube)
			if err != nil {
				return usageError("%w", err)
			}
			r, err := getOutputRequest(cmd.Context(), c, ns, args[0])
			if err != nil {
				return usageError("%w", err)
			}
			patch := []byte(`{"spec":{"state":"` + string(fivesafesv1alpha1.RequestWithdrawn) + `"}}`)
			if err := c.Patch(cmd.Context(), r, client.RawPatch(types.MergePatchType, patch)); err != nil {
				return usageError("withdrawing output request %s: %w", args[0], err)
			}
			_, err = fmt.Fprintf(s.out, "outputrequest.fivesafes.io/%s withdrawn in namespace %s\n", r.Name, r.Namespace)
			return err
		},
	}
}

func newOutputReviewCmd(s streams, kube *kubeFlags) *cobra.Command {
	var (
		approve, requestChanges, reject bool
		comment                         string
	)
	cmd := &cobra.Command{
		Use:   "review NAME --approve|--request-changes|--reject --comment TEXT",
		Short: "Review an output request at its current content digest",
		Long: `Record your decision as an output checker on the OutputRequest NAME as it stands now: this reads
the request's current content digest and creates an OutputReview for that digest. The review
counts only while the request keeps that digest; changed files need new reviews. Any rejection
rejects the request; a request for changes returns it to the researcher.

Your identity is recorded by the cluster from the credentials you connect with. Reviews are
immutable; to change your mind, create a new one.

Example:
  fivesafes output review admissions-2026 -n ws-nic-38002 --approve --comment "Counts are all at least 10."
  fivesafes output review admissions-2026 --request-changes --comment "Round the counts in table 2 to 5."`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var decision fivesafesv1alpha1.ReviewDecision
			n := 0
			for _, d := range []struct {
				set bool
				d   fivesafesv1alpha1.ReviewDecision
			}{{approve, fivesafesv1alpha1.ReviewApprove}, {requestChanges, fivesafesv1alpha1.ReviewRequestChanges}, {reject, fivesafesv1alpha1.ReviewReject}} {
				if d.set {
					decision = d.d
					n++
				}
			}
			if n != 1 {
				return usageError("give exactly one of --approve, --request-changes and --reject")
			}
			if strings.TrimSpace(comment) == "" {
				return usageError("--comment must explain the decision to the researcher and the auditors")
			}
			c, ns, err := clusterAndNamespace(kube)
			if err != nil {
				return usageError("%w", err)
			}
			rv, err := reviewOutput(cmd.Context(), c, ns, args[0], decision, strings.TrimSpace(comment))
			if err != nil {
				return usageError("%w", err)
			}
			return printOutputReview(s.out, rv)
		},
	}
	cmd.Flags().BoolVar(&approve, "approve", false, "Approve the release of the files.")
	cmd.Flags().BoolVar(&requestChanges, "request-changes", false, "Return the request to the researcher for changes.")
	cmd.Flags().BoolVar(&reject, "reject", false, "Reject the request.")
	cmd.Flags().StringVar(&comment, "comment", "", "Your reasoning, for the researcher and the auditors (required).")
	_ = cmd.MarkFlagRequired("comment")
	return cmd
}

// reviewOutput creates an OutputReview of the request name at its current content digest,
// refusing a request the operator has not checked yet.
func reviewOutput(ctx context.Context, c client.Client, ns, name string, decision fivesafesv1alpha1.ReviewDecision, comment string) (*fivesafesv1alpha1.OutputReview, error) {
	r, err := getOutputRequest(ctx, c, ns, name)
	if err != nil {
		return nil, err
	}
	if r.Status.ContentDigest == "" {
		return nil, fmt.Errorf("output request %s is not checked yet: it has no content digest to review", name)
	}
	rv := &fivesafesv1alpha1.OutputReview{
		ObjectMeta: metav1.ObjectMeta{GenerateName: name + "-", Namespace: ns},
		Spec: fivesafesv1alpha1.OutputReviewSpec{
			OutputRequest: name,
			ContentDigest: r.Status.ContentDigest,
			Decision:      decision,
			Comment:       comment,
		},
	}
	if err := c.Create(ctx, rv); err != nil {
		return nil, fmt.Errorf("creating the review of output request %s: %w", name, err)
	}
	return rv, nil
}

func printOutputReview(w io.Writer, rv *fivesafesv1alpha1.OutputReview) error {
	var b strings.Builder
	fmt.Fprintf(&b, "outputreview.fivesafes.io/%s created in namespace %s\n", rv.Name, rv.Namespace)
	fmt.Fprintf(&b, "  decision:       %s\n", rv.Spec.Decision)
	fmt.Fprintf(&b, "  output request: %s\n", rv.Spec.OutputRequest)
	fmt.Fprintf(&b, "  content digest: %s\n", rv.Spec.ContentDigest)
	if rv.Spec.Reviewer != nil && rv.Spec.Reviewer.Username != "" {
		fmt.Fprintf(&b, "  reviewer:       %s\n", rv.Spec.Reviewer.Username)
	} else {
		b.WriteString("  reviewer:       recorded by the cluster from your credentials\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func newOutputQueueCmd(s streams, kube *kubeFlags) *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "List output requests awaiting review, for output checkers",
		Long: `List the OutputRequests whose checks are done and that await review, oldest first: name,
namespace, age, number of files and counted approvals of the current digest so far.

Example:
  fivesafes output queue -n ws-nic-38002
  fivesafes output queue --all-namespaces`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ns := ""
			if !all {
				var err error
				if ns, err = namespaceOf(kube); err != nil {
					return usageError("%w", err)
				}
			}
			c, err := kube.client()
			if err != nil {
				return usageError("%w", err)
			}
			var list fivesafesv1alpha1.OutputRequestList
			if err := c.List(cmd.Context(), &list, client.InNamespace(ns)); err != nil {
				return usageError("listing output requests: %w", err)
			}
			return writeOutputQueue(s.out, awaitingReview(list.Items), time.Now())
		},
	}
	cmd.Flags().BoolVarP(&all, "all-namespaces", "A", false, "List requests in every namespace.")
	return cmd
}

// awaitingReview returns the requests in phase AwaitingReview, oldest first.
func awaitingReview(items []fivesafesv1alpha1.OutputRequest) []fivesafesv1alpha1.OutputRequest {
	var out []fivesafesv1alpha1.OutputRequest
	for _, r := range items {
		if r.Status.Phase == fivesafesv1alpha1.OutputAwaitingReview {
			out = append(out, r)
		}
	}
	slices.SortStableFunc(out, func(a, b fivesafesv1alpha1.OutputRequest) int {
		if c := a.CreationTimestamp.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

func writeOutputQueue(w io.Writer, items []fivesafesv1alpha1.OutputRequest, now time.Time) error {
	if len(items) == 0 {
		_, err := io.WriteString(w, "No output requests await review.\n")
		return err
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tNAMESPACE\tAGE\tFILES\tAPPROVALS")
	for _, r := range items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", r.Name, r.Namespace, duration.HumanDuration(now.Sub(r.CreationTimestamp.Time)), len(r.Spec.Files), r.Status.Approvals)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}
