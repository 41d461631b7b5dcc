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
#
# Speed: the policy is evaluated for every output request, so the checks that seldom fire look only
# at the files that could make them fire (see "Quiet files"). The decisions are those of evaluating
# every check on every file, as internal/egress/testdata/reference/egress.rego does; the tests of
# internal/egress compare the two.
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

# Findings.
#
# Every check adds its findings to findings[<the file's path>], or to its family's set (see "Quiet
# files"), which is added to findings when some file is not quiet for the family. Each finding is
# an object
#   {"path": <the file's path>, "severity": "fail"|"review", "rule", "message", "location"}
# written out in the rule's head: a helper function would cost a call, and a cache entry, for
# every finding. A field an analysis may leave out is read with object.get and a default (0 for
# counts, "" for locations). The disclosure control findings are gathered in disclosure first,
# since the exception finding depends on them.

# analysed holds the files that have an analysis, in request order.
analysed := [f | some f in input.files; is_object(f.analysis)]

# Quiet files.
#
# Most checks read one counter or flag of an analysis and fire only when it is away from its
# "nothing to report" value, which most files hold for most checks. Those checks fall into four
# families, each evaluated only on the files that are not quiet for it:
#   - reading: incomplete reads and exceeded limits;
#   - content: unknown and refused types, hidden files, trailing data, other encodings, active
#     content and attachments;
#   - text: NUL bytes, invalid UTF-8, identifiers, formulas and individual-level records;
#   - table: zeros, dominance, p-ratio, sidecars, negative counts, unchecked magnitudes, malformed
#     rows, Markdown tables and possible records.
# A file is quiet for a family when its analysis holds the family's quiet values (one
# object.subset) and the family's other conditions below. Each of these is a condition that every
# check of the family needs broken to fire, so no check can fire on a file quiet for its family:
# skipping quiet files changes no decision, and spares evaluating every check on every file. The
# other checks (paths, the threshold, reviews by type, tables that are not tables or whose counts
# were not identified) often fire on ordinary outputs, and look at every file.

# The quiet values of the fields each family reads, written as constants (not filtered out of
# one object at every evaluation). quiet_fields holds them all, written out too rather than
# joined at every evaluation; a test checks that it is exactly the four families.
quiet_reading := {"complete": true}

quiet_content := {
	"archive": false,
	"executable": false,
	"binary": false,
	"trailing_data": false,
	"active_content": 0,
	"embedded_files": 0,
}

quiet_text := {
	"nul_bytes": 0,
	"invalid_utf8": 0,
	"identifiers": {"nhs_numbers": 0, "postcodes": 0, "pseudonyms": 0, "dates_of_birth": 0},
	"formula_cells": 0,
	"individual_level": false,
}

quiet_table := {
	"counts": {"zeros": 0, "negative": 0},
	"dominance_failures": 0,
	"p_ratio_failures": 0,
	"sidecar": {"present": false, "threshold_failures": 0, "zero_cells": 0, "inapplicable": 0},
	"magnitude_unchecked": 0,
	"malformed": 0,
	"markdown_tables": 0,
	"individual_level_possible": false,
}

quiet_fields := {
	"complete": true,
	"archive": false,
	"executable": false,
	"binary": false,
	"trailing_data": false,
	"active_content": 0,
	"embedded_files": 0,
	"nul_bytes": 0,
	"invalid_utf8": 0,
	"identifiers": {"nhs_numbers": 0, "postcodes": 0, "pseudonyms": 0, "dates_of_birth": 0},
	"formula_cells": 0,
	"individual_level": false,
	"counts": {"zeros": 0, "negative": 0},
	"dominance_failures": 0,
	"p_ratio_failures": 0,
	"sidecar": {"present": false, "threshold_failures": 0, "zero_cells": 0, "inapplicable": 0},
	"magnitude_unchecked": 0,
	"malformed": 0,
	"markdown_tables": 0,
	"individual_level_possible": false,
}

# quiet_types are the known types that are not refused.
quiet_types := known_types - {"archive", "executable", "binary"}

# quiet holds for an analysis quiet for every family: it is read_whole and plain_content written
# out, since it is evaluated on every file.
quiet(a) if {
	object.subset(a, quiet_fields)
	object.get(a, "limits_exceeded", []) == []
	a.type in quiet_types
	object.get(a, "embedded", "") == ""
	not object.get(a, "format", "") in {"utf-16", "utf-32"}
}

reading_quiet(a) if {
	object.subset(a, quiet_reading)
	read_whole(a)
}

read_whole(a) if object.get(a, "limits_exceeded", []) == []

content_quiet(a) if {
	object.subset(a, quiet_content)
	plain_content(a)
}

plain_content(a) if {
	a.type in quiet_types
	object.get(a, "embedded", "") == ""
	not object.get(a, "format", "") in {"utf-16", "utf-32"}
}

text_quiet(a) if object.subset(a, quiet_text)

table_quiet(a) if object.subset(a, quiet_table)

# noisy holds the analysed files that are not quiet for some family, and the lists below those that
# are not quiet for each family, in request order.
noisy := [f | some f in analysed; not quiet(f.analysis)]

unread := [f | some f in noisy; not reading_quiet(f.analysis)]

content_noisy := [f | some f in noisy; not content_quiet(f.analysis)]

text_noisy := [f | some f in noisy; not text_quiet(f.analysis)]

table_noisy := [f | some f in noisy; not table_quiet(f.analysis)]

exception_paths contains f.path if {
	some f in input.files
	j := f.exceptionJustification
	trim_space(j) != ""
}

# flagged_as holds when an analysis's flag is set or its type is the kind.
flagged_as(flag, _, _) if flag == true

flagged_as(_, typ, kind) if typ == kind

# Hard failures.

# The checks of each family are evaluated only when a file is not quiet for it.
findings[x.path] contains x if {
	count(unread) > 0
	some x in reading_failures
}

findings[x.path] contains x if {
	count(content_noisy) > 0
	some x in content_failures
}

findings[x.path] contains x if {
	count(text_noisy) > 0
	some x in text_failures
}

findings[f.path] contains {"path": f.path, "severity": "fail", "rule": "egress.no_analysis", "message": "The file was not analysed, so it cannot be released.", "location": ""} if {
	count(analysed) != count(input.files)
	some f in input.files
	not is_object(object.get(f, "analysis", null))
}

findings[f.path] contains {"path": f.path, "severity": "fail", "rule": "egress.path", "message": "The path must be local to outputs/: letters, digits, '.', '_', '-' and '/', with no empty, '.' or '..' segments.", "location": ""} if {
	some f in input.files
	not valid_path(f.path)
}

# valid_path holds for a path of at most 512 characters, all of them ASCII, as the first pattern
# allows, and with no bad segment.
valid_path(p) if {
	is_string(p)
	regex.match(`^[A-Za-z0-9_][A-Za-z0-9._/-]{0,511}$`, p)
	not regex.match(bad_segment, p)
}

# bad_segment matches a path, made of the characters above, with a bad segment: an empty one
# ("//" or a final "/"), one ending in a dot (which includes "." and ".."), or a Windows device
# name, with or without an extension. A segment ending in a dot, or a device name, cannot be saved
# where releases are downloaded.
bad_segment := `(?i)//|/$|\.$|\./|(^|/)(con|prn|aux|nul|com[0-9]|lpt[0-9])(\.[^/]*)?(/|$)`

findings[f.path] contains {"path": f.path, "severity": "fail", "rule": "egress.duplicate_path", "message": "The same path is requested more than once.", "location": ""} if {
	repeated_paths
	some f in input.files
	count([g | some g in input.files; g.path == f.path]) > 1
}

# paths holds the paths of the files.
paths := {f.path | some f in input.files}

# repeated_paths holds when there are fewer paths than files (two files have the same path, or one
# has none), found in one pass; only then is each file compared with every other.
repeated_paths if count(paths) != count(input.files)

# Reading: files not read to the end.

reading_failures contains {"path": f.path, "severity": "fail", "rule": "egress.incomplete", "message": "The file was not read to the end, so it was not fully checked.", "location": ""} if {
	some f in unread
	object.get(f.analysis, "complete", false) != true
}

reading_failures contains {"path": f.path, "severity": "fail", "rule": sprintf("egress.limit.%s", [l]), "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), l, "")} if {
	some f in unread
	some l in object.get(f.analysis, "limits_exceeded", [])
	msg := sprintf("The file exceeds the %s limit for output checking; split or reduce it.", [l])
}

# Content: what the file is, and what it hides or runs.

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.unknown_type", "message": "The file's type could not be recognised from its content.", "location": ""} if {
	some f in content_noisy
	not object.get(f.analysis, "type", "") in known_types
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.archive", "message": msg, "location": ""} if {
	some f in content_noisy
	flagged_as(object.get(f.analysis, "archive", false), object.get(f.analysis, "type", ""), "archive")
	msg := sprintf("The file is an archive or compressed file (%s). Archives cannot be checked and are never released; request the files inside it instead.", [object.get(f.analysis, "format", "unknown format")])
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.executable", "message": msg, "location": ""} if {
	some f in content_noisy
	flagged_as(object.get(f.analysis, "executable", false), object.get(f.analysis, "type", ""), "executable")
	msg := sprintf("The file is an executable or serialised program (%s) and cannot be released.", [object.get(f.analysis, "format", "unknown format")])
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.binary", "message": msg, "location": ""} if {
	some f in content_noisy
	flagged_as(object.get(f.analysis, "binary", false), object.get(f.analysis, "type", ""), "binary")
	msg := sprintf("The file is a binary of a type that is not accepted (%s). Release tables as CSV, text as text or Markdown, and figures as PNG, JPEG, SVG or PDF.", [object.get(f.analysis, "format", "unknown")])
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.embedded", "message": msg, "location": ""} if {
	some f in content_noisy
	e := object.get(f.analysis, "embedded", "")
	e != ""
	msg := sprintf("Another file (%s) is hidden inside this one.", [e])
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.trailing_data", "message": "Data follows the end of the image or document, where it could hide other content.", "location": ""} if {
	some f in content_noisy
	f.analysis.trailing_data == true
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.encoding", "message": msg, "location": ""} if {
	some f in content_noisy
	e := object.get(f.analysis, "format", "")
	e in {"utf-16", "utf-32"}
	msg := sprintf("The text is encoded as %s; save it as UTF-8.", [upper(e)])
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.active_content", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "active_content", "")} if {
	some f in content_noisy
	n := object.get(f.analysis, "active_content", 0)
	n > 0
	msg := sprintf("The file holds %d scripts, event handlers or launch actions.", [n])
}

content_failures contains {"path": f.path, "severity": "fail", "rule": "egress.embedded_files", "message": "The PDF carries attached files.", "location": ""} if {
	some f in content_noisy
	object.get(f.analysis, "embedded_files", 0) > 0
}

# Text: the bytes and cells of text and tables.

text_failures contains {"path": f.path, "severity": "fail", "rule": "egress.nul_bytes", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "nul_bytes", "")} if {
	some f in text_noisy
	n := object.get(f.analysis, "nul_bytes", 0)
	n > 0
	msg := sprintf("The text holds %d NUL bytes, which can hide content from checks.", [n])
}

text_failures contains {"path": f.path, "severity": "fail", "rule": "egress.invalid_utf8", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "invalid_utf8", "")} if {
	some f in text_noisy
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

text_failures contains {"path": f.path, "severity": "fail", "rule": rule, "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), key, "")} if {
	some f in text_noisy
	some key, spec in identifier_kinds
	n := object.get(object.get(f.analysis, "identifiers", {}), key, 0)
	n > 0
	rule := spec[0]
	msg := sprintf("The file holds %d %s. Identifiers are never released.", [n, spec[1]])
}

text_failures contains {"path": f.path, "severity": "fail", "rule": "egress.formula_injection", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "formula_cells", "")} if {
	some f in text_noisy
	n := object.get(f.analysis, "formula_cells", 0)
	n > 0
	msg := sprintf("%d cells start with =, +, -, @, a tab or a carriage return and would run as formulas in a spreadsheet; remove or quote them with a leading apostrophe.", [n])
}

text_failures contains {"path": f.path, "severity": "fail", "rule": "egress.individual_level", "message": msg, "location": ""} if {
	some f in text_noisy
	f.analysis.individual_level == true
	msg := sprintf("The table looks like individual-level records: %s. Only aggregate outputs may be released.", [concat("; ", object.get(f.analysis, "individual_level_reasons", []))])
}

# Disclosure control failures: fail, or review with an exception justification.

disclosure contains x if {
	count(table_noisy) > 0
	some x in table_disclosure
}

disclosure contains {"path": f.path, "severity": sdc_severity(f.path), "rule": "egress.threshold", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "below_threshold", "")} if {
	some f in analysed
	f.analysis.counts.identified == true
	c := f.analysis.counts
	below_threshold(c)
	n := max([object.get(c, "below_threshold", 0), 1])
	msg := sprintf("%d count cells are below the minimum cell count of %d (smallest non-zero count: %d).", [n, min_cell_count, object.get(c, "min_nonzero", 0)])
}

below_threshold(c) if c.below_threshold > 0

below_threshold(c) if {
	c.min_nonzero > 0
	c.min_nonzero < min_cell_count
}

table_disclosure contains {"path": f.path, "severity": sdc_severity(f.path), "rule": "egress.zeros", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "zeros", "")} if {
	some f in table_noisy
	zeros_disclosive
	c := object.get(f.analysis, "counts", {})
	c.identified == true
	n := object.get(c, "zeros", 0)
	n > 0
	msg := sprintf("%d count cells are zero; under this agreement's rules zeros are disclosive.", [n])
}

table_disclosure contains {"path": f.path, "severity": sdc_severity(f.path), "rule": "egress.dominance", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "dominance", "")} if {
	some f in table_noisy
	n := object.get(f.analysis, "dominance_failures", 0)
	n > 0
	msg := sprintf("%d cells fail the n-k dominance rule: their %d largest contributors make up more than %v%% of the total.", [n, dominance_n, dominance_k / 100])
}

table_disclosure contains {"path": f.path, "severity": sdc_severity(f.path), "rule": "egress.p_ratio", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "p_ratio", "")} if {
	some f in table_noisy
	n := object.get(f.analysis, "p_ratio_failures", 0)
	n > 0
	msg := sprintf("%d cells fail the p-ratio rule: the rest of the total is less than %v%% of the largest contribution.", [n, p_ratio / 100])
}

table_disclosure contains {"path": f.path, "severity": sdc_severity(f.path), "rule": "egress.sidecar_threshold", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "sidecar_threshold", "")} if {
	some f in table_noisy
	s := object.get(f.analysis, "sidecar", {})
	n := object.get(s, "threshold_failures", 0) + sidecar_zeros(s)
	n > 0
	msg := sprintf("%d magnitude cells have fewer contributors than the minimum cell count of %d.", [n, min_cell_count])
}

sidecar_zeros(s) := n if {
	zeros_disclosive
	n := object.get(s, "zero_cells", 0)
} else := 0

sdc_severity(path) := "review" if {
	path in exception_paths
} else := "fail"

findings[f.path] contains {"path": f.path, "severity": "review", "rule": "egress.exception", "message": "The researcher asked for an exception to the disclosure control rules; an output checker must decide.", "location": ""} if {
	count(exception_paths) > 0
	some f in analysed
	f.path in exception_paths
	f.path in disclosure_paths
}

disclosure_paths := {x.path | some x in disclosure}

# Reviews.

findings[x.path] contains x if {
	count(table_noisy) > 0
	some x in table_reviews
}

# review_types holds, for each type an output checker must look at, the finding's rule and
# message, written out so that no finding of this kind is formatted at evaluation.
review_types := {
	"png": {"rule": "egress.review.png", "message": "The file is an image, which an output checker must look at."},
	"jpeg": {"rule": "egress.review.jpeg", "message": "The file is an image, which an output checker must look at."},
	"svg": {"rule": "egress.review.svg", "message": "The file is an image, which an output checker must look at."},
	"pdf": {"rule": "egress.review.pdf", "message": "The file is a PDF, which an output checker must look at."},
	"html": {"rule": "egress.review.html", "message": "The file is an HTML page, which an output checker must look at."},
	"script": {"rule": "egress.review.script", "message": "The file is a script, which an output checker must look at."},
}

findings[f.path] contains {"path": f.path, "severity": "review", "rule": r.rule, "message": r.message, "location": ""} if {
	some f in analysed
	r := review_types[f.analysis.type]
}

findings[f.path] contains {"path": f.path, "severity": "review", "rule": "egress.not_a_table", "message": msg, "location": ""} if {
	some f in analysed
	f.analysis.type in {"text", "markdown", "json"}
	declared_table(object.get(f, "kind", ""), object.get(f.analysis, "extension", ""))
	msg := sprintf("The file is requested as a table (kind %s, extension %s) but is not a CSV or TSV table with the same number of fields on every row, so its cells were not checked.", [object.get(f, "kind", ""), object.get(f.analysis, "extension", "")])
}

declared_table(kind, _) if kind == "Table"

declared_table(_, extension) if extension in {"csv", "tsv"}

findings[f.path] contains {"path": f.path, "severity": "review", "rule": "egress.counts_unidentified", "message": "No count columns could be identified in this table, so the disclosure control rules could not be checked automatically.", "location": ""} if {
	some f in analysed
	f.analysis.type in table_types
	object.get(object.get(f.analysis, "counts", {}), "identified", false) != true
}

table_reviews contains {"path": f.path, "severity": "review", "rule": "egress.negative_counts", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "negative_counts", "")} if {
	some f in table_noisy
	n := object.get(object.get(f.analysis, "counts", {}), "negative", 0)
	n > 0
	msg := sprintf("%d count cells are negative.", [n])
}

table_reviews contains {"path": f.path, "severity": "review", "rule": "egress.magnitude_unchecked", "message": msg, "location": ""} if {
	some f in table_noisy
	n := object.get(f.analysis, "magnitude_unchecked", 0)
	n > 0
	msg := sprintf("%d columns hold magnitudes (sums, means or rates) that no sidecar of contributor statistics covers, so dominance and p-ratio could not be checked.", [n])
}

table_reviews contains {"path": f.path, "severity": "review", "rule": "egress.sidecar_invalid", "message": msg, "location": ""} if {
	some f in table_noisy
	s := object.get(f.analysis, "sidecar", {})
	s.present == true
	s.valid != true
	msg := sprintf("The sidecar of contributor statistics could not be used: %s.", [object.get(s, "error", "unknown error")])
}

table_reviews contains {"path": f.path, "severity": "review", "rule": "egress.sidecar_inapplicable", "message": msg, "location": ""} if {
	some f in table_noisy
	n := object.get(object.get(f.analysis, "sidecar", {}), "inapplicable", 0)
	n > 0
	msg := sprintf("The magnitude rules could not be applied to %d cells (negative values, or too few largest contributions listed).", [n])
}

table_reviews contains {"path": f.path, "severity": "review", "rule": "egress.malformed", "message": msg, "location": object.get(object.get(f.analysis, "locations", {}), "malformed", "")} if {
	some f in table_noisy
	n := object.get(f.analysis, "malformed", 0)
	n > 0
	msg := sprintf("%d rows are malformed: stray quotes, or a different number of fields from the header.", [n])
}

table_reviews contains {"path": f.path, "severity": "review", "rule": "egress.markdown_table", "message": msg, "location": ""} if {
	some f in table_noisy
	n := object.get(f.analysis, "markdown_tables", 0)
	n > 0
	msg := sprintf("The document holds %d Markdown table rows, whose cells are not checked automatically.", [n])
}

table_reviews contains {"path": f.path, "severity": "review", "rule": "egress.individual_level_possible", "message": msg, "location": ""} if {
	some f in table_noisy
	f.analysis.individual_level_possible == true
	object.get(f.analysis, "individual_level", false) != true
	msg := sprintf("The table may be individual-level records: %s.", [concat("; ", object.get(f.analysis, "individual_level_reasons", []))])
}

# Outcomes.

# findings holds the disclosure control findings too.
findings[x.path] contains x if some x in disclosure

# decided holds the decision on each file with findings, whose findings carry only rule, message
# and location.
decided := {p: {"outcome": worst(xs), "findings": [{"rule": x.rule, "message": x.message, "location": x.location} | some x in xs]} | some p, xs in findings}

worst(xs) := "fail" if {
	some x in xs
	x.severity == "fail"
} else := "review" if {
	some x in xs
	x.severity == "review"
} else := "pass"

# files holds the decision on each file: every file without findings passes.
files := {p: object.get(decided, p, passed) | some p in paths}

passed := {"outcome": "pass", "findings": []}

overall := "fail" if {
	count(object.get(input, "files", [])) == 0
} else := "fail" if {
	# A file without a path has no decision, and fails the request. (When every file has a path of
	# its own, one that is not a string fails its file for the path.)
	repeated_paths
	some f in input.files
	not is_string(object.get(f, "path", null))
} else := "fail" if {
	# Every file with findings has a decision in files.
	some d in decided
	d.outcome == "fail"
} else := "review" if {
	some d in decided
	d.outcome == "review"
} else := "pass"

decision := {"outcome": overall, "files": files}
