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
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 3, 1, 9, 30, 0, 0, time.UTC)

func TestCanonicalEncoding(t *testing.T) {
	e := Entry{
		Seq:    7,
		Time:   time.Date(2026, 3, 1, 10, 30, 0, 5, time.FixedZone("BST", 3600)),
		Actor:  "system:serviceaccount:fivesafes-system:manager",
		Action: ActionOutputRelease,
		Object: ObjectRef{Kind: "OutputRequest", Namespace: "ws-nic-38002", Name: "tables-<1>&"},
		Details: map[string]any{
			"manifest": "sha256:" + strings.Repeat("ab", 32),
			"files":    3,
			"byKind":   map[string]any{"Table": 2, "Figure": 1},
		},
		Stage: StageDone,
		Prev:  GenesisHash,
	}
	want := `{"action":"output.release","actor":"system:serviceaccount:fivesafes-system:manager",` +
		`"details":{"byKind":{"Figure":1,"Table":2},"files":3,"manifest":"sha256:` + strings.Repeat("ab", 32) + `"},` +
		`"object":{"kind":"OutputRequest","name":"tables-\u003c1\u003e\u0026","namespace":"ws-nic-38002"},` +
		`"prev":"` + GenesisHash + `","seq":7,"stage":"done","time":"2026-03-01T09:30:00.000000005Z"}`
	got, err := e.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("canonical encoding\n got %s\nwant %s", got, want)
	}
	sum := sha256.Sum256([]byte(want))
	wantHash := "sha256:" + hex.EncodeToString(sum[:])
	h, err := e.ComputeHash()
	if err != nil || h != wantHash {
		t.Fatalf("ComputeHash = %s, %v; want %s", h, err, wantHash)
	}

	// The stored line is the canonical encoding with the hash appended, and reads back equal.
	e.Hash = h
	line, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if wantLine := want[:len(want)-1] + `,"hash":"` + h + `"}`; string(line) != wantLine {
		t.Fatalf("stored line\n got %s\nwant %s", line, wantLine)
	}
	back, err := ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.Marshal(back)
	if err != nil || !bytes.Equal(again, line) {
		t.Fatalf("re-encoding a parsed line changed it:\n got %s\nwant %s (%v)", again, line, err)
	}
	if !back.Time.Equal(e.Time) || back.Time.Location() != time.UTC {
		t.Fatalf("time read back as %v, want %v in UTC", back.Time, e.Time)
	}
}

func TestMarshalKeepsAlteredHash(t *testing.T) {
	e := Entry{Seq: 1, Time: t0, Actor: "a", Action: ActionPhaseChange, Object: ObjectRef{Kind: "K", Name: "n"}, Stage: StageRecorded, Prev: GenesisHash}
	e.Hash = "sha256:" + strings.Repeat("0", 64)
	line, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParseLine(line); !errors.Is(err, ErrHashMismatch) {
		t.Fatalf("ParseLine of an entry with a wrong hash: err = %v, want ErrHashMismatch", err)
	}
}

func TestParseLineRejects(t *testing.T) {
	good := mustLine(t, Entry{Seq: 1, Time: t0, Actor: "a", Action: ActionPhaseChange, Object: ObjectRef{Kind: "K", Name: "n"}, Stage: StageRecorded, Prev: GenesisHash})
	tests := []struct {
		name string
		line string
		want error
	}{
		{"empty", "", ErrMalformed},
		{"not an object", `["a"]`, ErrMalformed},
		{"no hash", `{"seq":1}`, ErrMalformed},
		{"upper-case hash", strings.ToUpper(good[len(good)-66 : len(good)-2]), ErrMalformed},
		{"hash not last", strings.Replace(good, `{"action"`, `{"hash":"x","action"`, 1) + ` `, ErrMalformed},
		{"truncated", good[:len(good)-3], ErrMalformed},
		{"edited content", strings.Replace(good, `"actor":"a"`, `"actor":"b"`, 1), ErrHashMismatch},
		{"zero seq", strings.Replace(good, `"seq":1`, `"seq":0`, 1), ErrMalformed},
		{"invalid JSON before the hash", `{"seq":1 "x"` + good[len(good)-hashSuffixLen:], ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseLine([]byte(tt.line)); !errors.Is(err, tt.want) {
				t.Fatalf("ParseLine: err = %v, want %v", err, tt.want)
			}
		})
	}
	if _, err := ParseLine([]byte(good + "\r\n")); err != nil {
		t.Fatalf("ParseLine of a good line with CRLF: %v", err)
	}
}

func mustLine(t testing.TB, e Entry) string {
	t.Helper()
	line, err := e.seal()
	if err != nil {
		t.Fatal(err)
	}
	return string(line)
}

func TestCheckDetails(t *testing.T) {
	deep := map[string]any{"a": map[string]any{"b": map[string]any{"c": map[string]any{"d": map[string]any{"e": 1}}}}}
	tests := []struct {
		name    string
		details map[string]any
		ok      bool
	}{
		{"nil", nil, true},
		{"counts and digests", map[string]any{"rows": int64(1000), "optedOut": 3, "snapshot": "sha256:" + strings.Repeat("0f", 32), "keyVersion": int32(2)}, true},
		{"per-file outcomes", map[string]any{"files": []any{map[string]any{"path": "tables/a.csv", "outcome": "pass"}}}, true},
		{"string list", map[string]any{"reviewers": []string{"alice", "bob"}}, true},
		{"json number integer", map[string]any{"n": json.Number("12")}, true},
		{"bool", map[string]any{"counted": true}, true},
		{"nhs number", map[string]any{"note": "943 476 5919"}, false},
		{"nhs number in a list", map[string]any{"ids": []string{"ok", "9434765919"}}, false},
		{"invalid check digit is not an NHS number", map[string]any{"code": "9434765918"}, true},
		{"bare pseudonym", map[string]any{"p": strings.Repeat("a1", 32)}, false},
		{"float", map[string]any{"ratio": 0.5}, false},
		{"json number fraction", map[string]any{"n": json.Number("1.5")}, false},
		{"null", map[string]any{"x": nil}, false},
		{"struct", map[string]any{"x": struct{ A int }{1}}, false},
		{"pointer", map[string]any{"x": new(int)}, false},
		{"bad key", map[string]any{"has space": 1}, false},
		{"bad nested key", map[string]any{"m": map[string]any{"": 1}}, false},
		{"int keys", map[string]any{"m": map[int]int{1: 1}}, false},
		{"too deep", deep, false},
		{"control character", map[string]any{"s": "a\x00b"}, false},
		{"long string", map[string]any{"s": strings.Repeat("x", maxDetailString+1)}, false},
		{"too many items", map[string]any{"l": make([]int, maxDetailItems+1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkDetails(tt.details)
			if (err == nil) != tt.ok {
				t.Fatalf("checkDetails: err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v does not wrap ErrInvalid", err)
				}
				for _, v := range []string{"9434765919", "943 476 5919", strings.Repeat("a1", 32)} {
					if strings.Contains(err.Error(), v) {
						t.Fatalf("error %q carries the value it refused", err)
					}
				}
			}
		})
	}
}

func TestEntryInputValidate(t *testing.T) {
	ok := EntryInput{Actor: "alice", Action: ActionOutputReview, Object: ObjectRef{Kind: "OutputRequest", Namespace: "ws", Name: "r1"}}
	tests := []struct {
		name string
		mod  func(*EntryInput)
		ok   bool
	}{
		{"valid", func(*EntryInput) {}, true},
		{"custom action", func(in *EntryInput) { in.Action = "storage.rotate" }, true},
		{"no actor", func(in *EntryInput) { in.Actor = "" }, false},
		{"newline in actor", func(in *EntryInput) { in.Actor = "a\nb" }, false},
		{"upper-case action", func(in *EntryInput) { in.Action = "Output.Review" }, false},
		{"empty action", func(in *EntryInput) { in.Action = "" }, false},
		{"no kind", func(in *EntryInput) { in.Object.Kind = "" }, false},
		{"no name", func(in *EntryInput) { in.Object.Name = "" }, false},
		{"long name", func(in *EntryInput) { in.Object.Name = strings.Repeat("n", maxName+1) }, false},
		{"long decision", func(in *EntryInput) { in.Decision = strings.Repeat("d", maxDecision+1) }, false},
		{"long key", func(in *EntryInput) { in.IdempotencyKey = strings.Repeat("k", maxIdemKey+1) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := ok
			tt.mod(&in)
			if err := in.validate(); (err == nil) != tt.ok {
				t.Fatalf("validate: err = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestEntryStringCarriesNoDetails(t *testing.T) {
	e := Entry{Seq: 3, Action: ActionDatasetExtract, Stage: StageDone, Object: ObjectRef{Kind: "DatasetExtract", Namespace: "ws", Name: "hes"},
		Details: map[string]any{"rows": 12345}}
	if got, want := e.String(), "#3 dataset.extract done DatasetExtract ws/hes"; got != want {
		t.Fatalf("String() = %q, want %q", got, want)
	}
}

func TestAgreement(t *testing.T) {
	tests := []struct {
		e    Entry
		want string
	}{
		{Entry{Object: ObjectRef{Kind: "DataAccessAgreement", Name: "nic-1"}}, "nic-1"},
		{Entry{Object: ObjectRef{Kind: "OutputRequest", Namespace: "ws", Name: "r"}, Details: map[string]any{DetailAgreement: "nic-2"}}, "nic-2"},
		{Entry{Object: ObjectRef{Kind: "OutputRequest", Namespace: "ws", Name: "r"}, Details: map[string]any{DetailAgreement: 3}}, ""},
		{Entry{Object: ObjectRef{Kind: "Workspace", Name: "w"}}, ""},
	}
	for _, tt := range tests {
		if got := tt.e.Agreement(); got != tt.want {
			t.Errorf("Agreement() of %s = %q, want %q", tt.e, got, tt.want)
		}
	}
}

func TestActionsAreValid(t *testing.T) {
	for _, a := range Actions() {
		if !actionRE.MatchString(string(a)) {
			t.Errorf("action %q does not match %s", a, actionRE)
		}
	}
}
