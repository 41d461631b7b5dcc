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

package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// GenesisHash is the Prev of the first entry in a chain.
const GenesisHash = "sha256:0000000000000000000000000000000000000000000000000000000000000000"

// TimeFormat is the layout of an entry's time in its canonical encoding. Times are in UTC.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// MaxLineBytes is the longest encoded entry the log writes or reads.
const MaxLineBytes = 64 << 10

// Action names what an entry records. The constants below are the actions Fivesafes records;
// any value matching ^[a-z][a-z0-9.-]{0,63}$ is accepted so that new actions need no change here.
type Action string

// Actions recorded by Fivesafes.
const (
	// ActionAgreementValidate records a governance check of an agreement's spec (details: spec
	// and policy digests, violation count).
	ActionAgreementValidate Action = "agreement.validate"
	// ActionAgreementApprove records a committee member's decision on an agreement digest and
	// whether it counted.
	ActionAgreementApprove Action = "agreement.approve"
	// ActionPhaseChange records a change of an object's phase (details: from, to).
	ActionPhaseChange Action = "phase.change"
	// ActionWorkspaceProvision records the setting made for an agreement: namespace, network,
	// storage and key.
	ActionWorkspaceProvision Action = "workspace.provision"
	// ActionWorkspaceTeardown records the destruction of a workspace's namespace, buckets and
	// storage user.
	ActionWorkspaceTeardown Action = "workspace.teardown"
	// ActionKeyDestroy records the deletion of an agreement's pseudonymisation key
	// (crypto-shredding).
	ActionKeyDestroy Action = "key.destroy"
	// ActionDatasetExtract records a dataset copied into a workspace (details: row counts,
	// opt-out snapshot digest, key version, object digests).
	ActionDatasetExtract Action = "dataset.extract"
	// ActionOutputCheck records the automatic checks of an output request (details: per-file
	// outcomes and digests, policy digest).
	ActionOutputCheck Action = "output.check"
	// ActionOutputReview records an output checker's decision on a content digest.
	ActionOutputReview Action = "output.review"
	// ActionOutputRelease records files copied to the egress bucket (details: manifest digest,
	// content digest, file count).
	ActionOutputRelease Action = "output.release"
	// ActionDownloadURL records a time-limited download URL issued for released files.
	ActionDownloadURL Action = "output.download-url"
	// ActionReviewCopy records time-limited URLs of a checked snapshot issued to output checkers.
	ActionReviewCopy Action = "output.review-copy"
	// ActionWorkspaceSuspend records a workspace suspended: researchers' access cut, work stopped,
	// storage credentials disabled (details: why, when its data will be destroyed).
	ActionWorkspaceSuspend Action = "workspace.suspend"
	// ActionWorkspaceResume records a suspended workspace made active again.
	ActionWorkspaceResume Action = "workspace.resume"
	// ActionOutputWithdraw records an output request withdrawn by its researchers.
	ActionOutputWithdraw Action = "output.withdraw"
)

// Actions lists the actions Fivesafes records, for help texts and filters.
func Actions() []Action {
	return []Action{
		ActionAgreementValidate, ActionAgreementApprove, ActionPhaseChange,
		ActionWorkspaceProvision, ActionWorkspaceTeardown, ActionKeyDestroy,
		ActionDatasetExtract, ActionOutputCheck, ActionOutputReview, ActionOutputRelease,
		ActionDownloadURL, ActionReviewCopy, ActionWorkspaceSuspend, ActionWorkspaceResume, ActionOutputWithdraw,
	}
}

// Stage says whether an entry records something that happened, or one half of an action recorded
// in two steps.
type Stage string

// Stages.
const (
	// StageRecorded is a single record of something that happened or was observed.
	StageRecorded Stage = "recorded"
	// StageIntended says the action is about to be taken. It is durable before the action.
	StageIntended Stage = "intended"
	// StageDone says an intended action was taken; Intent names the intention.
	StageDone Stage = "done"
	// StageFailed says an intended action was not taken or failed; Intent names the intention.
	StageFailed Stage = "failed"
)

// ObjectRef names the object an entry is about.
type ObjectRef struct {
	// Kind is the object's kind, e.g. DataAccessAgreement or OutputRequest.
	Kind string `json:"kind"`
	// Namespace is the object's namespace; empty for cluster-scoped objects.
	Namespace string `json:"namespace,omitempty"`
	// Name is the object's name.
	Name string `json:"name"`
}

// Entry is one record in the audit log.
type Entry struct {
	// Seq is the entry's position in the chain, starting at 1.
	Seq int64
	// Time is when the entry was written, in UTC. Times never go backwards along the chain.
	Time time.Time
	// Actor is who acted: a user name, or the controller's service account.
	Actor string
	// Action is what was done.
	Action Action
	// Object is what it was done to.
	Object ObjectRef
	// Decision is the outcome in a word, e.g. Approve, pass, Released; may be empty.
	Decision string
	// Details are digests, counts and names that support the record; never identifier values.
	// Numbers read back from storage are json.Number.
	Details map[string]any
	// Stage says whether the entry records something done, or an intention and its outcome.
	Stage Stage
	// Intent is, for StageDone and StageFailed, the sequence number of the intention.
	Intent int64
	// IdempotencyKey, when set, makes a retried append return this entry instead of writing
	// another.
	IdempotencyKey string
	// Prev is the previous entry's Hash, or GenesisHash for the first entry.
	Prev string
	// Hash is "sha256:" and hex SHA-256 of the entry's canonical encoding.
	Hash string
}

// canonicalObject and canonicalEntry fix the member order of the canonical encoding: encoding/json
// writes struct fields in declaration order, which here is byte order of the keys.
type canonicalObject struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
}

type canonicalEntry struct {
	Action         Action          `json:"action"`
	Actor          string          `json:"actor"`
	Decision       string          `json:"decision,omitempty"`
	Details        map[string]any  `json:"details,omitempty"`
	IdempotencyKey string          `json:"idempotencyKey,omitempty"`
	Intent         int64           `json:"intent,omitempty"`
	Object         canonicalObject `json:"object"`
	Prev           string          `json:"prev"`
	Seq            int64           `json:"seq"`
	Stage          Stage           `json:"stage"`
	Time           string          `json:"time"`
}

// Canonical returns the entry's canonical encoding: the bytes its Hash is computed over.
func (e *Entry) Canonical() ([]byte, error) {
	c := canonicalEntry{
		Action:         e.Action,
		Actor:          e.Actor,
		Decision:       e.Decision,
		Details:        e.Details,
		IdempotencyKey: e.IdempotencyKey,
		Intent:         e.Intent,
		Object:         canonicalObject{Kind: e.Object.Kind, Name: e.Object.Name, Namespace: e.Object.Namespace},
		Prev:           e.Prev,
		Seq:            e.Seq,
		Stage:          e.Stage,
		Time:           e.Time.UTC().Format(TimeFormat),
	}
	if len(c.Details) == 0 {
		c.Details = nil
	}
	b, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("encoding audit entry %d: %w", e.Seq, err)
	}
	return b, nil
}

// ComputeHash returns the hash of the entry's canonical encoding. It ignores e.Hash.
func (e *Entry) ComputeHash() (string, error) {
	c, err := e.Canonical()
	if err != nil {
		return "", err
	}
	return digest(c), nil
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// hashSuffixLen is the length of `,"hash":"sha256:<64 hex>"}`.
const hashSuffixLen = len(`,"hash":"sha256:`) + 64 + len(`"}`)

// seal sets e.Hash from its canonical encoding and returns the stored line, without a newline.
func (e *Entry) seal() ([]byte, error) {
	c, err := e.Canonical()
	if err != nil {
		return nil, err
	}
	e.Hash = digest(c)
	line := make([]byte, 0, len(c)+hashSuffixLen-1)
	line = append(line, c[:len(c)-1]...)
	line = append(line, `,"hash":"`...)
	line = append(line, e.Hash...)
	line = append(line, `"}`...)
	return line, nil
}

// MarshalJSON writes the entry as its stored line: the canonical encoding with "hash" appended.
// An entry with no Hash gets the one its content has; an entry whose Hash does not match its
// content keeps the Hash it carries, so that an altered entry stays visibly altered.
func (e Entry) MarshalJSON() ([]byte, error) {
	c, err := e.Canonical()
	if err != nil {
		return nil, err
	}
	h := e.Hash
	if h == "" {
		h = digest(c)
	}
	q, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("encoding audit entry %d: %w", e.Seq, err)
	}
	line := make([]byte, 0, len(c)+len(`,"hash":`)+len(q))
	line = append(line, c[:len(c)-1]...)
	line = append(line, `,"hash":`...)
	line = append(line, q...)
	return append(line, '}'), nil
}

// wireEntry is the stored line's shape, for decoding.
type wireEntry struct {
	Action         Action          `json:"action"`
	Actor          string          `json:"actor"`
	Decision       string          `json:"decision"`
	Details        map[string]any  `json:"details"`
	IdempotencyKey string          `json:"idempotencyKey"`
	Intent         int64           `json:"intent"`
	Object         canonicalObject `json:"object"`
	Prev           string          `json:"prev"`
	Seq            int64           `json:"seq"`
	Stage          Stage           `json:"stage"`
	Time           string          `json:"time"`
	Hash           string          `json:"hash"`
}

// UnmarshalJSON reads a stored line. Numbers in Details are kept as json.Number so that they
// keep their exact value.
func (e *Entry) UnmarshalJSON(data []byte) error {
	var w wireEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		return fmt.Errorf("decoding audit entry: %w", err)
	}
	t, err := time.Parse(time.RFC3339Nano, w.Time)
	if err != nil {
		return fmt.Errorf("decoding audit entry %d: time: %w", w.Seq, err)
	}
	*e = Entry{
		Seq:            w.Seq,
		Time:           t.UTC(),
		Actor:          w.Actor,
		Action:         w.Action,
		Object:         ObjectRef{Kind: w.Object.Kind, Namespace: w.Object.Namespace, Name: w.Object.Name},
		Decision:       w.Decision,
		Details:        w.Details,
		Stage:          w.Stage,
		Intent:         w.Intent,
		IdempotencyKey: w.IdempotencyKey,
		Prev:           w.Prev,
		Hash:           w.Hash,
	}
	return nil
}

// Errors reading a stored line.
var (
	// ErrMalformed is returned for a line that is not a stored entry.
	ErrMalformed = errors.New("not an audit entry")
	// ErrHashMismatch is returned for a line whose hash does not match its content.
	ErrHashMismatch = errors.New("entry hash does not match its content")
)

// lineHash checks the shape of a stored line's final hash member and returns the hash it claims
// and the one its content has.
func lineHash(line []byte) (claimed, actual string, err error) {
	n := len(line)
	if n < hashSuffixLen+2 || line[0] != '{' {
		return "", "", fmt.Errorf("%w: too short or not an object", ErrMalformed)
	}
	suffix := line[n-hashSuffixLen:]
	if !bytes.HasPrefix(suffix, []byte(`,"hash":"sha256:`)) || !bytes.HasSuffix(suffix, []byte(`"}`)) {
		return "", "", fmt.Errorf("%w: no final hash member", ErrMalformed)
	}
	hexPart := suffix[len(`,"hash":"sha256:`) : len(suffix)-2]
	for _, c := range hexPart {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", "", fmt.Errorf("%w: hash is not lower-case hex", ErrMalformed)
		}
	}
	h := sha256.New()
	h.Write(line[:n-hashSuffixLen])
	h.Write([]byte{'}'})
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var buf [7 + 64]byte
	copy(buf[:], "sha256:")
	hex.Encode(buf[7:], sum[:])
	return "sha256:" + string(hexPart), string(buf[:]), nil
}

// chainFields are the members Verify needs; the rest of the line is covered by the hash.
type chainFields struct {
	Seq  int64  `json:"seq"`
	Prev string `json:"prev"`
	Hash string `json:"hash"`
}

// parseChain checks a line's hash and returns its chain fields. It does not decode details.
func parseChain(line []byte) (chainFields, error) {
	claimed, actual, err := lineHash(line)
	if err != nil {
		return chainFields{}, err
	}
	c, err := scanChain(line)
	if err != nil {
		return chainFields{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if c.Hash != claimed {
		return chainFields{}, fmt.Errorf("%w: hash member is not the last", ErrMalformed)
	}
	if c.Seq < 1 {
		return chainFields{}, fmt.Errorf("%w: sequence number below 1", ErrMalformed)
	}
	if claimed != actual {
		return c, ErrHashMismatch
	}
	return c, nil
}

// ParseLine decodes one stored line and checks that its hash matches its content. It does not
// check the entry's place in the chain; Verify does that.
func ParseLine(line []byte) (Entry, error) {
	line = bytes.TrimRight(line, "\r\n")
	if len(line) > MaxLineBytes {
		return Entry{}, fmt.Errorf("%w: line longer than %d bytes", ErrMalformed, MaxLineBytes)
	}
	if _, err := parseChain(line); err != nil {
		return Entry{}, err
	}
	var e Entry
	if err := e.UnmarshalJSON(line); err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return e, nil
}

// DetailAgreement is the details key that names the DataAccessAgreement an entry concerns, for
// entries about objects other than the agreement itself (workspaces, extracts, output requests).
// Writers set it so that auditors can select an agreement's entries.
const DetailAgreement = "agreement"

// Agreement returns the name of the DataAccessAgreement the entry concerns: the object itself when
// it is one, else the DetailAgreement detail; empty when neither says.
func (e Entry) Agreement() string {
	if e.Object.Kind == "DataAccessAgreement" {
		return e.Object.Name
	}
	if s, ok := e.Details[DetailAgreement].(string); ok {
		return s
	}
	return ""
}

// String gives the entry's position and action, for messages. It carries no detail values.
func (e Entry) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "#%d %s %s", e.Seq, e.Action, e.Stage)
	if e.Object.Namespace != "" {
		fmt.Fprintf(&b, " %s %s/%s", e.Object.Kind, e.Object.Namespace, e.Object.Name)
	} else {
		fmt.Fprintf(&b, " %s %s", e.Object.Kind, e.Object.Name)
	}
	return b.String()
}
