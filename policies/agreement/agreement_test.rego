# Unit tests for the agreement governance policy: every rule has at least one passing and one
# failing case. Run them with `go test ./policies/` (or `opa test policies/`).
package fivesafes.agreement_test

import data.fivesafes.agreement

# base is a valid agreement: every test changes one thing about it.
base := {
	"apiVersion": "fivesafes.io/v1alpha1",
	"kind": "DataAccessAgreement",
	"metadata": {"name": "nic-38002-s3k0v"},
	"spec": {
		"reference": "NIC-38002-S3K0V",
		"title": "Readmissions after hip replacement",
		"organisation": {"name": "University of Exampleshire", "type": "University"},
		"legalBases": ["HealthAndSocialCareAct2012"],
		"purposes": ["Research into emergency readmission after elective hip replacement."],
		"sensitivity": "Sensitive",
		"objectives": "Estimate 30-day readmission rates by age band and deprivation.",
		"researchers": [
			{"name": "alice@example.ac.uk", "accreditationExpires": "2027-06-30"},
			{"name": "bob@example.ac.uk", "accreditationExpires": "2026-01-01"},
		],
		"datasets": [{
			"name": "hes-apc",
			"columns": ["nhs_number", "admission_date", "procedure_code"],
			"optOuts": "Honoured",
		}],
		"validity": {"start": "2026-01-01", "end": "2028-12-31"},
		"workspace": {"images": ["registry.example/rstudio"]},
	},
}

catalogue := {
	"hes-apc": {
		"title": "Hospital Episode Statistics Admitted Patient Care",
		"dataController": "NHS England",
		"source": {"bucket": "hes", "prefix": "apc/"},
		"columns": [
			{"name": "nhs_number", "identifier": "NHSNumber"},
			{"name": "admission_date", "type": "Date"},
			{"name": "procedure_code", "type": "Code", "identifier": "None"},
			{"name": "local_patient_id", "identifier": "LocalIdentifier"},
		],
	},
}

# with_spec returns base with each JSON-patch style change applied under /spec.
with_spec(changes) := json.patch(base, [p |
	some c in changes
	p := object.union(c, {"path": concat("", ["/spec", c.path])})
])

violations_of(inp) := vs if {
	vs := agreement.violations with input as inp
}

# fields_of lists the fields the given rule flags for inp.
fields_of(inp, rule) := {v.field | some v in violations_of(inp); v.rule == rule}

# --- the base case ----------------------------------------------------------------------------

test_base_is_valid if {
	count(violations_of({"agreement": base})) == 0
}

test_base_is_valid_with_catalogue if {
	count(violations_of({"agreement": base, "catalogue": catalogue})) == 0
}

test_every_violation_names_a_spec_field_and_explains_itself if {
	inp := {"agreement": {"spec": {}}, "catalogue": {}}
	vs := violations_of(inp)
	count(vs) > 0
	every v in vs {
		startswith(v.field, "spec.")
		startswith(v.rule, "agreement.")
		count(v.message) > 20
		endswith(v.message, ".")
	}
}

test_default_params if {
	agreement.params == agreement.default_params with input as {"agreement": base}
}

test_params_override_only_named_keys if {
	p := agreement.params with input as {"agreement": base, "params": {"maxValidityYears": 5}}
	p.maxValidityYears == 5
	p.minimumCellCountFloor == 10
}

# --- legal basis and purpose ------------------------------------------------------------------

test_legal_basis_required_fails_without_one if {
	fields_of({"agreement": with_spec([{"op": "replace", "path": "/legalBases", "value": []}])}, "agreement.legal-basis-required") == {"spec.legalBases"}
}

test_legal_basis_required_fails_when_missing if {
	fields_of({"agreement": with_spec([{"op": "remove", "path": "/legalBases"}])}, "agreement.legal-basis-required") == {"spec.legalBases"}
}

test_legal_basis_required_passes_with_one if {
	fields_of({"agreement": base}, "agreement.legal-basis-required") == set()
}

test_purpose_required_fails_without_one if {
	fields_of({"agreement": with_spec([{"op": "replace", "path": "/purposes", "value": []}])}, "agreement.purpose-required") == {"spec.purposes"}
}

test_purpose_required_fails_with_only_blank_purposes if {
	fields_of({"agreement": with_spec([{"op": "replace", "path": "/purposes", "value": ["  ", ""]}])}, "agreement.purpose-required") == {"spec.purposes"}
}

test_purpose_required_passes_with_one if {
	fields_of({"agreement": base}, "agreement.purpose-required") == set()
}

# --- reference --------------------------------------------------------------------------------

test_reference_format_fails_off_register_style if {
	every ref in ["NIC-38002-S3K0", "nic-38002-S3K0V", "NIC38002-S3K0V", "NIC-38002-s3k0v", "NIC-38O02-S3K0V", "NIC-38002-S3K0V ", "", "NIC--S3K0V"] {
		fields_of({"agreement": with_spec([{"op": "replace", "path": "/reference", "value": ref}])}, "agreement.reference-format") == {"spec.reference"}
	}
}

test_reference_format_fails_when_missing if {
	fields_of({"agreement": with_spec([{"op": "remove", "path": "/reference"}])}, "agreement.reference-format") == {"spec.reference"}
}

test_reference_format_passes_register_style if {
	every ref in ["NIC-38002-S3K0V", "DARS-1-ABCDE", "NIC-123456-00000"] {
		fields_of({"agreement": with_spec([{"op": "replace", "path": "/reference", "value": ref}])}, "agreement.reference-format") == set()
	}
}

# --- dates ------------------------------------------------------------------------------------

test_date_invalid_fails_on_impossible_dates if {
	every d in ["2026-02-29", "2026-02-30", "2026-13-01", "2026-00-10", "2026-04-31", "26-01-01", "2026-1-1", "2026-01-01T00:00:00Z", "1899-12-31", "9999-01-01", "1900-02-29"] {
		fields_of({"agreement": with_spec([{"op": "replace", "path": "/validity/start", "value": d}])}, "agreement.date-invalid") == {"spec.validity.start"}
	}
}

test_date_invalid_fails_on_bad_end_and_expiry if {
	inp := {"agreement": with_spec([
		{"op": "replace", "path": "/validity/end", "value": "2028-02-30"},
		{"op": "replace", "path": "/researchers/1/accreditationExpires", "value": "soon"},
	])}
	fields_of(inp, "agreement.date-invalid") == {"spec.validity.end", "spec.researchers[1].accreditationExpires"}
}

test_date_invalid_fails_when_missing if {
	fields_of({"agreement": with_spec([{"op": "remove", "path": "/validity"}])}, "agreement.date-invalid") == {"spec.validity.start", "spec.validity.end"}
}

test_date_invalid_passes_leap_days if {
	every d in ["2028-02-29", "2000-02-29", "2027-12-31"] {
		fields_of({"agreement": with_spec([{"op": "replace", "path": "/validity/end", "value": d}])}, "agreement.date-invalid") == set()
	}
}

# --- validity window --------------------------------------------------------------------------

test_validity_order_fails_when_end_is_before_start if {
	fields_of({"agreement": with_spec([{"op": "replace", "path": "/validity/end", "value": "2025-12-31"}])}, "agreement.validity-order") == {"spec.validity.end"}
}

test_validity_order_fails_when_end_is_start if {
	fields_of({"agreement": with_spec([{"op": "replace", "path": "/validity/end", "value": "2026-01-01"}])}, "agreement.validity-order") == {"spec.validity.end"}
}

test_validity_order_passes_when_end_is_after_start if {
	fields_of({"agreement": with_spec([{"op": "replace", "path": "/validity/end", "value": "2026-01-02"}])}, "agreement.validity-order") == set()
}

test_validity_too_long_fails_past_three_years if {
	inp := {"agreement": with_spec([{"op": "replace", "path": "/validity/end", "value": "2029-01-01"}])}
	fields_of(inp, "agreement.validity-too-long") == {"spec.validity.end"}
	some v in violations_of(inp)
	v.rule == "agreement.validity-too-long"
	contains(v.message, "2028-12-31 at the latest")
}

test_validity_too_long_passes_at_three_years if {
	# base runs 2026-01-01 to 2028-12-31 inclusive: exactly three years.
	fields_of({"agreement": base}, "agreement.validity-too-long") == set()
}

test_validity_too_long_counts_from_a_leap_day if {
	start := {"op": "replace", "path": "/validity/start", "value": "2028-02-29"}
	ok := {"agreement": with_spec([start, {"op": "replace", "path": "/validity/end", "value": "2031-02-28"}])}
	long := {"agreement": with_spec([start, {"op": "replace", "path": "/validity/end", "value": "2031-03-01"}])}
	fields_of(ok, "agreement.validity-too-long") == set()
	fields_of(long, "agreement.validity-too-long") == {"spec.validity.end"}
}

test_validity_too_long_follows_params if {
	five := {"op": "replace", "path": "/validity/end", "value": "2030-12-31"}
	fields_of({"agreement": with_spec([five]), "params": {"maxValidityYears": 5}}, "agreement.validity-too-long") == set()
	fields_of({"agreement": base, "params": {"maxValidityYears": 1}}, "agreement.validity-too-long") == {"spec.validity.end"}
}

# --- opt-outs ---------------------------------------------------------------------------------

not_applied := {"op": "replace", "path": "/datasets/0/optOuts", "value": "NotApplied"}

justified := {"op": "add", "path": "/datasets/0/optOutJustification", "value": "Section 251 support CAG 1-23(b)/2025 covers the whole cohort."}

section251 := {"op": "replace", "path": "/legalBases", "value": ["Section251", "HealthAndSocialCareAct2012"]}

test_opt_out_justification_required_fails_without_one if {
	fields_of({"agreement": with_spec([not_applied, section251])}, "agreement.opt-out-justification-required") == {"spec.datasets[0].optOutJustification"}
}

test_opt_out_justification_required_fails_when_blank if {
	blank := {"op": "add", "path": "/datasets/0/optOutJustification", "value": " \n\t"}
	fields_of({"agreement": with_spec([not_applied, blank, section251])}, "agreement.opt-out-justification-required") == {"spec.datasets[0].optOutJustification"}
}

test_opt_out_justification_required_fails_closed_on_missing_opt_outs if {
	fields_of({"agreement": with_spec([{"op": "remove", "path": "/datasets/0/optOuts"}])}, "agreement.opt-out-justification-required") == {"spec.datasets[0].optOutJustification"}
}

test_opt_out_justification_required_passes_when_justified if {
	fields_of({"agreement": with_spec([not_applied, justified, section251])}, "agreement.opt-out-justification-required") == set()
}

test_opt_out_justification_not_needed_when_honoured if {
	fields_of({"agreement": base}, "agreement.opt-out-justification-required") == set()
}

test_opt_out_legal_basis_fails_without_override_basis if {
	fields_of({"agreement": with_spec([not_applied, justified])}, "agreement.opt-out-legal-basis") == {"spec.datasets[0].optOuts"}
}

test_opt_out_legal_basis_passes_with_section251_or_consent if {
	every bases in [["Section251"], ["Consent", "PublicTask"]] {
		fields_of({"agreement": with_spec([not_applied, justified, {"op": "replace", "path": "/legalBases", "value": bases}])}, "agreement.opt-out-legal-basis") == set()
	}
}

test_opt_out_legal_basis_follows_params if {
	public_task := {"op": "replace", "path": "/legalBases", "value": ["PublicTask"]}
	inp := {"agreement": with_spec([not_applied, justified, public_task])}
	fields_of(inp, "agreement.opt-out-legal-basis") == {"spec.datasets[0].optOuts"}
	fields_of(object.union(inp, {"params": {"optOutOverrideBases": ["PublicTask"]}}), "agreement.opt-out-legal-basis") == set()
	fields_of({"agreement": with_spec([not_applied, justified, section251]), "params": {"optOutOverrideBases": ["Consent"]}}, "agreement.opt-out-legal-basis") == {"spec.datasets[0].optOuts"}
}

# --- researchers ------------------------------------------------------------------------------

test_accreditation_expired_fails_before_start if {
	inp := {"agreement": with_spec([{"op": "replace", "path": "/researchers/1/accreditationExpires", "value": "2025-12-31"}])}
	fields_of(inp, "agreement.accreditation-expired") == {"spec.researchers[1].accreditationExpires"}
}

test_accreditation_expired_passes_on_start if {
	# bob's accreditation expires on the start date itself.
	fields_of({"agreement": base}, "agreement.accreditation-expired") == set()
}

test_researcher_duplicate_fails_on_repeat if {
	inp := {"agreement": with_spec([{"op": "add", "path": "/researchers/-", "value": {"name": "alice@example.ac.uk", "accreditationExpires": "2029-01-01"}}])}
	fields_of(inp, "agreement.researcher-duplicate") == {"spec.researchers[2].name"}
}

test_researcher_duplicate_reports_each_repeat_once if {
	again := {"op": "add", "path": "/researchers/-", "value": {"name": "bob@example.ac.uk", "accreditationExpires": "2029-01-01"}}
	inp := {"agreement": with_spec([again, again])}
	fields_of(inp, "agreement.researcher-duplicate") == {"spec.researchers[2].name", "spec.researchers[3].name"}
	count([v | some v in violations_of(inp); v.rule == "agreement.researcher-duplicate"]) == 2
}

test_researcher_duplicate_passes_distinct_people if {
	fields_of({"agreement": base}, "agreement.researcher-duplicate") == set()
}

# --- output rules -----------------------------------------------------------------------------

test_minimum_cell_count_floor_fails_below_floor if {
	inp := {"agreement": with_spec([{"op": "add", "path": "/outputRules", "value": {"minimumCellCount": 5}}])}
	fields_of(inp, "agreement.minimum-cell-count-floor") == {"spec.outputRules.minimumCellCount"}
}

test_minimum_cell_count_floor_passes_default_and_above if {
	fields_of({"agreement": base}, "agreement.minimum-cell-count-floor") == set()
	every n in [10, 11, 1000] {
		fields_of({"agreement": with_spec([{"op": "add", "path": "/outputRules", "value": {"minimumCellCount": n}}])}, "agreement.minimum-cell-count-floor") == set()
	}
}

test_minimum_cell_count_floor_follows_params if {
	fields_of({"agreement": base, "params": {"minimumCellCountFloor": 20}}, "agreement.minimum-cell-count-floor") == {"spec.outputRules.minimumCellCount"}
}

test_reviewers_quorum_fails_below_two_when_sensitive if {
	inp := {"agreement": with_spec([{"op": "add", "path": "/outputRules", "value": {"reviewers": 1}}])}
	fields_of(inp, "agreement.reviewers-quorum") == {"spec.outputRules.reviewers"}
}

test_reviewers_quorum_fails_closed_without_sensitivity if {
	inp := {"agreement": with_spec([{"op": "remove", "path": "/sensitivity"}, {"op": "add", "path": "/outputRules", "value": {"reviewers": 1}}])}
	fields_of(inp, "agreement.reviewers-quorum") == {"spec.outputRules.reviewers"}
}

test_reviewers_quorum_passes_default_when_sensitive if {
	fields_of({"agreement": base}, "agreement.reviewers-quorum") == set()
}

test_reviewers_quorum_passes_one_when_not_sensitive if {
	inp := {"agreement": with_spec([
		{"op": "replace", "path": "/sensitivity", "value": "NonSensitive"},
		{"op": "add", "path": "/outputRules", "value": {"reviewers": 1}},
	])}
	fields_of(inp, "agreement.reviewers-quorum") == set()
}

test_reviewers_quorum_follows_params if {
	fields_of({"agreement": base, "params": {"minimumReviewersSensitive": 3}}, "agreement.reviewers-quorum") == {"spec.outputRules.reviewers"}
}

# --- catalogue --------------------------------------------------------------------------------

test_catalogue_rules_skipped_without_catalogue if {
	inp := {"agreement": with_spec([{"op": "replace", "path": "/datasets/0/name", "value": "not-catalogued"}])}
	count(violations_of(inp)) == 0
}

test_dataset_unknown_fails_when_not_catalogued if {
	inp := {"agreement": with_spec([{"op": "replace", "path": "/datasets/0/name", "value": "not-catalogued"}]), "catalogue": catalogue}
	fields_of(inp, "agreement.dataset-unknown") == {"spec.datasets[0].name"}
}

test_dataset_unknown_fails_with_empty_catalogue if {
	fields_of({"agreement": base, "catalogue": {}}, "agreement.dataset-unknown") == {"spec.datasets[0].name"}
}

test_dataset_unknown_passes_when_catalogued if {
	fields_of({"agreement": base, "catalogue": catalogue}, "agreement.dataset-unknown") == set()
}

test_column_unknown_fails_outside_the_schema if {
	inp := {"agreement": with_spec([{"op": "add", "path": "/datasets/0/columns/-", "value": "postcode"}]), "catalogue": catalogue}
	fields_of(inp, "agreement.column-unknown") == {"spec.datasets[0].columns[3]"}
}

test_column_unknown_passes_inside_the_schema if {
	inp := {"agreement": with_spec([{"op": "add", "path": "/datasets/0/columns/-", "value": "local_patient_id"}]), "catalogue": catalogue}
	fields_of(inp, "agreement.column-unknown") == set()
}

odd_catalogue := json.patch(catalogue, [{"op": "add", "path": "/hes-apc/columns/-", "value": {"name": "passport_number", "identifier": "Passport"}}])

test_identifier_not_pseudonymisable_fails_on_unsupported_kind if {
	inp := {"agreement": with_spec([{"op": "add", "path": "/datasets/0/columns/1", "value": "passport_number"}]), "catalogue": odd_catalogue}
	fields_of(inp, "agreement.identifier-not-pseudonymisable") == {"spec.datasets[0].columns[1]"}
}

test_identifier_not_pseudonymisable_passes_supported_kinds if {
	inp := {"agreement": with_spec([{"op": "add", "path": "/datasets/0/columns/-", "value": "local_patient_id"}]), "catalogue": odd_catalogue}
	fields_of(inp, "agreement.identifier-not-pseudonymisable") == set()
}

anonymised := {"op": "replace", "path": "/legalBases", "value": ["Anonymised"]}

test_identifier_anonymised_basis_fails_for_identifier_columns if {
	inp := {"agreement": with_spec([anonymised]), "catalogue": catalogue}
	fields_of(inp, "agreement.identifier-anonymised-basis") == {"spec.datasets[0].columns[0]"}
}

test_identifier_anonymised_basis_passes_without_identifier_columns if {
	inp := {"agreement": with_spec([anonymised, {"op": "remove", "path": "/datasets/0/columns/0"}]), "catalogue": catalogue}
	fields_of(inp, "agreement.identifier-anonymised-basis") == set()
}

test_identifier_anonymised_basis_passes_with_another_basis if {
	inp := {"agreement": with_spec([{"op": "replace", "path": "/legalBases", "value": ["Anonymised", "Section251"]}]), "catalogue": catalogue}
	fields_of(inp, "agreement.identifier-anonymised-basis") == set()
}
