# METADATA
# title: Data access agreement governance
# description: |
#   The governance rules a DataAccessAgreement must meet before a data access committee's approval
#   means anything. The policy reports every rule the agreement breaks in the set `violations`, each
#   entry {field, rule, message}: field is the spec path of the offending field (with list indexes,
#   e.g. spec.researchers[1].accreditationExpires), rule a stable identifier, and message a sentence
#   a committee member understands.
#
#   Input:
#     agreement  the DataAccessAgreement as JSON (apiVersion, kind, metadata, spec).
#     catalogue  optional: a map of Dataset name to Dataset spec. Catalogue rules run only when it
#                is present; an empty map means "no dataset is known".
#     params     optional: overrides for default_params below; missing keys keep their defaults.
#
#   Fields the agreement leaves out are read as the CRD defaults (outputRules.minimumCellCount 10,
#   outputRules.reviewers 2), so the policy judges what the API server would store.
package fivesafes.agreement

# default_params are the platform's governance settings; input.params overrides any of them.
#   minimumCellCountFloor      the smallest outputRules.minimumCellCount an agreement may set.
#   maxValidityYears           the longest an agreement may last, in whole years.
#   optOutOverrideBases        the legal bases that can set the national data opt-out aside.
#   minimumReviewers           output checkers required for NonSensitive agreements.
#   minimumReviewersSensitive  output checkers required for Sensitive agreements.
default_params := {
	"minimumCellCountFloor": 10,
	"maxValidityYears": 3,
	"optOutOverrideBases": ["Section251", "Consent"],
	"minimumReviewers": 1,
	"minimumReviewersSensitive": 2,
}

params := object.union(default_params, object.get(input, "params", {}))

# crd_defaults are the defaults the DataAccessAgreement CRD applies to fields left out.
crd_defaults := {"minimumCellCount": 10, "reviewers": 2}

# reference_pattern is the register style of agreement references, e.g. NIC-38002-S3K0V: capital
# letters, a dash, digits, a dash, then five capital letters or digits.
reference_pattern := `^[A-Z]+-[0-9]+-[A-Z0-9]{5}$`

# pseudonymised_kinds are the identifier kinds the extractor knows how to pseudonymise. The
# extractor pseudonymises every column marked with one of them, so an identifier column can only be
# released pseudonymised if the catalogue marks it with one of these kinds.
pseudonymised_kinds := {"NHSNumber", "LocalIdentifier"}

spec := object.get(input, ["agreement", "spec"], {})

legal_bases := {b | some b in object.get(spec, "legalBases", [])}

datasets := object.get(spec, "datasets", [])

researchers := object.get(spec, "researchers", [])

validity_start := object.get(spec, ["validity", "start"], "")

validity_end := object.get(spec, ["validity", "end"], "")

minimum_cell_count := object.get(spec, ["outputRules", "minimumCellCount"], crd_defaults.minimumCellCount)

reviewers := object.get(spec, ["outputRules", "reviewers"], crd_defaults.reviewers)

# Anything but an explicit NonSensitive is held to the Sensitive quorum.
required_reviewers := params.minimumReviewers if {
	spec.sensitivity == "NonSensitive"
} else := params.minimumReviewersSensitive

violation(field, rule, message) := {"field": field, "rule": rule, "message": message}

# --- Safe projects: legal basis, purpose, reference -------------------------------------------

violations contains violation(
	"spec.legalBases",
	"agreement.legal-basis-required",
	"The agreement must name at least one legal basis for the flow of data.",
) if {
	count(legal_bases) == 0
}

violations contains violation(
	"spec.purposes",
	"agreement.purpose-required",
	"The agreement must state at least one purpose the data may be used for.",
) if {
	count([p | some p in object.get(spec, "purposes", []); trim_space(p) != ""]) == 0
}

violations contains violation(
	"spec.reference",
	"agreement.reference-format",
	sprintf(
		"The reference %q does not follow the register style, e.g. NIC-38002-S3K0V: capital letters, a dash, digits, a dash, then five capital letters or digits.",
		[ref],
	),
) if {
	ref := object.get(spec, "reference", "")
	not regex.match(reference_pattern, ref)
}

# --- Validity window -----------------------------------------------------------------------------

violations contains violation(
	"spec.validity.start",
	"agreement.date-invalid",
	sprintf("The start date %q is not a calendar date written YYYY-MM-DD.", [validity_start]),
) if {
	not validity_start in valid_dates
}

violations contains violation(
	"spec.validity.end",
	"agreement.date-invalid",
	sprintf("The end date %q is not a calendar date written YYYY-MM-DD.", [validity_end]),
) if {
	not validity_end in valid_dates
}

violations contains violation(
	"spec.validity.end",
	"agreement.validity-order",
	sprintf("The agreement ends on %s, which is not after it starts on %s; the end date must come after the start date.", [validity_end, validity_start]),
) if {
	validity_start in valid_dates
	validity_end in valid_dates
	validity_end <= validity_start # YYYY-MM-DD strings sort as dates.
}

# Both dates are inclusive, so an agreement starting on 2026-01-01 may last 3 years up to and
# including 2028-12-31: its end must fall before the same day maxValidityYears later.
violations contains violation(
	"spec.validity.end",
	"agreement.validity-too-long",
	sprintf(
		"The agreement runs from %s to %s, longer than the %v years an agreement may last; it must end on %s at the latest.",
		[validity_start, validity_end, params.maxValidityYears, latest_end],
	),
) if {
	validity_start in valid_dates
	validity_end in valid_dates
	validity_end > validity_start
	limit := time.add_date(time.parse_ns("2006-01-02", validity_start), params.maxValidityYears, 0, 0)
	time.parse_ns("2006-01-02", validity_end) >= limit
	latest_end := time.format([limit - day_ns, "UTC", "2006-01-02"])
}

day_ns := ((24 * 60) * 60) * 1000000000

# --- Opt-outs --------------------------------------------------------------------------------------

# A dataset whose optOuts is anything but Honoured is treated as NotApplied.
violations contains violation(
	sprintf("spec.datasets[%d].optOutJustification", [i]),
	"agreement.opt-out-justification-required",
	sprintf("Dataset %q does not apply the national data opt-out, so the agreement must explain why in optOutJustification.", [ds.name]),
) if {
	some i, ds in datasets
	object.get(ds, "optOuts", "") != "Honoured"
	trim_space(object.get(ds, "optOutJustification", "")) == ""
}

violations contains violation(
	sprintf("spec.datasets[%d].optOuts", [i]),
	"agreement.opt-out-legal-basis",
	sprintf(
		"Dataset %q does not apply the national data opt-out, but none of the agreement's legal bases allows that: only %s can set the opt-out aside.",
		[ds.name, concat(" or ", params.optOutOverrideBases)],
	),
) if {
	some i, ds in datasets
	object.get(ds, "optOuts", "") != "Honoured"
	count({b | some b in params.optOutOverrideBases; b in legal_bases}) == 0
}

# --- Safe people -------------------------------------------------------------------------------------

violations contains violation(
	sprintf("spec.researchers[%d].accreditationExpires", [i]),
	"agreement.date-invalid",
	sprintf("The accreditation expiry date %q of researcher %q is not a calendar date written YYYY-MM-DD.", [expires, r.name]),
) if {
	some i, r in researchers
	expires := object.get(r, "accreditationExpires", "")
	not expires in valid_dates
}

violations contains violation(
	sprintf("spec.researchers[%d].accreditationExpires", [i]),
	"agreement.accreditation-expired",
	sprintf(
		"Researcher %q's safe-researcher accreditation expires on %s, before the agreement starts on %s; renew the accreditation or remove the researcher.",
		[r.name, r.accreditationExpires, validity_start],
	),
) if {
	validity_start in valid_dates
	some i, r in researchers
	r.accreditationExpires in valid_dates
	r.accreditationExpires < validity_start
}

violations contains violation(
	sprintf("spec.researchers[%d].name", [i]),
	"agreement.researcher-duplicate",
	sprintf("Researcher %q is listed more than once; this entry repeats spec.researchers[%d]. List each person once.", [r.name, first]),
) if {
	some i, r in researchers
	r.name in array.slice(researcher_names, 0, i)
	first := min({j | some j, name in researcher_names; name == r.name})
}

researcher_names := [object.get(r, "name", "") | some r in researchers]

# --- Safe outputs ------------------------------------------------------------------------------------

violations contains violation(
	"spec.outputRules.minimumCellCount",
	"agreement.minimum-cell-count-floor",
	sprintf(
		"The minimum cell count is %v, below the platform floor of %v: released tables may not show counts smaller than %v.",
		[minimum_cell_count, params.minimumCellCountFloor, params.minimumCellCountFloor],
	),
) if {
	minimum_cell_count < params.minimumCellCountFloor
}

violations contains violation(
	"spec.outputRules.reviewers",
	"agreement.reviewers-quorum",
	sprintf(
		"Outputs need %v independent output checkers for a %s agreement, but outputRules.reviewers is %v.",
		[required_reviewers, sensitivity_words, reviewers],
	),
) if {
	reviewers < required_reviewers
}

sensitivity_words := "non-sensitive" if {
	spec.sensitivity == "NonSensitive"
} else := "sensitive"

# --- Catalogue: safe data -----------------------------------------------------------------------------
#
# These rules run only when the input carries a catalogue. Identifier columns: the extractor
# pseudonymises every column the catalogue marks with an identifier kind it supports, and an
# agreement cannot ask for any other treatment. So an identifier column is released only
# pseudonymised exactly when the catalogue marks it with a supported kind; a requested column marked
# with any other kind is refused. Pseudonymised data is still personal data, so an agreement whose
# only legal basis is Anonymised may not receive identifier columns at all.

violations contains violation(
	sprintf("spec.datasets[%d].name", [i]),
	"agreement.dataset-unknown",
	sprintf("Dataset %q is not in the catalogue; name a catalogued Dataset.", [ds.name]),
) if {
	is_object(input.catalogue)
	some i, ds in datasets
	not ds.name in object.keys(input.catalogue)
}

violations contains violation(
	sprintf("spec.datasets[%d].columns[%d]", [i, j]),
	"agreement.column-unknown",
	sprintf("Column %q is not in the catalogue schema of dataset %q.", [col, ds.name]),
) if {
	some i, ds in datasets
	known := catalogue_kinds[ds.name]
	some j, col in object.get(ds, "columns", [])
	not known[col]
}

violations contains violation(
	sprintf("spec.datasets[%d].columns[%d]", [i, j]),
	"agreement.identifier-not-pseudonymisable",
	sprintf(
		"Column %q of dataset %q identifies people (%s), and the platform cannot pseudonymise that kind of identifier, so it cannot be released.",
		[col, ds.name, kind],
	),
) if {
	some i, ds in datasets
	some j, col in object.get(ds, "columns", [])
	kind := catalogue_kinds[ds.name][col]
	kind != "None"
	not kind in pseudonymised_kinds
}

violations contains violation(
	sprintf("spec.datasets[%d].columns[%d]", [i, j]),
	"agreement.identifier-anonymised-basis",
	sprintf(
		"Column %q of dataset %q identifies people (%s); even pseudonymised it is personal data, which the Anonymised legal basis does not cover.",
		[col, ds.name, kind],
	),
) if {
	legal_bases == {"Anonymised"}
	some i, ds in datasets
	some j, col in object.get(ds, "columns", [])
	kind := catalogue_kinds[ds.name][col]
	kind != "None"
}

# catalogue_kinds maps each catalogued dataset's name to its columns, each mapped to its identifier
# kind; a column left unmarked is not an identifier, as the Dataset CRD defaults. It is empty
# without a catalogue, which keeps the column rules silent. A dataset that names one column twice
# with different kinds is an evaluation error: such a catalogue cannot be trusted.
catalogue_kinds := {name: columns |
	is_object(input.catalogue)
	some name, entry in input.catalogue
	columns := {c.name: object.get(c, "identifier", "None") | some c in object.get(entry, "columns", [])}
}

# --- Dates ------------------------------------------------------------------------------------------

# valid_dates is the set of the agreement's date fields that hold real dates, so that each date is
# checked once.
valid_dates := {d |
	some d in {validity_start, validity_end} | {object.get(r, "accreditationExpires", "") | some r in researchers}
	valid_date(d)
}

# valid_date holds for a string YYYY-MM-DD naming a real calendar day between the years 1900 and
# 2200 (a range every date builtin handles without error).
valid_date(s) if {
	is_string(s)
	regex.match(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$`, s)
	parts := split(s, "-")
	year := to_number(parts[0])
	year >= 1900
	year <= 2200
	to_number(parts[2]) <= days_in_month(year, to_number(parts[1]))
}

days_in_month(year, 2) := 29 if leap_year(year)

days_in_month(year, 2) := 28 if not leap_year(year)

days_in_month(_, month) := 30 if month in {4, 6, 9, 11}

days_in_month(_, month) := 31 if month in {1, 3, 5, 7, 8, 10, 12}

leap_year(year) if {
	year % 4 == 0
	year % 100 != 0
}

leap_year(year) if year % 400 == 0
