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
	"strconv"
	"strings"
	"testing"
)

const magnitudeTable = "region,total_cost\nNorth,1000.00\nSouth,2000.00\n"

func TestParseSidecar(t *testing.T) {
	sc, err := ParseSidecar(strings.NewReader(`{
		"version": 1,
		"cells": [
			{"row": 1, "column": "total_cost", "contributors": 12, "largest": [300, "250.50"], "total": 1000},
			{"row": 2, "column": 2, "contributors": 2, "largest": [1500, 500], "total": "2000.00"}
		]
	}`), Limits{})
	if err != nil {
		t.Fatalf("ParseSidecar: %v", err)
	}
	if len(sc.Cells) != 2 || sc.Cells[0].Column != "total_cost" || sc.Cells[1].ColumnIndex != 2 ||
		sc.Cells[0].Stats.Largest[1].RatString() != "501/2" || sc.Cells[1].Stats.Total.RatString() != "2000" {
		t.Errorf("parsed %+v", sc)
	}
}

func TestParseSidecarRefuses(t *testing.T) {
	cell := `{"row": 1, "column": "c", "contributors": 12, "largest": [3, 2], "total": 10}`
	tests := map[string]string{
		"not json":              `{`,
		"not an object":         `[]`,
		"no version":            `{"cells": []}`,
		"wrong version":         `{"version": 2, "cells": []}`,
		"no cells":              `{"version": 1}`,
		"cells twice":           `{"version": 1, "cells": [], "cells": []}`,
		"unknown top field":     `{"version": 1, "cells": [], "9434765919": 1}`,
		"unknown cell field":    `{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": 1, "largest": [1], "total": 1, "x": 1}]}`,
		"row zero":              `{"version": 1, "cells": [{"row": 0, "column": "c", "contributors": 1, "largest": [1], "total": 1}]}`,
		"no column":             `{"version": 1, "cells": [{"row": 1, "contributors": 1, "largest": [1], "total": 1}]}`,
		"column zero":           `{"version": 1, "cells": [{"row": 1, "column": 0, "contributors": 1, "largest": [1], "total": 1}]}`,
		"negative contributors": `{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": -1, "largest": [], "total": 0}]}`,
		"no total":              `{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": 1, "largest": [1]}]}`,
		"exponent":              `{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": 1, "largest": [1], "total": 1e999999999}]}`,
		"huge number":           `{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": 1, "largest": [1], "total": 1234567890123456789012345678901}]}`,
		"eleven largest":        `{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": 20, "largest": [1,1,1,1,1,1,1,1,1,1,1], "total": 20}]}`,
		"text value":            `{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": 1, "largest": ["9434765919x"], "total": 1}]}`,
		"duplicate cell":        `{"version": 1, "cells": [` + cell + `,` + cell + `]}`,
		"trailing content":      `{"version": 1, "cells": []} {}`,
		"too many cells":        `{"version": 1, "cells": [` + cell + `,` + strings.Replace(cell, `"row": 1`, `"row": 2`, 1) + `,` + strings.Replace(cell, `"row": 1`, `"row": 3`, 1) + `]}`,
		"too large":             `{"version": 1, "cells": [], "padding": "` + strings.Repeat("x", 200) + `"}`,
	}
	for name, in := range tests {
		_, err := ParseSidecar(strings.NewReader(in), Limits{MaxSidecarCells: 2, MaxSidecarBytes: 200})
		if !errors.Is(err, ErrSidecar) {
			t.Errorf("%s: error = %v, want ErrSidecar", name, err)
			continue
		}
		if strings.Contains(err.Error(), "9434765919") {
			t.Errorf("%s: error repeats a value: %v", name, err)
		}
	}
}

func sidecarReport(t *testing.T, table, sidecar string) FileReport {
	t.Helper()
	return analyse(t, "t.csv", table, Options{Sidecar: strings.NewReader(sidecar)})
}

func TestSidecarDominanceAndPRatioAtTheLimits(t *testing.T) {
	tests := []struct {
		name           string
		largest, total string
		contributors   int
		dominance      int64
		pRatio         int64
	}{
		// The two largest are exactly 90% of the total: dominance passes.
		{name: "dominance exactly at k", largest: "[810, 90]", total: "1000", contributors: 12},
		{name: "dominance just over k", largest: "[810, 90.01]", total: "1000", contributors: 12, dominance: 1},
		// The rest (81) is exactly 10% of the largest: the p-ratio passes. With ACRO's defaults a
		// cell near the p-ratio limit always fails dominance.
		{name: "p-ratio exactly at p", largest: "[810, 90]", total: "981", contributors: 12, dominance: 1},
		{name: "p-ratio just under p", largest: "[810, 90]", total: "980.99", contributors: 12, dominance: 1, pRatio: 1},
		{name: "safe", largest: "[100, 90]", total: "1000", contributors: 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := `{"version": 1, "cells": [
				{"row": 1, "column": "total_cost", "contributors": ` + strconv.Itoa(tt.contributors) + `, "largest": ` + tt.largest + `, "total": ` + tt.total + `},
				{"row": 2, "column": "total_cost", "contributors": 30, "largest": [100, 90], "total": 2000}]}`
			r := sidecarReport(t, magnitudeTable, sc)
			if !r.Sidecar.Valid {
				t.Fatalf("sidecar invalid: %s", r.Sidecar.Error)
			}
			if r.DominanceFailures != tt.dominance || r.PRatioFailures != tt.pRatio {
				t.Errorf("dominance failures %d, p-ratio failures %d; want %d, %d", r.DominanceFailures, r.PRatioFailures, tt.dominance, tt.pRatio)
			}
			if r.MagnitudeUnchecked != 0 {
				t.Errorf("magnitude unchecked = %d with every cell covered", r.MagnitudeUnchecked)
			}
			if tt.dominance > 0 && r.Locations[LocDominance] != `row 1, column 2 "total_cost"` {
				t.Errorf("dominance location %q", r.Locations[LocDominance])
			}
		})
	}
}

func TestSidecarThresholdAndCoverage(t *testing.T) {
	sc := `{"version": 1, "cells": [{"row": 1, "column": "total_cost", "contributors": 9, "largest": [200, 150], "total": 1000}]}`
	r := sidecarReport(t, magnitudeTable, sc)
	if !r.Sidecar.Valid || r.Sidecar.ThresholdFailures != 1 || r.Locations[LocSidecarThreshold] != `row 1, column 2 "total_cost"` {
		t.Errorf("nine contributors: %+v at %q", r.Sidecar, r.Locations[LocSidecarThreshold])
	}
	if r.MagnitudeUnchecked != 1 {
		t.Errorf("one of two cells covered: magnitude unchecked = %d, want 1", r.MagnitudeUnchecked)
	}
	ten := sidecarReport(t, magnitudeTable, strings.Replace(sc, `"contributors": 9`, `"contributors": 10`, 1))
	if ten.Sidecar.ThresholdFailures != 0 {
		t.Errorf("ten contributors fail the threshold")
	}
}

func TestSidecarMismatchAndInapplicable(t *testing.T) {
	tests := map[string]string{
		"unknown column": `{"version": 1, "cells": [{"row": 1, "column": "cost", "contributors": 12, "largest": [2, 1], "total": 10}]}`,
		"row past end":   `{"version": 1, "cells": [{"row": 3, "column": "total_cost", "contributors": 12, "largest": [2, 1], "total": 10}]}`,
		"inconsistent":   `{"version": 1, "cells": [{"row": 1, "column": "total_cost", "contributors": 12, "largest": [2, 3], "total": 10}]}`,
		"same cell twice by name and position": `{"version": 1, "cells": [
			{"row": 1, "column": "total_cost", "contributors": 12, "largest": [2, 1], "total": 10},
			{"row": 1, "column": 2, "contributors": 12, "largest": [2, 1], "total": 10}]}`,
	}
	for name, sc := range tests {
		r := sidecarReport(t, magnitudeTable, sc)
		if !r.Sidecar.Present || r.Sidecar.Valid || r.Sidecar.Error == "" {
			t.Errorf("%s: sidecar = %+v", name, r.Sidecar)
		}
		if r.MagnitudeUnchecked != 1 {
			t.Errorf("%s: magnitude unchecked = %d", name, r.MagnitudeUnchecked)
		}
	}
	neg := sidecarReport(t, magnitudeTable, `{"version": 1, "cells": [{"row": 1, "column": "total_cost", "contributors": 12, "largest": [5, -1], "total": 10}]}`)
	if !neg.Sidecar.Valid || neg.Sidecar.Inapplicable != 1 {
		t.Errorf("negative contribution: %+v", neg.Sidecar)
	}
	text := analyse(t, "t.txt", "just text\n", Options{Sidecar: strings.NewReader(`{"version": 1, "cells": []}`)})
	if !text.Sidecar.Present || text.Sidecar.Valid {
		t.Errorf("sidecar on a text file: %+v", text.Sidecar)
	}
}

func FuzzParseSidecar(f *testing.F) {
	for _, s := range []string{
		`{"version": 1, "cells": [{"row": 1, "column": "c", "contributors": 12, "largest": [3, 2], "total": 10}]}`,
		`{"version": 1, "cells": [{"row": 1, "column": 2, "contributors": 0, "largest": [], "total": "0"}]}`,
		`{"version":1,"cells":[{"row":9223372036854775807,"column":"","contributors":9223372036854775807,"largest":["999999999999999999999999999999.999999999999999999"],"total":-0}]}`,
		`{"cells": [[[[[[[[[[[[]]]]]]]]]]]]}`, `{"version": 1e400}`, `{"version": 1, "cells": [null]}`, "\xff\xfe{", `{"version":1,"cells":[]}garbage`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		sc, err := ParseSidecar(strings.NewReader(string(b)), Limits{MaxSidecarBytes: 1 << 16, MaxSidecarCells: 100})
		if err != nil {
			if !errors.Is(err, ErrSidecar) {
				t.Fatalf("error does not wrap ErrSidecar: %v", err)
			}
			return
		}
		for _, c := range sc.Cells {
			if c.Row < 1 || (c.Column == "" && c.ColumnIndex < 1) || c.Stats.Total == nil || len(c.Stats.Largest) > 10 {
				t.Fatalf("accepted an invalid cell: %+v", c)
			}
		}
		// Whatever parses can be checked against a table.
		r, err := Analyse(context.Background(), "t.csv", strings.NewReader(magnitudeTable), Options{Sidecar: strings.NewReader(string(b))})
		if err != nil || !r.Sidecar.Present {
			t.Fatalf("Analyse with a parsed sidecar: %v, %+v", err, r.Sidecar)
		}
	})
}
