# Unit tests for the egress policy: every rule has a case where it fires and one where it does not.
# Run them with `go test ./policies/` (or `opa test policies/`).
package fivesafes.egress_test

import data.fivesafes.egress

path := "tables/admissions.csv"

# clean_table is the analysis of a safe long-form count table; each test changes one thing.
clean_table := {
	"path": path,
	"extension": "csv",
	"type": "csv",
	"size": 120,
	"sha256": "sha256:0c7ee7bad804e048c3b517d35bcb942fef71be5b8c890287612ba577f188709a",
	"complete": true,
	"limits_exceeded": [],
	"lines": 5,
	"rows": 4,
	"columns": 3,
	"malformed": 0,
	"counts": {
		"identified": true, "layout": "long", "columns": [3], "cells": 4, "min_nonzero": 12,
		"zeros": 0, "below_threshold": 0, "negative": 0, "suppressed": 0, "threshold": 10,
	},
	"magnitude_columns": 0,
	"magnitude_unchecked": 0,
	"sidecar": {"present": false, "valid": false, "cells": 0, "threshold_failures": 0, "zero_cells": 0, "inapplicable": 0},
	"dominance_failures": 0,
	"p_ratio_failures": 0,
	"identifiers": {"nhs_numbers": 0, "postcodes": 0, "pseudonyms": 0, "dates_of_birth": 0},
	"formula_cells": 0,
	"nul_bytes": 0,
	"invalid_utf8": 0,
	"archive": false,
	"executable": false,
	"binary": false,
	"trailing_data": false,
	"active_content": 0,
	"embedded_files": 0,
	"markdown_tables": 0,
	"individual_level": false,
	"individual_level_possible": false,
	"individual_level_reasons": [],
	"locations": {},
}

acro_rules := {
	"minimumCellCount": 10,
	"dominance": {"contributors": 2, "kBasisPoints": 9000},
	"pRatioBasisPoints": 1000,
	"zeros": "Disclosive",
}

# with_changes applies JSON-patch style replacements to clean_table.
with_changes(changes) := json.patch(clean_table, [{"op": "add", "path": p, "value": v} | some p, v in changes])

request(analysis) := {"rules": acro_rules, "files": [{"path": path, "kind": "Table", "analysis": analysis}]}

with_exception(analysis) := {"rules": acro_rules, "files": [{
	"path": path, "kind": "Table", "analysis": analysis,
	"exceptionJustification": "Small cells are in a published national series already.",
}]}

result(req) := r if {
	r := egress.decision.files[path] with input as req
}

outcome(changes) := result(request(with_changes(changes))).outcome

outcome_with_exception(changes) := result(with_exception(with_changes(changes))).outcome

rules(changes) := {f.rule | some f in result(request(with_changes(changes))).findings}

fires(changes, rule) if rule in rules(changes)

# A clean table passes with no findings.

test_clean_table_passes if {
	r := result(request(clean_table))
	r.outcome == "pass"
	count(r.findings) == 0
	egress.decision.outcome == "pass" with input as request(clean_table)
}

# Missing analysis, paths.

test_no_analysis_fails if {
	r := result({"rules": acro_rules, "files": [{"path": path, "kind": "Table"}]})
	r.outcome == "fail"
	"egress.no_analysis" in {f.rule | some f in r.findings}
}

test_bad_paths_fail if {
	every p in ["../secret.csv", "/etc/passwd", "a//b.csv", "a/./b.csv", "a\\b.csv", "", ".hidden", "a/b/", "tables/CON", "nul.txt", "a./b.csv"] {
		req := {"rules": acro_rules, "files": [{"path": p, "kind": "Table", "analysis": clean_table}]}
		d := egress.decision with input as req
		d.files[p].outcome == "fail"
		"egress.path" in {f.rule | some f in d.files[p].findings}
	}
}

test_good_path_has_no_path_finding if {
	not fires({}, "egress.path")
}

test_duplicate_paths_fail if {
	req := {"rules": acro_rules, "files": [
		{"path": path, "kind": "Table", "analysis": clean_table},
		{"path": path, "kind": "Table", "analysis": clean_table},
	]}
	d := egress.decision with input as req
	d.outcome == "fail"
	"egress.duplicate_path" in {f.rule | some f in d.files[path].findings}
}

# Limits and completeness.

test_incomplete_fails if {
	outcome({"/complete": false}) == "fail"
	fires({"/complete": false}, "egress.incomplete")
}

test_limit_exceeded_fails if {
	changes := {"/complete": false, "/limits_exceeded": ["size", "line_length"]}
	outcome(changes) == "fail"
	fires(changes, "egress.limit.size")
	fires(changes, "egress.limit.line_length")
}

test_no_limit_no_finding if {
	not fires({}, "egress.limit.size")
	not fires({}, "egress.incomplete")
}

# Types that are refused whatever the exception.

test_unknown_type_fails if {
	outcome({"/type": "exe"}) == "fail"
	fires({"/type": "exe"}, "egress.unknown_type")
	not fires({"/type": "text"}, "egress.unknown_type")
	r := result(request(json.remove(clean_table, ["type"])))
	r.outcome == "fail"
	"egress.unknown_type" in {f.rule | some f in r.findings}
}

test_archive_fails_even_with_exception if {
	changes := {"/type": "archive", "/format": "zip", "/archive": true}
	outcome(changes) == "fail"
	outcome_with_exception(changes) == "fail"
	fires(changes, "egress.archive")
	not fires({}, "egress.archive")
}

test_executable_fails if {
	changes := {"/type": "executable", "/format": "elf", "/executable": true}
	outcome(changes) == "fail"
	outcome_with_exception(changes) == "fail"
	fires(changes, "egress.executable")
	not fires({}, "egress.executable")
}

test_binary_fails if {
	changes := {"/type": "binary", "/binary": true}
	outcome(changes) == "fail"
	fires(changes, "egress.binary")
	not fires({}, "egress.binary")
}

test_polyglot_fails if {
	changes := {"/type": "png", "/embedded": "zip"}
	outcome(changes) == "fail"
	outcome_with_exception(changes) == "fail"
	fires(changes, "egress.embedded")
	not fires({"/type": "png"}, "egress.embedded")
}

test_trailing_data_fails if {
	outcome({"/type": "png", "/trailing_data": true}) == "fail"
	fires({"/type": "png", "/trailing_data": true}, "egress.trailing_data")
	not fires({"/type": "png"}, "egress.trailing_data")
}

test_utf16_fails if {
	changes := {"/type": "text", "/format": "utf-16"}
	outcome(changes) == "fail"
	fires(changes, "egress.encoding")
	not fires({"/type": "text"}, "egress.encoding")
}

test_nul_bytes_fail if {
	changes := {"/nul_bytes": 1, "/locations": {"nul_bytes": "row 2, column 1"}}
	outcome(changes) == "fail"
	some f in result(request(with_changes(changes))).findings
	f.rule == "egress.nul_bytes"
	f.location == "row 2, column 1"
	not fires({}, "egress.nul_bytes")
}

test_invalid_utf8_fails if {
	outcome({"/invalid_utf8": 2}) == "fail"
	fires({"/invalid_utf8": 2}, "egress.invalid_utf8")
	not fires({}, "egress.invalid_utf8")
}

# Identifiers are hard failures that no exception rescues.

test_identifiers_fail_even_with_exception if {
	every key, rule in {
		"nhs_numbers": "egress.identifier.nhs_number",
		"postcodes": "egress.identifier.postcode",
		"pseudonyms": "egress.identifier.pseudonym",
		"dates_of_birth": "egress.identifier.date_of_birth",
	} {
		changes := {sprintf("/identifiers/%s", [key]): 1}
		outcome(changes) == "fail"
		outcome_with_exception(changes) == "fail"
		fires(changes, rule)
		not fires({}, rule)
	}
}

test_formula_injection_fails if {
	outcome({"/formula_cells": 3}) == "fail"
	outcome_with_exception({"/formula_cells": 3}) == "fail"
	fires({"/formula_cells": 3}, "egress.formula_injection")
	not fires({}, "egress.formula_injection")
}

test_individual_level_fails if {
	changes := {"/individual_level": true, "/individual_level_reasons": ["column 1 \"patient_id\" is named like a person identifier"]}
	outcome(changes) == "fail"
	outcome_with_exception(changes) == "fail"
	fires(changes, "egress.individual_level")
	not fires({}, "egress.individual_level")
}

test_active_content_fails if {
	outcome({"/type": "svg", "/active_content": 1}) == "fail"
	fires({"/type": "svg", "/active_content": 1}, "egress.active_content")
	not fires({"/type": "svg"}, "egress.active_content")
}

test_pdf_attachments_fail if {
	outcome({"/type": "pdf", "/embedded_files": 1}) == "fail"
	fires({"/type": "pdf", "/embedded_files": 1}, "egress.embedded_files")
	not fires({"/type": "pdf"}, "egress.embedded_files")
}

# Threshold: a cell of 9 fails and a cell of 10 passes at the default minimum of 10.

test_threshold_nine_fails if {
	changes := {"/counts/min_nonzero": 9, "/counts/below_threshold": 1}
	outcome(changes) == "fail"
	fires(changes, "egress.threshold")
}

test_threshold_ten_passes if {
	outcome({"/counts/min_nonzero": 10}) == "pass"
	not fires({"/counts/min_nonzero": 10}, "egress.threshold")
}

test_threshold_uses_min_nonzero_against_agreement_rule if {
	# The analysers counted nothing below their threshold, but the agreement asks for 20.
	req := {"rules": object.union(acro_rules, {"minimumCellCount": 20}), "files": [{"path": path, "kind": "Table", "analysis": clean_table}]}
	r := result(req)
	r.outcome == "fail"
	"egress.threshold" in {f.rule | some f in r.findings}
}

test_threshold_exception_gives_review_never_pass if {
	changes := {"/counts/min_nonzero": 3, "/counts/below_threshold": 2}
	r := result(with_exception(with_changes(changes)))
	r.outcome == "review"
	rs := {f.rule | some f in r.findings}
	"egress.threshold" in rs
	"egress.exception" in rs
}

test_exception_on_clean_table_adds_nothing if {
	r := result(with_exception(clean_table))
	r.outcome == "pass"
	count(r.findings) == 0
}

test_exception_does_not_rescue_identifiers if {
	changes := {"/counts/min_nonzero": 3, "/counts/below_threshold": 2, "/identifiers/nhs_numbers": 1}
	outcome_with_exception(changes) == "fail"
}

test_default_rules_apply_when_missing if {
	r9 := result({"files": [{"path": path, "kind": "Table", "analysis": with_changes({"/counts/min_nonzero": 9})}]})
	r9.outcome == "fail"
	r10 := result({"files": [{"path": path, "kind": "Table", "analysis": with_changes({"/counts/min_nonzero": 10})}]})
	r10.outcome == "pass"
}

# Zeros.

test_zeros_fail_when_disclosive if {
	outcome({"/counts/zeros": 1}) == "fail"
	fires({"/counts/zeros": 1}, "egress.zeros")
	outcome_with_exception({"/counts/zeros": 1}) == "review"
}

test_zeros_pass_when_allowed if {
	req := {"rules": object.union(acro_rules, {"zeros": "Allowed"}), "files": [{"path": path, "kind": "Table", "analysis": with_changes({"/counts/zeros": 4})}]}
	result(req).outcome == "pass"
}

# Dominance and p-ratio from the sidecar.

test_dominance_fails if {
	outcome({"/dominance_failures": 1}) == "fail"
	fires({"/dominance_failures": 1}, "egress.dominance")
	outcome_with_exception({"/dominance_failures": 1}) == "review"
	not fires({}, "egress.dominance")
}

test_p_ratio_fails if {
	outcome({"/p_ratio_failures": 2}) == "fail"
	fires({"/p_ratio_failures": 2}, "egress.p_ratio")
	outcome_with_exception({"/p_ratio_failures": 2}) == "review"
	not fires({}, "egress.p_ratio")
}

test_sidecar_threshold_fails if {
	changes := {"/sidecar": {"present": true, "valid": true, "cells": 4, "threshold_failures": 1, "zero_cells": 0, "inapplicable": 0}}
	outcome(changes) == "fail"
	fires(changes, "egress.sidecar_threshold")
	outcome_with_exception(changes) == "review"
}

test_sidecar_zero_cells_follow_zeros_rule if {
	changes := {"/sidecar": {"present": true, "valid": true, "cells": 4, "threshold_failures": 0, "zero_cells": 1, "inapplicable": 0}}
	outcome(changes) == "fail"
	req := {"rules": object.union(acro_rules, {"zeros": "Allowed"}), "files": [{"path": path, "kind": "Table", "analysis": with_changes(changes)}]}
	result(req).outcome == "pass"
}

test_valid_sidecar_passes if {
	changes := {"/sidecar": {"present": true, "valid": true, "cells": 4, "threshold_failures": 0, "zero_cells": 0, "inapplicable": 0}}
	outcome(changes) == "pass"
}

# Reviews.

test_images_and_pdfs_need_review if {
	every t in ["png", "jpeg", "svg", "pdf", "html", "script"] {
		changes := {"/type": t}
		outcome(changes) == "review"
		fires(changes, sprintf("egress.review.%s", [t]))
	}
}

text_request(changes) := {"rules": acro_rules, "files": [{"path": path, "kind": "Text", "analysis": with_changes(object.union({"/extension": "txt"}, changes))}]}

test_text_passes if {
	every t in ["text", "markdown", "json", "empty"] {
		result(text_request({"/type": t})).outcome == "pass"
	}
}

test_text_requested_as_table_needs_review if {
	every t in ["text", "markdown", "json"] {
		r := result(request(with_changes({"/type": t})))
		r.outcome == "review"
		"egress.not_a_table" in {f.rule | some f in r.findings}
	}
	r := result(text_request({"/type": "text", "/extension": "csv"}))
	r.outcome == "review"
	"egress.not_a_table" in {f.rule | some f in r.findings}
	not fires({}, "egress.not_a_table")
}

test_unidentified_counts_need_review if {
	changes := {"/counts/identified": false}
	outcome(changes) == "review"
	fires(changes, "egress.counts_unidentified")
	not fires({"/type": "text", "/counts/identified": false}, "egress.counts_unidentified")
}

test_negative_counts_need_review if {
	outcome({"/counts/negative": 1}) == "review"
	fires({"/counts/negative": 1}, "egress.negative_counts")
	not fires({}, "egress.negative_counts")
}

test_unchecked_magnitudes_need_review if {
	outcome({"/magnitude_unchecked": 1}) == "review"
	fires({"/magnitude_unchecked": 1}, "egress.magnitude_unchecked")
	not fires({"/magnitude_columns": 1}, "egress.magnitude_unchecked")
}

test_invalid_sidecar_needs_review if {
	changes := {"/sidecar": {"present": true, "valid": false, "error": "invalid sidecar: cell 3: total is missing"}}
	outcome(changes) == "review"
	fires(changes, "egress.sidecar_invalid")
	not fires({}, "egress.sidecar_invalid")
}

test_inapplicable_sidecar_cells_need_review if {
	changes := {"/sidecar": {"present": true, "valid": true, "cells": 4, "threshold_failures": 0, "zero_cells": 0, "inapplicable": 1}}
	outcome(changes) == "review"
	fires(changes, "egress.sidecar_inapplicable")
}

test_malformed_rows_need_review if {
	outcome({"/malformed": 1}) == "review"
	fires({"/malformed": 1}, "egress.malformed")
	not fires({}, "egress.malformed")
}

test_markdown_tables_need_review if {
	r := result(text_request({"/type": "markdown", "/markdown_tables": 3}))
	r.outcome == "review"
	"egress.markdown_table" in {f.rule | some f in r.findings}
	result(text_request({"/type": "markdown"})).outcome == "pass"
}

test_possible_individual_level_needs_review if {
	changes := {"/counts/identified": false, "/individual_level_possible": true, "/individual_level_reasons": ["column 1 has a different value in each of the first 500 rows"]}
	outcome(changes) == "review"
	fires(changes, "egress.individual_level_possible")
	not fires({}, "egress.individual_level_possible")
}

# Overall outcome: the worst of the files'.

test_overall_is_worst if {
	png := with_changes({"/type": "png"})
	zip := with_changes({"/type": "archive", "/archive": true})
	review := egress.decision with input as {"rules": acro_rules, "files": [
		{"path": "a.csv", "kind": "Table", "analysis": clean_table},
		{"path": "b.png", "kind": "Figure", "analysis": png},
	]}
	review.outcome == "review"
	review.files["a.csv"].outcome == "pass"
	fail := egress.decision with input as {"rules": acro_rules, "files": [
		{"path": "a.csv", "kind": "Table", "analysis": clean_table},
		{"path": "b.png", "kind": "Figure", "analysis": png},
		{"path": "c.csv", "kind": "Table", "analysis": zip},
	]}
	fail.outcome == "fail"
}

test_file_without_path_fails_the_request if {
	d := egress.decision with input as {"rules": acro_rules, "files": [
		{"path": path, "kind": "Table", "analysis": clean_table},
		{"kind": "Table", "analysis": clean_table},
	]}
	d.outcome == "fail"
	d.files[path].outcome == "pass"
}

test_no_files_fails if {
	egress.decision.outcome == "fail" with input as {"rules": acro_rules, "files": []}
	egress.decision.outcome == "fail" with input as {"rules": acro_rules}
}

# Findings carry only rule, message and location.

test_findings_shape if {
	r := result(request(with_changes({"/counts/min_nonzero": 9, "/counts/below_threshold": 1})))
	every f in r.findings {
		object.keys(f) == {"rule", "message", "location"}
	}
}

# Quiet files.

# The values of the four families are exactly quiet_fields, and no field is in two families.
test_quiet_families_partition_quiet_fields if {
	families := [egress.quiet_reading, egress.quiet_content, egress.quiet_text, egress.quiet_table]
	object.union_n(families) == egress.quiet_fields
	sum([count(f) | some f in families]) == count(egress.quiet_fields)
}

# A clean table is quiet: no family check looks at it.
test_clean_table_is_quiet if {
	egress.noisy == [] with input as request(clean_table)
}

# A change to any field of quiet_fields makes the table noisy for its family only.
test_each_quiet_field_makes_its_family_noisy if {
	every field, _ in egress.quiet_fields {
		req := request(json.patch(clean_table, [{"op": "replace", "path": concat("/", ["", field]), "value": "changed"}]))
		count(egress.noisy) == 1 with input as req
		count([l |
			some l in [egress.unread, egress.content_noisy, egress.text_noisy, egress.table_noisy]
			count(l) == 1
		]) == 1 with input as req
	}
}

# Each of the other conditions of quiet makes the table noisy for its family.
test_other_conditions_make_their_family_noisy if {
	noisy_for(with_changes({"/limits_exceeded": ["rows"]})) == "reading"
	noisy_for(with_changes({"/type": "archive"})) == "content"
	noisy_for(with_changes({"/type": "nonsense"})) == "content"
	noisy_for(with_changes({"/embedded": "zip"})) == "content"
	noisy_for(with_changes({"/format": "utf-16"})) == "content"
}

noisy_for(analysis) := family if {
	req := request(analysis)
	count(egress.noisy) == 1 with input as req
	families := {name |
		some name, l in {
			"reading": egress.unread, "content": egress.content_noisy,
			"text": egress.text_noisy, "table": egress.table_noisy,
		}
		count(l) == 1
	} with input as req
	count(families) == 1
	some family in families
}
