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

package release

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

func digest(c string) fivesafesv1alpha1.Digest {
	return fivesafesv1alpha1.Digest("sha256:" + strings.Repeat(c, 64))
}

func sample() *Manifest {
	return &Manifest{
		APIVersion: APIVersion,
		Kind:       Kind,
		Agreement:  "nic-38002-s3k0v",
		Reference:  "NIC-38002-S3K0V",
		Namespace:  "ws-nic-38002-s3k0v",
		Request:    "admissions-2017",
		Requester:  "researcher@example.org",
		Files: []File{
			{Path: "tables/admissions.csv", Kind: fivesafesv1alpha1.OutputTable, SHA256: digest("a"), Size: 2048, Type: "text/csv", Outcome: fivesafesv1alpha1.OutcomePass},
			{Path: "figures/trend.png", Kind: fivesafesv1alpha1.OutputFigure, SHA256: digest("b"), Size: 40960, Type: "image/png", Outcome: fivesafesv1alpha1.OutcomeReview},
		},
		Checks:        CheckSummary{Outcome: fivesafesv1alpha1.OutcomeReview, Pass: 1, Review: 1, Findings: 2},
		Reviewers:     []Reviewer{{Username: "checker-1", Review: "r1", Decision: fivesafesv1alpha1.ReviewApprove}, {Username: "checker-2", Review: "r2", Decision: fivesafesv1alpha1.ReviewApprove}},
		PolicyDigest:  digest("c"),
		ContentDigest: digest("d"),
		AuditSequence: 42,
		ReleasedAt:    time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC),
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		mod   func(m *Manifest)
		field string // expected in the error; empty for valid
	}{
		{"valid", func(*Manifest) {}, ""},
		{"no reference", func(m *Manifest) { m.Reference = "" }, ""},
		{"wrong kind", func(m *Manifest) { m.Kind = "OutputRequest" }, "apiVersion/kind"},
		{"bad agreement", func(m *Manifest) { m.Agreement = "Not_A_Name" }, "agreement"},
		{"bad namespace", func(m *Manifest) { m.Namespace = "a.b" }, "namespace"},
		{"no request", func(m *Manifest) { m.Request = "" }, "request"},
		{"no requester", func(m *Manifest) { m.Requester = "" }, "requester"},
		{"no files", func(m *Manifest) { m.Files = nil; m.Checks = CheckSummary{} }, "files"},
		{"absolute path", func(m *Manifest) { m.Files[0].Path = "/etc/passwd" }, "files[0].path"},
		{"parent path", func(m *Manifest) { m.Files[0].Path = "tables/../../secret" }, "files[0].path"},
		{"empty segment", func(m *Manifest) { m.Files[0].Path = "tables//a.csv" }, "files[0].path"},
		{"repeated path", func(m *Manifest) { m.Files[1].Path = m.Files[0].Path }, "files[1].path"},
		{"bad kind", func(m *Manifest) { m.Files[0].Kind = "Archive" }, "files[0].kind"},
		{"upper-case digest", func(m *Manifest) { m.Files[0].SHA256 = fivesafesv1alpha1.Digest(strings.ToUpper(string(digest("a")))) }, "files[0].sha256"},
		{"negative size", func(m *Manifest) { m.Files[0].Size = -1 }, "files[0].size"},
		{"no type", func(m *Manifest) { m.Files[0].Type = "" }, "files[0].type"},
		{"failed file", func(m *Manifest) {
			m.Files[0].Outcome = fivesafesv1alpha1.OutcomeFail
			m.Checks = CheckSummary{Outcome: fivesafesv1alpha1.OutcomeFail, Review: 1, Fail: 1}
		}, "files[0].outcome"},
		{"counts disagree", func(m *Manifest) { m.Checks.Pass = 2 }, "checks"},
		{"outcome not the worst", func(m *Manifest) { m.Checks.Outcome = fivesafesv1alpha1.OutcomePass }, "checks.outcome"},
		{"no reviewers", func(m *Manifest) { m.Reviewers = nil }, "reviewers"},
		{"requester reviews", func(m *Manifest) { m.Reviewers[1].Username = m.Requester }, "reviewers[1].username"},
		{"reviewer twice", func(m *Manifest) { m.Reviewers[1].Username = m.Reviewers[0].Username }, "reviewers[1].username"},
		{"review not approval", func(m *Manifest) { m.Reviewers[0].Decision = fivesafesv1alpha1.ReviewReject }, "reviewers[0].decision"},
		{"no policy digest", func(m *Manifest) { m.PolicyDigest = "" }, "policyDigest"},
		{"bad content digest", func(m *Manifest) { m.ContentDigest = "md5:abc" }, "contentDigest"},
		{"no audit sequence", func(m *Manifest) { m.AuditSequence = 0 }, "auditSequence"},
		{"no release time", func(m *Manifest) { m.ReleasedAt = time.Time{} }, "releasedAt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := sample()
			tt.mod(m)
			err := m.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tt.field+":") {
				t.Fatalf("Validate: err = %v, want one naming %s", err, tt.field)
			}
		})
	}
}

func TestEncodeDecode(t *testing.T) {
	m := sample()
	m.ReleasedAt = m.ReleasedAt.In(time.FixedZone("BST", 3600))
	data, err := Encode(m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(`"releasedAt": "2026-03-01T09:30:00Z"`)) || !bytes.HasSuffix(data, []byte("}\n")) {
		t.Fatalf("encoded manifest:\n%s", data)
	}
	again, err := Encode(m)
	if err != nil || !bytes.Equal(again, data) {
		t.Fatal("encoding is not stable")
	}
	back, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	round, err := Encode(back)
	if err != nil || !bytes.Equal(round, data) {
		t.Fatalf("round trip changed the manifest:\n%s\n%s", round, data)
	}
	if !IsManifest(data) || IsManifest([]byte(`{"apiVersion":"fivesafes.io/v1alpha1","kind":"OutputRequest"}`)) || IsManifest([]byte("not json")) {
		t.Fatal("IsManifest misjudged a document")
	}
	if d := Digest(data); !strings.HasPrefix(string(d), "sha256:") || len(d) != 71 || Digest(data) != d {
		t.Fatalf("Digest = %s", d)
	}
	if got := Prefix("nic-38002-s3k0v", "admissions-2017"); got != "releases/nic-38002-s3k0v/admissions-2017/" {
		t.Fatalf("Prefix = %s", got)
	}
	bad := sample()
	bad.AuditSequence = 0
	if _, err := Encode(bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Encode of an invalid manifest: err = %v", err)
	}
}

func TestDecodeRejects(t *testing.T) {
	good, err := Encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string][]byte{
		"unknown field": bytes.Replace(good, []byte(`"kind"`), []byte(`"extra": 1, "kind"`), 1),
		"trailing data": append(bytes.Clone(good), []byte(`{}`)...),
		"two documents": append(bytes.Clone(good), good...),
		"too large":     append(bytes.Clone(good), bytes.Repeat([]byte(" "), MaxBytes)...),
		"not JSON":      []byte("apiVersion: fivesafes.io/v1alpha1"),
		"empty":         nil,
		"invalid":       bytes.Replace(good, []byte(`"auditSequence": 42`), []byte(`"auditSequence": 0`), 1),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := Decode(data); !errors.Is(err, ErrInvalid) {
				t.Fatalf("Decode: err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestErrorsCarryNoValues(t *testing.T) {
	m := sample()
	m.Files[0].Path = "../9434765919.csv"
	m.Requester = "9434765919\n"
	err := m.Validate()
	if err == nil || strings.Contains(err.Error(), "9434765919") {
		t.Fatalf("Validate: err = %v", err)
	}
}

// FuzzDecode feeds arbitrary documents to Decode: it must not panic, and whatever it accepts
// must encode and decode again to the same bytes.
func FuzzDecode(f *testing.F) {
	good, _ := Encode(sample())
	f.Add(good)
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"apiVersion":"fivesafes.io/v1alpha1","kind":"ReleaseManifest","files":[{"path":"../x"}]}`))
	f.Add(bytes.Replace(good, []byte(`"size": 2048`), []byte(`"size": 1e400`), 1))
	f.Add(bytes.Replace(good, []byte(`2026-03-01T09:30:00Z`), []byte(`2026-03-01T09:30:00+14:00`), 1))
	f.Add(bytes.Replace(good, []byte(`tables/admissions.csv`), []byte(`tables/\u0000.csv`), 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(data)
		if err != nil {
			return
		}
		enc, err := Encode(m)
		if err != nil {
			t.Fatalf("accepted manifest does not encode: %v", err)
		}
		m2, err := Decode(enc)
		if err != nil {
			t.Fatalf("encoded manifest does not decode: %v", err)
		}
		enc2, _ := Encode(m2)
		if !bytes.Equal(enc, enc2) {
			t.Fatal("encoding is not stable across a round trip")
		}
	})
}
