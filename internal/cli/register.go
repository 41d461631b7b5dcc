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
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"sigs.k8s.io/controller-runtime/pkg/client"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/register"
	"github.com/fivesafes/fivesafes/internal/release"
)

func init() { subcommands = append(subcommands, newRegisterCmd) }

// registerNow is the clock the register's generation time is read from, for a cluster register.
var registerNow = time.Now

func newRegisterCmd(s streams, kube *kubeFlags) *cobra.Command {
	var from, format, out string
	cmd := &cobra.Command{
		Use:   "register [--from DIR] [--format markdown|html|json] [--out DIR]",
		Short: "Publish the data release register",
		Long: `Build the public data release register: for each organisation, every agreement under which data
was released, with its reference, legal bases, purposes, sensitivity, validity, datasets (and
whether the national data opt-out was honoured), objectives, expected benefits and the number
of released outputs. It raises the register's flags: an organisation receiving one dataset in
one month both with and without opt-outs applied, agreements that set opt-outs aside, and
releases after an agreement ended.

Without --from the register is read from the cluster: approved DataAccessAgreements, the
completed DatasetExtracts of every workspace (the month each copy was made) and the catalogue's
Dataset titles. With --from it is read from a directory of agreement YAML files (and release
manifests, extracts and Datasets, where present); the month a copy was made is then taken to
be the month the agreement's validity starts.

Markdown and JSON go to standard output unless --out names a directory; HTML is a static site
(index.html and a page per organisation, no scripts) and needs --out.

Example:
  fivesafes register --from config/samples
  fivesafes register --from agreements/ --format json > register.json
  fivesafes register --format html --out ./public-register`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := register.Format(format)
			if !slices.Contains(register.Formats(), f) {
				return usageError("unknown --format %q: use markdown, html or json", format)
			}
			if f == register.FormatHTML && out == "" {
				return usageError("--format html writes a site of several pages: name a directory with --out")
			}
			var (
				in  register.Input
				err error
			)
			if from != "" {
				if in, err = register.LoadDir(from); err != nil {
					return usageError("reading %s: %w", from, err)
				}
			} else {
				c, err := kube.client()
				if err != nil {
					return usageError("%w", err)
				}
				if in, err = registerInputFromCluster(cmd.Context(), c); err != nil {
					return usageError("%w", err)
				}
				in.GeneratedAt = registerNow().UTC()
			}
			reg, err := register.Build(in)
			if err != nil {
				return usageError("building the register: %w", err)
			}
			files, err := register.Render(reg, f)
			if err != nil {
				return usageError("%w", err)
			}
			for _, w := range reg.Warnings {
				fmt.Fprintln(s.err, "Warning:", w)
			}
			if out != "" {
				if err := register.WriteFiles(out, files); err != nil {
					return usageError("%w", err)
				}
				names := make([]string, 0, len(files))
				for n := range files {
					names = append(names, n)
				}
				slices.Sort(names)
				_, err := fmt.Fprintf(s.out, "Wrote the register (%s, %s, %s) to %s: %s\n",
					plural(reg.Summary.Organisations, "organisation", "organisations"), plural(reg.Summary.Agreements, "agreement", "agreements"),
					plural(reg.Summary.Flags, "flag", "flags"), out, strings.Join(names, ", "))
				return err
			}
			for _, data := range files { // one file for markdown and json
				if _, err := s.out.Write(data); err != nil {
					return err
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&from, "from", "", "Directory of agreement YAML files (and release manifests) to read instead of the cluster.")
	f.StringVar(&format, "format", string(register.FormatMarkdown), "Output format: markdown, html or json.")
	f.StringVar(&out, "out", "", "Directory to write the register to (required for html).")
	return cmd
}

// registerInputFromCluster reads what the register is built from out of the cluster: the
// DataAccessAgreements the operator has judged, with their status (Build keeps those that were
// ever approved), the completed DatasetExtracts in every namespace, and the
// catalogue's Dataset titles. Releases are read from the egress bucket's manifests, which the
// cluster does not list; none are read here.
func registerInputFromCluster(ctx context.Context, c client.Client) (register.Input, error) {
	var in register.Input
	var agreements fivesafesv1alpha1.DataAccessAgreementList
	if err := c.List(ctx, &agreements); err != nil {
		return in, fmt.Errorf("listing DataAccessAgreements: %w", err)
	}
	for _, a := range agreements.Items {
		// An agreement the operator has not yet judged has no phase. Unlike a file, which is
		// listed as written, it has not been approved, so it is not yet on the public register.
		if a.Status.Phase != "" {
			in.Agreements = append(in.Agreements, a)
		}
	}

	var extracts fivesafesv1alpha1.DatasetExtractList
	if err := c.List(ctx, &extracts); err != nil {
		return in, fmt.Errorf("listing DatasetExtracts: %w", err)
	}
	for i := range extracts.Items {
		if r, ok := register.ExtractRecordFrom(&extracts.Items[i]); ok {
			in.Extracts = append(in.Extracts, r)
		}
	}

	// Releases, as the output controller recorded them on each released request. The workspace
	// namespace of an agreement is ws-<agreement>.
	var requests fivesafesv1alpha1.OutputRequestList
	if err := c.List(ctx, &requests); err != nil {
		return in, fmt.Errorf("listing OutputRequests: %w", err)
	}
	for _, r := range requests.Items {
		rel := r.Status.Release
		if r.Status.Phase != fivesafesv1alpha1.OutputReleased || rel == nil {
			continue
		}
		m := release.Manifest{
			APIVersion: release.APIVersion, Kind: release.Kind,
			Agreement: strings.TrimPrefix(r.Namespace, "ws-"), Namespace: r.Namespace, Request: r.Name,
			ContentDigest: r.Status.ContentDigest, PolicyDigest: r.Status.PolicyDigest,
			AuditSequence: rel.AuditSequence, ReleasedAt: rel.ReleasedAt.UTC(),
		}
		for _, f := range r.Status.Files {
			m.Files = append(m.Files, release.File{Path: f.Path, SHA256: f.SHA256, Size: f.Size, Type: f.Type, Outcome: f.Outcome})
		}
		in.Releases = append(in.Releases, m)
	}

	var datasets fivesafesv1alpha1.DatasetList
	if err := c.List(ctx, &datasets); err != nil {
		return in, fmt.Errorf("listing Datasets: %w", err)
	}
	in.DatasetTitles = map[string]string{}
	for _, d := range datasets.Items {
		if d.Spec.Title != "" {
			in.DatasetTitles[d.Name] = d.Spec.Title
		}
	}
	return in, nil
}
