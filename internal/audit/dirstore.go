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
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// DirStore is a Store in a directory: each object is a file at its name under the root. It is
// what `fivesafes audit verify --from DIR` reads and what tests use for a store that survives a
// restart. Put writes a temporary file, syncs it, links it into place (so an existing name is
// never replaced) and syncs the directory.
type DirStore struct {
	root string
}

// NewDirStore returns a DirStore rooted at dir. The directory is created on the first Put.
func NewDirStore(dir string) *DirStore { return &DirStore{root: dir} }

// Root is the store's directory.
func (d *DirStore) Root() string { return d.root }

// checkName accepts slash-separated names of letters, digits, '.', '_' and '-', with no empty,
// "." or ".." elements and no element starting with '.' (those are temporary files).
func checkName(name string) error {
	if name == "" || !filepath.IsLocal(filepath.FromSlash(name)) {
		return fmt.Errorf("object name %q is not a local path", name)
	}
	for _, el := range strings.Split(name, "/") {
		if el == "" || el[0] == '.' {
			return fmt.Errorf("object name %q has an empty or hidden element", name)
		}
		for _, c := range el {
			if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '.' && c != '_' && c != '-' {
				return fmt.Errorf("object name %q has a character outside [A-Za-z0-9._-]", name)
			}
		}
	}
	return nil
}

func (d *DirStore) path(name string) string {
	return filepath.Join(d.root, filepath.FromSlash(name))
}

// Put writes data under name unless the name is taken.
func (d *DirStore) Put(ctx context.Context, name string, data []byte) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	final := d.path(name)
	dir := filepath.Dir(final)
	if _, statErr := os.Stat(dir); errors.Is(statErr, fs.ErrNotExist) {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("putting %s: %w", name, err)
		}
		// Make the new directories themselves durable: sync each one's parent, up to the
		// root's parent.
		root := filepath.Clean(d.root)
		for p := dir; ; p = filepath.Dir(p) {
			if err := syncDir(filepath.Dir(p)); err != nil {
				return fmt.Errorf("putting %s: %w", name, err)
			}
			if p == root || filepath.Dir(p) == p {
				break
			}
		}
	}
	f, err := os.CreateTemp(dir, ".put-*")
	if err != nil {
		return fmt.Errorf("putting %s: %w", name, err)
	}
	tmp := f.Name()
	defer func() {
		if rmErr := os.Remove(tmp); rmErr != nil && !errors.Is(rmErr, fs.ErrNotExist) && err == nil {
			err = fmt.Errorf("putting %s: removing temporary file: %w", name, rmErr)
		}
	}()
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		return fmt.Errorf("putting %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("putting %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("putting %s: %w", name, err)
	}
	if err := os.Link(tmp, final); err != nil {
		return fmt.Errorf("putting %s: %w", name, err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("putting %s: %w", name, err)
	}
	return nil
}

func syncDir(dir string) error {
	f, err := os.Open(dir) //nolint:gosec // G304: the directory is the store the caller named
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return f.Close()
}

// Get reads the object stored under name.
func (d *DirStore) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkName(name); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(d.path(name))
	if err != nil {
		return nil, fmt.Errorf("getting %s: %w", name, err)
	}
	return b, nil
}

// List returns the names with prefix that sort after after. Hidden files are left out.
func (d *DirStore) List(ctx context.Context, prefix, after string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// Walk only the deepest directory the prefix names.
	start := ""
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	if start != "" {
		if err := checkName(start); err != nil {
			return nil, err
		}
	}
	base := filepath.Join(d.root, filepath.FromSlash(start))
	var names []string
	err := filepath.WalkDir(base, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if p == base && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if strings.HasPrefix(de.Name(), ".") && p != base {
			if de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !de.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(d.root, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(rel)
		if strings.HasPrefix(name, prefix) && name > after {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", prefix, err)
	}
	slices.Sort(names)
	return names, nil
}

// Delete removes the object stored under name.
func (d *DirStore) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkName(name); err != nil {
		return err
	}
	if err := os.Remove(d.path(name)); err != nil {
		return fmt.Errorf("deleting %s: %w", name, err)
	}
	return nil
}
