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

// Package egress analyses files a researcher asks to release from a workspace, and builds the
// input of the egress policy (policies/egress, package fivesafes.egress) that decides whether each
// file passes, needs review, or fails.
//
// # Analysis
//
// Analyse reads a file once, as a stream, and writes a FileReport: a summary with counts and a few
// locations for each kind of finding, never an identifier or cell value. Per-cell statistics stay
// in Go; the policy sees only the summary. Nothing is ever decompressed, so a decompression bomb is
// just a small archive, refused as one. Every stage is capped by Limits (size, rows, columns, line
// length, JSON depth, sidecar size): a file that hits a cap is reported incomplete and fails, and
// memory stays bounded whatever the input. The report is the same however the reader splits the
// content.
//
// The type comes from the content, never from the name (Sniff):
//
//   - csv, tsv (a header of two or more fields that nine records in ten of the first 64 KiB
//     match), text, markdown, json (one value or JSON Lines), svg, html and script (a "#!" line)
//     are text, checked line by line or cell by cell;
//   - png, jpeg and pdf are accepted for review only;
//   - archives and compressed files (zip and every zip-based format such as xlsx, gzip, bzip2,
//     xz, zstd, lz4, 7z, rar, tar, cpio, ar, cab, iso9660, ole2, zlib, …), executables (ELF, PE,
//     Mach-O, Java class, WebAssembly, dex, Python pickles) and every other binary (including GIF,
//     TIFF, SQLite, Parquet, RData, Stata and SPSS files) are refused.
//
// Scripts with a "#!" line are text, not executables: code is a kind of output a researcher may
// release, so they are checked as text and the policy always sends them to a person. Text in
// UTF-16 or UTF-32, NUL bytes and invalid UTF-8 are findings that fail. Polyglots are caught
// three ways: a zip end-of-central-directory record ending the file anywhere past its start;
// strong archive and ELF signatures anywhere inside PNG, JPEG, PDF and binary files; and "%PDF-"
// within the first KiB of any other file. Bytes after the end of a PNG (IEND), JPEG (EOI) or PDF
// (%%EOF) are reported as trailing data. SVG and HTML are searched for scripts, event handlers and
// embedded documents; PDFs for JavaScript, launch actions and attached files (names written with
// #xx escapes or inside compressed object streams are not seen, which is one reason PDFs always go
// to review).
//
// # Tables
//
// A CSV or TSV table is parsed by a streaming RFC 4180 parser (lenient like encoding/csv with
// LazyQuotes; stray quotes and ragged rows are counted as malformed). Each column is classified by
// its header and its cells: columns named like counts (n, count, freq, frequency, number, total,
// patients, people, *_count, n_*, …) holding only whole numbers are count columns, and so is
// every other whole-number column after the first that is not named like a label (year, age,
// code, region, …) or a measure (mean, rate, cost, …): the cells of a wide cross-tabulation whose
// first column labels the rows. Suppression markers ("*", "<10", "[c]", …) and missing values
// ("", "NA", …) are allowed in count columns. For the count cells the report gives the smallest
// non-zero count, zeros, cells below the minimum cell count and negative counts, with row and
// column locations; where no count column is found it says so, and the policy asks for review.
// Other numeric columns are magnitude columns, checked only through a sidecar (see Sidecar): a
// "<table>.sdc.json" file of per-cell contributor statistics against which the n-k dominance and
// p-ratio rules of package sdc are applied.
//
// Rows are numbered from 1 after the header; columns from 1, with their header when it is safe to
// show. A table is reported as individual-level when columns are named like person identifiers or
// dates of birth, or when cells hold identifiers; as possibly individual-level when it has no
// counts, at least 100 rows, and a column whose values never repeat.
//
// # Identifiers
//
// ScanIdentifiers finds valid NHS numbers (ten digits, or 3-3-4 with spaces or dashes, passing
// the modulus 11 check; an invalid ten-digit number is not one), full UK postcodes and pseudonyms
// (64 hex characters, the workspace's HMAC format, except "sha256:" digests) in every line and
// cell. Dates of birth are counted in columns named like dates of birth, and on lines of text that
// say "date of birth", "DOB" or "born". Cells a spreadsheet would run as formulas (IsFormulaCell)
// are counted as formula cells.
//
// # Policy input and decision
//
// The egress policy needs a policy engine, so the glue lives with its callers (the OutputRequest
// controller and `fivesafes output check`):
//
//	rules := egress.RulesFromAgreement(agreement.Spec.OutputRules) // ACRO's defaults when unset
//	if err := egress.ValidPaths(paths); err != nil { ... }          // before reading anything
//	reports := map[string]egress.FileReport{}
//	for _, f := range request.Spec.Files {
//		// sidecar: the content of f.Path+egress.SidecarSuffix when it exists, else nil.
//		r, err := egress.Analyse(ctx, f.Path, content, egress.Options{Rules: rules, Sidecar: sidecar})
//		if err != nil { ... }   // I/O error or cancelled: no decision, retry
//		reports[f.Path] = r
//	}
//	in := egress.NewPolicyInput(rules, request.Spec.Files, reports)
//	res, err := engine.EvalValue(ctx, egress.PolicyQuery, in.Value()) // internal/policy; an error fails closed
//	d, err := egress.DecisionFromValue(res.Value)                      // so does a decision of another shape
//	for _, f := range request.Spec.Files {
//		fd := d.ForFile(f.Path) // fails when the policy gave no decision on the file
//		// FileCheck{Path, SHA256: reports[f.Path].SHA256, Size, Type, Outcome: fd.Outcome, Findings: fd.Findings}
//	}
//	outcome := d.Overall(paths) // the worst; res.Revision is the policy digest to record
//
// The policy input is {"rules": {minimumCellCount, dominance: {contributors, kBasisPoints},
// pRatioBasisPoints, zeros}, "files": [{path, kind, exceptionJustification, analysis}]}, where
// analysis is the FileReport's JSON form; the decision is {"outcome", "files": {path: {"outcome",
// "findings": [{rule, message, location}]}}}. PolicyInput.Value builds the input as a Rego value
// directly and DecisionFromValue reads the decision from the Rego value, so that neither goes
// through JSON on every evaluation; Check does all of the above for a set of files.
package egress
