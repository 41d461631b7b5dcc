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
	"context"
	"errors"
	"fmt"
	"io"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/policy"
)

// RuleAnalysisError is the finding given to a file that could not be read or analysed to the
// end; the policy also fails it for having no analysis.
const RuleAnalysisError = "egress.analysis_error"

// CheckFile is one file to check. Its content comes from Open, so the file may live on a disk, in
// object storage or in memory.
type CheckFile struct {
	// Path is the path under outputs/ as requested; every path given to Check must pass
	// ValidPaths.
	Path string
	// Kind is what the researcher says the file is. Empty means the kind that goes with the
	// type detected from the content (KindForType).
	Kind fivesafesv1alpha1.OutputKind
	// ExceptionJustification is the researcher's case for releasing a file that breaks a
	// threshold rule, or empty.
	ExceptionJustification string
	// Open returns the file's content. It is called once and the reader closed after the
	// analysis.
	Open func() (io.ReadCloser, error)
	// Sidecar, when not nil, returns the content of the file's "<path>.sdc.json" sidecar. It is
	// called once and the reader closed after the analysis.
	Sidecar func() (io.ReadCloser, error)
}

// CheckResult is the outcome of checking a set of files together, as one request.
type CheckResult struct {
	// Outcome is the worst of the files' outcomes.
	Outcome fivesafesv1alpha1.CheckOutcome
	// PolicyDigest is the digest of the egress policy revision that decided.
	PolicyDigest string
	// Files are the files' results, in the order they were given.
	Files []FileResult
}

// FileResult is the outcome of checking one file.
type FileResult struct {
	// Path is the file's path as requested.
	Path string
	// Kind is the kind the file was checked as: the one given, or the one its type implies.
	Kind fivesafesv1alpha1.OutputKind
	// Outcome is pass, review or fail.
	Outcome fivesafesv1alpha1.CheckOutcome
	// Type is the type detected from the content; empty when the file could not be read.
	Type Type
	// SHA256 is "sha256:" and the hex digest of the content when it was read to the end, else
	// empty.
	SHA256 string
	// Size is the number of bytes read.
	Size int64
	// Findings explain an outcome other than pass; never nil.
	Findings []fivesafesv1alpha1.Finding
	// Err is why the file could not be read or analysed, or nil. A file with an error fails.
	Err error
}

// KindForType is the kind a file of the detected type is checked as when no kind is given: CSV
// and TSV are tables, images, SVG and PDF figures, scripts code, and everything else text.
func KindForType(t Type) fivesafesv1alpha1.OutputKind {
	switch t {
	case TypeCSV, TypeTSV:
		return fivesafesv1alpha1.OutputTable
	case TypePNG, TypeJPEG, TypePDF, TypeSVG:
		return fivesafesv1alpha1.OutputFigure
	case TypeScript:
		return fivesafesv1alpha1.OutputCode
	}
	return fivesafesv1alpha1.OutputText
}

// Check analyses each file as a stream (Analyse), builds the egress policy input from the
// reports, evaluates the policy once for all the files and returns the decision on each. The
// agreement's output rules are taken with ACRO's defaults for fields left unset
// (RulesFromAgreement), and limits with their defaults for zero fields.
//
// Check fails closed. A file that cannot be opened, read or analysed fails, with a
// RuleAnalysisError finding and its FileResult.Err set, and the other files are still checked.
// Check returns an error, and no result, when a path is invalid (ValidPaths), a file has no Open,
// the rules are out of bounds, the context ends, or the policy cannot be evaluated.
func Check(ctx context.Context, eng *policy.Engine, files []CheckFile, rules fivesafesv1alpha1.OutputRules, limits Limits) (CheckResult, error) {
	if len(files) == 0 {
		return CheckResult{}, errors.New("checking outputs: no files given")
	}
	if eng == nil {
		return CheckResult{}, errors.New("checking outputs: no policy engine")
	}
	paths := make([]string, len(files))
	for i, f := range files {
		if f.Open == nil {
			return CheckResult{}, fmt.Errorf("checking outputs: file %d has no content to open", i+1)
		}
		paths[i] = f.Path
	}
	if err := ValidPaths(paths); err != nil {
		return CheckResult{}, fmt.Errorf("checking outputs: %w", err)
	}
	sdcRules := RulesFromAgreement(rules)
	if err := sdcRules.Validate(); err != nil {
		return CheckResult{}, fmt.Errorf("checking outputs: %w", err)
	}
	opts := Options{Limits: limits, Rules: sdcRules}

	results := make([]FileResult, len(files))
	requested := make([]fivesafesv1alpha1.OutputFile, len(files))
	reports := make(map[string]FileReport, len(files))
	for i, f := range files {
		rep, err := checkOne(ctx, f, opts)
		if ctxErr := ctx.Err(); ctxErr != nil {
			return CheckResult{}, fmt.Errorf("checking outputs: %w", ctxErr)
		}
		res := FileResult{Path: f.Path, Kind: f.Kind, Err: err}
		if err == nil {
			reports[f.Path] = rep
			res.Type, res.SHA256, res.Size = rep.Type, rep.SHA256, rep.Size
			if res.Kind == "" {
				res.Kind = KindForType(rep.Type)
			}
		} else if res.Kind == "" {
			res.Kind = fivesafesv1alpha1.OutputText
		}
		results[i] = res
		requested[i] = fivesafesv1alpha1.OutputFile{Path: f.Path, Kind: res.Kind, ExceptionJustification: f.ExceptionJustification}
	}

	d, revision, err := evaluatePolicy(ctx, eng, NewPolicyInput(sdcRules, requested, reports))
	if err != nil {
		return CheckResult{}, fmt.Errorf("checking outputs: %w", err)
	}
	outcome := d.Overall(paths)
	for i := range results {
		fd := d.ForFile(results[i].Path)
		results[i].Outcome = fd.Outcome
		results[i].Findings = append([]fivesafesv1alpha1.Finding{}, fd.Findings...)
		if results[i].Err != nil {
			results[i].Outcome = fivesafesv1alpha1.OutcomeFail
			results[i].Findings = append(results[i].Findings, fivesafesv1alpha1.Finding{
				Rule:    RuleAnalysisError,
				Message: "The file could not be read or analysed to the end, so it was not checked.",
			})
			outcome = fivesafesv1alpha1.OutcomeFail
		}
	}
	return CheckResult{Outcome: outcome, PolicyDigest: revision, Files: results}, nil
}

// checkOne opens and analyses one file with its sidecar. A panic in an analyser is returned as
// an error, so that one hostile file fails rather than ending the check of every file.
func checkOne(ctx context.Context, f CheckFile, opts Options) (rep FileReport, err error) {
	defer func() {
		if recover() != nil {
			rep, err = FileReport{}, errors.New("the analyser failed unexpectedly")
		}
	}()
	r, err := f.Open()
	if err != nil {
		return FileReport{}, fmt.Errorf("opening the file: %w", err)
	}
	defer func() { _ = r.Close() }()
	if f.Sidecar != nil {
		sc, err := f.Sidecar()
		if err != nil {
			return FileReport{}, fmt.Errorf("opening the sidecar: %w", err)
		}
		defer func() { _ = sc.Close() }()
		opts.Sidecar = sc
	}
	return Analyse(ctx, f.Path, r, opts)
}
