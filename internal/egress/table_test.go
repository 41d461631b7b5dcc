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
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fivesafes/fivesafes/internal/sdc"
)

func analyse(t testing.TB, name, content string, opts Options) FileReport {
	t.Helper()
	r, err := Analyse(context.Background(), name, strings.NewReader(content), opts)
	if err != nil {
		t.Fatalf("Analyse(%s): %v", name, err)
	}
	return r
}

func TestClassifyCell(t *testing.T) {
	tests := []struct {
		in   string
		kind int
		v    int64
	}{
		{"12", cellInt, 12},
		{" 12 ", cellInt, 12},
		{"0", cellInt, 0},
		{"-3", cellInt, -3},
		{"+7", cellInt, 7},
		{"1,234", cellInt, 1234},
		{"1,234,567", cellInt, 1234567},
		{"12.0", cellInt, 12},
		{"12.00", cellInt, 12},
		{"12.5", cellDecimal, 0},
		{".5", cellDecimal, 0},
		{"1e3", cellDecimal, 0},
		{"12%", cellDecimal, 0},
		{"1234567890123456789", cellDecimal, 0},
		{"12,34", cellText, 0},
		{"1,2345", cellText, 0},
		{"", cellEmpty, 0},
		{"NA", cellEmpty, 0},
		{"null", cellEmpty, 0},
		{"-", cellEmpty, 0},
		{"*", cellSuppressed, 0},
		{"<10", cellSuppressed, 0},
		{"< 5", cellSuppressed, 0},
		{"<=5", cellSuppressed, 0},
		{"[c]", cellSuppressed, 0},
		{"Suppressed", cellSuppressed, 0},
		{"North", cellText, 0},
		{"1980-01-02", cellText, 0},
		{"<", cellText, 0},
		{"1e", cellText, 0},
		{"-", cellEmpty, 0},
		{"+", cellText, 0},
	}
	for _, tt := range tests {
		kind, v := classifyCell([]byte(tt.in))
		if kind != tt.kind || v != tt.v {
			t.Errorf("classifyCell(%q) = %d, %d; want %d, %d", tt.in, kind, v, tt.kind, tt.v)
		}
	}
}

func TestIsFormulaCell(t *testing.T) {
	formulas := []string{
		"=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2+3", "\t=1", "\r=1", " =1", "=", "@", "--", "+44 20 7946 0958",
		"\uff1d1+1", "\uff201", "-A1", "+A1",
	}
	plain := []string{"-3", "+3", "-3.5", "-1e5", "-12%", "-", "+", "", " ", "North", "a=b", "3-2", "1,234", "-1,234"}
	for _, s := range formulas {
		if !IsFormulaCell([]byte(s)) {
			t.Errorf("IsFormulaCell(%q) = false, want true", s)
		}
	}
	for _, s := range plain {
		if IsFormulaCell([]byte(s)) {
			t.Errorf("IsFormulaCell(%q) = true, want false", s)
		}
	}
}

func TestClassifyHeader(t *testing.T) {
	tests := map[string]headerRole{
		"n":                  roleCount,
		"N":                  roleCount,
		"count":              roleCount,
		"Frequency":          roleCount,
		"patients":           roleCount,
		"people":             roleCount,
		"total":              roleCount,
		"admission_count":    roleCount,
		"n_patients":         roleCount,
		"Number of patients": roleCount,
		"female_n":           roleCount,
		"patientCount":       roleCount,
		"total_cost":         roleMeasure,
		"mean_age":           roleMeasure,
		"rate_per_1000":      roleMeasure,
		"year":               roleLabel,
		"age_band":           roleLabel,
		"ccg_code":           roleLabel,
		"region":             roleLabel,
		"patient_id":         roleID,
		"PatientId":          roleID,
		"NHS Number":         roleID,
		"nhs_no":             roleID,
		"surname":            roleID,
		"hes_patient_id":     roleID,
		"dob":                roleDOB,
		"Date of Birth":      roleDOB,
		"birth_date":         roleDOB,
		"nhs_trust":          roleOther,
		"admissions":         roleOther,
		"":                   roleOther,
		"2020":               roleOther,
	}
	for in, want := range tests {
		if got := classifyHeader([]byte(in)); got != want {
			t.Errorf("classifyHeader(%q) = %d, want %d", in, got, want)
		}
	}
}

func TestThresholdAtTheLimit(t *testing.T) {
	nine := analyse(t, "t.csv", "region,n\nNorth,9\nSouth,25\n", Options{})
	if nine.Counts.MinNonZero != 9 || nine.Counts.BelowThreshold != 1 || !nine.Counts.Identified {
		t.Errorf("cell of 9: counts = %+v", nine.Counts)
	}
	if got := nine.Locations[LocBelowThreshold]; got != `row 1, column 2 "n"` {
		t.Errorf("cell of 9: location %q", got)
	}
	ten := analyse(t, "t.csv", "region,n\nNorth,10\nSouth,25\n", Options{})
	if ten.Counts.MinNonZero != 10 || ten.Counts.BelowThreshold != 0 {
		t.Errorf("cell of 10: counts = %+v", ten.Counts)
	}
	// With a minimum of 5 from the agreement, 9 passes.
	rules := sdc.DefaultRules()
	rules.MinimumCellCount = 5
	five := analyse(t, "t.csv", "region,n\nNorth,9\nSouth,25\n", Options{Rules: rules})
	if five.Counts.BelowThreshold != 0 || five.Counts.Threshold != 5 {
		t.Errorf("minimum 5: counts = %+v", five.Counts)
	}
}

func TestCountLayouts(t *testing.T) {
	tests := []struct {
		name      string
		csv       string
		want      Counts
		magnitude int
	}{
		{
			name: "long with labels that are numbers",
			csv:  "year,age_band,sex,n\n2019,1,F,12\n2019,2,M,0\n2020,1,F,*\n2020,2,M,40\n",
			want: Counts{Identified: true, Layout: layoutLong, Columns: []int{4}, Cells: 4, MinNonZero: 12, Zeros: 1, Suppressed: 1, Threshold: 10},
		},
		{
			name: "wide cross-tab",
			csv:  "region,Female,Male,Total\nNorth,12,15,27\nSouth,3,0,3\n",
			want: Counts{Identified: true, Layout: layoutWide, Columns: []int{2, 3, 4}, Cells: 6, MinNonZero: 3, Zeros: 1, BelowThreshold: 2, Threshold: 10},
		},
		{
			name:      "wide with a measure column",
			csv:       "region,patients,mean_age\nNorth,120,54.5\nSouth,80,61.2\n",
			want:      Counts{Identified: true, Layout: layoutLong, Columns: []int{2}, Cells: 2, MinNonZero: 80, Threshold: 10},
			magnitude: 1,
		},
		{
			name:      "magnitudes only",
			csv:       "region,total_cost\nNorth,1200.50\nSouth,800.25\n",
			want:      Counts{Layout: layoutNone, Columns: []int{}, Threshold: 10},
			magnitude: 1,
		},
		{
			name: "named count with text is not a count",
			csv:  "region,n\nNorth,many\nSouth,few\n",
			want: Counts{Layout: layoutNone, Columns: []int{}, Threshold: 10},
		},
		{
			name: "negative named counts",
			csv:  "region,n\nNorth,-12\nSouth,20\n",
			want: Counts{Identified: true, Layout: layoutLong, Columns: []int{2}, Cells: 2, MinNonZero: 20, Negative: 1, Threshold: 10},
		},
		{
			name:      "negative unnamed column is a magnitude",
			csv:       "region,change\nNorth,-12\nSouth,20\n",
			want:      Counts{Layout: layoutNone, Columns: []int{}, Threshold: 10},
			magnitude: 1,
		},
		{
			name: "header only",
			csv:  "region,n\n",
			want: Counts{Layout: layoutNone, Columns: []int{}, Threshold: 10},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := analyse(t, "t.csv", tt.csv, Options{})
			if !reflect.DeepEqual(r.Counts, tt.want) {
				t.Errorf("counts = %+v\nwant     %+v", r.Counts, tt.want)
			}
			if r.MagnitudeColumns != tt.magnitude || r.MagnitudeUnchecked != tt.magnitude {
				t.Errorf("magnitude columns = %d (%d unchecked), want %d", r.MagnitudeColumns, r.MagnitudeUnchecked, tt.magnitude)
			}
		})
	}
}

func TestZeroAndBelowLocationsAreOrdered(t *testing.T) {
	r := analyse(t, "t.csv", "region,a,b\nNorth,0,3\nSouth,4,0\n", Options{})
	if got, want := r.Locations[LocZeros], `row 1, column 2 "a"; row 2, column 3 "b"`; got != want {
		t.Errorf("zeros at %q, want %q", got, want)
	}
	if got, want := r.Locations[LocBelowThreshold], `row 1, column 3 "b"; row 2, column 2 "a"`; got != want {
		t.Errorf("below threshold at %q, want %q", got, want)
	}
}

func TestIndividualLevel(t *testing.T) {
	records := analyse(t, "t.csv", "patient_id,date_of_birth,sex\nP1,1980-01-02,F\nP2,1975-11-30,M\n", Options{})
	if !records.IndividualLevel || records.Identifiers.DatesOfBirth != 2 || len(records.IndividualLevelReasons) != 2 {
		t.Errorf("records: individual=%v dobs=%d reasons=%q", records.IndividualLevel, records.Identifiers.DatesOfBirth, records.IndividualLevelReasons)
	}
	var b strings.Builder
	b.WriteString("ref,score,group\n")
	for i := range 150 {
		fmt.Fprintf(&b, "R%04d,%d,%c\n", i, i%7, 'A'+i%3)
	}
	possible := analyse(t, "t.csv", b.String(), Options{})
	if possible.IndividualLevel || !possible.IndividualLevelPossible || possible.Counts.Identified {
		t.Errorf("unique keys: individual=%v possible=%v counts=%+v", possible.IndividualLevel, possible.IndividualLevelPossible, possible.Counts)
	}
	aggregate := analyse(t, "t.csv", "region_code,n\nE1,12\nE2,15\n", Options{})
	if aggregate.IndividualLevel || aggregate.IndividualLevelPossible {
		t.Errorf("aggregate table flagged as individual level: %q", aggregate.IndividualLevelReasons)
	}
}

func TestTableIdentifiersAndFormulas(t *testing.T) {
	r := analyse(t, "t.csv", "region,ref,n\nNorth,943 476 5919,12\nSouth,9434765910,15\n=cmd,x,-3\n", Options{})
	if r.Identifiers.NHSNumbers != 1 {
		t.Errorf("NHS numbers = %d, want 1 (the invalid one is not counted)", r.Identifiers.NHSNumbers)
	}
	if got := r.Locations[LocNHSNumbers]; got != `row 1, column 2 "ref"` {
		t.Errorf("NHS number location = %q", got)
	}
	if r.FormulaCells != 1 || r.Locations[LocFormulaCells] != `row 3, column 1 "region"` {
		t.Errorf("formula cells = %d at %q", r.FormulaCells, r.Locations[LocFormulaCells])
	}
	if !r.IndividualLevel {
		t.Error("a table with NHS numbers in its cells is not flagged as individual level")
	}
}

func TestHeaderWithIdentifierIsNotShown(t *testing.T) {
	r := analyse(t, "t.csv", "region,9434765919\nNorth,3\nSouth,12\n", Options{})
	for k, v := range r.Locations {
		if strings.Contains(v, "9434765919") {
			t.Errorf("location %s shows the identifier: %q", k, v)
		}
	}
	if r.Locations[LocBelowThreshold] != "row 1, column 2" {
		t.Errorf("below threshold at %q", r.Locations[LocBelowThreshold])
	}
}

func TestMalformedAndLimits(t *testing.T) {
	ragged := analyse(t, "t.csv", "a,n\n"+strings.Repeat("x,12\n", 20)+"y,13,14\n\"z,15\n", Options{})
	if ragged.Malformed != 2 {
		t.Errorf("malformed = %d, want 2", ragged.Malformed)
	}
	rows := analyse(t, "t.csv", "a,n\nx,12\ny,13\nz,14\n", Options{Limits: Limits{MaxRows: 3}})
	if rows.Complete || !reflect.DeepEqual(rows.LimitsExceeded, []string{LimitRows}) || rows.Rows != 2 {
		t.Errorf("rows limit: complete=%v limits=%v rows=%d", rows.Complete, rows.LimitsExceeded, rows.Rows)
	}
	if rows.SHA256 == "" {
		t.Error("the file was read to the end but has no digest")
	}
	cols := analyse(t, "t.csv", "a,b,c,d\n1,2,3,4\n", Options{Limits: Limits{MaxColumns: 3}})
	if cols.Complete || !reflect.DeepEqual(cols.LimitsExceeded, []string{LimitColumns}) {
		t.Errorf("columns limit: complete=%v limits=%v", cols.Complete, cols.LimitsExceeded)
	}
	line := analyse(t, "t.csv", "a,n\n"+strings.Repeat("x", 100)+",1\n", Options{Limits: Limits{MaxLineBytes: 64}})
	if line.Complete || !reflect.DeepEqual(line.LimitsExceeded, []string{LimitLineLength}) || line.Locations[LocLineLength] != "line 2" {
		t.Errorf("line limit: complete=%v limits=%v at %q", line.Complete, line.LimitsExceeded, line.Locations[LocLineLength])
	}
}
