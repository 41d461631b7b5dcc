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
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/fivesafes/fivesafes/internal/synth"
)

func init() { subcommands = append(subcommands, newSynthCmd) }

func newSynthCmd(s streams, _ *kubeFlags) *cobra.Command {
	var (
		o       synth.Options
		invalid float64
		out     string
	)
	cmd := &cobra.Command{
		Use:   "synth --dataset NAME --rows N --seed S",
		Short: "Generate a synthetic dataset as CSV",
		Long: `Generate a synthetic dataset as CSV with a header row, on standard output or into a file.

Datasets:
  hes-apc    hospital admitted patient care episodes
  asc-cld    adult social-care client-level records (some NHS numbers missing or malformed)
  opt-outs   a national data opt-out list

Every file made with one seed draws on the same synthetic population, so people recur across
datasets (linkage can be shown) and the opt-out list names people who appear in them. Every NHS
number is in the 999 range kept for testing. The same options always give byte-identical output.

Example:
  fivesafes synth --dataset hes-apc --rows 100000 --seed 42 --out hes-apc.csv
  fivesafes synth --dataset asc-cld --rows 50000 --seed 42 --invalid-nhs-share 0.05 > asc-cld.csv
  fivesafes synth --dataset opt-outs --rows 1000 --seed 42 --out opt-outs.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !slices.Contains(synth.Datasets(), o.Dataset) {
				return usageError("unknown dataset %q: use one of %s", o.Dataset, strings.Join(synth.Datasets(), ", "))
			}
			if cmd.Flags().Changed("invalid-nhs-share") {
				o.InvalidNHSShare = &invalid
			}
			gen := func(w io.Writer) error {
				if err := synth.Generate(cmd.Context(), w, o); err != nil {
					if errors.Is(err, synth.ErrInvalidOptions) {
						return usageError("%s", strings.TrimPrefix(err.Error(), "synth: "))
					}
					return fmt.Errorf("generating %s: %w", o.Dataset, err)
				}
				return nil
			}
			if out == "" {
				return gen(s.out)
			}
			// Synthetic data holds no real person's data, so the file is readable as any output.
			return writeFileAtomically(out, 0o644, gen)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dataset, "dataset", "", "Dataset to generate: "+strings.Join(synth.Datasets(), ", ")+".")
	f.Int64Var(&o.Rows, "rows", 0, "Number of data rows, not counting the header.")
	f.Int64Var(&o.Seed, "seed", 0, "Seed of the population and of every random choice.")
	f.Float64Var(&invalid, "invalid-nhs-share", 0, "Share (0 to 1) of rows whose NHS number is missing or malformed (default: 0 for hes-apc, 0.02 for asc-cld).")
	f.Int64Var(&o.Population, "population", 0, "Number of people rows are drawn from (default: a third of --rows for hes-apc, half for asc-cld, everyone for opt-outs).")
	f.StringVar(&out, "out", "", "File to write, replaced atomically (default: standard output).")
	_ = cmd.MarkFlagRequired("dataset")
	_ = cmd.MarkFlagRequired("rows")
	_ = cmd.MarkFlagRequired("seed")
	return cmd
}
