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

// Command chart keeps the Helm chart in charts/fivesafes in step with the generated manifests in
// config/: it copies the CRDs into the chart's crds/ directory and the RBAC and webhook manifests
// into its files/ directory, checks that every value in values.yaml is described and covered by
// values.schema.json, and regenerates the values table in the chart's README from the
// descriptions.
//
//	go run ./hack/chart          bring the chart in step
//	go run ./hack/chart -check   change nothing; exit 1 naming every file out of step
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/fivesafes/fivesafes/internal/stack"
)

func main() {
	root := flag.String("root", "", "Repository root (default: the directory of the fivesafes go.mod above the working directory).")
	check := flag.Bool("check", false, "Change nothing; exit 1 naming every chart file that is out of step with config/ or values.yaml.")
	flag.Parse()
	if err := run(os.Stdout, *root, *check); err != nil {
		fmt.Fprintln(os.Stderr, "hack/chart:", err)
		os.Exit(1)
	}
}

// errOutOfStep reports that -check found files to regenerate.
var errOutOfStep = errors.New("the chart is out of step with config/ and values.yaml: run `go run ./hack/chart` (make chart)")

// run brings the chart under root in step, or with check only reports, on out, what differs.
func run(out io.Writer, root string, check bool) error {
	if root == "" {
		var err error
		if root, err = stack.ModuleRoot(); err != nil {
			return err
		}
	}
	p, err := plan(root)
	if err != nil {
		return err
	}
	differ := 0
	for _, f := range p.files {
		path := filepath.Join(root, f.path)
		have, err := os.ReadFile(path) //nolint:gosec // paths come from the plan, inside the repository
		switch {
		case errors.Is(err, os.ErrNotExist):
			have = nil
		case err != nil:
			return fmt.Errorf("reading %s: %w", f.path, err)
		case bytes.Equal(have, f.content):
			continue
		}
		differ++
		if check {
			if have == nil {
				_, _ = fmt.Fprintf(out, "%s is missing (from %s)\n", f.path, f.from)
			} else {
				_, _ = fmt.Fprintf(out, "%s differs from %s\n", f.path, f.from)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			return fmt.Errorf("creating the directory of %s: %w", f.path, err)
		}
		if err := os.WriteFile(path, f.content, 0o644); err != nil { //nolint:gosec // chart files are world-readable like the rest of the tree
			return fmt.Errorf("writing %s: %w", f.path, err)
		}
		_, _ = fmt.Fprintf(out, "wrote %s\n", f.path)
	}
	for _, s := range p.stale {
		differ++
		if check {
			_, _ = fmt.Fprintf(out, "%s is stale: nothing in config/ generates it\n", s)
			continue
		}
		if err := os.Remove(filepath.Join(root, s)); err != nil {
			return fmt.Errorf("removing stale %s: %w", s, err)
		}
		_, _ = fmt.Fprintf(out, "removed %s\n", s)
	}
	if check && differ > 0 {
		return errOutOfStep
	}
	return nil
}
