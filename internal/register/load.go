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

package register

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/release"
)

// maxFileBytes is the largest file LoadDir reads.
const maxFileBytes = 16 << 20

// LoadDir reads a directory tree of YAML files (.yaml, .yml; several documents each) and JSON
// files (.json) into an Input for Build, without a cluster. It keeps DataAccessAgreements (also
// inside List kinds), Dataset titles, DatasetExtracts whose copy completed, and release manifests;
// it skips every other kind, such as AgreementApproval. Hidden files and directories are skipped.
// Errors name the file and document.
func LoadDir(dir string) (Input, error) {
	var in Input
	l := loader{in: &in, names: map[string]string{}}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(d.Name(), ".") && p != dir {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		if ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			rel = p
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Size() > maxFileBytes {
			return fmt.Errorf("%s: larger than %d bytes", rel, maxFileBytes)
		}
		data, err := os.ReadFile(p) //nolint:gosec // G304: reading the files of the directory the user named is the point
		if err != nil {
			return err
		}
		return l.file(filepath.ToSlash(rel), data)
	})
	if err != nil {
		return Input{}, fmt.Errorf("loading register inputs from %s: %w", dir, err)
	}
	return in, nil
}

type loader struct {
	in    *Input
	names map[string]string // agreement name → file it came from
}

// file adds the objects in one file's contents.
func (l *loader) file(name string, data []byte) error {
	if strings.HasSuffix(strings.ToLower(name), ".json") {
		return l.document(name, data)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, n, err)
		}
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return fmt.Errorf("%s: document %d: %w", name, n, err)
		}
		if err := l.document(fmt.Sprintf("%s: document %d", name, n), j); err != nil {
			return err
		}
	}
}

type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// document adds one JSON document; where names it in errors.
func (l *loader) document(where string, j []byte) error {
	j = bytes.TrimSpace(j)
	if len(j) == 0 || bytes.Equal(j, []byte("null")) {
		return nil
	}
	if j[0] != '{' {
		return fmt.Errorf("%s: not an object", where)
	}
	var tm typeMeta
	if err := json.Unmarshal(j, &tm); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	gv, err := schema.ParseGroupVersion(tm.APIVersion)
	if err != nil {
		return nil // not a Kubernetes-style document; not ours
	}
	if tm.Kind == "List" || strings.HasSuffix(tm.Kind, "List") && gv.Group == fivesafesv1alpha1.GroupVersion.Group {
		for i, item := range tm.Items {
			if err := l.document(fmt.Sprintf("%s: items[%d]", where, i), item); err != nil {
				return err
			}
		}
		return nil
	}
	if gv.Group != fivesafesv1alpha1.GroupVersion.Group {
		return nil
	}
	if gv.Version != fivesafesv1alpha1.GroupVersion.Version {
		return fmt.Errorf("%s: %s %s is not a version this register reads (want %s)", where, tm.Kind, tm.APIVersion, fivesafesv1alpha1.GroupVersion)
	}
	switch tm.Kind {
	case "DataAccessAgreement":
		var d fivesafesv1alpha1.DataAccessAgreement
		if err := strictDecode(j, &d); err != nil {
			return fmt.Errorf("%s: DataAccessAgreement: %w", where, err)
		}
		if d.Name == "" {
			return fmt.Errorf("%s: DataAccessAgreement has no metadata.name", where)
		}
		if prev, dup := l.names[d.Name]; dup {
			return fmt.Errorf("%s: DataAccessAgreement %s is also defined in %s", where, d.Name, prev)
		}
		l.names[d.Name] = where
		l.in.Agreements = append(l.in.Agreements, d)
	case "Dataset":
		var d fivesafesv1alpha1.Dataset
		if err := json.Unmarshal(j, &d); err != nil {
			return fmt.Errorf("%s: Dataset: %w", where, err)
		}
		if d.Name != "" && d.Spec.Title != "" {
			if l.in.DatasetTitles == nil {
				l.in.DatasetTitles = map[string]string{}
			}
			l.in.DatasetTitles[d.Name] = d.Spec.Title
		}
	case "DatasetExtract":
		var x fivesafesv1alpha1.DatasetExtract
		if err := json.Unmarshal(j, &x); err != nil {
			return fmt.Errorf("%s: DatasetExtract: %w", where, err)
		}
		if r, ok := ExtractRecordFrom(&x); ok {
			l.in.Extracts = append(l.in.Extracts, r)
		}
	case release.Kind:
		m, err := release.Decode(j)
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		l.in.Releases = append(l.in.Releases, *m)
	}
	return nil
}

// strictDecode decodes JSON refusing unknown fields, so a misspelt field in an agreement is an
// error rather than a silent omission from the register.
func strictDecode(j []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the object")
	}
	return nil
}
