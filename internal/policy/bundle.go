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

package policy

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/fivesafes/fivesafes/policies"
)

// Suffixes of the files a bundle is made of.
const (
	regoSuffix     = ".rego"
	regoTestSuffix = "_test.rego"
)

// ErrEmptyBundle is returned when a bundle would hold no policy module.
var ErrEmptyBundle = errors.New("policy bundle holds no Rego module")

// Bundle is the source of one policy revision: Rego modules by name. Unit tests (*_test.rego) are
// never part of a bundle. A Bundle is immutable.
type Bundle struct {
	modules map[string]string
	digest  string
}

// NewBundle makes a bundle from module names and Rego sources, e.g. the data of a ConfigMap.
// Entries whose name does not end in ".rego", or ends in "_test.rego", are left out. It fails when
// no module is left.
func NewBundle(sources map[string]string) (Bundle, error) {
	modules := make(map[string]string, len(sources))
	for name, src := range sources {
		if isModule(name) {
			modules[name] = src
		}
	}
	if len(modules) == 0 {
		return Bundle{}, ErrEmptyBundle
	}
	return Bundle{modules: modules, digest: digest(modules)}, nil
}

// BundleFromFS makes a bundle from every *.rego file in fsys except *_test.rego, named by their
// slash-separated path in fsys.
func BundleFromFS(fsys fs.FS) (Bundle, error) {
	sources := map[string]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !isModule(p) {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		sources[p] = string(b)
		return nil
	})
	if err != nil {
		return Bundle{}, fmt.Errorf("reading policy modules: %w", err)
	}
	return NewBundle(sources)
}

// DefaultBundle is the bundle of policies built into the binary: every module under policies/.
func DefaultBundle() (Bundle, error) {
	return BundleFromFS(policies.FS)
}

// Digest identifies the bundle's content: "sha256:" and the hex SHA-256 of its modules' names and
// sources, taken in name order, each length-prefixed so that no two bundles share an encoding.
func (b Bundle) Digest() string { return b.digest }

// Names returns the bundle's module names in order.
func (b Bundle) Names() []string {
	names := make([]string, 0, len(b.modules))
	for n := range b.modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Source returns the Rego source of the named module.
func (b Bundle) Source(name string) (string, bool) {
	s, ok := b.modules[name]
	return s, ok
}

func isModule(name string) bool {
	base := path.Base(name)
	return strings.HasSuffix(base, regoSuffix) && !strings.HasSuffix(base, regoTestSuffix)
}

func digest(modules map[string]string) string {
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	var n [8]byte
	write := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	for _, name := range names {
		write(name)
		write(modules[name])
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}
