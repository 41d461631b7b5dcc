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
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/fivesafes/fivesafes/internal/audit"
)

// An audit bundle is a release's record taken out of the audit log so that it verifies offline:
//
//	BUNDLE/manifest.json   what the bundle holds (bundleManifest)
//	BUNDLE/entries.jsonl   entries First to Last of the log, exactly as stored
//
// The entries that concern the release are rarely consecutive, and a hash chain can only be
// checked link by link, so the bundle holds every entry from the first that concerns the release
// to the last, together with the chain context that ties the range to the log: it starts just
// after a checkpoint of the log (or at the start of the log) and, where the log has one, ends at
// a checkpoint. The first entry must chain to the anchor's hash, each entry to the one before,
// and the entries at checkpoints must have the hashes the checkpoints recorded. An auditor who
// holds the log, or its locked checkpoint objects, can compare the anchor and the checkpoints in
// the manifest with them.

// Names of the files in an audit bundle.
const (
	bundleManifestFile = "manifest.json"
	bundleEntriesFile  = "entries.jsonl"
)

// Identification of a bundle manifest.
const (
	bundleAPIVersion = "fivesafes.io/v1alpha1"
	bundleKind       = "AuditBundle"
)

// bundleManifest describes an audit bundle.
type bundleManifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Agreement is the DataAccessAgreement the release was made under.
	Agreement string `json:"agreement"`
	// Request is the released OutputRequest's name.
	Request string `json:"request"`
	// Entries is the file holding entries First to Last, one stored line each.
	Entries string `json:"entries"`
	// Anchor is the entry just before First: a checkpoint of the log, or sequence 0 with the
	// genesis hash when the range starts at the beginning of the log.
	Anchor bundleHead `json:"anchor"`
	// First and Last are the range of entries in the bundle.
	First int64 `json:"first"`
	Last  int64 `json:"last"`
	// Release lists the entries that concern the release.
	Release []bundleRef `json:"release"`
	// Checkpoints are the log's checkpoints from First to Last.
	Checkpoints []bundleHead `json:"checkpoints"`
	// LogHead is the last entry of the log, verified, when the bundle was exported.
	LogHead bundleHead `json:"logHead"`
	// ExportedAt is when the bundle was written.
	ExportedAt time.Time `json:"exportedAt"`
}

// bundleHead is a point in the chain: the entry at Seq has hash Hash.
type bundleHead struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	// Time is when a checkpoint was written; absent for the start of the log.
	Time time.Time `json:"time,omitzero"`
}

// bundleRef names one entry that concerns the release.
type bundleRef struct {
	Seq    int64        `json:"seq"`
	Hash   string       `json:"hash"`
	Action audit.Action `json:"action"`
}

func (h bundleHead) checkpoint() audit.Checkpoint {
	return audit.Checkpoint{Seq: h.Seq, Hash: h.Hash, Time: h.Time}
}

func headOf(c audit.Checkpoint) bundleHead { return bundleHead{Seq: c.Seq, Hash: c.Hash, Time: c.Time} }

// auditObjectRequest is the kind of object a release's entries are about.
const auditObjectRequest = "OutputRequest"

// auditDetailRequest is the details key that names the OutputRequest an entry about another
// object (a review, a download URL) concerns.
const auditDetailRequest = "request"

// concernsRelease reports whether e concerns the release of request under agreement: it is about
// that OutputRequest, or its details name it, and it belongs to that agreement. An agreement has
// one workspace, so the pair names one release.
func concernsRelease(e audit.Entry, agreementName, request string) bool {
	if e.Agreement() != agreementName {
		return false
	}
	if e.Object.Kind == auditObjectRequest && e.Object.Name == request {
		return true
	}
	r, ok := e.Details[auditDetailRequest].(string)
	return ok && r == request
}

// isAuditBundle reports whether dir holds an audit bundle.
func isAuditBundle(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, bundleManifestFile))
	return err == nil
}

// exportOutcome is what exportAuditBundle did, for the report.
type exportOutcome struct {
	manifest bundleManifest
	// broken is the store's verification result when the store's chain is broken and nothing
	// was exported.
	broken *audit.Result
}

// errNoReleaseEntries is returned when no entry concerns the release asked for.
var errNoReleaseEntries = errors.New("no audit entries concern that release")

// exportAuditBundle writes the record of the release of request under agreement, from the log in
// store, as a bundle at out. It verifies the whole stored chain first and exports nothing from a
// broken one; it verifies the bundle it wrote before moving it into place.
func exportAuditBundle(ctx context.Context, store audit.Store, agreementName, request, out string, now time.Time) (exportOutcome, error) {
	res, err := audit.VerifyStore(ctx, store)
	if err != nil {
		return exportOutcome{}, fmt.Errorf("verifying the audit log: %w", err)
	}
	if !res.OK {
		return exportOutcome{broken: &res}, nil
	}
	cps, err := audit.ReadCheckpoints(ctx, store)
	if err != nil {
		return exportOutcome{}, fmt.Errorf("reading checkpoints: %w", err)
	}

	// First pass: which entries concern the release.
	var refs []bundleRef
	for e, err := range audit.Entries(ctx, store) {
		if err != nil {
			return exportOutcome{}, fmt.Errorf("reading the audit log: %w", err)
		}
		if e.Seq > res.Head.Seq {
			break
		}
		if concernsRelease(e, agreementName, request) {
			refs = append(refs, bundleRef{Seq: e.Seq, Hash: e.Hash, Action: e.Action})
		}
	}
	if len(refs) == 0 {
		return exportOutcome{}, errNoReleaseEntries
	}

	m := bundleManifest{
		APIVersion: bundleAPIVersion,
		Kind:       bundleKind,
		Agreement:  agreementName,
		Request:    request,
		Entries:    bundleEntriesFile,
		Anchor:     bundleHead{Seq: 0, Hash: audit.GenesisHash},
		Last:       refs[len(refs)-1].Seq,
		Release:    refs,
		LogHead:    headOf(res.Head),
		ExportedAt: now.UTC(),
	}
	firstRef := refs[0].Seq
	for _, c := range cps {
		if c.Seq < firstRef {
			m.Anchor = headOf(c)
		}
	}
	for _, c := range cps {
		if c.Seq >= m.Last && c.Seq <= res.Head.Seq {
			m.Last = c.Seq
			break
		}
	}
	m.First = m.Anchor.Seq + 1
	m.Checkpoints = []bundleHead{}
	for _, c := range cps {
		if c.Seq >= m.First && c.Seq <= m.Last {
			m.Checkpoints = append(m.Checkpoints, headOf(c))
		}
	}

	// Second pass: the stored lines of the range.
	var lines bytes.Buffer
	for e, err := range audit.Entries(ctx, store) {
		if err != nil {
			return exportOutcome{}, fmt.Errorf("reading the audit log: %w", err)
		}
		if e.Seq < m.First {
			continue
		}
		if e.Seq > m.Last {
			break
		}
		line, err := json.Marshal(e)
		if err != nil {
			return exportOutcome{}, fmt.Errorf("encoding entry %d: %w", e.Seq, err)
		}
		lines.Write(line)
		lines.WriteByte('\n')
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return exportOutcome{}, fmt.Errorf("encoding the bundle manifest: %w", err)
	}
	manifest = append(manifest, '\n')
	err = writeDirAtomically(out, map[string][]byte{bundleEntriesFile: lines.Bytes(), bundleManifestFile: manifest}, func(dir string) error {
		check, err := verifyAuditBundle(dir)
		if err != nil {
			return err
		}
		if !check.OK {
			return fmt.Errorf("the bundle written does not verify: %s", check.Reason)
		}
		return nil
	})
	if err != nil {
		return exportOutcome{}, err
	}
	return exportOutcome{manifest: m}, nil
}

// writeDirAtomically makes the directory out holding files: written into a temporary directory
// beside it, checked by check, then renamed into place. out must not exist, or be an empty
// directory.
func writeDirAtomically(out string, files map[string][]byte, check func(dir string) error) (err error) {
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s exists and is not empty: choose a new directory", out)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("checking %s: %w", out, err)
	}
	parent := filepath.Dir(filepath.Clean(out))
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp-*")
	if err != nil {
		return fmt.Errorf("creating a temporary directory beside %s: %w", out, err)
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(tmp)
		}
	}()
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		data := files[n]
		err := writeFileAtomically(filepath.Join(tmp, n), 0o644, func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
		if err != nil {
			return err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil { //nolint:gosec // G302: a bundle is for auditors to read and pass on.
		return fmt.Errorf("setting the mode of %s: %w", out, err)
	}
	if check != nil {
		if err := check(tmp); err != nil {
			return err
		}
	}
	// An empty directory at out gives way to the bundle (os.Rename does not replace directories).
	if err := os.Remove(out); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("replacing the empty directory %s: %w", out, err)
	}
	if err := os.Rename(tmp, out); err != nil {
		return fmt.Errorf("moving the bundle into place at %s: %w", out, err)
	}
	return nil
}

// maxBundleManifestBytes is the largest bundle manifest read.
const maxBundleManifestBytes = 16 << 20

// maxBundleSeq bounds the sequence numbers a manifest may name, far above any real log, so that
// range arithmetic cannot overflow.
const maxBundleSeq = math.MaxInt64 / 4

// readBundleManifest reads and checks the manifest of the bundle in dir.
func readBundleManifest(dir string) (bundleManifest, error) {
	f, err := os.Open(filepath.Join(dir, bundleManifestFile)) //nolint:gosec // G304: the bundle the user named.
	if err != nil {
		return bundleManifest{}, fmt.Errorf("reading the bundle manifest: %w", err)
	}
	defer func() { _ = f.Close() }()
	data, err := io.ReadAll(io.LimitReader(f, maxBundleManifestBytes+1))
	if err != nil {
		return bundleManifest{}, fmt.Errorf("reading the bundle manifest: %w", err)
	}
	if len(data) > maxBundleManifestBytes {
		return bundleManifest{}, fmt.Errorf("%s is larger than %d bytes", bundleManifestFile, maxBundleManifestBytes)
	}
	return parseBundleManifest(data)
}

// parseBundleManifest decodes a bundle manifest strictly and checks that it describes a range.
func parseBundleManifest(data []byte) (bundleManifest, error) {
	var m bundleManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("%s is not an audit bundle manifest: %w", bundleManifestFile, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return m, fmt.Errorf("%s is not an audit bundle manifest: data after the manifest object", bundleManifestFile)
	}
	bad := func(why string) (bundleManifest, error) {
		return m, fmt.Errorf("%s is not a valid audit bundle manifest: %s", bundleManifestFile, why)
	}
	switch {
	case m.APIVersion != bundleAPIVersion || m.Kind != bundleKind:
		return bad(fmt.Sprintf("want apiVersion %s and kind %s", bundleAPIVersion, bundleKind))
	case m.Entries != bundleEntriesFile:
		return bad(fmt.Sprintf("entries must be %s", bundleEntriesFile))
	case m.Anchor.Seq < 0 || m.Last > maxBundleSeq || m.First != m.Anchor.Seq+1 || m.Last < m.First:
		return bad("the anchor, first and last entries are not a range")
	case m.Anchor.Seq == 0 && m.Anchor.Hash != audit.GenesisHash:
		return bad("a range from the start of the log must be anchored at the genesis hash")
	case len(m.Release) == 0:
		return bad("it lists no entries of the release")
	}
	for i, r := range m.Release {
		if r.Seq < m.First || r.Seq > m.Last || (i > 0 && r.Seq <= m.Release[i-1].Seq) {
			return bad("the release entries are not in order within the range")
		}
	}
	for i, c := range m.Checkpoints {
		if c.Seq < m.First || c.Seq > m.Last || (i > 0 && c.Seq <= m.Checkpoints[i-1].Seq) {
			return bad("the checkpoints are not in order within the range")
		}
	}
	return m, nil
}

// verifyAuditBundle checks the bundle in dir (see verifyAuditBundleData). The error is for a
// bundle that cannot be read; a break is reported in the result.
func verifyAuditBundle(dir string) (audit.Result, error) {
	m, err := readBundleManifest(dir)
	if err != nil {
		return audit.Result{}, err
	}
	data, err := os.ReadFile(filepath.Join(dir, m.Entries)) //nolint:gosec // G304: a file of the bundle the user named.
	if err != nil {
		return audit.Result{}, fmt.Errorf("reading the bundle's entries: %w", err)
	}
	return verifyAuditBundleData(m, data), nil
}

// verifyAuditBundleData checks a bundle's entries against its manifest: they chain from the
// anchor, match the checkpoints, end where the manifest says, and the entries the manifest lists
// as the release's are there, unaltered, and concern that release.
func verifyAuditBundleData(m bundleManifest, data []byte) audit.Result {
	anchor := m.Anchor.checkpoint()
	cps := make([]audit.Checkpoint, len(m.Checkpoints))
	for i, c := range m.Checkpoints {
		cps[i] = c.checkpoint()
	}
	v := audit.NewVerifier(audit.VerifyOptions{Anchor: &anchor, Checkpoints: cps})
	want := map[int64]bundleRef{}
	for _, r := range m.Release {
		want[r.Seq] = r
	}
	var mismatch *audit.Result
	hashes := map[int64]string{m.Anchor.Seq: m.Anchor.Hash}
	atEnd, extra := false, false
	rest := data
	for n := 1; len(rest) > 0; n++ {
		var line []byte
		line, rest, _ = bytes.Cut(rest, []byte{'\n'})
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if atEnd {
			// The manifest says the bundle ends at the entry before; anything more is not part
			// of the record it describes.
			extra = true
			break
		}
		if !v.Line(line, fmt.Sprintf("%s line %d", m.Entries, n)) {
			break
		}
		e, err := audit.ParseLine(line)
		if err != nil {
			continue // the verifier has judged the line; a break, if any, shows in its result
		}
		hashes[e.Seq] = e.Hash
		atEnd = e.Seq == m.Last
		if mismatch != nil {
			continue
		}
		r, listed := want[e.Seq]
		if !listed {
			continue
		}
		delete(want, e.Seq)
		if e.Hash != r.Hash || !concernsRelease(e, m.Agreement, m.Request) {
			mismatch = &audit.Result{FirstBroken: e.Seq, Reason: fmt.Sprintf(
				"entry %d, which the manifest lists as part of the release, is not that entry or does not concern request %s of agreement %s",
				e.Seq, m.Request, m.Agreement)}
		}
	}
	v.ExpectEnd(m.Last, m.Entries)
	res := v.Result()
	if mismatch != nil && (res.OK || mismatch.FirstBroken < res.FirstBroken) {
		mismatch.Entries = mismatch.FirstBroken - m.First
		mismatch.Head = audit.Checkpoint{Seq: mismatch.FirstBroken - 1, Hash: hashes[mismatch.FirstBroken-1]}
		return *mismatch
	}
	if !res.OK {
		return res
	}
	if extra {
		return audit.Result{FirstBroken: m.Last + 1, Entries: m.Last - m.First + 1, Head: audit.Checkpoint{Seq: m.Last, Hash: hashes[m.Last]},
			Reason: fmt.Sprintf("%s holds more after entry %d, where the manifest says the bundle ends", m.Entries, m.Last)}
	}
	if len(want) > 0 {
		missing := make([]int64, 0, len(want))
		for s := range want {
			missing = append(missing, s)
		}
		slices.Sort(missing)
		return audit.Result{FirstBroken: missing[0], Entries: missing[0] - m.First, Reason: fmt.Sprintf(
			"entry %d, which the manifest lists as part of the release, is not in %s", missing[0], m.Entries)}
	}
	return res
}
