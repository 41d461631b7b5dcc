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
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/agreement"
	"github.com/fivesafes/fivesafes/internal/egress"
	"github.com/fivesafes/fivesafes/internal/policy"
)

func init() { subcommands = append(subcommands, newOutputCmd) }

// outputSubcommands are the subcommands of "output", added by the files that implement them.
var outputSubcommands = []func(streams, *kubeFlags) *cobra.Command{newOutputCheckCmd}

// Output formats of "output check".
const (
	outputFormatText = "text"
	outputFormatJSON = "json"
)

// outputKinds maps the --kind flag's values to output kinds.
var outputKinds = map[string]fivesafesv1alpha1.OutputKind{
	"table":  fivesafesv1alpha1.OutputTable,
	"figure": fivesafesv1alpha1.OutputFigure,
	"code":   fivesafesv1alpha1.OutputCode,
	"text":   fivesafesv1alpha1.OutputText,
}

// ruleOutputPath is the finding given to a file whose name could not be requested for release.
const ruleOutputPath = "egress.path"

func newOutputCmd(s streams, kube *kubeFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "output",
		Aliases: []string{"outputs"},
		Short:   "Check outputs before asking to release them",
		Long: `Work with outputs: the files researchers ask to release from a workspace.

check runs the same analysers and egress policy as the cluster, on local files, with no cluster.

Example:
  fivesafes output check outputs/tables/admissions.csv outputs/figures/trend.png
  fivesafes output check --rules agreement.yaml --format json outputs/tables/*.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return cmd.Help()
		},
	}
	for _, add := range outputSubcommands {
		cmd.AddCommand(add(s, kube))
	}
	return cmd
}

func newOutputCheckCmd(s streams, _ *kubeFlags) *cobra.Command {
	var rulesFile, kind, format string
	cmd := &cobra.Command{
		Use:   "check FILE...",
		Short: "Check output files against the disclosure rules and the egress policy, offline",
		Long: `Check files as the cluster checks an output request, with no cluster: the type is detected
from the content; archives, executables and unknown binaries are refused whatever their name;
tables are checked for small and zero counts; every file for NHS numbers, postcodes, pseudonyms,
dates of birth, formula cells and broken text. The egress policy then decides pass, review or fail
for each file. Figures, PDFs and code always need review by a person.

A file's sidecar, FILE.sdc.json, is used when it is next to the file: per-cell contributor
statistics against which n-k dominance and the p-ratio are checked. A sidecar given as an argument
along with its table is not checked as an output itself.

The rules are ACRO's defaults (minimum cell count 10, dominance n=2 k=90%, p-ratio 10%, zeros
disclosive) unless --rules names the agreement whose outputRules apply. The kind of each file is
taken from its type (CSV and TSV are tables, images and PDFs figures, the rest text) unless --kind
is given.

Exit status: 0 when every file passes, 1 when any needs review or fails, 2 on a usage or I/O error
(a missing file, an unreadable rules file), when nothing is reported. The JSON form is
{"outcome", "files": [{"path", "outcome", "type", "sha256", "findings": [{"rule", "message",
"location"}]}]}.

Example:
  fivesafes output check outputs/tables/admissions.csv
  fivesafes output check --rules agreement.yaml --format json outputs/tables/*.csv`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != outputFormatText && format != outputFormatJSON {
				return usageError("unknown --format %q: use %s or %s", format, outputFormatText, outputFormatJSON)
			}
			var k fivesafesv1alpha1.OutputKind
			if kind != "" {
				var ok bool
				if k, ok = outputKinds[strings.ToLower(kind)]; !ok {
					return usageError("unknown --kind %q: use table, figure, code or text", kind)
				}
			}
			rules := fivesafesv1alpha1.OutputRules{}
			if rulesFile != "" {
				a, err := agreement.ParseFile(rulesFile)
				if err != nil {
					return usageError("reading the rules: %w", err)
				}
				rules = agreement.WithDefaults(a.Spec).OutputRules
			}
			return runOutputCheck(cmd, s, args, k, rules, format)
		},
	}
	cmd.Flags().StringVar(&rulesFile, "rules", "", "Agreement file (YAML or JSON) whose outputRules apply; ACRO's defaults when not given.")
	cmd.Flags().StringVar(&kind, "kind", "", "Kind of every file: table, figure, code or text; taken from each file's type when not given.")
	cmd.Flags().StringVar(&format, "format", outputFormatText, "Output format: text or json.")
	return cmd
}

// outputArg is one file named on the command line.
type outputArg struct {
	name    string // the argument as given
	reqPath string // the path it is checked under, as if requested from outputs/
	nameErr error  // why the file's name could not be requested, or nil
}

func runOutputCheck(cmd *cobra.Command, s streams, args []string, kind fivesafesv1alpha1.OutputKind, rules fivesafesv1alpha1.OutputRules, format string) error {
	ctx := cmd.Context()
	named := outputArgs(args)
	files := make([]egress.CheckFile, 0, len(named))
	for _, a := range named {
		if err := requireRegular(a.name); err != nil {
			return usageError("%w", err)
		}
		f := egress.CheckFile{Path: a.reqPath, Kind: kind, Open: openRegular(a.name)}
		sidecar := a.name + egress.SidecarSuffix
		switch st, err := os.Stat(sidecar); {
		case err == nil && st.Mode().IsRegular():
			f.Sidecar = openRegular(sidecar)
		case err == nil:
			return usageError("sidecar %s is not a regular file", sidecar)
		case !os.IsNotExist(err):
			return usageError("reading the sidecar: %w", err)
		}
		files = append(files, f)
	}

	eng, err := policy.NewDefaultEngine(ctx, egress.PolicyQuery)
	if err != nil {
		return usageError("starting the policy engine: %w", err)
	}
	res, err := egress.Check(ctx, eng, files, rules, egress.DefaultLimits())
	if err != nil {
		return usageError("%w", err)
	}
	for i, fr := range res.Files {
		if fr.Err != nil {
			return usageError("%s: %w", named[i].name, fr.Err)
		}
	}

	report := outputCheckReport{Outcome: string(res.Outcome), Files: make([]outputFileReport, len(res.Files))}
	for i, fr := range res.Files {
		fj := outputFileReport{
			Path:     named[i].name,
			Outcome:  string(fr.Outcome),
			Type:     string(fr.Type),
			SHA256:   fr.SHA256,
			Findings: []outputFinding{},
		}
		if err := named[i].nameErr; err != nil {
			fj.Outcome = string(fivesafesv1alpha1.OutcomeFail)
			fj.Findings = append(fj.Findings, outputFinding{
				Rule:    ruleOutputPath,
				Message: "The file's name cannot be requested for release: " + err.Error() + ".",
			})
			report.Outcome = string(fivesafesv1alpha1.OutcomeFail)
		}
		for _, f := range fr.Findings {
			fj.Findings = append(fj.Findings, outputFinding{Rule: f.Rule, Message: f.Message, Location: f.Location})
		}
		report.Files[i] = fj
	}

	if format == outputFormatJSON {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		err = enc.Encode(report)
	} else {
		err = writeOutputCheckText(s.out, report, res.PolicyDigest)
	}
	if err != nil {
		return usageError("writing the report: %w", err)
	}
	if report.Outcome != string(fivesafesv1alpha1.OutcomePass) {
		return findings()
	}
	return nil
}

// outputArgs turns the arguments into the files to check, leaving out sidecars of other files
// named, and gives each a path it could be requested under: the argument relative to outputs/
// when that is a valid output path, else its base name. Paths that would clash are numbered.
func outputArgs(args []string) []outputArg {
	given := make(map[string]bool, len(args))
	for _, a := range args {
		given[filepath.Clean(a)] = true
	}
	var named []outputArg
	for _, a := range args {
		if base, ok := strings.CutSuffix(filepath.Clean(a), egress.SidecarSuffix); ok && given[base] {
			continue
		}
		named = append(named, outputArg{name: a})
	}
	paths := make([]string, len(named))
	for i := range named {
		a := &named[i]
		p := filepath.ToSlash(filepath.Clean(a.name))
		p = strings.TrimPrefix(p, "outputs/")
		if filepath.IsAbs(a.name) || !filepath.IsLocal(filepath.Clean(a.name)) || egress.ValidPath(p) != nil {
			p = path.Base(filepath.ToSlash(filepath.Clean(a.name)))
		}
		if err := egress.ValidPath(p); err != nil {
			a.nameErr = err
			p = "file" + strconv.Itoa(i+1)
		}
		paths[i] = p
	}
	if egress.ValidPaths(paths) != nil {
		for i := range paths {
			paths[i] = strconv.Itoa(i+1) + "/" + paths[i]
		}
	}
	for i := range named {
		named[i].reqPath = paths[i]
	}
	return named
}

// requireRegular checks name is a regular file (after symbolic links), so that a directory, a
// device or a named pipe is refused before anything is read.
func requireRegular(name string) error {
	st, err := os.Stat(name)
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s is not a regular file", name)
	}
	return nil
}

// openRegular opens name for reading, refusing anything that is not a regular file by then.
func openRegular(name string) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		if err := requireRegular(name); err != nil {
			return nil, err
		}
		f, err := os.Open(name) //nolint:gosec // G304: reading the file the user named is the point.
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil || !st.Mode().IsRegular() {
			_ = f.Close()
			return nil, fmt.Errorf("%s is not a regular file", name)
		}
		return f, nil
	}
}

// outputCheckReport is the JSON form of "output check".
type outputCheckReport struct {
	Outcome string             `json:"outcome"`
	Files   []outputFileReport `json:"files"`
}

// outputFileReport is one file's verdict.
type outputFileReport struct {
	Path     string          `json:"path"`
	Outcome  string          `json:"outcome"`
	Type     string          `json:"type"`
	SHA256   string          `json:"sha256"`
	Findings []outputFinding `json:"findings"`
}

// outputFinding is one reason a file did not simply pass.
type outputFinding struct {
	Rule     string `json:"rule"`
	Message  string `json:"message"`
	Location string `json:"location"`
}

// writeOutputCheckText writes the report for people: each file's outcome, type and digest, its
// findings indented below it, and the overall outcome with the policy that decided.
func writeOutputCheckText(w io.Writer, r outputCheckReport, policyDigest string) error {
	var b strings.Builder
	for _, f := range r.Files {
		fmt.Fprintf(&b, "%s: %s", printablePath(f.Path), f.Outcome)
		if f.Type != "" {
			fmt.Fprintf(&b, " (%s", f.Type)
			if f.SHA256 != "" {
				fmt.Fprintf(&b, ", %s", f.SHA256)
			}
			b.WriteString(")")
		}
		b.WriteString("\n")
		for _, x := range f.Findings {
			fmt.Fprintf(&b, "  [%s] %s", x.Rule, x.Message)
			if x.Location != "" {
				fmt.Fprintf(&b, " At %s.", x.Location)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "outcome: %s (%d files, egress policy %s)\n", r.Outcome, len(r.Files), policyDigest)
	_, err := io.WriteString(w, b.String())
	return err
}

// printablePath quotes a path holding anything but printable characters, so that a file name
// cannot forge lines of the report.
func printablePath(p string) string {
	for _, r := range p {
		if !unicode.IsPrint(r) {
			return strconv.Quote(p)
		}
	}
	return p
}
