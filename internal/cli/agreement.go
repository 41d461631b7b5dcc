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
	"fmt"

	"github.com/spf13/cobra"

	"github.com/fivesafes/fivesafes/internal/agreement"
)

func init() { subcommands = append(subcommands, newAgreementCmd) }

func newAgreementCmd(s streams, kube *kubeFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "agreement",
		Aliases: []string{"agreements", "daa"},
		Short:   "Validate, digest, approve and inspect data access agreements",
		Long: `Work with DataAccessAgreements, the committee's record of a safe project and its safe people.

validate and digest work on files with no cluster; approve and status work on the cluster the
kubeconfig names.

Example:
  fivesafes agreement validate agreement.yaml --catalogue catalogue/
  fivesafes agreement digest agreement.yaml
  fivesafes agreement approve nic-38002-s3k0v --comment "Approved at the November meeting."
  fivesafes agreement status nic-38002-s3k0v`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	cmd.AddCommand(
		newAgreementValidateCmd(s),
		newAgreementDigestCmd(s),
		newAgreementApproveCmd(s, kube),
		newAgreementStatusCmd(s, kube),
	)
	return cmd
}

func newAgreementValidateCmd(s streams) *cobra.Command {
	var catalogue, format string
	cmd := &cobra.Command{
		Use:   "validate FILE...",
		Short: "Check agreement files against the CRD schema and the governance policy, offline",
		Long: `Check each DataAccessAgreement file as the cluster would: the CRD's OpenAPI schema and CEL
rules, then the governance policy (legal bases, purposes, validity, opt-outs, researchers,
output rules). With --catalogue, the catalogue rules also run against the Dataset files in that
directory: requested columns must exist, and identifier columns are only released pseudonymised.

Exit status: 0 when every file is valid, 1 when any is invalid, 2 on a usage or I/O error.
The JSON form is one object per file, {"file", "valid", "violations": [{"field", "rule",
"message"}]}, or a list of them for several files.

Example:
  fivesafes agreement validate config/samples/fivesafes_v1alpha1_dataaccessagreement.yaml
  fivesafes agreement validate --catalogue config/samples --format json agreements/*.yaml`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			if format != agreement.FormatText && format != agreement.FormatJSON {
				return usageError("unknown --format %q: use %s or %s", format, agreement.FormatText, agreement.FormatJSON)
			}
			ctx := cmd.Context()
			cfg := agreement.FileValidatorConfig{}
			if catalogue != "" {
				cat, err := agreement.LoadCatalogue(ctx, catalogue)
				if err != nil {
					return usageError("loading the catalogue: %w", err)
				}
				cfg.Catalogue = cat
			}
			v, err := agreement.NewFileValidator(ctx, cfg)
			if err != nil {
				return usageError("%w", err)
			}
			reports, err := v.ValidateFiles(ctx, files)
			code := agreement.ExitCode(reports, err)
			if code == agreement.ExitError {
				return usageError("%w", err)
			}
			if err := agreement.WriteReports(s.out, reports, format); err != nil {
				return usageError("writing the reports: %w", err)
			}
			if code == agreement.ExitInvalid {
				return findings()
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&catalogue, "catalogue", "", "Directory of catalogue Dataset files; turns on the catalogue rules.")
	cmd.Flags().StringVar(&format, "format", agreement.FormatText, "Output format: text or json.")
	return cmd
}

func newAgreementDigestCmd(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "digest FILE",
		Short: "Print the spec digest approvals of an agreement file must name",
		Long: `Print the sha256 digest of the agreement's substantive spec: the digest an AgreementApproval
names, and that the operator writes to status.specDigest. Lifecycle fields (revocation) and the
way defaults, sets and quantities are written do not change it; any substantive change does.

Example:
  fivesafes agreement digest config/samples/fivesafes_v1alpha1_dataaccessagreement.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			a, err := agreement.ParseFile(args[0])
			if err != nil {
				return usageError("%w", err)
			}
			d, err := agreement.SpecDigest(a.Spec)
			if err != nil {
				return usageError("computing the digest of %s: %w", args[0], err)
			}
			_, err = fmt.Fprintln(s.out, d)
			return err
		},
	}
}
