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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/fivesafes/fivesafes/internal/sdc"
)

// SidecarSuffix is appended to a table's path to name its sidecar.
const SidecarSuffix = ".sdc.json"

// SidecarVersion is the sidecar format version this package reads.
const SidecarVersion = 1

// ErrSidecar reports a sidecar that cannot be used. Its messages name cells by position and never
// carry values.
var ErrSidecar = errors.New("invalid sidecar")

// Sidecar holds per-cell contributor statistics for a magnitude table, in the spirit of ACRO,
// so that n-k dominance and the p-ratio rule can be checked. It is read from "<table>.sdc.json":
//
//	{
//	  "version": 1,
//	  "cells": [
//	    {"row": 1, "column": "total_cost", "contributors": 25,
//	     "largest": [5000, "3200.50"], "total": 40210.75}
//	  ]
//	}
//
// row is the data row, counting from 1 after the header; column is the header of the column, or
// its position from 1 as a number; contributors is how many records contributed to the cell;
// largest are the largest contributions in descending order (at least two when there are two or
// more contributors, and at most 10; list n of them to check n-k dominance with that n); total is
// the sum of all contributions. Values are plain decimal numbers, as JSON numbers or strings, with
// at most 30 integer and 18 fractional digits and no exponent. Unknown fields are refused.
//
// The statistics are computed by the researcher's code inside the workspace, as ACRO's are; output
// checkers still review every release.
type Sidecar struct {
	// Cells are the cells described.
	Cells []SidecarCell
}

// SidecarCell is one cell's statistics.
type SidecarCell struct {
	// Row is the data row, from 1.
	Row int64
	// Column is the column's header, or empty when ColumnIndex is set.
	Column string
	// ColumnIndex is the column's position from 1, or 0 when Column is set.
	ColumnIndex int
	// Stats are the contributor statistics.
	Stats sdc.Cell
}

type sidecarCellJSON struct {
	Row          *int64          `json:"row"`
	Column       json.RawMessage `json:"column"`
	Contributors *int64          `json:"contributors"`
	Largest      []json.Number   `json:"largest"`
	Total        *json.Number    `json:"total"`
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func sidecarErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrSidecar, fmt.Sprintf(format, args...))
}

// ParseSidecar reads a sidecar, refusing one larger than lim.MaxSidecarBytes or with more than
// lim.MaxSidecarCells cells. Errors wrap ErrSidecar, or are the reader's own.
func ParseSidecar(r io.Reader, lim Limits) (Sidecar, error) {
	lim = lim.withDefaults()
	cr := &countingReader{r: io.LimitReader(r, lim.MaxSidecarBytes+1)}
	dec := json.NewDecoder(cr)
	dec.UseNumber()
	dec.DisallowUnknownFields()
	var sc Sidecar
	tooBig := func() bool { return cr.n > lim.MaxSidecarBytes }
	syntax := func(err error) error {
		if tooBig() {
			return sidecarErr("larger than %d bytes", lim.MaxSidecarBytes)
		}
		var se *json.SyntaxError
		if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			return sidecarErr("not valid JSON near byte %d", dec.InputOffset())
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return sidecarErr("a field has the wrong type near byte %d", dec.InputOffset())
		}
		if strings.HasPrefix(err.Error(), "json: ") {
			return sidecarErr("unexpected content near byte %d", dec.InputOffset())
		}
		return fmt.Errorf("reading sidecar: %w", err)
	}
	expect := func(want json.Delim) error {
		tok, err := dec.Token()
		if err != nil {
			return syntax(err)
		}
		if d, ok := tok.(json.Delim); !ok || d != want {
			return sidecarErr("expected %q near byte %d", string(want), dec.InputOffset())
		}
		return nil
	}
	if err := expect('{'); err != nil {
		return sc, err
	}
	version := 0
	sawCells := false
	seen := make(map[string]struct{})
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return sc, syntax(err)
		}
		key, _ := tok.(string)
		switch key {
		case "version":
			if err := dec.Decode(&version); err != nil {
				return sc, syntax(err)
			}
			if version != SidecarVersion {
				return sc, sidecarErr("version must be %d", SidecarVersion)
			}
		case "cells":
			if sawCells {
				return sc, sidecarErr("cells given twice")
			}
			sawCells = true
			if err := expect('['); err != nil {
				return sc, err
			}
			for dec.More() {
				if len(sc.Cells) >= lim.MaxSidecarCells {
					return sc, sidecarErr("more than %d cells", lim.MaxSidecarCells)
				}
				var raw sidecarCellJSON
				if err := dec.Decode(&raw); err != nil {
					return sc, syntax(err)
				}
				c, err := raw.cell(len(sc.Cells) + 1)
				if err != nil {
					return sc, err
				}
				k := strconv.FormatInt(c.Row, 10) + "\x00" + c.Column + "\x00" + strconv.Itoa(c.ColumnIndex)
				if _, dup := seen[k]; dup {
					return sc, sidecarErr("cell %d describes the same cell as an earlier one", len(sc.Cells)+1)
				}
				seen[k] = struct{}{}
				sc.Cells = append(sc.Cells, c)
			}
			if err := expect(']'); err != nil {
				return sc, err
			}
		default:
			return sc, sidecarErr("unknown field near byte %d", dec.InputOffset())
		}
	}
	if err := expect('}'); err != nil {
		return sc, err
	}
	if _, err := dec.Token(); err != io.EOF {
		if err == nil {
			return sc, sidecarErr("content after the sidecar object")
		}
		return sc, syntax(err)
	}
	if tooBig() {
		return sc, sidecarErr("larger than %d bytes", lim.MaxSidecarBytes)
	}
	if version == 0 {
		return sc, sidecarErr("version is missing")
	}
	if !sawCells {
		return sc, sidecarErr("cells are missing")
	}
	return sc, nil
}

// cell converts the i-th cell (from 1) from its JSON form.
func (raw sidecarCellJSON) cell(i int) (SidecarCell, error) {
	var c SidecarCell
	if raw.Row == nil || *raw.Row < 1 {
		return c, sidecarErr("cell %d: row must be a number from 1", i)
	}
	c.Row = *raw.Row
	if err := json.Unmarshal(raw.Column, &c.Column); err != nil || c.Column == "" {
		c.Column = ""
		var idx int
		if err := json.Unmarshal(raw.Column, &idx); err != nil || idx < 1 {
			return c, sidecarErr("cell %d: column must be a header or a position from 1", i)
		}
		c.ColumnIndex = idx
	}
	if raw.Contributors == nil || *raw.Contributors < 0 {
		return c, sidecarErr("cell %d: contributors must be a number from 0", i)
	}
	c.Stats.Contributors = *raw.Contributors
	if raw.Total == nil {
		return c, sidecarErr("cell %d: total is missing", i)
	}
	var err error
	if c.Stats.Total, err = sdc.ParseValue(raw.Total.String()); err != nil {
		return c, sidecarErr("cell %d: total: %v", i, err)
	}
	if len(raw.Largest) > sdc.MaxDominanceN {
		return c, sidecarErr("cell %d: more than %d largest contributions", i, sdc.MaxDominanceN)
	}
	for k, n := range raw.Largest {
		v, err := sdc.ParseValue(n.String())
		if err != nil {
			return c, sidecarErr("cell %d: largest contribution %d: %v", i, k+1, err)
		}
		c.Stats.Largest = append(c.Stats.Largest, v)
	}
	return c, nil
}

// checkSidecar applies the magnitude rules to every sidecar cell and works out which magnitude
// columns it covers.
func (t *tableAnalyser) checkSidecar(r io.Reader) {
	rep := t.a.rep
	s := &rep.Sidecar
	s.Present = true
	sc, err := ParseSidecar(r, t.a.lim)
	if err != nil {
		s.Error = err.Error()
		return
	}
	s.Cells = int64(len(sc.Cells))
	perColumn := make(map[int]int64)
	cells := make(map[[2]int64]struct{}, len(sc.Cells))
	var thr, zero, dom, pr []string
	var inapplicable int64
	for i, c := range sc.Cells {
		j, ok := t.resolveColumn(c)
		if !ok {
			s.Error = sidecarErr("cell %d names a column the table does not have", i+1).Error()
			return
		}
		if c.Row > t.rows {
			s.Error = sidecarErr("cell %d names a row past the end of the table", i+1).Error()
			return
		}
		key := [2]int64{c.Row, int64(j)}
		if _, dup := cells[key]; dup {
			s.Error = sidecarErr("cell %d describes the same cell as an earlier one", i+1).Error()
			return
		}
		cells[key] = struct{}{}
		m, err := sdc.CheckMagnitude(c.Stats, t.a.rules)
		switch {
		case errors.Is(err, sdc.ErrNegative), errors.Is(err, sdc.ErrIncomplete):
			inapplicable++
		case err != nil:
			s.Error = sidecarErr("cell %d: %v", i+1, err).Error()
			return
		}
		perColumn[j]++
		where := t.where(c.Row, j)
		if m.Threshold {
			thr = append(thr, where())
		}
		if m.Zero {
			zero = append(zero, where())
		}
		if m.Dominance {
			dom = append(dom, where())
		}
		if m.PRatio {
			pr = append(pr, where())
		}
	}
	s.Valid = true
	s.Inapplicable = inapplicable
	s.ThresholdFailures = int64(len(thr))
	s.ZeroCells = int64(len(zero))
	rep.DominanceFailures = int64(len(dom))
	rep.PRatioFailures = int64(len(pr))
	t.a.setList(LocSidecarThreshold, append(thr, zero...))
	t.a.setList(LocDominance, dom)
	t.a.setList(LocPRatio, pr)
	for _, j := range t.magnitude {
		cs := &t.cols[j]
		if perColumn[j] >= cs.ints+cs.decs {
			rep.MagnitudeUnchecked--
		}
	}
}

// resolveColumn finds the column a sidecar cell names.
func (t *tableAnalyser) resolveColumn(c SidecarCell) (int, bool) {
	if c.ColumnIndex > 0 {
		return c.ColumnIndex - 1, c.ColumnIndex <= len(t.cols)
	}
	found := -1
	for j := range t.cols {
		if t.cols[j].raw == c.Column {
			if found >= 0 {
				return 0, false
			}
			found = j
		}
	}
	return found, found >= 0
}
