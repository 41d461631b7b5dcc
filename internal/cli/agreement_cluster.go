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
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
)

// agreementNow is the clock `agreement status` counts days left with.
var agreementNow = time.Now

// defaultQuorum is the manager's default quorum, shown when an agreement's status does not say.
const defaultQuorum = 2

func newAgreementApproveCmd(s streams, kube *kubeFlags) *cobra.Command {
	var (
		reject  bool
		comment string
	)
	cmd := &cobra.Command{
		Use:   "approve NAME --comment TEXT",
		Short: "Approve (or reject) an agreement at its current spec digest",
		Long: `Record your decision on the DataAccessAgreement NAME as it stands now: this reads the agreement's
current spec digest and creates an AgreementApproval for that digest. The decision counts only
while the agreement keeps that digest; an amendment needs a new decision.

Your identity is recorded by the cluster from the credentials you connect with: it is never
written by this command, and whatever a user writes in spec.approver is overwritten. Approvals are
immutable; to change your mind, create a new decision.

Example:
  fivesafes agreement approve nic-38002-s3k0v --comment "Approved at the November meeting."
  fivesafes agreement approve nic-38002-s3k0v --reject --comment "The opt-out justification cites no CAG approval."`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if strings.TrimSpace(comment) == "" {
				return usageError("--comment must say why: it is kept in the minutes and the audit log")
			}
			c, err := kube.client()
			if err != nil {
				return usageError("%w", err)
			}
			decision := fivesafesv1alpha1.DecisionApprove
			if reject {
				decision = fivesafesv1alpha1.DecisionReject
			}
			ap, a, err := approveAgreement(cmd.Context(), c, args[0], decision, comment)
			if err != nil {
				return usageError("%w", err)
			}
			return printApproval(s.out, ap, a)
		},
	}
	cmd.Flags().BoolVar(&reject, "reject", false, "Reject the agreement instead of approving it.")
	cmd.Flags().StringVar(&comment, "comment", "", "Your reasoning, for the minutes and the audit log (required).")
	_ = cmd.MarkFlagRequired("comment")
	return cmd
}

// approveAgreement creates an AgreementApproval of the agreement name at its current digest: the
// digest in its status, or, before the operator has written one, the digest of its spec.
func approveAgreement(ctx context.Context, c client.Client, name string, decision fivesafesv1alpha1.ApprovalDecision, comment string) (*fivesafesv1alpha1.AgreementApproval, *fivesafesv1alpha1.DataAccessAgreement, error) {
	a := &fivesafesv1alpha1.DataAccessAgreement{}
	if err := c.Get(ctx, client.ObjectKey{Name: name}, a); err != nil {
		return nil, nil, fmt.Errorf("reading agreement %s: %w", name, err)
	}
	computed, err := agreement.SpecDigest(a.Spec)
	if err != nil {
		return nil, nil, fmt.Errorf("computing the spec digest of agreement %s: %w", name, err)
	}
	digest := a.Status.SpecDigest
	switch {
	case digest == "":
		digest = computed
	case digest != computed:
		return nil, nil, fmt.Errorf("agreement %s was changed after the operator computed its digest (%s; the spec now has %s): "+
			"read the amended agreement and decide again once `fivesafes agreement status %s` shows the new digest",
			name, digest, computed, name)
	}
	ap := &fivesafesv1alpha1.AgreementApproval{
		ObjectMeta: metav1.ObjectMeta{GenerateName: approvalNamePrefix(name, digest)},
		Spec: fivesafesv1alpha1.AgreementApprovalSpec{
			Agreement:  name,
			SpecDigest: digest,
			Decision:   decision,
			Comment:    comment,
		},
	}
	if err := c.Create(ctx, ap); err != nil {
		return nil, nil, fmt.Errorf("creating the approval of agreement %s: %w", name, err)
	}
	return ap, a, nil
}

// approvalNamePrefix is the generateName of a decision on agreement at digest: the agreement's
// name and the first 8 hex digits of the digest, so that decisions on one digest sort together;
// the API server appends 5 random characters.
func approvalNamePrefix(agreementName string, digest fivesafesv1alpha1.Digest) string {
	hex := strings.TrimPrefix(string(digest), "sha256:")
	if len(hex) > 8 {
		hex = hex[:8]
	}
	return agreementName + "-" + hex + "-"
}

func printApproval(w io.Writer, ap *fivesafesv1alpha1.AgreementApproval, a *fivesafesv1alpha1.DataAccessAgreement) error {
	var b strings.Builder
	fmt.Fprintf(&b, "agreementapproval.fivesafes.io/%s created\n", ap.Name)
	fmt.Fprintf(&b, "  decision:    %s\n", ap.Spec.Decision)
	fmt.Fprintf(&b, "  agreement:   %s (%s)\n", a.Name, a.Spec.Reference)
	fmt.Fprintf(&b, "  spec digest: %s\n", ap.Spec.SpecDigest)
	if ap.Spec.Approver != nil && ap.Spec.Approver.Username != "" {
		fmt.Fprintf(&b, "  approver:    %s\n", ap.Spec.Approver.Username)
	} else {
		b.WriteString("  approver:    recorded by the cluster from your credentials\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func newAgreementStatusCmd(s streams, kube *kubeFlags) *cobra.Command {
	var (
		format string
		quorum int
	)
	cmd := &cobra.Command{
		Use:   "status NAME",
		Short: "Show an agreement's phase, digest, decisions, conditions and days left",
		Long: `Show where the DataAccessAgreement NAME stands: its phase, the spec digest decisions must name,
how many counted approvals it has of the quorum, each committee member's decision and whether it
counted (and why not), its conditions, the governance rules it breaks, and the days left until
its validity ends (access ends at 24:00 UTC on validity.end).

Example:
  fivesafes agreement status nic-38002-s3k0v
  fivesafes agreement status nic-38002-s3k0v --format json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "json" {
				return usageError("unknown --format %q: use text or json", format)
			}
			if quorum < 1 {
				return usageError("--quorum must be at least 1")
			}
			c, err := kube.client()
			if err != nil {
				return usageError("%w", err)
			}
			a := &fivesafesv1alpha1.DataAccessAgreement{}
			if err := c.Get(cmd.Context(), client.ObjectKey{Name: args[0]}, a); err != nil {
				return usageError("reading agreement %s: %w", args[0], err)
			}
			v, err := newAgreementStatusView(a, quorum, agreementNow())
			if err != nil {
				return usageError("%w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			return v.writeText(s.out)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "Output format: text or json.")
	cmd.Flags().IntVar(&quorum, "quorum", defaultQuorum, "Quorum to show when the agreement's status does not state it (the manager's --quorum).")
	return cmd
}

// agreementStatusView is what `fivesafes agreement status` shows, in the shape of its JSON form.
type agreementStatusView struct {
	Name         string `json:"name"`
	Reference    string `json:"reference"`
	Title        string `json:"title"`
	Organisation string `json:"organisation"`
	Phase        string `json:"phase"`
	// SpecDigest is status.specDigest, or the spec's digest when the operator has not written one.
	SpecDigest fivesafesv1alpha1.Digest `json:"specDigest"`
	// DigestComputed says SpecDigest was computed here because the status holds none.
	DigestComputed bool                        `json:"digestComputed,omitempty"`
	Approvals      approvalCount               `json:"approvals"`
	Decisions      []decisionView              `json:"decisions"`
	Conditions     []metav1.Condition          `json:"conditions"`
	Violations     []fivesafesv1alpha1.Finding `json:"violations"`
	Validity       validityView                `json:"validity"`
	Workspace      string                      `json:"workspace,omitempty"`
	Revocation     string                      `json:"revocation,omitempty"`
	// Notes say when the status may be out of date.
	Notes []string `json:"notes,omitempty"`
}

// approvalCount is the counted approvals of the current digest against the quorum.
type approvalCount struct {
	Counted int `json:"counted"`
	Quorum  int `json:"quorum"`
}

// decisionView is one committee member's decision on the current digest.
type decisionView struct {
	Username string `json:"username"`
	Approval string `json:"approval"`
	Decision string `json:"decision"`
	Counted  bool   `json:"counted"`
	// Why says why a decision does not count.
	Why string `json:"why,omitempty"`
}

// validityView is the agreement's window and where now falls in it.
type validityView struct {
	Start string `json:"start"`
	End   string `json:"end"`
	// StartsAt is 00:00 UTC on Start; EndsAt is 24:00 UTC on End, when access ends.
	StartsAt time.Time `json:"startsAt"`
	EndsAt   time.Time `json:"endsAt"`
	// State is "not started", "in validity" or "ended".
	State string `json:"state"`
	// DaysLeft is how many days, counting a part day as one, remain until EndsAt; zero once ended.
	DaysLeft int `json:"daysLeft"`
	// DaysToStart is how many days remain until StartsAt, counting a part day as one.
	DaysToStart int `json:"daysToStart,omitempty"`
}

// Validity states.
const (
	validityNotStarted = "not started"
	validityIn         = "in validity"
	validityEnded      = "ended"
)

// daysUntil counts the days from now to t, a part day counting as one; zero when t is not after
// now.
func daysUntil(now, t time.Time) int {
	d := t.Sub(now)
	if d <= 0 {
		return 0
	}
	const day = 24 * time.Hour
	return int((d + day - 1) / day)
}

// newValidityView places now in the validity window v: both dates inclusive, in UTC, so access
// starts at 00:00 on start and ends at 24:00 on end.
func newValidityView(v fivesafesv1alpha1.Validity, now time.Time) (validityView, error) {
	start, err := time.Parse(time.DateOnly, v.Start)
	if err != nil {
		return validityView{}, fmt.Errorf("validity.start is not a YYYY-MM-DD date: %w", err)
	}
	last, err := time.Parse(time.DateOnly, v.End)
	if err != nil {
		return validityView{}, fmt.Errorf("validity.end is not a YYYY-MM-DD date: %w", err)
	}
	out := validityView{Start: v.Start, End: v.End, StartsAt: start, EndsAt: last.AddDate(0, 0, 1)}
	switch {
	case now.Before(out.StartsAt):
		out.State = validityNotStarted
		out.DaysToStart = daysUntil(now, out.StartsAt)
	case now.Before(out.EndsAt):
		out.State = validityIn
	default:
		out.State = validityEnded
	}
	out.DaysLeft = daysUntil(now, out.EndsAt)
	return out, nil
}

// quorumRE reads the quorum out of the Approved condition's message, which the operator writes as
// "N of Q required committee approvals of the current digest".
var quorumRE = regexp.MustCompile(`\b(\d+) of (\d+) required\b`)

// quorumOf returns the quorum the Approved condition states, or fallback when it states none.
func quorumOf(conds []metav1.Condition, fallback int) int {
	for _, c := range conds {
		if c.Type != fivesafesv1alpha1.AgreementApprovedCondition {
			continue
		}
		if m := quorumRE.FindStringSubmatch(c.Message); m != nil {
			if q, err := strconv.Atoi(m[2]); err == nil && q > 0 {
				return q
			}
		}
	}
	return fallback
}

// countedYes is how status.decisions[].counted says that a decision counts.
const countedYes = "Yes"

// reviewCounted is how status.reviews[].counted of an output request says that a review counts.
const reviewCounted = "counted"

func newAgreementStatusView(a *fivesafesv1alpha1.DataAccessAgreement, quorum int, now time.Time) (*agreementStatusView, error) {
	v := &agreementStatusView{
		Name:         a.Name,
		Reference:    a.Spec.Reference,
		Title:        a.Spec.Title,
		Organisation: a.Spec.Organisation.Name,
		Phase:        string(a.Status.Phase),
		SpecDigest:   a.Status.SpecDigest,
		Approvals:    approvalCount{Quorum: quorumOf(a.Status.Conditions, quorum)},
		Decisions:    []decisionView{},
		Conditions:   a.Status.Conditions,
		Violations:   a.Status.Violations,
		Workspace:    a.Status.Workspace,
	}
	if v.Phase == "" {
		v.Phase = "(not yet observed)"
	}
	if v.Conditions == nil {
		v.Conditions = []metav1.Condition{}
	}
	if v.Violations == nil {
		v.Violations = []fivesafesv1alpha1.Finding{}
	}
	if a.Spec.Revocation != nil {
		v.Revocation = a.Spec.Revocation.Reason
	}
	computed, err := agreement.SpecDigest(a.Spec)
	if err != nil {
		return nil, fmt.Errorf("computing the spec digest of agreement %s: %w", a.Name, err)
	}
	switch {
	case v.SpecDigest == "":
		v.SpecDigest, v.DigestComputed = computed, true
		v.Notes = append(v.Notes, "the operator has not written a status yet; the digest shown is computed from the spec")
	case v.SpecDigest != computed:
		v.Notes = append(v.Notes, fmt.Sprintf("the spec was changed after the operator computed its digest: the spec now has %s", computed))
	case a.Status.ObservedGeneration != 0 && a.Status.ObservedGeneration < a.Generation:
		v.Notes = append(v.Notes, fmt.Sprintf("the status describes generation %d; the agreement is at generation %d", a.Status.ObservedGeneration, a.Generation))
	}
	for _, d := range a.Status.Decisions {
		dv := decisionView{Username: d.Username, Approval: d.Approval, Decision: string(d.Decision), Counted: d.Counted == countedYes}
		if !dv.Counted {
			dv.Why = strings.TrimSpace(strings.TrimPrefix(d.Counted, "No:"))
		}
		if dv.Counted && d.Decision == fivesafesv1alpha1.DecisionApprove {
			v.Approvals.Counted++
		}
		v.Decisions = append(v.Decisions, dv)
	}
	if v.Validity, err = newValidityView(a.Spec.Validity, now); err != nil {
		return nil, fmt.Errorf("agreement %s: %w", a.Name, err)
	}
	return v, nil
}

func (v *agreementStatusView) writeText(w io.Writer) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	row := func(k, val string) { fmt.Fprintf(tw, "%s:\t%s\n", k, val) }
	row("Agreement", v.Name)
	row("Reference", v.Reference)
	row("Title", v.Title)
	row("Organisation", v.Organisation)
	row("Phase", v.Phase)
	digest := string(v.SpecDigest)
	if v.DigestComputed {
		digest += " (computed from the spec)"
	}
	row("Spec digest", digest)
	row("Approvals", fmt.Sprintf("%d of %d", v.Approvals.Counted, v.Approvals.Quorum))
	row("Validity", v.Validity.describe())
	if v.Workspace != "" {
		row("Workspace", v.Workspace)
	}
	if v.Revocation != "" {
		row("Revoked", v.Revocation)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	rows := make([]decisionRow, 0, len(v.Decisions))
	for _, d := range v.Decisions {
		rows = append(rows, decisionRow{who: d.Username, decision: d.Decision, counted: d.Counted, why: d.Why, object: d.Approval})
	}
	if err := writeDecisions(&b, "Decisions on this digest", "APPROVAL", rows); err != nil {
		return err
	}

	b.WriteString("\nConditions:\n")
	if len(v.Conditions) == 0 {
		b.WriteString("  none yet\n")
	} else {
		tw = tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TYPE\tSTATUS\tREASON\tMESSAGE")
		for _, c := range v.Conditions {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", c.Type, c.Status, c.Reason, c.Message)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	b.WriteString("\nViolations:\n")
	if len(v.Violations) == 0 {
		b.WriteString("  none\n")
	}
	for _, f := range v.Violations {
		field := f.Field
		if field == "" {
			field = "(agreement)"
		}
		fmt.Fprintf(&b, "  %s: %s [%s]\n", field, f.Message, f.Rule)
	}
	for _, n := range v.Notes {
		fmt.Fprintf(&b, "\nNote: %s.\n", n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// describe says the window and where now falls in it, in words.
func (v validityView) describe() string {
	window := fmt.Sprintf("%s to %s", v.Start, v.End)
	switch v.State {
	case validityNotStarted:
		length := int(v.EndsAt.Sub(v.StartsAt) / (24 * time.Hour))
		return fmt.Sprintf("%s: starts in %s and lasts %s", window, plural(v.DaysToStart, "day", "days"), plural(length, "day", "days"))
	case validityIn:
		return fmt.Sprintf("%s: %s left (access ends %s)", window, plural(v.DaysLeft, "day", "days"), v.EndsAt.Format(time.RFC3339))
	default:
		return fmt.Sprintf("%s: ended %s", window, v.EndsAt.Format(time.RFC3339))
	}
}

// plural writes n and the noun in the form one or many.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// decisionRow is one person's decision on a digest, as status commands show it.
type decisionRow struct {
	who, decision, why, object string
	counted                    bool
}

// writeDecisions writes a titled table of decisions — committee approvals or output reviews —
// saying who decided what and whether it counted.
func writeDecisions(b *strings.Builder, title, objectHeader string, rows []decisionRow) error {
	b.WriteString("\n" + title + ":\n")
	if len(rows) == 0 {
		b.WriteString("  none\n")
		return nil
	}
	tw := tabwriter.NewWriter(b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  WHO\tDECISION\tCOUNTED\t"+objectHeader)
	for _, r := range rows {
		who := r.who
		if who == "" {
			who = "(unknown)"
		}
		counted := "yes"
		if !r.counted {
			counted = "no: " + r.why
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", who, r.decision, counted, r.object)
	}
	return tw.Flush()
}
