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
	"fmt"
	"io"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/sdc"
)

// Default limits. Output files are tables, figures, code and short texts: anything larger is not
// read past the limit and fails the checks.
const (
	DefaultMaxBytes        = 64 << 20
	DefaultMaxRows         = 1_000_000
	DefaultMaxColumns      = 1_000
	DefaultMaxLineBytes    = 1 << 20
	DefaultMaxSidecarBytes = 16 << 20
	DefaultMaxSidecarCells = 100_000
	DefaultMaxJSONDepth    = 512
	// MaxLocations is how many locations a report keeps for each kind of finding; the counts
	// are always complete.
	MaxLocations = 10
)

// Limits cap how much of a file is read and parsed, so that no input can make an analyser use
// unbounded memory or time. A zero field takes its default.
type Limits struct {
	// MaxBytes is the largest file read; a larger file is read no further and fails.
	MaxBytes int64
	// MaxRows is the most CSV records (header included) analysed.
	MaxRows int
	// MaxColumns is the most fields a CSV record may have.
	MaxColumns int
	// MaxLineBytes is the longest line, or CSV record, in bytes.
	MaxLineBytes int
	// MaxSidecarBytes is the largest sidecar file read.
	MaxSidecarBytes int64
	// MaxSidecarCells is the most cells a sidecar may describe.
	MaxSidecarCells int
	// MaxJSONDepth is the deepest nesting of JSON arrays and objects.
	MaxJSONDepth int
}

// DefaultLimits returns the default limits.
func DefaultLimits() Limits {
	return Limits{
		MaxBytes:        DefaultMaxBytes,
		MaxRows:         DefaultMaxRows,
		MaxColumns:      DefaultMaxColumns,
		MaxLineBytes:    DefaultMaxLineBytes,
		MaxSidecarBytes: DefaultMaxSidecarBytes,
		MaxSidecarCells: DefaultMaxSidecarCells,
		MaxJSONDepth:    DefaultMaxJSONDepth,
	}
}

// withDefaults fills zero or negative fields with their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxBytes <= 0 {
		l.MaxBytes = d.MaxBytes
	}
	if l.MaxRows <= 0 {
		l.MaxRows = d.MaxRows
	}
	if l.MaxColumns <= 0 {
		l.MaxColumns = d.MaxColumns
	}
	if l.MaxLineBytes <= 0 {
		l.MaxLineBytes = d.MaxLineBytes
	}
	if l.MaxSidecarBytes <= 0 {
		l.MaxSidecarBytes = d.MaxSidecarBytes
	}
	if l.MaxSidecarCells <= 0 {
		l.MaxSidecarCells = d.MaxSidecarCells
	}
	if l.MaxJSONDepth <= 0 {
		l.MaxJSONDepth = d.MaxJSONDepth
	}
	return l
}

// Options configure one analysis.
type Options struct {
	// Limits cap reading and parsing.
	Limits Limits
	// Rules are the disclosure control rules; the zero value means ACRO's defaults.
	Rules sdc.Rules
	// Sidecar, when not nil, is the content of the file's "<name>.sdc.json" sidecar.
	Sidecar io.Reader
}

// rules returns the rules to apply, checking them.
func (o Options) rules() (sdc.Rules, error) {
	if o.Rules == (sdc.Rules{}) {
		return sdc.DefaultRules(), nil
	}
	if err := o.Rules.Validate(); err != nil {
		return sdc.Rules{}, fmt.Errorf("checking output rules: %w", err)
	}
	return o.Rules, nil
}

// RulesFromAgreement converts an agreement's output rules to disclosure control rules, taking
// ACRO's default for every field left unset.
func RulesFromAgreement(o fivesafesv1alpha1.OutputRules) sdc.Rules {
	r := sdc.DefaultRules()
	if o.MinimumCellCount > 0 {
		r.MinimumCellCount = int64(o.MinimumCellCount)
	}
	if o.Dominance.Contributors > 0 {
		r.DominanceN = int(o.Dominance.Contributors)
	}
	if o.Dominance.KBasisPoints > 0 {
		r.DominanceKBasisPoints = int64(o.Dominance.KBasisPoints)
	}
	if o.PRatioBasisPoints > 0 {
		r.PRatioBasisPoints = int64(o.PRatioBasisPoints)
	}
	if o.Zeros == fivesafesv1alpha1.ZerosAllowed {
		r.ZerosDisclosive = false
	}
	return r
}
