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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fivesafes/fivesafes/internal/audit"
)

const (
	auditManager  = "system:serviceaccount:fivesafes-system:manager"
	auditSegment  = 8
	auditEvery    = 5
	auditEntries  = 30
	releaseAgr    = "nic-a"
	releaseReq    = "readmissions"
	releaseNS     = "ws-nic-a"
	otherAgr      = "nic-b"
	auditStartUTC = "2026-03-01T09:00:00Z"
)

// releaseSeqs are the entries of the test log that concern request readmissions of nic-a.
var releaseSeqs = []int64{12, 14, 17, 19}

// auditInput is entry seq of the test log: a release's check, review, release and download URL
// among entries about two agreements, including a request of the same name under the other.
func auditInput(seq int64) audit.EntryInput {
	digest := fmt.Sprintf("sha256:%064x", seq)
	switch seq {
	case 12:
		return audit.EntryInput{Actor: auditManager, Action: audit.ActionOutputCheck, Decision: "review",
			Object:  audit.ObjectRef{Kind: "OutputRequest", Namespace: releaseNS, Name: releaseReq},
			Details: map[string]any{audit.DetailAgreement: releaseAgr, "content": digest, "files": 2}}
	case 14:
		return audit.EntryInput{Actor: "carol@checkers.example", Action: audit.ActionOutputReview, Decision: "Approve",
			Object:  audit.ObjectRef{Kind: "OutputReview", Namespace: releaseNS, Name: "readmissions-carol"},
			Details: map[string]any{audit.DetailAgreement: releaseAgr, "request": releaseReq, "content": digest}}
	case 15:
		return audit.EntryInput{Actor: auditManager, Action: audit.ActionOutputCheck, Decision: "pass",
			Object:  audit.ObjectRef{Kind: "OutputRequest", Namespace: "ws-nic-b", Name: releaseReq},
			Details: map[string]any{audit.DetailAgreement: otherAgr, "content": digest}}
	case 17:
		return audit.EntryInput{Actor: auditManager, Action: audit.ActionOutputRelease, Decision: "Released",
			Object:  audit.ObjectRef{Kind: "OutputRequest", Namespace: releaseNS, Name: releaseReq},
			Details: map[string]any{audit.DetailAgreement: releaseAgr, "manifest": digest, "files": 2}}
	case 19:
		return audit.EntryInput{Actor: "amara@cpccg.example", Action: audit.ActionDownloadURL,
			Object:  audit.ObjectRef{Kind: "OutputRequest", Namespace: releaseNS, Name: releaseReq},
			Details: map[string]any{audit.DetailAgreement: releaseAgr, "expiresInSeconds": 900}}
	}
	agr := releaseAgr
	if seq%2 == 0 {
		agr = otherAgr
	}
	if seq%3 == 0 {
		return audit.EntryInput{Actor: auditManager, Action: audit.ActionDatasetExtract, Decision: "Succeeded",
			Object:  audit.ObjectRef{Kind: "DatasetExtract", Namespace: "ws-" + agr, Name: "hes-apc"},
			Details: map[string]any{audit.DetailAgreement: agr, "rowsWritten": int(seq) * 100, "optOutSnapshot": digest}}
	}
	return audit.EntryInput{Actor: auditManager, Action: audit.ActionPhaseChange, Decision: "Active",
		Object:  audit.ObjectRef{Kind: "DataAccessAgreement", Name: agr},
		Details: map[string]any{"from": "Approved", "to": "Active"}}
}

// buildAuditStore writes the test log into a directory store at dir: sealed segments of 8
// entries, checkpoints every 5, and a tail, each entry an hour after the one before.
func buildAuditStore(t testing.TB, dir string) {
	t.Helper()
	ctx := context.Background()
	start, err := time.Parse(time.RFC3339, auditStartUTC)
	if err != nil {
		t.Fatal(err)
	}
	var seq int64
	clock := func() time.Time { return start.Add(time.Duration(seq) * time.Hour) }
	l, err := audit.Open(ctx, audit.NewDirStore(dir), audit.Options{SegmentSize: auditSegment, CheckpointEvery: auditEvery, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	for seq = 1; seq <= auditEntries; seq++ {
		e, err := l.Append(ctx, auditInput(seq))
		if err != nil {
			t.Fatal(err)
		}
		if e.Seq != seq {
			t.Fatalf("appended entry %d, want %d", e.Seq, seq)
		}
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o750)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// editEntry replaces old with new in the stored line of entry seq in the file at path.
func editEntry(t *testing.T, path string, seq int64, old, new string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	key := fmt.Sprintf(`"seq":%d,`, seq)
	for i, l := range lines {
		if strings.Contains(l, key) {
			if !strings.Contains(l, old) {
				t.Fatalf("entry %d in %s does not contain %q", seq, path, old)
			}
			lines[i] = strings.Replace(l, old, new, 1)
			if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("entry %d is not in %s", seq, path)
}

// auditVerifyJSON runs audit verify --format json and checks the exit code matches the result.
func auditVerifyJSON(t *testing.T, from string) auditVerifyReport {
	t.Helper()
	code, stdout, stderr := execCLI(t, "audit", "verify", "--from", from, "--format", "json")
	var rep auditVerifyReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("exit %d, output is not a report: %v\nstdout:\n%s\nstderr:\n%s", code, err, stdout, stderr)
	}
	if want := map[bool]int{true: ExitOK, false: ExitFindings}[rep.OK]; code != want {
		t.Fatalf("exit %d for a report with ok=%v, want %d", code, rep.OK, want)
	}
	return rep
}

func TestAuditVerifyStore(t *testing.T) {
	dir := t.TempDir()
	buildAuditStore(t, dir)

	stdout, _ := mustExec(t, ExitOK, "audit", "verify", "--from", dir)
	if !strings.Contains(stdout, "is intact: 30 entries, ending at entry 30") {
		t.Fatalf("output = %q", stdout)
	}
	rep := auditVerifyJSON(t, dir)
	if !rep.OK || rep.Entries != auditEntries || rep.Layout != "store" || rep.Head.Seq != auditEntries {
		t.Fatalf("report = %+v", rep)
	}
}

// TestAuditVerifyTampered edits, deletes and reorders entries of copies of a stored log and
// checks that verify reports each at the right sequence number with exit status 1.
func TestAuditVerifyTampered(t *testing.T) {
	orig := t.TempDir()
	buildAuditStore(t, orig)
	seg1 := filepath.FromSlash(audit.SegmentName(1, 8))
	seg2 := filepath.FromSlash(audit.SegmentName(9, 16))
	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		broken int64
	}{
		{"actor edited in a segment", func(t *testing.T, dir string) {
			editEntry(t, filepath.Join(dir, seg1), 6, `"actor":"`+auditManager, `"actor":"mallory`)
		}, 6},
		{"decision edited in a segment", func(t *testing.T, dir string) {
			editEntry(t, filepath.Join(dir, seg2), 14, `"decision":"Approve"`, `"decision":"Reject"`)
		}, 14},
		{"tail entry deleted", func(t *testing.T, dir string) {
			if err := os.Remove(filepath.Join(dir, filepath.FromSlash(audit.TailName(27)))); err != nil {
				t.Fatal(err)
			}
		}, 27},
		{"tail entry edited", func(t *testing.T, dir string) {
			editEntry(t, filepath.Join(dir, filepath.FromSlash(audit.TailName(29))), 29, `"decision":"Active"`, `"decision":"Revoked"`)
		}, 29},
		{"tail truncated", func(t *testing.T, dir string) {
			for _, s := range []int64{29, 30} {
				if err := os.Remove(filepath.Join(dir, filepath.FromSlash(audit.TailName(s)))); err != nil {
					t.Fatal(err)
				}
			}
		}, 29},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			copyTree(t, orig, dir)
			tc.tamper(t, dir)
			stdout, _ := mustExec(t, ExitFindings, "audit", "verify", "--from", dir)
			if want := fmt.Sprintf("is broken at entry %d:", tc.broken); !strings.Contains(stdout, want) {
				t.Fatalf("output = %q, want it to contain %q", stdout, want)
			}
			if rep := auditVerifyJSON(t, dir); rep.OK || rep.FirstBroken != tc.broken || rep.Entries != tc.broken-1 {
				t.Fatalf("report = %+v, want first broken %d", rep, tc.broken)
			}
		})
	}
	// The original is untouched by all of this.
	mustExec(t, ExitOK, "audit", "verify", "--from", orig)
}

// auditLines returns the stored lines of the test log, in order, as a JSON-lines file would
// hold them.
func auditLines(t *testing.T, dir string) []string {
	t.Helper()
	var lines []string
	for e, err := range audit.Entries(context.Background(), audit.NewDirStore(dir)) {
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	return lines
}

func TestAuditVerifyFile(t *testing.T) {
	dir := t.TempDir()
	buildAuditStore(t, dir)
	lines := auditLines(t, dir)
	write := func(lines []string) string {
		p := filepath.Join(t.TempDir(), "audit.jsonl")
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if rep := auditVerifyJSON(t, write(lines)); !rep.OK || rep.Entries != auditEntries || rep.Layout != "file" {
		t.Fatalf("intact file: report = %+v", rep)
	}
	swapped := append([]string(nil), lines...)
	swapped[2], swapped[3] = swapped[3], swapped[2]
	if rep := auditVerifyJSON(t, write(swapped)); rep.OK || rep.FirstBroken != 3 {
		t.Fatalf("entries 3 and 4 swapped: report = %+v", rep)
	}
	deleted := append(append([]string(nil), lines[:9]...), lines[10:]...)
	if rep := auditVerifyJSON(t, write(deleted)); rep.OK || rep.FirstBroken != 10 {
		t.Fatalf("entry 10 deleted: report = %+v", rep)
	}
}

func TestAuditVerifyUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no --from", []string{"audit", "verify"}, "no audit log named"},
		{"missing path", []string{"audit", "verify", "--from", filepath.Join(t.TempDir(), "missing")}, "no such file or directory"},
		{"unknown format", []string{"audit", "verify", "--from", t.TempDir(), "--format", "yaml"}, `unknown --format "yaml"`},
		{"argument", []string{"audit", "verify", "somewhere"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, stderr := mustExec(t, ExitUsage, tc.args...)
			if !strings.Contains(stderr, tc.want) {
				t.Fatalf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}

// logSeqs runs audit log --format json with args and returns the sequence numbers listed,
// checking that each listed entry is a stored line whose hash still matches.
func logSeqs(t *testing.T, args ...string) []int64 {
	t.Helper()
	stdout, _ := mustExec(t, ExitOK, append([]string{"audit", "log", "--format", "json"}, args...)...)
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("output is not a JSON list: %v\n%s", err, stdout)
	}
	seqs := []int64{}
	for _, r := range raw {
		e, err := audit.ParseLine(r)
		if err != nil {
			t.Fatalf("listed entry %s does not parse as a stored entry: %v", r, err)
		}
		seqs = append(seqs, e.Seq)
	}
	return seqs
}

func TestAuditLog(t *testing.T) {
	dir := t.TempDir()
	buildAuditStore(t, dir)
	var all []audit.Entry
	for e, err := range audit.Entries(context.Background(), audit.NewDirStore(dir)) {
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, e)
	}
	expect := func(keep func(audit.Entry) bool) []int64 {
		out := []int64{}
		for _, e := range all {
			if keep(e) {
				out = append(out, e.Seq)
			}
		}
		return out
	}
	start, _ := time.Parse(time.RFC3339, auditStartUTC)
	since := start.Add(20 * time.Hour)
	defer func(f func() time.Time) { auditNow = f }(auditNow)
	auditNow = func() time.Time { return start.Add(30 * time.Hour) }

	for _, tc := range []struct {
		name string
		args []string
		want []int64
	}{
		{"all", nil, expect(func(audit.Entry) bool { return true })},
		{"agreement", []string{"--agreement", otherAgr}, expect(func(e audit.Entry) bool { return e.Agreement() == otherAgr })},
		{"action", []string{"--action", "output.release"}, []int64{17}},
		{"action family", []string{"--action", "output"}, []int64{12, 14, 15, 17, 19}},
		{"since time", []string{"--since", since.Format(time.RFC3339)}, expect(func(e audit.Entry) bool { return !e.Time.Before(since) })},
		{"since age", []string{"--since", "10h"}, expect(func(e audit.Entry) bool { return !e.Time.Before(since) })},
		{"since date", []string{"--since", "2026-03-02"}, expect(func(e audit.Entry) bool { return e.Time.Day() >= 2 })},
		{"combined", []string{"--agreement", releaseAgr, "--action", "output", "--since", since.Add(-5 * time.Hour).Format(time.RFC3339)}, []int64{17, 19}},
		{"nothing", []string{"--agreement", "nic-none"}, []int64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if len(tc.want) == 0 && tc.name != "nothing" {
				t.Fatal("the expectation selects nothing")
			}
			got := logSeqs(t, append([]string{"--from", dir}, tc.args...)...)
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("listed %v, want %v", got, tc.want)
			}
		})
	}

	table, _ := mustExec(t, ExitOK, "audit", "log", "--from", dir, "--action", "output.review")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "SEQ") ||
		!strings.Contains(lines[1], "carol@checkers.example") || !strings.Contains(lines[1], "OutputReview/"+releaseNS+"/readmissions-carol") ||
		!strings.Contains(lines[1], releaseAgr) || !strings.Contains(lines[1], "2026-03-01T23:00:00Z") {
		t.Fatalf("table = %q", table)
	}

	tampered := t.TempDir()
	copyTree(t, dir, tampered)
	editEntry(t, filepath.Join(tampered, filepath.FromSlash(audit.SegmentName(1, 8))), 4, `"decision":"Active"`, `"decision":"Expired"`)
	_, stderr := mustExec(t, ExitUsage, "audit", "log", "--from", tampered)
	if !strings.Contains(stderr, "audit verify") {
		t.Fatalf("stderr = %q, want advice to run audit verify", stderr)
	}
	_, stderr = mustExec(t, ExitUsage, "audit", "log", "--from", dir, "--since", "last tuesday")
	if !strings.Contains(stderr, "is not a time") {
		t.Fatalf("stderr = %q", stderr)
	}
}

func TestAuditExport(t *testing.T) {
	store := t.TempDir()
	buildAuditStore(t, store)
	bundle := filepath.Join(t.TempDir(), "bundle")
	stdout, _ := mustExec(t, ExitOK, "audit", "export", "--from", store, "--agreement", releaseAgr, "--request", releaseReq, "--out", bundle)
	if !strings.Contains(stdout, "entries 11 to 20, chained from the checkpoint of entry 10; 4 of them concern request readmissions of agreement nic-a") {
		t.Fatalf("output = %q", stdout)
	}

	m, err := readBundleManifest(bundle)
	if err != nil {
		t.Fatal(err)
	}
	var refs []int64
	for _, r := range m.Release {
		refs = append(refs, r.Seq)
	}
	if fmt.Sprint(refs) != fmt.Sprint(releaseSeqs) || m.Anchor.Seq != 10 || m.First != 11 || m.Last != 20 ||
		len(m.Checkpoints) != 2 || m.Checkpoints[0].Seq != 15 || m.Checkpoints[1].Seq != 20 || m.LogHead.Seq != auditEntries {
		t.Fatalf("manifest = %+v", m)
	}
	// The anchor and checkpoints are the log's own.
	cps, err := audit.ReadCheckpoints(context.Background(), audit.NewDirStore(store))
	if err != nil {
		t.Fatal(err)
	}
	byseq := map[int64]string{}
	for _, c := range cps {
		byseq[c.Seq] = c.Hash
	}
	if byseq[10] != m.Anchor.Hash || byseq[15] != m.Checkpoints[0].Hash || byseq[20] != m.Checkpoints[1].Hash {
		t.Fatal("the bundle's anchor or checkpoints differ from the log's checkpoints")
	}
	// The entries are the log's lines 11 to 20, byte for byte.
	entries, err := os.ReadFile(filepath.Join(bundle, bundleEntriesFile))
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(auditLines(t, store)[10:20], "\n") + "\n"; string(entries) != want {
		t.Fatalf("entries.jsonl differs from the log's entries 11 to 20:\n%s", entries)
	}

	stdout, _ = mustExec(t, ExitOK, "audit", "verify", "--from", bundle)
	if !strings.Contains(stdout, "audit bundle at "+bundle+" is intact: 10 entries, ending at entry 20") {
		t.Fatalf("output = %q", stdout)
	}
	if got := logSeqs(t, "--from", bundle, "--agreement", releaseAgr, "--action", "output"); fmt.Sprint(got) != fmt.Sprint(releaseSeqs) {
		t.Fatalf("audit log of the bundle listed %v", got)
	}

	for _, tc := range []struct {
		name   string
		tamper func(t *testing.T, dir string)
		broken int64
		reason string
	}{
		{"context entry edited", func(t *testing.T, dir string) {
			editEntry(t, filepath.Join(dir, bundleEntriesFile), 16, `"decision":"Active"`, `"decision":"Revoked"`)
		}, 16, "altered"},
		{"release entry edited", func(t *testing.T, dir string) {
			editEntry(t, filepath.Join(dir, bundleEntriesFile), 17, `"decision":"Released"`, `"decision":"Withdrawn"`)
		}, 17, "altered"},
		{"last entry removed", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundleEntriesFile)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.SplitAfter(string(data), "\n")
			if err := os.WriteFile(p, []byte(strings.Join(lines[:9], "")), 0o600); err != nil {
				t.Fatal(err)
			}
		}, 20, ""},
		{"entry appended", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundleEntriesFile)
			lines := auditLines(t, store)
			f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = f.Close() }()
			if _, err := f.WriteString(lines[20] + "\n"); err != nil {
				t.Fatal(err)
			}
		}, 21, "where the manifest says the bundle ends"},
		{"manifest names another entry", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundleManifestFile)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			if err := json.Unmarshal(data, &raw); err != nil {
				t.Fatal(err)
			}
			raw["release"].([]any)[1].(map[string]any)["seq"] = 15
			data, err = json.Marshal(raw)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}, 15, "does not concern request readmissions of agreement nic-a"},
		{"anchor replaced", func(t *testing.T, dir string) {
			p := filepath.Join(dir, bundleManifestFile)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			data = []byte(strings.Replace(string(data), m.Anchor.Hash, fmt.Sprintf("sha256:%064x", 1), 1))
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
		}, 11, "does not chain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "bundle")
			copyTree(t, bundle, dir)
			tc.tamper(t, dir)
			rep := auditVerifyJSON(t, dir)
			if rep.OK || rep.FirstBroken != tc.broken || rep.Layout != "bundle" || !strings.Contains(rep.Reason, tc.reason) {
				t.Fatalf("report = %+v, want first broken %d (%q)", rep, tc.broken, tc.reason)
			}
		})
	}
}

func TestAuditExportStartOfLog(t *testing.T) {
	// A release whose first entry comes before the first checkpoint is anchored at the start of
	// the log; a release after the last checkpoint ends at its own last entry.
	dir := t.TempDir()
	ctx := context.Background()
	l, err := audit.Open(ctx, audit.NewDirStore(dir), audit.Options{CheckpointEvery: 4})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		name := "other"
		if i == 1 || i == 5 {
			name = "r1"
		}
		if _, err := l.Append(ctx, audit.EntryInput{Actor: auditManager, Action: audit.ActionOutputCheck, Decision: "pass",
			Object:  audit.ObjectRef{Kind: "OutputRequest", Namespace: releaseNS, Name: name},
			Details: map[string]any{audit.DetailAgreement: releaseAgr}}); err != nil {
			t.Fatal(err)
		}
	}
	bundle := filepath.Join(t.TempDir(), "b")
	mustExec(t, ExitOK, "audit", "export", "--from", dir, "--agreement", releaseAgr, "--request", "r1", "--out", bundle)
	m, err := readBundleManifest(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if m.Anchor.Seq != 0 || m.Anchor.Hash != audit.GenesisHash || m.First != 1 || m.Last != 6 || len(m.Checkpoints) != 1 || m.Checkpoints[0].Seq != 4 {
		t.Fatalf("manifest = %+v", m)
	}
	mustExec(t, ExitOK, "audit", "verify", "--from", bundle)
}

func TestAuditExportRefusals(t *testing.T) {
	store := t.TempDir()
	buildAuditStore(t, store)
	args := func(out string, extra ...string) []string {
		return append([]string{"audit", "export", "--from", store, "--agreement", releaseAgr, "--request", releaseReq, "--out", out}, extra...)
	}

	nonEmpty := t.TempDir()
	if err := os.WriteFile(filepath.Join(nonEmpty, "keep"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stderr := mustExec(t, ExitUsage, args(nonEmpty)...)
	if !strings.Contains(stderr, "is not empty") {
		t.Fatalf("stderr = %q", stderr)
	}

	// An empty directory may be the target.
	empty := t.TempDir()
	mustExec(t, ExitOK, args(empty)...)
	mustExec(t, ExitOK, "audit", "verify", "--from", empty)

	unknown := filepath.Join(t.TempDir(), "unknown")
	_, stderr = mustExec(t, ExitUsage, "audit", "export", "--from", store, "--agreement", otherAgr, "--request", "readmissions-2", "--out", unknown)
	if !strings.Contains(stderr, "no audit entries concern request readmissions-2 of agreement nic-b") {
		t.Fatalf("stderr = %q", stderr)
	}
	if _, err := os.Stat(unknown); !os.IsNotExist(err) {
		t.Fatalf("a bundle was written for an unknown release: %v", err)
	}

	_, stderr = mustExec(t, ExitUsage, "audit", "export", "--from", store, "--agreement", releaseAgr, "--out", unknown)
	if !strings.Contains(stderr, "--agreement, --request and --out are required") {
		t.Fatalf("stderr = %q", stderr)
	}

	tampered := t.TempDir()
	copyTree(t, store, tampered)
	editEntry(t, filepath.Join(tampered, filepath.FromSlash(audit.SegmentName(1, 8))), 5, `"decision":"Active"`, `"decision":"Expired"`)
	out := filepath.Join(t.TempDir(), "from-tampered")
	stdout, _ := mustExec(t, ExitFindings, "audit", "export", "--from", tampered, "--agreement", releaseAgr, "--request", releaseReq, "--out", out)
	if !strings.Contains(stdout, "broken at entry 5") {
		t.Fatalf("output = %q", stdout)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("a bundle was written from a broken log: %v", err)
	}
	leftovers, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(leftovers) != 0 {
		t.Fatalf("export left %d files behind", len(leftovers))
	}
}
