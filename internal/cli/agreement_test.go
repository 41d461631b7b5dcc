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
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Files of the repository the tests read.
var (
	sampleAgreement  = filepath.Join("..", "..", "config", "samples", "fivesafes_v1alpha1_dataaccessagreement.yaml")
	sampleApprovals  = filepath.Join("..", "..", "config", "samples", "approvals", "fivesafes_v1alpha1_agreementapprovals.yaml")
	samplesDir       = filepath.Join("..", "..", "config", "samples")
	endBeforeStart   = filepath.Join("..", "..", "api", "v1alpha1", "testdata", "end-before-start.yaml")
	registerFixture  = filepath.Join("..", "..", "internal", "register", "testdata", "cambridge-peterborough")
	sampleDigestLine = regexp.MustCompile(`specDigest: (sha256:[0-9a-f]{64})`)
)

// validateReport is the documented JSON shape of one file's verdict.
type validateReport struct {
	File       string `json:"file"`
	Valid      *bool  `json:"valid"`
	Violations []struct {
		Field   string `json:"field"`
		Rule    string `json:"rule"`
		Message string `json:"message"`
	} `json:"violations"`
}

func decodeStrict(t *testing.T, data string, v any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("decoding %q: %v", data, err)
	}
}

func TestAgreementValidateJSON(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		code       int
		valid      bool
		wantFields []string
	}{
		{"valid sample", []string{sampleAgreement}, ExitOK, true, nil},
		{"valid sample with catalogue", []string{sampleAgreement, "--catalogue", samplesDir}, ExitOK, true, nil},
		{"end before start", []string{endBeforeStart}, ExitFindings, false, []string{"spec.validity", "spec.validity.end"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _ := mustExec(t, tc.code, append([]string{"agreement", "validate", "--format", "json"}, tc.args...)...)
			var r validateReport
			decodeStrict(t, stdout, &r)
			if r.Valid == nil || *r.Valid != tc.valid || r.Violations == nil || r.File != tc.args[0] {
				t.Fatalf("report = %s", stdout)
			}
			var fields []string
			for _, v := range r.Violations {
				if v.Rule == "" || v.Message == "" {
					t.Errorf("violation without rule or message: %+v", v)
				}
				fields = append(fields, v.Field)
			}
			if strings.Join(fields, ",") != strings.Join(tc.wantFields, ",") {
				t.Errorf("violations on fields %v, want %v", fields, tc.wantFields)
			}
		})
	}
}

func TestAgreementValidateSeveral(t *testing.T) {
	stdout, _ := mustExec(t, ExitFindings, "agreement", "validate", "--format", "json", sampleAgreement, endBeforeStart)
	var rs []validateReport
	decodeStrict(t, stdout, &rs)
	if len(rs) != 2 || !*rs[0].Valid || *rs[1].Valid {
		t.Fatalf("reports = %s", stdout)
	}

	text, _ := mustExec(t, ExitFindings, "agreement", "validate", sampleAgreement, endBeforeStart)
	for _, want := range []string{
		sampleAgreement + ": valid\n",
		endBeforeStart + ": invalid, 2 violations\n",
		"  spec.validity.end: ",
		"[agreement.validity-order]",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q:\n%s", want, text)
		}
	}
}

func TestAgreementValidateUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{}, "requires at least 1 arg"},
		{"missing file", []string{"no-such-agreement.yaml"}, "no-such-agreement.yaml"},
		{"unknown format", []string{"--format", "yaml", sampleAgreement}, `unknown --format "yaml"`},
		{"missing catalogue", []string{"--catalogue", "no-such-dir", sampleAgreement}, "loading the catalogue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, stderr := mustExec(t, ExitUsage, append([]string{"agreement", "validate"}, tc.args...)...)
			if stdout != "" {
				t.Errorf("wrote reports although nothing was checked: %q", stdout)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", stderr, tc.want)
			}
		})
	}
}

// sampleDigest returns the digest the sample approvals name.
func sampleDigest(t *testing.T) fivesafesv1alpha1.Digest {
	t.Helper()
	data, err := os.ReadFile(sampleApprovals)
	if err != nil {
		t.Fatal(err)
	}
	ms := sampleDigestLine.FindAllStringSubmatch(string(data), -1)
	if len(ms) != 2 || ms[0][1] != ms[1][1] {
		t.Fatalf("want two approvals of one digest in %s, found %v", sampleApprovals, ms)
	}
	return fivesafesv1alpha1.Digest(ms[0][1])
}

func TestAgreementDigestMatchesSampleApprovals(t *testing.T) {
	stdout, _ := mustExec(t, ExitOK, "agreement", "digest", sampleAgreement)
	if got, want := strings.TrimSpace(stdout), string(sampleDigest(t)); got != want {
		t.Fatalf("digest = %s, want the digest the sample approvals name, %s", got, want)
	}
	if !strings.HasSuffix(stdout, "\n") || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("want the digest alone on one line, got %q", stdout)
	}
}

func TestAgreementDigestErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"no file", nil},
		{"two files", []string{sampleAgreement, sampleAgreement}},
		{"missing file", []string{"no-such-file.yaml"}},
		{"not an agreement", []string{sampleApprovals}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stdout, _ := mustExec(t, ExitUsage, append([]string{"agreement", "digest"}, tc.args...)...)
			if stdout != "" {
				t.Errorf("printed %q", stdout)
			}
		})
	}
}

func TestNewValidityView(t *testing.T) {
	v := fivesafesv1alpha1.Validity{Start: "2026-04-01", End: "2026-04-30"}
	at := func(s string) time.Time {
		t.Helper()
		x, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	for _, tc := range []struct {
		now         string
		state       string
		daysLeft    int
		daysToStart int
	}{
		{"2026-03-31T23:59:59Z", validityNotStarted, 31, 1},
		{"2026-03-01T00:00:00Z", validityNotStarted, 61, 31},
		{"2026-04-01T00:00:00Z", validityIn, 30, 0},
		{"2026-04-30T00:00:00Z", validityIn, 1, 0},
		{"2026-04-30T23:59:59Z", validityIn, 1, 0},
		{"2026-04-29T12:00:00Z", validityIn, 2, 0},
		{"2026-05-01T00:00:00Z", validityEnded, 0, 0},
		{"2027-01-01T00:00:00Z", validityEnded, 0, 0},
	} {
		t.Run(tc.now, func(t *testing.T) {
			got, err := newValidityView(v, at(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if got.State != tc.state || got.DaysLeft != tc.daysLeft || got.DaysToStart != tc.daysToStart {
				t.Fatalf("got %s, %d days left, %d to start; want %s, %d, %d", got.State, got.DaysLeft, got.DaysToStart, tc.state, tc.daysLeft, tc.daysToStart)
			}
			if !got.EndsAt.Equal(at("2026-05-01T00:00:00Z")) {
				t.Fatalf("ends at %s, want 24:00 UTC on the end date", got.EndsAt)
			}
		})
	}
	if _, err := newValidityView(fivesafesv1alpha1.Validity{Start: "2026-04-01", End: "30/04/2026"}, at("2026-04-01T00:00:00Z")); err == nil {
		t.Fatal("a malformed end date was accepted")
	}
}

func TestQuorumOf(t *testing.T) {
	cond := func(typ, msg string) metav1.Condition { return metav1.Condition{Type: typ, Message: msg} }
	for _, tc := range []struct {
		name  string
		conds []metav1.Condition
		want  int
	}{
		{"none", nil, 2},
		{"stated", []metav1.Condition{cond("Valid", "3 of 9 required"), cond("Approved", "1 of 3 required committee approvals of the current digest")}, 3},
		{"rejected", []metav1.Condition{cond("Approved", "alice rejected the current digest")}, 2},
		{"zero quorum", []metav1.Condition{cond("Approved", "0 of 0 required committee approvals")}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quorumOf(tc.conds, 2); got != tc.want {
				t.Fatalf("quorum = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{
		{"agreement"}, {"agreement", "validate"}, {"agreement", "digest"}, {"agreement", "approve"}, {"agreement", "status"},
		{"synth"}, {"audit"}, {"audit", "verify"}, {"audit", "log"}, {"audit", "export"}, {"register"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			stdout, _ := mustExec(t, ExitOK, append(args, "--help")...)
			if !strings.Contains(stdout, "Example:") || !strings.Contains(stdout, "Usage:") {
				t.Fatalf("help lacks an example or usage:\n%s", stdout)
			}
		})
	}
}
