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

// Package synth generates synthetic datasets for samples, tests and benchmarks: hospital admitted
// patient care episodes (hes-apc), adult social-care client-level records (asc-cld) and a
// national data opt-out list (opt-outs), as CSV with a header row.
//
// All three draw their people from one Population made from the seed, so with the same seed the
// same person has the same NHS number, date of birth, sex and home area in every file: many
// social-care clients also have hospital episodes, which is what linkage shows, and the opt-out
// list names a share of that same population, so filtering it visibly removes rows from both
// datasets. Every NHS number is in the 999 range kept for testing, so none belongs to a real
// person.
//
// Output is a pure function of the Options: the same options give byte-identical output on every
// run and platform (a PCG generator seeded from the seed, integer arithmetic only, no clock and
// no map iteration). Output is streamed through a fixed-size buffer, so memory does not grow with
// the number of rows.
package synth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
)

// Dataset names.
const (
	// HESAPC is hospital admitted patient care episodes, one row an episode.
	HESAPC = "hes-apc"
	// ASCCLD is adult social-care client-level data, one row a service a client received.
	ASCCLD = "asc-cld"
	// OptOuts is a national data opt-out list, one NHS number a row.
	OptOuts = "opt-outs"
)

// Default shares of rows whose NHS number is missing or malformed.
const (
	// DefaultHESInvalidNHSShare is the default for hes-apc, whose NHS numbers are clean.
	DefaultHESInvalidNHSShare = 0.0
	// DefaultASCInvalidNHSShare is the default for asc-cld, which, like real local-authority
	// submissions, has some numbers blank, truncated, mistyped or replaced by text.
	DefaultASCInvalidNHSShare = 0.02
)

// Mean rows per person that the default population size is chosen for.
const (
	hesRowsPerPerson = 3
	ascRowsPerPerson = 2
)

// ErrInvalidOptions is wrapped by every error Generate returns for options it cannot use.
var ErrInvalidOptions = errors.New("invalid options")

// Options say what to generate.
type Options struct {
	// Dataset is one of Datasets().
	Dataset string
	// Rows is the number of data rows, not counting the header; zero writes the header alone.
	Rows int64
	// Seed selects the population and every random choice; the same seed gives the same output.
	Seed int64
	// InvalidNHSShare is the share of rows (0 to 1) whose NHS number is missing or malformed, so
	// fails validation. Nil selects the dataset's default (DefaultHESInvalidNHSShare,
	// DefaultASCInvalidNHSShare). It does not apply to opt-outs, whose numbers are all valid.
	InvalidNHSShare *float64
	// Population is how many people (person indices 0 to Population-1) rows are drawn from, at
	// most MaxPopulation. Zero selects a default: a third of Rows for hes-apc and half of Rows for
	// asc-cld (so people have several rows), and the whole population for opt-outs. The opt-out
	// list names, in index order, people of the population who opted out, so Rows must not
	// exceed their number (about 3% of the population: some 27,000 of the whole of it); an
	// opt-out list of the same seed with enough rows to reach past a dataset's population names
	// everyone in that dataset who opted out. Set the same Population for every dataset to
	// control how much they overlap; with defaults, the smaller population is contained in the
	// larger.
	Population int64
}

// Datasets returns the names of the datasets Generate knows, in a fixed order.
func Datasets() []string { return []string{HESAPC, ASCCLD, OptOuts} }

// Columns returns the header of dataset.
func Columns(dataset string) ([]string, error) {
	schema, err := Schema(dataset)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(schema))
	for i, c := range schema {
		names[i] = c.Name
	}
	return names, nil
}

// Schema returns the catalogue columns of dataset: names, types, which identify a person, and a
// description of each, ready for a Dataset's spec.
func Schema(dataset string) ([]fivesafesv1alpha1.Column, error) {
	col := func(name string, t fivesafesv1alpha1.ColumnType, id fivesafesv1alpha1.IdentifierKind, desc string) fivesafesv1alpha1.Column {
		return fivesafesv1alpha1.Column{Name: name, Type: t, Identifier: id, Description: desc}
	}
	none := fivesafesv1alpha1.IdentifierNone
	switch dataset {
	case HESAPC:
		return []fivesafesv1alpha1.Column{
			col("nhs_number", fivesafesv1alpha1.ColumnString, fivesafesv1alpha1.IdentifierNHSNumber, "Patient's NHS number."),
			col("date_of_birth", fivesafesv1alpha1.ColumnDate, none, "Patient's date of birth."),
			col("sex", fivesafesv1alpha1.ColumnCode, none, "Sex: 1 male, 2 female, 9 not specified."),
			col("admission_date", fivesafesv1alpha1.ColumnDate, none, "Date of admission."),
			col("discharge_date", fivesafesv1alpha1.ColumnDate, none, "Date of discharge, on or after admission."),
			col("primary_diagnosis", fivesafesv1alpha1.ColumnCode, none, "Primary diagnosis, ICD-10."),
			col("procedure", fivesafesv1alpha1.ColumnCode, none, "Main procedure, OPCS-4; empty when none."),
			col("lsoa", fivesafesv1alpha1.ColumnCode, none, "Lower layer super output area of residence."),
			col("provider_code", fivesafesv1alpha1.ColumnCode, none, "Organisation code of the provider trust."),
		}, nil
	case ASCCLD:
		return []fivesafesv1alpha1.Column{
			col("nhs_number", fivesafesv1alpha1.ColumnString, fivesafesv1alpha1.IdentifierNHSNumber,
				"Client's NHS number as submitted: sometimes blank or malformed."),
			col("local_client_id", fivesafesv1alpha1.ColumnString, fivesafesv1alpha1.IdentifierLocal,
				"Client's identifier in the local authority's case management system."),
			col("date_of_birth", fivesafesv1alpha1.ColumnDate, none, "Client's date of birth."),
			col("gender", fivesafesv1alpha1.ColumnCode, none, "Gender: Male, Female or Unknown."),
			col("service_type", fivesafesv1alpha1.ColumnCode, none, "Type of service provided."),
			col("start_date", fivesafesv1alpha1.ColumnDate, none, "Date the service started."),
			col("end_date", fivesafesv1alpha1.ColumnDate, none, "Date the service ended; empty while ongoing."),
			col("cost_band", fivesafesv1alpha1.ColumnCode, none, "Weekly gross cost band in pounds."),
			col("local_authority", fivesafesv1alpha1.ColumnCode, none, "ONS code of the local authority."),
		}, nil
	case OptOuts:
		return []fivesafesv1alpha1.Column{
			col("nhs_number", fivesafesv1alpha1.ColumnString, fivesafesv1alpha1.IdentifierNHSNumber,
				"NHS number of a person who opted out."),
		}, nil
	}
	return nil, unknownDataset(dataset)
}

func unknownDataset(dataset string) error {
	return fmt.Errorf("synth: %w: unknown dataset %q (want one of %s)", ErrInvalidOptions, dataset, strings.Join(Datasets(), ", "))
}

// config is Options checked and with defaults applied.
type config struct {
	dataset    string
	rows       int64
	seed       int64
	population int64
	invalid    threshold
	// adult is a person below population who is an adult; asc-cld falls back to them when
	// repeated draws find none.
	adult int64
}

func (o Options) resolve() (config, error) {
	c := config{dataset: o.Dataset, rows: o.Rows, seed: o.Seed, population: o.Population}
	bad := func(format string, args ...any) (config, error) {
		return config{}, fmt.Errorf("synth: %w: %s", ErrInvalidOptions, fmt.Sprintf(format, args...))
	}
	if _, err := Schema(o.Dataset); err != nil {
		return config{}, err
	}
	if o.Rows < 0 {
		return bad("rows is %d, must not be negative", o.Rows)
	}
	if o.Population < 0 || o.Population > MaxPopulation {
		return bad("population is %d, must be 0 (default) to %d", o.Population, MaxPopulation)
	}
	share := DefaultHESInvalidNHSShare
	if o.Dataset == ASCCLD {
		share = DefaultASCInvalidNHSShare
	}
	if o.InvalidNHSShare != nil {
		share = *o.InvalidNHSShare
		if math.IsNaN(share) || share < 0 || share > 1 {
			return bad("invalid NHS number share is %v, must be from 0 to 1", share)
		}
		if o.Dataset == OptOuts && share != 0 {
			return bad("an invalid NHS number share does not apply to %s, whose numbers are all valid", OptOuts)
		}
	}
	c.invalid = newThreshold(share)

	switch o.Dataset {
	case HESAPC:
		if c.population == 0 {
			c.population = defaultPopulation(o.Rows, hesRowsPerPerson)
		}
	case ASCCLD:
		if c.population == 0 {
			c.population = defaultPopulation(o.Rows, ascRowsPerPerson)
		}
		if o.Rows > 0 {
			adult, ok := firstAdult(NewPopulation(o.Seed), c.population)
			if !ok {
				return bad("no adult among the %d people of the population; adult social care needs one", c.population)
			}
			c.adult = adult
		}
	case OptOuts:
		if c.population == 0 {
			c.population = MaxPopulation
		}
		if n := countOptedOut(o.Seed, c.population, o.Rows); n < o.Rows {
			return bad("rows is %d but only %d of the %d people of the population opted out", o.Rows, n, c.population)
		}
	}
	return c, nil
}

func defaultPopulation(rows, perPerson int64) int64 {
	p := (rows + perPerson - 1) / perPerson
	return min(max(p, 1), MaxPopulation)
}

// firstAdult returns the lowest index below size of a person who is an adult throughout the period.
func firstAdult(pop Population, size int64) (int64, bool) {
	for i := int64(0); i < size; i++ {
		if pop.person(i).band > 0 {
			return i, true
		}
	}
	return 0, false
}

// countOptedOut counts people below size who opted out, stopping once it reaches limit.
func countOptedOut(seed, size, limit int64) int64 {
	var n int64
	key := optOutKey(seed)
	for i := int64(0); i < size && n < limit; i++ {
		if optedOut(key, i) {
			n++
		}
	}
	return n
}

// Buffer sizes: rows are appended to one buffer, written out when it passes flushAt.
const (
	flushAt    = 64 << 10
	bufferSize = flushAt + 4<<10
	// checkEvery is how many rows pass between checks of the context.
	checkEvery = 1 << 12
)

// rowWriter appends one data row, ending in a newline.
type rowWriter interface {
	appendRow(b []byte) []byte
}

// Generate writes the dataset o describes to w: a header row, then o.Rows data rows, as CSV with
// LF line endings and no quoted fields. It stops with the context's error when ctx is done.
func Generate(ctx context.Context, w io.Writer, o Options) error {
	c, err := o.resolve()
	if err != nil {
		return err
	}
	names, _ := Columns(c.dataset)
	buf := make([]byte, 0, bufferSize)
	buf = append(buf, strings.Join(names, ",")...)
	buf = append(buf, '\n')

	var rw rowWriter
	switch c.dataset {
	case HESAPC:
		rw = newHESWriter(c)
	case ASCCLD:
		rw = newASCWriter(c)
	case OptOuts:
		rw = &optOutWriter{pop: NewPopulation(c.seed), key: optOutKey(c.seed), limit: c.population}
	}
	for row := int64(0); row < c.rows; row++ {
		if row%checkEvery == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("synth: generating %s: %w", c.dataset, err)
			}
		}
		buf = rw.appendRow(buf)
		if len(buf) >= flushAt {
			if _, err := w.Write(buf); err != nil {
				return fmt.Errorf("synth: writing %s: %w", c.dataset, err)
			}
			buf = buf[:0]
		}
	}
	if _, err := w.Write(buf); err != nil {
		return fmt.Errorf("synth: writing %s: %w", c.dataset, err)
	}
	return nil
}
