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
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/spf13/cobra"

	"github.com/fivesafes/fivesafes/internal/audit"
)

func init() { subcommands = append(subcommands, newAuditCmd) }

// auditNow is the clock audit commands read relative times and export times from.
var auditNow = time.Now

func newAuditCmd(s streams, _ *kubeFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Verify, read and export the tamper-evident audit log",
		Long: `Work with the audit log: a hash chain of JSON lines recording every approval, phase change,
workspace, dataset extract, output check, review and release. Each entry carries the previous
entry's hash, so an edited, deleted, inserted or reordered entry is found by verify.

Without --from the commands read the live audit bucket: --storage-endpoint (or
FIVESAFES_STORAGE_ENDPOINT) names the object store, with read-only credentials in
FIVESAFES_STORAGE_ACCESS_KEY and FIVESAFES_STORAGE_SECRET_KEY.

Example:
  fivesafes audit verify
  fivesafes audit verify --from ./audit
  fivesafes audit log --agreement nic-38002-s3k0v --since 7d
  fivesafes audit export --from ./audit --agreement nic-38002-s3k0v --request readmissions --out ./bundle`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	f := cmd.PersistentFlags()
	f.StringVar(&liveAudit.endpoint, "storage-endpoint", os.Getenv("FIVESAFES_STORAGE_ENDPOINT"), "host:port of the object store holding the live audit log (default $FIVESAFES_STORAGE_ENDPOINT).")
	f.BoolVar(&liveAudit.secure, "storage-secure", false, "Use HTTPS to reach the object store.")
	f.StringVar(&liveAudit.bucket, "audit-bucket", "fivesafes-audit", "Bucket holding the live audit log.")
	cmd.AddCommand(newAuditVerifyCmd(s), newAuditLogCmd(s), newAuditExportCmd(s))
	return cmd
}

// liveAudit locates the live audit log in object storage.
var liveAudit struct {
	endpoint, bucket string
	secure           bool
}

// liveAuditStore returns the live audit log, read with the credentials in the environment.
func liveAuditStore() (*audit.ObjectStore, error) {
	if liveAudit.endpoint == "" {
		return nil, errors.New(auditFromRequired)
	}
	mc, err := minio.New(liveAudit.endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("FIVESAFES_STORAGE_ACCESS_KEY"), os.Getenv("FIVESAFES_STORAGE_SECRET_KEY"), ""),
		Secure: liveAudit.secure,
	})
	if err != nil {
		return nil, fmt.Errorf("configuring the object storage client: %w", err)
	}
	return audit.NewObjectStore(mc, liveAudit.bucket, audit.ObjectStoreOptions{})
}

// auditFromRequired is the message for an audit command with no log to read.
const auditFromRequired = "no audit log named: give --storage-endpoint (or FIVESAFES_STORAGE_ENDPOINT) for the live log, " +
	"or --from with the directory holding a copy (segments/, tail/ and checkpoints/), a JSON-lines file, or an exported bundle"

// auditVerifyReport is the JSON form of `audit verify`.
type auditVerifyReport struct {
	// From is what was verified, as given.
	From string `json:"from"`
	// Layout is "store", "file" or "bundle".
	Layout string `json:"layout"`
	audit.Result
}

func newAuditVerifyCmd(s streams) *cobra.Command {
	var from, format string
	cmd := &cobra.Command{
		Use:   "verify --from FILE|DIR",
		Short: "Recompute the audit chain and report the first broken entry",
		Long: `Recompute every entry's hash and every link of the chain, and check the chain against its
checkpoints. --from is one of:

  a directory holding the log as stored (segments/, tail/, checkpoints/);
  a JSON-lines file holding the log from its first entry;
  a bundle made by "fivesafes audit export": its entries must chain from its anchor, match its
  checkpoints, and include unaltered the entries of the release it names.

An edited, deleted, inserted or reordered entry, or a tail shorter than the last checkpoint, is
reported with the sequence number of the first entry that is wrong.

Exit status: 0 when the chain is intact, 1 when it is broken, 2 on a usage or I/O error.

Example:
  fivesafes audit verify --from ./audit
  fivesafes audit verify --from audit.jsonl --format json
  fivesafes audit verify --from ./bundle`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "text" && format != "json" {
				return usageError("unknown --format %q: use text or json", format)
			}
			var rep auditVerifyReport
			var err error
			if from == "" {
				rep, err = verifyLiveAudit(cmd.Context())
			} else {
				rep, err = verifyAuditFrom(cmd.Context(), from)
			}
			if err != nil {
				return usageError("%w", err)
			}
			if format == "json" {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else if err := writeVerifyText(s.out, rep); err != nil {
				return err
			}
			if !rep.OK {
				return findings()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "Audit log to verify: a store directory, a JSON-lines file or an exported bundle.")
	cmd.Flags().StringVar(&format, "format", "text", "Output format: text or json.")
	return cmd
}

// verifyLiveAudit verifies the live audit log in object storage.
func verifyLiveAudit(ctx context.Context) (auditVerifyReport, error) {
	rep := auditVerifyReport{From: liveAudit.bucket, Layout: "bucket"}
	store, err := liveAuditStore()
	if err != nil {
		return rep, err
	}
	if rep.Result, err = audit.VerifyStore(ctx, store); err != nil {
		return rep, fmt.Errorf("verifying the audit bucket %s: %w", liveAudit.bucket, err)
	}
	return rep, nil
}

// verifyAuditFrom verifies the log at from: a bundle, a store directory or a JSON-lines file.
func verifyAuditFrom(ctx context.Context, from string) (auditVerifyReport, error) {
	rep := auditVerifyReport{From: from}
	info, err := os.Stat(from)
	if err != nil {
		return rep, fmt.Errorf("reading --from: %w", err)
	}
	switch {
	case info.IsDir() && isAuditBundle(from):
		rep.Layout = "bundle"
		rep.Result, err = verifyAuditBundle(from)
	case info.IsDir():
		rep.Layout = "store"
		rep.Result, err = audit.VerifyStore(ctx, audit.NewDirStore(from))
	default:
		rep.Layout = "file"
		var f *os.File
		if f, err = os.Open(from); err != nil { //nolint:gosec // G304: the log the user named.
			return rep, fmt.Errorf("reading --from: %w", err)
		}
		defer func() { _ = f.Close() }()
		rep.Result, err = audit.Verify(f, audit.VerifyOptions{})
	}
	if err != nil {
		return rep, fmt.Errorf("verifying %s: %w", from, err)
	}
	return rep, nil
}

func writeVerifyText(w io.Writer, rep auditVerifyReport) error {
	var b strings.Builder
	what := map[string]string{"bucket": "audit log", "store": "audit log", "file": "audit log", "bundle": "audit bundle"}[rep.Layout]
	if rep.OK {
		if rep.Entries == 0 {
			fmt.Fprintf(&b, "The %s at %s holds no entries.\n", what, rep.From)
		} else {
			fmt.Fprintf(&b, "The %s at %s is intact: %s, ending at entry %d (%s).\n",
				what, rep.From, plural(int(rep.Entries), "entry", "entries"), rep.Head.Seq, rep.Head.Hash)
		}
	} else {
		fmt.Fprintf(&b, "The %s at %s is broken at entry %d: %s.\n", what, rep.From, rep.FirstBroken, strings.TrimSuffix(rep.Reason, "."))
		fmt.Fprintf(&b, "%s before it verified intact.\n", capitalise(plural(int(rep.Entries), "entry", "entries")))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// capitalise upper-cases the first letter of an ASCII sentence.
func capitalise(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// auditFilter selects entries for `audit log`.
type auditFilter struct {
	agreement string
	action    string
	since     time.Time
}

func (f auditFilter) match(e audit.Entry) bool {
	if f.agreement != "" && e.Agreement() != f.agreement {
		return false
	}
	if f.action != "" && string(e.Action) != f.action && !strings.HasPrefix(string(e.Action), f.action+".") {
		return false
	}
	if !f.since.IsZero() && e.Time.Before(f.since) {
		return false
	}
	return true
}

// parseSince reads --since: an RFC 3339 time, a YYYY-MM-DD date (00:00 UTC), or an age such as
// 36h or 7d before now.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	if days, ok := strings.CutSuffix(v, "d"); ok {
		if n, err := strconv.Atoi(days); err == nil && n >= 0 {
			return now.AddDate(0, 0, -n), nil
		}
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("--since %q is not a time (2026-03-01T09:30:00Z), a date (2026-03-01) or an age (36h, 7d)", v)
}

func newAuditLogCmd(s streams) *cobra.Command {
	var (
		from, since, format string
		filter              auditFilter
	)
	cmd := &cobra.Command{
		Use:   "log --from DIR",
		Short: "List audit entries, filtered by agreement, action and time",
		Long: `List the entries of the audit log, oldest first, as a table or as JSON (a list of entries, each
exactly as stored, so each can be re-hashed). Each entry's own hash is checked as it is read; use
"fivesafes audit verify" to check the chain.

--agreement selects the entries about a DataAccessAgreement or about objects made for it
(workspaces, extracts, output requests). --action takes an action, e.g. output.release, or a
family, e.g. output. --since takes a time, a date, or an age such as 7d.

Actions: ` + auditActionList() + `

Example:
  fivesafes audit log --from ./audit --agreement nic-38002-s3k0v
  fivesafes audit log --from ./audit --action output --since 2026-03-01 --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return usageError("unknown --format %q: use table or json", format)
			}
			var err error
			if filter.since, err = parseSince(since, auditNow()); err != nil {
				return usageError("%w", err)
			}
			entries, err := auditEntriesFrom(cmd.Context(), from)
			if err != nil {
				return usageError("%w", err)
			}
			if err := writeAuditLog(s.out, entries, filter, format); err != nil {
				return usageError("%w", err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "Audit log to read: a store directory, a JSON-lines file or an exported bundle.")
	f.StringVar(&filter.agreement, "agreement", "", "Only entries about this DataAccessAgreement.")
	f.StringVar(&filter.action, "action", "", "Only entries with this action (output.release) or family of actions (output).")
	f.StringVar(&since, "since", "", "Only entries at or after this time (RFC 3339), date (YYYY-MM-DD) or age (36h, 7d).")
	f.StringVar(&format, "format", "table", "Output format: table or json.")
	return cmd
}

func auditActionList() string {
	as := audit.Actions()
	names := make([]string, len(as))
	for i, a := range as {
		names[i] = string(a)
	}
	return strings.Join(names, ", ") + "."
}

// auditEntriesFrom returns the entries of the log at from: a store directory, an exported bundle
// or a JSON-lines file.
func auditEntriesFrom(ctx context.Context, from string) (iter.Seq2[audit.Entry, error], error) {
	if from == "" {
		store, err := liveAuditStore()
		if err != nil {
			return nil, err
		}
		return audit.Entries(ctx, store), nil
	}
	info, err := os.Stat(from)
	if err != nil {
		return nil, fmt.Errorf("reading --from: %w", err)
	}
	file := from
	switch {
	case info.IsDir() && isAuditBundle(from):
		m, err := readBundleManifest(from)
		if err != nil {
			return nil, err
		}
		file = filepath.Join(from, m.Entries)
	case info.IsDir():
		return audit.Entries(ctx, audit.NewDirStore(from)), nil
	}
	data, err := os.ReadFile(file) //nolint:gosec // G304: the log the user named.
	if err != nil {
		return nil, fmt.Errorf("reading --from: %w", err)
	}
	return audit.ReadLines(bytes.NewReader(data)), nil
}

// writeAuditLog writes the entries that match filter as a table or as a JSON list of stored
// entries. An entry that cannot be read (its hash does not match) ends the listing with an error.
func writeAuditLog(w io.Writer, entries iter.Seq2[audit.Entry, error], filter auditFilter, format string) error {
	var out bytes.Buffer
	var tw *tabwriter.Writer
	if format == "table" {
		tw = tabwriter.NewWriter(&out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SEQ\tTIME\tACTOR\tACTION\tSTAGE\tOBJECT\tAGREEMENT\tDECISION")
	} else {
		out.WriteString("[")
	}
	n := 0
	for e, err := range entries {
		if err != nil {
			return fmt.Errorf("reading the audit log: %w (run \"fivesafes audit verify\")", err)
		}
		if !filter.match(e) {
			continue
		}
		if tw != nil {
			obj := e.Object.Kind + "/" + e.Object.Name
			if e.Object.Namespace != "" {
				obj = e.Object.Kind + "/" + e.Object.Namespace + "/" + e.Object.Name
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.UTC().Format(time.RFC3339), e.Actor, e.Action,
				e.Stage, obj, dash(e.Agreement()), dash(e.Decision))
		} else {
			line, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encoding entry %d: %w", e.Seq, err)
			}
			if n > 0 {
				out.WriteString(",")
			}
			out.WriteString("\n  ")
			out.Write(line)
		}
		n++
	}
	if tw != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
	} else {
		if n > 0 {
			out.WriteString("\n")
		}
		out.WriteString("]\n")
	}
	_, err := w.Write(out.Bytes())
	return err
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newAuditExportCmd(s streams) *cobra.Command {
	var from, agreementName, request, out string
	cmd := &cobra.Command{
		Use:   "export --from DIR --agreement NAME --request NAME --out DIR",
		Short: "Write a release's audit record as a bundle that verifies offline",
		Long: `Write the audit record of one release, the OutputRequest --request made under the
DataAccessAgreement --agreement, as a self-contained bundle in the new directory --out:

  manifest.json   the release, the range of entries, the anchor and checkpoints that tie the
                  range to the log, and the entries that concern the release
  entries.jsonl   the entries of the range, exactly as stored

The whole log is verified first; nothing is exported from a broken log (exit status 1). The
bundle is verified before it is moved into place, and anyone can check it later with
"fivesafes audit verify --from DIR", with no access to the log.

Example:
  fivesafes audit export --from ./audit --agreement nic-38002-s3k0v --request readmissions --out ./readmissions-audit`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if agreementName == "" || request == "" || out == "" {
				return usageError("--agreement, --request and --out are required")
			}
			if from == "" {
				store, err := liveAuditStore()
				if err != nil {
					return usageError("%w", err)
				}
				return runAuditExport(cmd.Context(), s, store, agreementName, request, out)
			}
			info, err := os.Stat(from)
			if err != nil {
				return usageError("reading --from: %w", err)
			}
			if !info.IsDir() || isAuditBundle(from) {
				return usageError("--from must be the directory holding the audit log (segments/, tail/ and checkpoints/)")
			}
			return runAuditExport(cmd.Context(), s, audit.NewDirStore(from), agreementName, request, out)
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "Directory holding the audit log (segments/, tail/ and checkpoints/).")
	f.StringVar(&agreementName, "agreement", "", "DataAccessAgreement the release was made under.")
	f.StringVar(&request, "request", "", "OutputRequest that was released.")
	f.StringVar(&out, "out", "", "New directory to write the bundle to.")
	return cmd
}

// runAuditExport exports the release's record from store to out and reports what it wrote.
func runAuditExport(ctx context.Context, s streams, store audit.Store, agreementName, request, out string) error {
	res, err := exportAuditBundle(ctx, store, agreementName, request, out, auditNow())
	switch {
	case errors.Is(err, errNoReleaseEntries):
		return usageError("no audit entries concern request %s of agreement %s", request, agreementName)
	case err != nil:
		return usageError("exporting: %w", err)
	case res.broken != nil:
		fmt.Fprintf(s.out, "The audit log is broken at entry %d: %s.\nNothing was exported; run \"fivesafes audit verify\".\n",
			res.broken.FirstBroken, strings.TrimSuffix(res.broken.Reason, "."))
		return findings()
	}
	m := res.manifest
	anchor := "the start of the log"
	if m.Anchor.Seq > 0 {
		anchor = fmt.Sprintf("the checkpoint of entry %d", m.Anchor.Seq)
	}
	_, err = fmt.Fprintf(s.out, "Wrote %s: entries %d to %d, chained from %s; %d of them concern request %s of agreement %s.\n",
		out, m.First, m.Last, anchor, len(m.Release), request, agreementName)
	return err
}
