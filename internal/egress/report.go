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

// Type is a file type detected from content.
type Type string

// Detected types. Text types are analysed line by line (CSV and TSV cell by cell); PNG, JPEG and
// PDF are accepted for review only; archives, executables and other binaries are refused.
const (
	TypeEmpty      Type = "empty"
	TypeCSV        Type = "csv"
	TypeTSV        Type = "tsv"
	TypeText       Type = "text"
	TypeMarkdown   Type = "markdown"
	TypeJSON       Type = "json"
	TypeSVG        Type = "svg"
	TypeHTML       Type = "html"
	TypeScript     Type = "script"
	TypePNG        Type = "png"
	TypeJPEG       Type = "jpeg"
	TypePDF        Type = "pdf"
	TypeArchive    Type = "archive"
	TypeExecutable Type = "executable"
	TypeBinary     Type = "binary"
)

// IsText reports whether files of the type are analysed as text.
func (t Type) IsText() bool {
	switch t {
	case TypeCSV, TypeTSV, TypeText, TypeMarkdown, TypeJSON, TypeSVG, TypeHTML, TypeScript:
		return true
	}
	return false
}

// Limit names used in FileReport.LimitsExceeded.
const (
	LimitSize       = "size"
	LimitRows       = "rows"
	LimitColumns    = "columns"
	LimitLineLength = "line_length"
	LimitJSONDepth  = "json_depth"
)

// Location keys used in FileReport.Locations.
const (
	LocNULBytes         = "nul_bytes"
	LocInvalidUTF8      = "invalid_utf8"
	LocNHSNumbers       = "nhs_numbers"
	LocPostcodes        = "postcodes"
	LocPseudonyms       = "pseudonyms"
	LocDatesOfBirth     = "dates_of_birth"
	LocFormulaCells     = "formula_cells"
	LocZeros            = "zeros"
	LocBelowThreshold   = "below_threshold"
	LocNegativeCounts   = "negative_counts"
	LocDominance        = "dominance"
	LocPRatio           = "p_ratio"
	LocSidecarThreshold = "sidecar_threshold"
	LocLineLength       = "line_length"
	LocActiveContent    = "active_content"
	LocMalformed        = "malformed"
)

// FileReport is the summary of one file that the egress policy decides on. Per-cell statistics
// stay in Go; the report carries counts and a few locations for each kind of finding, never a
// value that was found. Its JSON form is the "analysis" of a file in the policy input; the field
// names below are that schema.
type FileReport struct {
	// Path is the file's path as requested.
	Path string `json:"path"`
	// Extension is the lower-case extension of Path, without the dot, for messages only: the
	// type is always detected from content.
	Extension string `json:"extension"`
	// Type is the type detected from content.
	Type Type `json:"type"`
	// Format names the archive, executable, binary or text encoding format when there is one,
	// e.g. "zip", "elf", "sqlite" or "utf-16".
	Format string `json:"format,omitempty"`
	// Size is the number of bytes read: the file's size when Complete.
	Size int64 `json:"size"`
	// SHA256 is "sha256:" and the hex digest of the content when Complete, else empty.
	SHA256 string `json:"sha256,omitempty"`
	// Complete is false when a limit stopped the analysis before the end of the file.
	Complete bool `json:"complete"`
	// LimitsExceeded names the limits that were hit: size, rows, columns, line_length, json_depth.
	LimitsExceeded []string `json:"limits_exceeded"`

	// Lines is the number of lines of a text file.
	Lines int64 `json:"lines"`
	// Rows is the number of CSV records after the header.
	Rows int64 `json:"rows"`
	// Columns is the number of fields in the CSV header.
	Columns int `json:"columns"`
	// Malformed counts CSV records with stray quotes, an unterminated quote, or a field count
	// that differs from the header's.
	Malformed int64 `json:"malformed"`

	// Counts describes the count cells of a CSV table.
	Counts Counts `json:"counts"`
	// MagnitudeColumns counts numeric CSV columns that are not counts (sums, means, rates).
	MagnitudeColumns int `json:"magnitude_columns"`
	// MagnitudeUnchecked counts magnitude columns that no sidecar covers cell by cell.
	MagnitudeUnchecked int `json:"magnitude_unchecked"`
	// Sidecar describes the "<file>.sdc.json" sidecar, when one was given.
	Sidecar SidecarSummary `json:"sidecar"`
	// DominanceFailures counts sidecar cells failing n-k dominance.
	DominanceFailures int64 `json:"dominance_failures"`
	// PRatioFailures counts sidecar cells failing the p-ratio rule.
	PRatioFailures int64 `json:"p_ratio_failures"`

	// Identifiers counts identifiers found anywhere in the text or cells.
	Identifiers Identifiers `json:"identifiers"`
	// FormulaCells counts CSV cells that a spreadsheet would run as a formula.
	FormulaCells int64 `json:"formula_cells"`
	// NULBytes counts NUL bytes in a text file.
	NULBytes int64 `json:"nul_bytes"`
	// InvalidUTF8 counts lines, or CSV cells, that are not valid UTF-8.
	InvalidUTF8 int64 `json:"invalid_utf8"`

	// Archive is true for archives and compressed files.
	Archive bool `json:"archive"`
	// Executable is true for executables.
	Executable bool `json:"executable"`
	// Binary is true for binaries of no accepted type.
	Binary bool `json:"binary"`
	// Embedded names an archive, executable or PDF found inside the file past its start (a
	// polyglot), or is empty.
	Embedded string `json:"embedded,omitempty"`
	// TrailingData is true when bytes follow the end of a PNG, JPEG or PDF.
	TrailingData bool `json:"trailing_data"`
	// ActiveContent counts scripts and event handlers in SVG and HTML, and JavaScript or launch
	// actions in PDF.
	ActiveContent int64 `json:"active_content"`
	// EmbeddedFiles counts files attached to a PDF.
	EmbeddedFiles int64 `json:"embedded_files"`
	// MarkdownTables counts table rows in Markdown, whose cells are not checked.
	MarkdownTables int64 `json:"markdown_tables"`

	// IndividualLevel is true when a table looks like individual-level records: identifier or
	// date-of-birth columns, or identifiers in its cells.
	IndividualLevel bool `json:"individual_level"`
	// IndividualLevelPossible is true when a table has no count columns, many rows and a column
	// whose every value is different, as record-level data has.
	IndividualLevelPossible bool `json:"individual_level_possible"`
	// IndividualLevelReasons explain the two flags above, naming columns by position.
	IndividualLevelReasons []string `json:"individual_level_reasons"`

	// Locations holds, for each kind of finding, where the first few were found, e.g.
	// `row 3, column 2 "female"` or `line 12`, and how many more there are.
	Locations map[string]string `json:"locations"`
}

// Counts describes the count cells of a table.
type Counts struct {
	// Identified is true when count cells were found and every one was checked.
	Identified bool `json:"identified"`
	// Layout is "long" (named count columns), "wide" (label columns then count columns) or
	// "none".
	Layout string `json:"layout"`
	// Columns are the 1-based positions of the count columns.
	Columns []int `json:"columns"`
	// Cells is the number of count cells checked.
	Cells int64 `json:"cells"`
	// MinNonZero is the smallest count above zero, or 0 when there is none.
	MinNonZero int64 `json:"min_nonzero"`
	// Zeros is the number of zero counts.
	Zeros int64 `json:"zeros"`
	// BelowThreshold is the number of counts above zero and below the minimum cell count.
	BelowThreshold int64 `json:"below_threshold"`
	// Negative is the number of negative counts.
	Negative int64 `json:"negative"`
	// Suppressed is the number of count cells holding a suppression marker such as "*" or "<10".
	Suppressed int64 `json:"suppressed"`
	// Threshold is the minimum cell count the counts were checked against.
	Threshold int64 `json:"threshold"`
}

// Identifiers counts identifiers found.
type Identifiers struct {
	// NHSNumbers counts valid NHS numbers: ten digits, or 3-3-4 separated by spaces or dashes,
	// passing the modulus 11 check.
	NHSNumbers int64 `json:"nhs_numbers"`
	// Postcodes counts full UK postcodes.
	Postcodes int64 `json:"postcodes"`
	// Pseudonyms counts 64-character hex strings, the workspace's pseudonym format.
	Pseudonyms int64 `json:"pseudonyms"`
	// DatesOfBirth counts dates in date-of-birth columns, or next to "date of birth" in text.
	DatesOfBirth int64 `json:"dates_of_birth"`
}

// Total is the number of identifiers of every kind.
func (i Identifiers) Total() int64 {
	return i.NHSNumbers + i.Postcodes + i.Pseudonyms + i.DatesOfBirth
}

// SidecarSummary describes a sidecar.
type SidecarSummary struct {
	// Present is true when a sidecar was given.
	Present bool `json:"present"`
	// Valid is true when it parsed, was consistent and matched the table.
	Valid bool `json:"valid"`
	// Error says why it is not valid, without values.
	Error string `json:"error,omitempty"`
	// Cells is the number of cells it describes.
	Cells int64 `json:"cells"`
	// ThresholdFailures counts cells with fewer contributors than the minimum cell count.
	ThresholdFailures int64 `json:"threshold_failures"`
	// ZeroCells counts cells with no contributors, when zeros are disclosive.
	ZeroCells int64 `json:"zero_cells"`
	// Inapplicable counts cells the magnitude rules could not be applied to: negative values,
	// or too few largest contributions for the dominance rule's n.
	Inapplicable int64 `json:"inapplicable"`
}
