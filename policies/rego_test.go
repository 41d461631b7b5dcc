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

package policies_test

import (
	"context"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestRego runs every *_test.rego under this directory, at any depth, against every policy module,
// with the semantics of `opa test`: each test_* rule is a test that passes when it is true. Builtin
// errors fail the test rather than making it undefined, as they fail evaluation in the engine.
func TestRego(t *testing.T) {
	modules, testDirs, policyDirs := loadRego(t)
	for dir := range policyDirs {
		if !testDirs[dir] {
			t.Errorf("policy directory %s has modules but no *_test.rego", dir)
		}
	}

	ch, err := tester.NewRunner().
		SetDefaultRegoVersion(ast.RegoV1).
		SetModules(modules).
		RaiseBuiltinErrors(true).
		CapturePrintOutput(true).
		RunTests(context.Background(), nil)
	if err != nil {
		t.Fatalf("running Rego tests: %v", err)
	}
	var results []*tester.Result
	for r := range ch {
		results = append(results, r)
	}
	if len(results) == 0 {
		t.Fatal("found no Rego tests")
	}
	sort.Slice(results, func(i, j int) bool {
		if results[i].Package != results[j].Package {
			return results[i].Package < results[j].Package
		}
		return results[i].Name < results[j].Name
	})
	for _, r := range results {
		t.Run(strings.TrimPrefix(r.Package, "data.")+"/"+r.Name, func(t *testing.T) {
			switch {
			case r.Skip:
				t.Skipf("%s is marked todo", r.Name)
			case r.Error != nil:
				t.Errorf("%s: error: %v\n%s", r.Location, r.Error, r.Output)
			case r.Fail:
				t.Errorf("%s: failed\n%s", r.Location, r.Output)
			}
		})
	}
}

// loadRego parses every .rego file under the current directory. It returns the modules by path,
// and the directories holding tests and policy modules respectively.
func loadRego(t *testing.T) (modules map[string]*ast.Module, testDirs, policyDirs map[string]bool) {
	t.Helper()
	modules = map[string]*ast.Module{}
	testDirs, policyDirs = map[string]bool{}, map[string]bool{}
	fsys := os.DirFS(".")
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		src, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(src), ast.ParserOptions{RegoVersion: ast.RegoV1, ProcessAnnotation: true})
		if err != nil {
			return err
		}
		modules[p] = m
		if strings.HasSuffix(p, "_test.rego") {
			testDirs[path.Dir(p)] = true
		} else {
			policyDirs[path.Dir(p)] = true
		}
		return nil
	})
	if err != nil {
		t.Fatalf("loading Rego: %v", err)
	}
	return modules, testDirs, policyDirs
}
