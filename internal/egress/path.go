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
	"errors"
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

// MaxPathLength is the longest output path accepted, as in the OutputRequest API.
const MaxPathLength = 512

// ErrPath reports an output path that is not accepted. Messages never repeat the path, which may
// itself hold an identifier.
var ErrPath = errors.New("invalid output path")

// windowsDevices are names Windows gives to devices whatever the extension, so a file of that name
// cannot be saved where a release is downloaded.
var windowsDevices = setOf("con", "prn", "aux", "nul",
	"com0", "com1", "com2", "com3", "com4", "com5", "com6", "com7", "com8", "com9",
	"lpt0", "lpt1", "lpt2", "lpt3", "lpt4", "lpt5", "lpt6", "lpt7", "lpt8", "lpt9")

func pathErr(reason string) error { return fmt.Errorf("%w: %s", ErrPath, reason) }

// ValidPath checks a path under outputs/ before anything is read from it. It must be local
// (filepath.IsLocal), already clean (no empty, "." or ".." segments, no trailing slash), use "/"
// and never a backslash, start with a letter, digit or underscore, hold only letters, digits,
// ".", "_", "-" and "/", be at most 512 bytes, and name nothing Windows reserves (CON, NUL, COM1,
// …) nor end a segment with a dot. These are the OutputRequest API's rules, checked again here.
// Duplicates are the caller's concern (see ValidPaths).
func ValidPath(p string) error {
	switch {
	case p == "":
		return pathErr("path is empty")
	case len(p) > MaxPathLength:
		return pathErr(fmt.Sprintf("path is longer than %d bytes", MaxPathLength))
	case strings.ContainsRune(p, '\\'):
		return pathErr("path holds a backslash; use /")
	case strings.HasPrefix(p, "/"):
		return pathErr("path is absolute")
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			(i > 0 && (c == '.' || c == '-' || c == '/'))
		if !ok {
			return pathErr("path may hold only letters, digits, '.', '_', '-' and '/', and must start with a letter, digit or underscore")
		}
	}
	if !filepath.IsLocal(p) || path.Clean(p) != p {
		return pathErr("path must be local and clean: no empty, '.' or '..' segments and no trailing slash")
	}
	for _, seg := range strings.Split(p, "/") {
		if seg == "." || seg == ".." || seg == "" {
			return pathErr("path has an empty, '.' or '..' segment")
		}
		if strings.HasSuffix(seg, ".") {
			return pathErr("a path segment ends with a dot")
		}
		base, _, _ := strings.Cut(seg, ".")
		if in(windowsDevices, strings.ToLower(base)) {
			return pathErr("a path segment is a name Windows reserves for a device")
		}
	}
	return nil
}

// ValidPaths checks every path with ValidPath, and that no two are the same, differ only in case
// (they would overwrite each other on a case-insensitive disk), or make one path a directory of
// another. Errors name paths by position from 1.
func ValidPaths(paths []string) error {
	folded := make(map[string]int, len(paths))
	for i, p := range paths {
		if err := ValidPath(p); err != nil {
			return fmt.Errorf("file %d: %w", i+1, err)
		}
		k := strings.ToLower(p)
		if j, dup := folded[k]; dup {
			return fmt.Errorf("file %d: %w", i+1, pathErr(fmt.Sprintf("same path as file %d, ignoring case", j+1)))
		}
		folded[k] = i
	}
	for i, p := range paths {
		k := strings.ToLower(p)
		for dir := path.Dir(k); dir != "."; dir = path.Dir(dir) {
			if j, clash := folded[dir]; clash {
				return fmt.Errorf("file %d: %w", i+1, pathErr(fmt.Sprintf("lies under file %d, which is not a directory", j+1)))
			}
		}
	}
	return nil
}
