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

package egress

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// badPaths reads the hostile corpus's list of paths that must be refused.
func badPaths(t testing.TB) []string {
	t.Helper()
	b, err := os.ReadFile("testdata/hostile/bad-paths.json")
	if err != nil {
		t.Fatalf("reading bad paths: %v", err)
	}
	var paths []string
	if err := json.Unmarshal(b, &paths); err != nil {
		t.Fatalf("decoding bad paths: %v", err)
	}
	return paths
}

func TestValidPath(t *testing.T) {
	good := []string{"a.csv", "tables/admissions.csv", "_x/y-z/1.2.png", "figures/fig_1.svg", strings.Repeat("a", 512), "a..b.csv"}
	for _, p := range good {
		if err := ValidPath(p); err != nil {
			t.Errorf("ValidPath(%q) = %v", p, err)
		}
	}
	for _, p := range badPaths(t) {
		err := ValidPath(p)
		if !errors.Is(err, ErrPath) {
			t.Errorf("ValidPath(%q) = %v, want ErrPath", p, err)
			continue
		}
		if len(p) > 3 && strings.Contains(err.Error(), p) {
			t.Errorf("ValidPath(%q): the error repeats the path: %v", p, err)
		}
	}
}

func TestValidPaths(t *testing.T) {
	if err := ValidPaths([]string{"a.csv", "tables/a.csv", "tables/b.csv"}); err != nil {
		t.Errorf("ValidPaths of distinct paths: %v", err)
	}
	bad := map[string][]string{
		"duplicate":        {"a.csv", "b.csv", "a.csv"},
		"case duplicate":   {"Tables/A.csv", "tables/a.csv"},
		"file as a folder": {"tables", "tables/a.csv"},
		"invalid path":     {"a.csv", "../b.csv"},
	}
	for name, paths := range bad {
		if err := ValidPaths(paths); !errors.Is(err, ErrPath) {
			t.Errorf("%s: ValidPaths = %v, want ErrPath", name, err)
		}
	}
}

func FuzzValidPath(f *testing.F) {
	for _, p := range []string{"a.csv", "../a", "a/../b", "a\\b", "/a", "a//b", "CON", "a.", "é.csv", "\x00"} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		if ValidPath(p) != nil {
			return
		}
		// Whatever is accepted stays under the directory it is joined to, on any system.
		if strings.Contains(p, "..") && strings.Contains("/"+p+"/", "/../") {
			t.Fatalf("accepted %q", p)
		}
		if strings.ContainsAny(p, "\\:\x00") || strings.HasPrefix(p, "/") || strings.HasSuffix(p, "/") || strings.HasPrefix(p, ".") {
			t.Fatalf("accepted %q", p)
		}
	})
}
