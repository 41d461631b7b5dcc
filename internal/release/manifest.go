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

// Package release defines the release manifest: the record written to the egress bucket beside
// the files of each release, saying what was released, from which agreement and workspace, to
// whom, after which checks and reviews, under which policy, and which audit entry records it. The
// output controller writes manifests; the public register and auditors read them.
package release

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode"

	"k8s.io/apimachinery/pkg/util/validation"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Identification of a manifest document.
const (
	// APIVersion is the manifest's apiVersion.
	APIVersion = "fivesafes.io/v1alpha1"
	// Kind is the manifest's kind.
	Kind = "ReleaseManifest"
	// ManifestName is the manifest's object name under a release prefix.
	ManifestName = "manifest.json"
	// MaxBytes is the largest manifest Decode reads.
	MaxBytes = 1 << 20
	// MaxFiles is the most files one release may hold, as for an OutputRequest.
	MaxFiles = 100
)

// Manifest records one release.
type Manifest struct {
	// APIVersion is always APIVersion.
	APIVersion string `json:"apiVersion"`
	// Kind is always Kind.
	Kind string `json:"kind"`
	// Agreement is the DataAccessAgreement's name.
	Agreement string `json:"agreement"`
	// Reference is the agreement's register reference, e.g. NIC-38002-S3K0V.
	Reference string `json:"reference,omitempty"`
	// Namespace is the workspace namespace the files came from.
	Namespace string `json:"namespace"`
	// Request is the OutputRequest's name.
	Request string `json:"request"`
	// Requester is the user name of the researcher who asked for the release.
	Requester string `json:"requester"`
	// Files are the released files.
	Files []File `json:"files"`
	// Checks summarises the automatic checks of the files.
	Checks CheckSummary `json:"checks"`
	// Reviewers are the output checkers whose approvals counted.
	Reviewers []Reviewer `json:"reviewers"`
	// PolicyDigest identifies the egress policy revision the files were checked against.
	PolicyDigest fivesafesv1alpha1.Digest `json:"policyDigest"`
	// ContentDigest is the request's content digest that the reviewers approved.
	ContentDigest fivesafesv1alpha1.Digest `json:"contentDigest"`
	// AuditSequence is the sequence number of the audit entry that records the release (the
	// intention written before the files were copied).
	AuditSequence int64 `json:"auditSequence"`
	// ReleasedAt is when the release was made, in UTC.
	ReleasedAt time.Time `json:"releasedAt"`
}

// File is one released file.
type File struct {
	// Path is the file's path under outputs/ in the workspace, and under the release prefix in
	// the egress bucket.
	Path string `json:"path"`
	// Kind is what the researcher said the file is.
	Kind fivesafesv1alpha1.OutputKind `json:"kind,omitempty"`
	// SHA256 is the digest of the released bytes.
	SHA256 fivesafesv1alpha1.Digest `json:"sha256"`
	// Size is the file's size in bytes.
	Size int64 `json:"size"`
	// Type is the type detected from the content.
	Type string `json:"type"`
	// Outcome is the file's automatic check outcome: pass, or review (released after review).
	Outcome fivesafesv1alpha1.CheckOutcome `json:"outcome"`
}

// CheckSummary counts the files' check outcomes.
type CheckSummary struct {
	// Outcome is the worst outcome among the files.
	Outcome fivesafesv1alpha1.CheckOutcome `json:"outcome"`
	// Pass is the number of files that passed.
	Pass int `json:"pass"`
	// Review is the number of files that needed review.
	Review int `json:"review"`
	// Fail is the number of files that failed; always zero in a release.
	Fail int `json:"fail"`
	// Findings is the number of findings across all files.
	Findings int `json:"findings"`
}

// Reviewer is one counted review.
type Reviewer struct {
	// Username is the output checker's user name.
	Username string `json:"username"`
	// Review is the OutputReview's name.
	Review string `json:"review"`
	// Decision is the review's decision; Approve for a counted approval.
	Decision fivesafesv1alpha1.ReviewDecision `json:"decision"`
}

// Prefix is where a release's files and manifest live in the egress bucket:
// releases/<agreement>/<request>/. An agreement has one workspace namespace, so the pair is
// unique.
func Prefix(agreement, request string) string {
	return "releases/" + agreement + "/" + request + "/"
}

var (
	digestRE = regexp.MustCompile(`^sha256:[a-f0-9]{64}$`)
	pathRE   = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._/-]*$`)
)

// ErrInvalid is wrapped by every validation error.
var ErrInvalid = errors.New("invalid release manifest")

// Validate checks the manifest. Errors name fields, never their values.
func (m *Manifest) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if m.APIVersion != APIVersion || m.Kind != Kind {
		bad("apiVersion/kind", "must be %s %s", APIVersion, Kind)
	}
	if msgs := validation.IsDNS1123Subdomain(m.Agreement); len(msgs) > 0 {
		bad("agreement", "must be a Kubernetes object name")
	}
	if len(m.Reference) > 64 || hasControl(m.Reference) {
		bad("reference", "must be at most 64 printable characters")
	}
	if msgs := validation.IsDNS1123Label(m.Namespace); len(msgs) > 0 {
		bad("namespace", "must be a Kubernetes namespace name")
	}
	if msgs := validation.IsDNS1123Subdomain(m.Request); len(msgs) > 0 {
		bad("request", "must be a Kubernetes object name")
	}
	if m.Requester == "" || len(m.Requester) > 253 || hasControl(m.Requester) {
		bad("requester", "must be 1 to 253 printable characters")
	}
	if len(m.Files) == 0 || len(m.Files) > MaxFiles {
		bad("files", "must hold 1 to %d files", MaxFiles)
	}
	seen := map[string]bool{}
	var pass, review, fail int
	for i, f := range m.Files {
		field := fmt.Sprintf("files[%d]", i)
		if !localPath(f.Path) {
			bad(field+".path", "must be a local path of letters, digits, '.', '_', '-' and '/', at most 512 characters")
		} else if seen[f.Path] {
			bad(field+".path", "repeats an earlier file")
		}
		seen[f.Path] = true
		switch f.Kind {
		case "", fivesafesv1alpha1.OutputTable, fivesafesv1alpha1.OutputFigure, fivesafesv1alpha1.OutputCode, fivesafesv1alpha1.OutputText:
		default:
			bad(field+".kind", "must be Table, Figure, Code or Text")
		}
		if !digestRE.MatchString(string(f.SHA256)) {
			bad(field+".sha256", "must be sha256: and 64 lower-case hex characters")
		}
		if f.Size < 0 {
			bad(field+".size", "must not be negative")
		}
		if f.Type == "" || len(f.Type) > 64 || hasControl(f.Type) {
			bad(field+".type", "must be 1 to 64 printable characters")
		}
		switch f.Outcome {
		case fivesafesv1alpha1.OutcomePass:
			pass++
		case fivesafesv1alpha1.OutcomeReview:
			review++
		case fivesafesv1alpha1.OutcomeFail:
			fail++
			bad(field+".outcome", "a file that failed its checks is never released")
		default:
			bad(field+".outcome", "must be pass or review")
		}
	}
	c := m.Checks
	if c.Pass != pass || c.Review != review || c.Fail != fail {
		bad("checks", "counts do not match the files' outcomes")
	}
	if c.Findings < 0 {
		bad("checks.findings", "must not be negative")
	}
	worst := fivesafesv1alpha1.OutcomePass
	if review > 0 {
		worst = fivesafesv1alpha1.OutcomeReview
	}
	if fail > 0 {
		worst = fivesafesv1alpha1.OutcomeFail
	}
	if len(m.Files) > 0 && c.Outcome != worst {
		bad("checks.outcome", "must be the worst of the files' outcomes")
	}
	if len(m.Reviewers) == 0 {
		bad("reviewers", "a release needs at least one counted review")
	}
	who := map[string]bool{}
	for i, r := range m.Reviewers {
		field := fmt.Sprintf("reviewers[%d]", i)
		if r.Username == "" || len(r.Username) > 253 || hasControl(r.Username) {
			bad(field+".username", "must be 1 to 253 printable characters")
		}
		if r.Username == m.Requester {
			bad(field+".username", "the requester cannot review their own release")
		}
		if who[r.Username] {
			bad(field+".username", "each reviewer counts once")
		}
		who[r.Username] = true
		if msgs := validation.IsDNS1123Subdomain(r.Review); len(msgs) > 0 {
			bad(field+".review", "must be a Kubernetes object name")
		}
		if r.Decision != fivesafesv1alpha1.ReviewApprove {
			bad(field+".decision", "must be Approve")
		}
	}
	if !digestRE.MatchString(string(m.PolicyDigest)) {
		bad("policyDigest", "must be sha256: and 64 lower-case hex characters")
	}
	if !digestRE.MatchString(string(m.ContentDigest)) {
		bad("contentDigest", "must be sha256: and 64 lower-case hex characters")
	}
	if m.AuditSequence < 1 {
		bad("auditSequence", "must be a sequence number (1 or more)")
	}
	if m.ReleasedAt.IsZero() {
		bad("releasedAt", "is required")
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrInvalid, errors.Join(errs...))
	}
	return nil
}

func localPath(p string) bool {
	if len(p) == 0 || len(p) > 512 || !pathRE.MatchString(p) {
		return false
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || r == unicode.ReplacementChar }) >= 0
}

// Encode validates m and returns its document: indented JSON with a final newline, times in
// UTC. The same manifest always encodes to the same bytes.
func Encode(m *Manifest) ([]byte, error) {
	c := *m
	c.ReleasedAt = c.ReleasedAt.UTC()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b, err := json.MarshalIndent(&c, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding release manifest: %w", err)
	}
	return append(b, '\n'), nil
}

// Decode reads and validates one manifest document. Unknown fields, trailing data and documents
// over MaxBytes are refused.
func Decode(data []byte) (*Manifest, error) {
	if len(data) > MaxBytes {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrInvalid, MaxBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the manifest", ErrInvalid)
	}
	m.ReleasedAt = m.ReleasedAt.UTC()
	if err := m.Validate(); err != nil {
		return nil, err
	}
	return &m, nil
}

// IsManifest reports whether data is a JSON document of the manifest's apiVersion and kind,
// without validating the rest.
func IsManifest(data []byte) bool {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	return json.Unmarshal(data, &head) == nil && head.APIVersion == APIVersion && head.Kind == Kind
}

// Digest returns the digest of an encoded manifest, as recorded in the OutputRequest's
// status.release.manifestSHA256 and in the audit log.
func Digest(data []byte) fivesafesv1alpha1.Digest {
	sum := sha256.Sum256(data)
	return fivesafesv1alpha1.Digest("sha256:" + hex.EncodeToString(sum[:]))
}
