# Reference formulation of the egress policy, for tests only: every check is evaluated on every
# file, written as plainly as possible. policies/egress/egress.rego skips the checks that cannot
# fire on a file (see "Quiet files" there) and must decide exactly as this does on every input the
# Go side builds; TestPolicyMatchesReference and FuzzPolicyMatchesReference in internal/egress
# compare the two. A change to a rule goes into both.
#
# Egress policy: decides, for each file an OutputRequest asks to release, whether it passes, needs
# a person to review it, or fails; and the request's overall outcome.
#
# Input (built by internal/egress.NewPolicyInput):
#   rules: the agreement's outputRules with defaults filled in:
#     {minimumCellCount, dominance: {contributors, kBasisPoints}, pRatioBasisPoints, zeros}
#   files: [{path, kind, exceptionJustification, analysis}], where analysis is the summary the Go
#     analysers wrote (internal/egress.FileReport; per-cell statistics stay in Go).
#
# Output: data.fivesafes.egress.decision =
#   {outcome: "pass"|"review"|"fail",
#    files: {<path>: {outcome, findings: [{rule, message, location}]}}}
#
# Rules, following ACRO's defaults (threshold 10, n-k dominance n=2 k=90%, p-ratio 10%, zeros
# disclosive):
#   - hard failures, which nothing can turn into a pass or a review: a missing analysis, a bad path,
#     archives, executables, unknown binaries, polyglots, trailing data, text that is not UTF-8 or
#     holds NUL bytes, exceeded limits, identifiers (NHS numbers, postcodes, pseudonyms, dates of
#     birth), spreadsheet formulas, individual-level records, active content and attachments;
#   - disclosure control failures (threshold, zeros, dominance, p-ratio): they fail, unless the
#     researcher gave an exception justification, which turns them into a review, never a pass;
#   - reviews: images, PDFs, HTML and scripts always; tables whose counts could not be identified or
#     checked, files requested or named as tables that are not, malformed tables, sidecar problems,
#     Markdown tables and tables that may be records.
package fivesafes.egress

# Rule parameters, with ACRO's defaults where the input leaves them out.

min_cell_count := n if {
	n := input.rules.minimumCellCount
	is_number(n)
	n >= 1
} else := 10

default zeros_disclosive := true

zeros_disclosive := false if input.rules.zeros == "Allowed"

dominance_n := n if {
	n := input.rules.dominance.contributors
	is_number(n)
	n >= 1
} else := 2

dominance_k := k if {
	k := input.rules.dominance.kBasisPoints
	is_number(k)
	k >= 1
} else := 9000

p_ratio := p if {
	p := input.rules.pRatioBasisPoints
	is_number(p)
	p >= 0
} else := 1000

known_types := {
	"empty", "csv", "tsv", "text", "markdown", "json", "svg", "html", "script",
	"png", "jpeg", "pdf", "archive", "executable", "binary",
}

table_types := {"csv", "tsv"}

# Helpers.

# finding builds a finding on the file at path.
finding(path, severity, rule, message, location) := {
	"path": path,
	"severity": severity,
	"rule": rule,
	"message": message,
	"location": location,
}

# num returns a numeric field of a small object (counts, identifiers, sidecar), 0 when absent.
num(o, field) := object.get(o, field, 0)

loc(locations, key) := object.get(locations, key, "")

# analysed holds the files that have an analysis, by position.
analysed[i] := f if {
	some i, f in input.files
	is_object(f.analysis)
}

exception_paths contains f.path if {
	some f in input.files
	trim_space(object.get(f, "exceptionJustification", "")) != ""
}

# flagged_as holds when an analysis's flag is set or its type is the kind.
flagged_as(flag, _, _) if flag == true

flagged_as(_, typ, kind) if typ == kind

# Hard failures.

hard contains finding(f.path, "fail", "egress.no_analysis", "The file was not analysed, so it cannot be released.", "") if {
	some f in input.files
	not is_object(object.get(f, "analysis", null))
}

hard contains finding(f.path, "fail", "egress.path", "The path must be local to outputs/: letters, digits, '.', '_', '-' and '/', with no empty, '.' or '..' segments.", "") if {
	some f in input.files
	not valid_path(object.get(f, "path", ""))
}

valid_path(p) if {
	is_string(p)
	count(p) <= 512
	regex.match(`^[A-Za-z0-9_][A-Za-z0-9._/-]*$`, p)
	not bad_segment(p)
}

bad_segment(p) if {
	some seg in split(p, "/")
	seg in {"", ".", ".."}
}

# A segment ending in a dot, or a Windows device name, cannot be saved where releases are downloaded.
bad_segment(p) if {
	some seg in split(p, "/")
	endswith(seg, ".")
}

bad_segment(p) if {
	some seg in split(p, "/")
	regex.match(`(?i)^(con|prn|aux|nul|com[0-9]|lpt[0-9])(\..*)?$`, seg)
}

hard contains finding(f.path, "fail", "egress.duplicate_path", "The same path is requested more than once.", "") if {
	some f in input.files
	count([g | some g in input.files; g.path == f.path]) > 1
}

hard contains finding(f.path, "fail", "egress.incomplete", "The file was not read to the end, so it was not fully checked.", "") if {
	some f in analysed
	object.get(f.analysis, "complete", false) != true
}

hard contains finding(f.path, "fail", sprintf("egress.limit.%s", [l]), msg, loc(object.get(f.analysis, "locations", {}), l)) if {
	some f in analysed
	some l in object.get(f.analysis, "limits_exceeded", [])
	msg := sprintf("The file exceeds the %s limit for output checking; split or reduce it.", [l])
}

hard contains finding(f.path, "fail", "egress.unknown_type", "The file's type could not be recognised from its content.", "") if {
	some f in analysed
	not object.get(f.analysis, "type", "") in known_types
}

hard contains finding(f.path, "fail", "egress.archive", msg, "") if {
	some f in analysed
	flagged_as(object.get(f.analysis, "archive", false), object.get(f.analysis, "type", ""), "archive")
	msg := sprintf("The file is an archive or compressed file (%s). Archives cannot be checked and are never released; request the files inside it instead.", [object.get(f.analysis, "format", "unknown format")])
}

hard contains finding(f.path, "fail", "egress.executable", msg, "") if {
	some f in analysed
	flagged_as(object.get(f.analysis, "executable", false), object.get(f.analysis, "type", ""), "executable")
	msg := sprintf("The file is an executable or serialised program (%s) and cannot be released.", [object.get(f.analysis, "format", "unknown format")])
}

hard contains finding(f.path, "fail", "egress.binary", msg, "") if {
	some f in analysed
	flagged_as(object.get(f.analysis, "binary", false), object.get(f.analysis, "type", ""), "binary")
	msg := sprintf("The file is a binary of a type that is not accepted (%s). Release tables as CSV, text as text or Markdown, and figures as PNG, JPEG, SVG or PDF.", [object.get(f.analysis, "format", "unknown")])
}

hard contains finding(f.path, "fail", "egress.embedded", msg, "") if {
	some f in analysed
	e := object.get(f.analysis, "embedded", "")
	e != ""
	msg := sprintf("Another file (%s) is hidden inside this one.", [e])
}

hard contains finding(f.path, "fail", "egress.trailing_data", "Data follows the end of the image or document, where it could hide other content.", "") if {
	some f in analysed
	f.analysis.trailing_data == true
}

hard contains finding(f.path, "fail", "egress.encoding", msg, "") if {
	some f in analysed
	e := object.get(f.analysis, "format", "")
	e in {"utf-16", "utf-32"}
	msg := sprintf("The text is encoded as %s; save it as UTF-8.", [upper(e)])
}

hard contains finding(f.path, "fail", "egress.nul_bytes", msg, loc(object.get(f.analysis, "locations", {}), "nul_bytes")) if {
	some f in analysed
	n := object.get(f.analysis, "nul_bytes", 0)
	n > 0
	msg := sprintf("The text holds %d NUL bytes, which can hide content from checks.", [n])
}

hard contains finding(f.path, "fail", "egress.invalid_utf8", msg, loc(object.get(f.analysis, "locations", {}), "invalid_utf8")) if {
	some f in analysed
	n := object.get(f.analysis, "invalid_utf8", 0)
	n > 0
	msg := sprintf("%d lines or cells are not valid UTF-8; save the file as UTF-8.", [n])
}

identifier_kinds := {
	"nhs_numbers": ["egress.identifier.nhs_number", "NHS numbers"],
	"postcodes": ["egress.identifier.postcode", "full postcodes"],
	"pseudonyms": ["egress.identifier.pseudonym", "pseudonyms (64-character hex keys)"],
	"dates_of_birth": ["egress.identifier.date_of_birth", "dates of birth"],
}

hard contains finding(f.path, "fail", rule, msg, loc(object.get(f.analysis, "locations", {}), key)) if {
	some f in analysed
	some key, spec in identifier_kinds
	n := num(object.get(f.analysis, "identifiers", {}), key)
	n > 0
	rule := spec[0]
	msg := sprintf("The file holds %d %s. Identifiers are never released.", [n, spec[1]])
}

hard contains finding(f.path, "fail", "egress.formula_injection", msg, loc(object.get(f.analysis, "locations", {}), "formula_cells")) if {
	some f in analysed
	n := object.get(f.analysis, "formula_cells", 0)
	n > 0
	msg := sprintf("%d cells start with =, +, -, @, a tab or a carriage return and would run as formulas in a spreadsheet; remove or quote them with a leading apostrophe.", [n])
}

hard contains finding(f.path, "fail", "egress.individual_level", msg, "") if {
	some f in analysed
	f.analysis.individual_level == true
	msg := sprintf("The table looks like individual-level records: %s. Only aggregate outputs may be released.", [concat("; ", object.get(f.analysis, "individual_level_reasons", []))])
}

hard contains finding(f.path, "fail", "egress.active_content", msg, loc(object.get(f.analysis, "locations", {}), "active_content")) if {
	some f in analysed
	n := object.get(f.analysis, "active_content", 0)
	n > 0
	msg := sprintf("The file holds %d scripts, event handlers or launch actions.", [n])
}

hard contains finding(f.path, "fail", "egress.embedded_files", "The PDF carries attached files.", "") if {
	some f in analysed
	object.get(f.analysis, "embedded_files", 0) > 0
}

# Disclosure control failures: fail, or review with an exception justification.

disclosure contains finding(f.path, sdc_severity(f.path), "egress.threshold", msg, loc(object.get(f.analysis, "locations", {}), "below_threshold")) if {
	some f in analysed
	c := object.get(f.analysis, "counts", {})
	c.identified == true
	below_threshold(c)
	n := max([num(c, "below_threshold"), 1])
	msg := sprintf("%d count cells are below the minimum cell count of %d (smallest non-zero count: %d).", [n, min_cell_count, num(c, "min_nonzero")])
}

below_threshold(c) if num(c, "below_threshold") > 0

below_threshold(c) if {
	m := num(c, "min_nonzero")
	m > 0
	m < min_cell_count
}

disclosure contains finding(f.path, sdc_severity(f.path), "egress.zeros", msg, loc(object.get(f.analysis, "locations", {}), "zeros")) if {
	some f in analysed
	zeros_disclosive
	c := object.get(f.analysis, "counts", {})
	c.identified == true
	n := num(c, "zeros")
	n > 0
	msg := sprintf("%d count cells are zero; under this agreement's rules zeros are disclosive.", [n])
}

disclosure contains finding(f.path, sdc_severity(f.path), "egress.dominance", msg, loc(object.get(f.analysis, "locations", {}), "dominance")) if {
	some f in analysed
	n := object.get(f.analysis, "dominance_failures", 0)
	n > 0
	msg := sprintf("%d cells fail the n-k dominance rule: their %d largest contributors make up more than %v%% of the total.", [n, dominance_n, dominance_k / 100])
}

disclosure contains finding(f.path, sdc_severity(f.path), "egress.p_ratio", msg, loc(object.get(f.analysis, "locations", {}), "p_ratio")) if {
	some f in analysed
	n := object.get(f.analysis, "p_ratio_failures", 0)
	n > 0
	msg := sprintf("%d cells fail the p-ratio rule: the rest of the total is less than %v%% of the largest contribution.", [n, p_ratio / 100])
}

disclosure contains finding(f.path, sdc_severity(f.path), "egress.sidecar_threshold", msg, loc(object.get(f.analysis, "locations", {}), "sidecar_threshold")) if {
	some f in analysed
	s := object.get(f.analysis, "sidecar", {})
	n := num(s, "threshold_failures") + sidecar_zeros(s)
	n > 0
	msg := sprintf("%d magnitude cells have fewer contributors than the minimum cell count of %d.", [n, min_cell_count])
}

sidecar_zeros(s) := n if {
	zeros_disclosive
	n := num(s, "zero_cells")
} else := 0

sdc_severity(path) := "review" if {
	path in exception_paths
} else := "fail"

exceptions contains finding(f.path, "review", "egress.exception", "The researcher asked for an exception to the disclosure control rules; an output checker must decide.", "") if {
	some f in analysed
	f.path in exception_paths
	some x in disclosure
	x.path == f.path
}

# Reviews.

review_types := {
	"png": "an image",
	"jpeg": "an image",
	"svg": "an image",
	"pdf": "a PDF",
	"html": "an HTML page",
	"script": "a script",
}

reviews contains finding(f.path, "review", sprintf("egress.review.%s", [t]), msg, "") if {
	some f in analysed
	t := f.analysis.type
	what := review_types[t]
	msg := sprintf("The file is %s, which an output checker must look at.", [what])
}

reviews contains finding(f.path, "review", "egress.not_a_table", msg, "") if {
	some f in analysed
	object.get(f.analysis, "type", "") in {"text", "markdown", "json"}
	declared_table(object.get(f, "kind", ""), object.get(f.analysis, "extension", ""))
	msg := sprintf("The file is requested as a table (kind %s, extension %s) but is not a CSV or TSV table with the same number of fields on every row, so its cells were not checked.", [object.get(f, "kind", ""), object.get(f.analysis, "extension", "")])
}

declared_table(kind, _) if kind == "Table"

declared_table(_, extension) if extension in {"csv", "tsv"}

reviews contains finding(f.path, "review", "egress.counts_unidentified", "No count columns could be identified in this table, so the disclosure control rules could not be checked automatically.", "") if {
	some f in analysed
	f.analysis.type in table_types
	object.get(object.get(f.analysis, "counts", {}), "identified", false) != true
}

reviews contains finding(f.path, "review", "egress.negative_counts", msg, loc(object.get(f.analysis, "locations", {}), "negative_counts")) if {
	some f in analysed
	n := num(object.get(f.analysis, "counts", {}), "negative")
	n > 0
	msg := sprintf("%d count cells are negative.", [n])
}

reviews contains finding(f.path, "review", "egress.magnitude_unchecked", msg, "") if {
	some f in analysed
	n := object.get(f.analysis, "magnitude_unchecked", 0)
	n > 0
	msg := sprintf("%d columns hold magnitudes (sums, means or rates) that no sidecar of contributor statistics covers, so dominance and p-ratio could not be checked.", [n])
}

reviews contains finding(f.path, "review", "egress.sidecar_invalid", msg, "") if {
	some f in analysed
	s := object.get(f.analysis, "sidecar", {})
	s.present == true
	s.valid != true
	msg := sprintf("The sidecar of contributor statistics could not be used: %s.", [object.get(s, "error", "unknown error")])
}

reviews contains finding(f.path, "review", "egress.sidecar_inapplicable", msg, "") if {
	some f in analysed
	n := num(object.get(f.analysis, "sidecar", {}), "inapplicable")
	n > 0
	msg := sprintf("The magnitude rules could not be applied to %d cells (negative values, or too few largest contributions listed).", [n])
}

reviews contains finding(f.path, "review", "egress.malformed", msg, loc(object.get(f.analysis, "locations", {}), "malformed")) if {
	some f in analysed
	n := object.get(f.analysis, "malformed", 0)
	n > 0
	msg := sprintf("%d rows are malformed: stray quotes, or a different number of fields from the header.", [n])
}

reviews contains finding(f.path, "review", "egress.markdown_table", msg, "") if {
	some f in analysed
	n := object.get(f.analysis, "markdown_tables", 0)
	n > 0
	msg := sprintf("The document holds %d Markdown table rows, whose cells are not checked automatically.", [n])
}

reviews contains finding(f.path, "review", "egress.individual_level_possible", msg, "") if {
	some f in analysed
	f.analysis.individual_level_possible == true
	object.get(f.analysis, "individual_level", false) != true
	msg := sprintf("The table may be individual-level records: %s.", [concat("; ", object.get(f.analysis, "individual_level_reasons", []))])
}

# Outcomes.

findings := ((hard | disclosure) | reviews) | exceptions

# by_path groups the findings by file, in one pass.
by_path[p] contains x if {
	some x in findings
	p := x.path
}

file_decision(p) := {"outcome": worst(xs), "findings": [{"rule": x.rule, "message": x.message, "location": x.location} | some x in xs]} if {
	xs := object.get(by_path, p, set())
}

worst(xs) := "fail" if {
	some x in xs
	x.severity == "fail"
} else := "review" if {
	some x in xs
	x.severity == "review"
} else := "pass"

files := {p: file_decision(p) | some f in input.files; p := f.path}

overall := "fail" if {
	count(object.get(input, "files", [])) == 0
} else := "fail" if {
	# A file without a path has no decision, and fails the request.
	some f in input.files
	not is_string(object.get(f, "path", null))
} else := "fail" if {
	some d in files
	d.outcome == "fail"
} else := "review" if {
	some d in files
	d.outcome == "review"
} else := "pass"

decision := {"outcome": overall, "files": files}
