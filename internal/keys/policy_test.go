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

package keys

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The workspace policy is exactly these three paths with update, and nothing else.
func TestWorkspacePolicyText(t *testing.T) {
	got, err := WorkspacePolicy("transit", "nic-38002-s3k0v")
	if err != nil {
		t.Fatal(err)
	}
	want := `# Workspace confined to transit key "nic-38002-s3k0v" on "transit/".
# Compute pseudonyms (HMAC) with the key, at a pinned version and algorithm.
path "transit/hmac/nic-38002-s3k0v" {
  capabilities = ["update"]
}

path "transit/hmac/nic-38002-s3k0v/*" {
  capabilities = ["update"]
}

# Unwrap the agreement's wrapped data key; the key encrypts nothing else.
path "transit/decrypt/nic-38002-s3k0v" {
  capabilities = ["update"]
}
`
	if got != want {
		t.Fatalf("policy:\n%s\nwant:\n%s", got, want)
	}
}

// Names that could widen a path (globs, slashes, quotes, newlines) are refused.
func TestWorkspacePolicyRefusesBadNames(t *testing.T) {
	for _, tc := range []struct {
		mount, key string
		ok         bool
	}{
		{"transit", "nic-1", true},
		{"pseudonyms", "NIC.38002_s3k0v", true},
		{"transit", strings.Repeat("k", 128), true},
		{"transit", strings.Repeat("k", 129), false},
		{"transit", "", false},
		{"", "nic-1", false},
		{"transit", "*", false},
		{"transit", "nic-1*", false},
		{"transit", "nic+", false},
		{"transit", "nic/1", false},
		{"transit", "..", false},
		{"transit", "-nic", false},
		{"transit", "nic\"1", false},
		{"transit", "nic-1\npath \"sys/*\" { capabilities = [\"sudo\"] }", false},
		{"transit/x", "nic-1", false},
		{"trans*", "nic-1", false},
		{"transit", "nïc", false},
	} {
		t.Run(fmt.Sprintf("%q/%q", tc.mount, tc.key), func(t *testing.T) {
			_, err := WorkspacePolicy(tc.mount, tc.key)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
}

var pathLine = regexp.MustCompile(`^path "([^"]*)" \{$`)

func FuzzWorkspacePolicy(f *testing.F) {
	for _, s := range [][2]string{
		{"transit", "nic-1"}, {"transit", "*"}, {"transit", "a\"}\npath \"*\" {"}, {"t", "k/../../sys"},
		{"transit", "a+b"}, {"transit\x00", "k"}, {"transit", "k\u2028"}, {"", ""},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, mount, key string) {
		hcl, err := WorkspacePolicy(mount, key)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		want := []string{mount + "/hmac/" + key, mount + "/hmac/" + key + "/*", mount + "/decrypt/" + key}
		var paths []string
		for _, line := range strings.Split(hcl, "\n") {
			if m := pathLine.FindStringSubmatch(line); m != nil {
				paths = append(paths, m[1])
			} else if strings.Contains(line, "path") && !strings.HasPrefix(line, "#") {
				t.Fatalf("unexpected line %q", line)
			}
			if strings.Contains(line, "capabilities") && line != `  capabilities = ["update"]` {
				t.Fatalf("unexpected capabilities %q", line)
			}
		}
		if fmt.Sprint(paths) != fmt.Sprint(want) {
			t.Fatalf("paths %q, want %q", paths, want)
		}
		if strings.Count(hcl, "{") != 3 || strings.Count(hcl, "}") != 3 || strings.Count(hcl, "*") != 1 {
			t.Fatalf("policy has unexpected structure:\n%s", hcl)
		}
	})
}

// A token prints, formats and logs its accessor, never its ID.
func TestTokenRedaction(t *testing.T) {
	tok := Token{ID: "hvs.CAESIsecretsecretsecret", Accessor: "acc123", Expires: time.Now()}
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("Issued token", "token", tok)
	for _, s := range []string{
		fmt.Sprint(tok), fmt.Sprintf("%v", tok), fmt.Sprintf("%+v", tok), fmt.Sprintf("%#v", tok),
		fmt.Sprintf("%q", tok), fmt.Sprint([]Token{tok}), fmt.Sprintf("%v", &tok), logged.String(),
	} {
		if strings.Contains(s, tok.ID) {
			t.Errorf("token ID printed: %s", s)
		}
		if !strings.Contains(s, "acc123") {
			t.Errorf("accessor not printed: %s", s)
		}
	}
}

// Arguments are checked before any request.
func TestRefusesBadArguments(t *testing.T) {
	for _, name := range []string{"root", "default", "response-wrapping", "control-group", "Upper", "", "a b", "a/b", "a*"} {
		if err := checkPolicy(name); !errors.Is(err, ErrInvalid) {
			t.Errorf("policy name %q: got %v, want ErrInvalid", name, err)
		}
	}
	for _, acc := range []string{"", "a b", "a/b", "../x", strings.Repeat("a", 129)} {
		if err := checkAccessor(acc); !errors.Is(err, ErrInvalid) {
			t.Errorf("accessor %q: got %v, want ErrInvalid", acc, err)
		}
	}
	if err := EnsurePolicy(t.Context(), nil, "p", "x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("nil client: got %v, want ErrInvalid", err)
	}
}
