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
	"bytes"
	"hash/maphash"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Uniqueness is tracked in the first uniqueColumns columns over the first uniqueRows rows; a
// table of at least minRecordRows rows without counts whose column never repeats a value looks
// like record-level data.
const (
	// maxReasons is how many columns the reasons for an individual-level finding name.
	maxReasons    = 5
	uniqueColumns = 16
	uniqueRows    = 10_000
	minRecordRows = 100
)

// Cell kinds.
const (
	cellEmpty = iota
	cellSuppressed
	cellInt
	cellDecimal
	cellText
)

// colStats accumulates what a column holds. Counts for zero and below-threshold cells are kept for
// every column, as which columns hold counts is known only at the end.
type colStats struct {
	name    string // for locations: `column 3 "female"`
	raw     string // the header as written, to match sidecar cells
	role    headerRole
	ints    int64
	decs    int64
	texts   int64
	supp    int64
	empties int64
	neg     int64
	zeros   int64
	below   int64
	minNZ   int64
	// First rows of zero, below-threshold and negative cells.
	zeroRows, belowRows, negRows []int64
	// seen holds hashes of the values met so far, until a value repeats.
	seen   map[uint64]struct{}
	repeat bool
}

// tableAnalyser checks a CSV or TSV table record by record.
type tableAnalyser struct {
	a       *analysis
	parser  *csvParser
	cols    []colStats
	header  bool
	rows    int64
	seed    maphash.Seed
	cellHit bool // identifiers were found in data cells
	// magnitude are the numeric columns that are not counts.
	magnitude []int
}

func newTableAnalyser(a *analysis, delim byte) *tableAnalyser {
	t := &tableAnalyser{a: a, seed: maphash.MakeSeed()}
	t.parser = newCSVParser(delim, a.lim.MaxLineBytes, a.lim.MaxColumns, t.record)
	return t
}

func (t *tableAnalyser) write(b []byte) { t.parser.write(b) }

// record checks one record; it returns false to stop at the row limit.
func (t *tableAnalyser) record(r *csvRecord) bool {
	if r.blank() {
		return true
	}
	rep := t.a.rep
	if !t.header {
		t.header = true
		t.setHeader(r.fields)
		if r.malformed {
			rep.Malformed++
			t.a.at(LocMalformed, func() string { return "header" })
		}
		return true
	}
	if t.rows+1 >= int64(t.a.lim.MaxRows) {
		t.a.limit(LimitRows)
		return false
	}
	t.rows++
	row := t.rows
	if r.malformed || len(r.fields) != len(t.cols) {
		rep.Malformed++
		t.a.at(LocMalformed, func() string { return "row " + strconv.FormatInt(row, 10) })
	}
	threshold := t.a.rules.MinimumCellCount
	for j, f := range r.fields {
		var cs *colStats
		if j < len(t.cols) {
			cs = &t.cols[j]
		}
		t.checkCell(f, row, j)
		if cs == nil {
			continue
		}
		kind, v := classifyCell(f)
		switch kind {
		case cellInt:
			cs.ints++
			switch {
			case v < 0:
				cs.neg++
				appendRow(&cs.negRows, row)
			case v == 0:
				cs.zeros++
				appendRow(&cs.zeroRows, row)
			default:
				if v < threshold {
					cs.below++
					appendRow(&cs.belowRows, row)
				}
				if cs.minNZ == 0 || v < cs.minNZ {
					cs.minNZ = v
				}
			}
		case cellDecimal:
			cs.decs++
		case cellText:
			cs.texts++
		case cellSuppressed:
			cs.supp++
		default:
			cs.empties++
		}
		if cs.role == roleDOB && (kind == cellInt || kind == cellDecimal || kind == cellText) {
			rep.Identifiers.DatesOfBirth++
			t.a.at(LocDatesOfBirth, t.where(row, j))
		}
		if j < uniqueColumns && row <= uniqueRows && !cs.repeat && kind != cellEmpty {
			if cs.seen == nil {
				cs.seen = make(map[uint64]struct{})
			}
			h := maphash.Bytes(t.seed, f)
			if _, dup := cs.seen[h]; dup {
				cs.repeat = true
				cs.seen = nil
			} else {
				cs.seen[h] = struct{}{}
			}
		}
	}
	return true
}

func appendRow(rows *[]int64, row int64) {
	if len(*rows) < MaxLocations {
		*rows = append(*rows, row)
	}
}

// checkCell applies the checks every cell gets, header cells included (row 0).
func (t *tableAnalyser) checkCell(f []byte, row int64, j int) {
	if len(f) == 0 {
		return
	}
	rep := t.a.rep
	high := false
	nul := 0
	for _, c := range f {
		if c >= utf8.RuneSelf {
			high = true
		} else if c == 0 {
			nul++
		}
	}
	if nul > 0 {
		rep.NULBytes += int64(nul)
		t.a.at(LocNULBytes, t.where(row, j))
	}
	if high && !utf8.Valid(f) {
		rep.InvalidUTF8++
		t.a.at(LocInvalidUTF8, t.where(row, j))
	}
	if len(f) >= 5 {
		if h := ScanIdentifiers(f); h.Any() {
			t.a.identifiers(h, t.where(row, j))
			if row > 0 {
				t.cellHit = true
			}
		}
	}
	if IsFormulaCell(f) {
		rep.FormulaCells++
		t.a.at(LocFormulaCells, t.where(row, j))
	}
}

// where returns a location function for a cell; row 0 is the header.
func (t *tableAnalyser) where(row int64, j int) func() string {
	return func() string {
		col := t.columnName(j)
		if row == 0 {
			return "header, " + col
		}
		return "row " + strconv.FormatInt(row, 10) + ", " + col
	}
}

// columnName names a column for messages: its position and, when safe, its header.
func (t *tableAnalyser) columnName(j int) string {
	s := "column " + strconv.Itoa(j+1)
	if j < len(t.cols) && t.cols[j].name != "" {
		s += " " + strconv.Quote(t.cols[j].name)
	}
	return s
}

// setHeader records the header's columns and what their names say.
func (t *tableAnalyser) setHeader(fields [][]byte) {
	t.cols = make([]colStats, len(fields))
	t.a.rep.Columns = len(fields)
	for j, f := range fields {
		if j == 0 {
			f = bytes.TrimPrefix(f, []byte("\xef\xbb\xbf"))
		}
		t.cols[j].role = classifyHeader(f)
		t.cols[j].name = displayName(f)
		t.cols[j].raw = string(f)
	}
	for j, f := range fields {
		t.checkCell(f, 0, j)
	}
}

// displayName makes a header safe to show: printable, short, and left out altogether when it
// holds an identifier or could be taken for a formula.
func displayName(f []byte) string {
	if !utf8.Valid(f) || ScanIdentifiers(f).Any() || IsFormulaCell(f) {
		return ""
	}
	var b strings.Builder
	n := 0
	for _, r := range string(f) {
		if n == 40 {
			b.WriteString("…")
			break
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '"' || r == '\\' {
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

func (t *tableAnalyser) finish() {
	t.parser.finish()
	rep := t.a.rep
	rep.Lines = t.parser.physicalLines()
	switch t.parser.stop {
	case csvStopLine:
		t.a.limit(LimitLineLength)
		line := t.parser.lines
		t.a.at(LocLineLength, func() string { return "line " + strconv.FormatInt(line, 10) })
	case csvStopColumns:
		t.a.limit(LimitColumns)
	}
	if !t.header {
		rep.Counts.Layout = layoutNone
		return
	}
	rep.Rows = t.rows
	t.findCounts()
	t.findIndividualLevel()
}

// Layouts of count tables.
const (
	layoutLong = "long"
	layoutWide = "wide"
	layoutNone = "none"
)

// findCounts decides which columns hold counts and sums up their cells. Columns named like counts
// (n, count, patients, …) holding only whole numbers are count columns, and so is every other
// column after the first that holds only whole numbers, none negative, and is not named like a
// label (year, age, code, …) or a measure (mean, rate, cost, …): the cells of a wide
// cross-tabulation. The layout is long when every count column is named so, wide otherwise.
// Other numeric columns are magnitude columns.
func (t *tableAnalyser) findCounts() {
	rep := t.a.rep
	c := &rep.Counts
	c.Threshold = t.a.rules.MinimumCellCount
	c.Layout = layoutNone
	var counts []int
	for j := range t.cols {
		cs := &t.cols[j]
		numeric := cs.ints+cs.decs > 0
		wholeOnly := cs.ints > 0 && cs.decs == 0 && cs.texts == 0
		switch {
		case cs.role == roleCount && wholeOnly:
			counts = append(counts, j)
		case cs.role == roleCount && numeric:
			t.magnitude = append(t.magnitude, j)
		case j == 0 || !numeric || cs.texts > 0 || cs.role == roleLabel || cs.role == roleID || cs.role == roleDOB:
		case cs.role == roleMeasure || cs.decs > 0 || cs.neg > 0:
			t.magnitude = append(t.magnitude, j)
		default:
			counts = append(counts, j)
		}
	}
	rep.MagnitudeColumns = len(t.magnitude)
	rep.MagnitudeUnchecked = len(t.magnitude)
	if len(counts) == 0 || t.rows == 0 {
		return
	}
	c.Layout = layoutLong
	for _, j := range counts {
		if t.cols[j].role != roleCount {
			c.Layout = layoutWide
		}
	}
	c.Identified = true
	type cellAt struct {
		row int64
		col int
	}
	var zeros, below, neg []cellAt
	for _, j := range counts {
		cs := &t.cols[j]
		c.Columns = append(c.Columns, j+1)
		c.Cells += cs.ints + cs.supp
		c.Zeros += cs.zeros
		c.BelowThreshold += cs.below
		c.Negative += cs.neg
		c.Suppressed += cs.supp
		if cs.minNZ > 0 && (c.MinNonZero == 0 || cs.minNZ < c.MinNonZero) {
			c.MinNonZero = cs.minNZ
		}
		for _, r := range cs.zeroRows {
			zeros = append(zeros, cellAt{r, j})
		}
		for _, r := range cs.belowRows {
			below = append(below, cellAt{r, j})
		}
		for _, r := range cs.negRows {
			neg = append(neg, cellAt{r, j})
		}
	}
	report := func(key string, cells []cellAt, total int64) {
		slices.SortFunc(cells, func(a, b cellAt) int {
			if a.row != b.row {
				return int(a.row - b.row)
			}
			return a.col - b.col
		})
		l := t.a.list(key)
		l.n = total
		for _, ca := range cells[:min(len(cells), MaxLocations)] {
			l.items = append(l.items, t.where(ca.row, ca.col)())
		}
	}
	if c.Zeros > 0 {
		report(LocZeros, zeros, c.Zeros)
	}
	if c.BelowThreshold > 0 {
		report(LocBelowThreshold, below, c.BelowThreshold)
	}
	if c.Negative > 0 {
		report(LocNegativeCounts, neg, c.Negative)
	}
}

// findIndividualLevel looks for signs of record-level data.
func (t *tableAnalyser) findIndividualLevel() {
	rep := t.a.rep
	if t.rows == 0 {
		return
	}
	var reasons []string
	named := 0
	for j := range t.cols {
		var why string
		switch t.cols[j].role {
		case roleID:
			why = " is named like a person identifier"
		case roleDOB:
			why = " is named like a date of birth"
		default:
			continue
		}
		if named++; named <= maxReasons {
			reasons = append(reasons, t.columnName(j)+why)
		}
	}
	if named > maxReasons {
		reasons = append(reasons, strconv.Itoa(named-maxReasons)+" more columns are named like identifiers")
	}
	if t.cellHit {
		reasons = append(reasons, "cells hold NHS numbers, pseudonyms or postcodes")
	}
	rep.IndividualLevel = len(reasons) > 0
	if !rep.Counts.Identified && t.rows >= minRecordRows {
		checked := min(t.rows, uniqueRows)
		for j := range min(len(t.cols), uniqueColumns) {
			cs := &t.cols[j]
			if cs.repeat || cs.decs > 0 || cs.empties+cs.supp > 0 {
				continue
			}
			rep.IndividualLevelPossible = true
			reasons = append(reasons, t.columnName(j)+" has a different value in each of the first "+
				strconv.FormatInt(checked, 10)+" rows")
			break
		}
	}
	if reasons != nil {
		rep.IndividualLevelReasons = reasons
	}
}

// classifyCell tells what a cell holds; for whole numbers it also returns the value. Spaces around
// the value are ignored; "1,234" and "12.0" are whole numbers; "*", "<10", "[c]" and the like are
// suppression markers; "", "NA", "null", "-" and the like are empty.
func classifyCell(f []byte) (int, int64) {
	f = bytes.Trim(f, " ")
	if len(f) == 0 {
		return cellEmpty, 0
	}
	// Fast path: plain digits.
	if len(f) <= 18 {
		var v int64
		i := 0
		for i < len(f) && isDigit(f[i]) {
			v = v*10 + int64(f[i]-'0')
			i++
		}
		if i == len(f) {
			return cellInt, v
		}
	}
	if k, v, ok := parseNumber(f); ok {
		return k, v
	}
	if len(f) <= 12 {
		var buf [12]byte
		low := buf[:0]
		for _, c := range f {
			if c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			low = append(low, c)
		}
		if _, ok := emptyMarkers[string(low)]; ok {
			return cellEmpty, 0
		}
		if _, ok := suppressedMarkers[string(low)]; ok {
			return cellSuppressed, 0
		}
		if isLessThanMarker(low) {
			return cellSuppressed, 0
		}
	}
	return cellText, 0
}

var emptyMarkers = map[string]struct{}{
	"na": {}, "n/a": {}, "nan": {}, "null": {}, "none": {}, "-": {}, ".": {}, "..": {}, "…": {},
	"missing": {}, "#n/a": {},
}

var suppressedMarkers = map[string]struct{}{
	"*": {}, "**": {}, "***": {}, "x": {}, "c": {}, "s": {}, "~": {}, "[c]": {}, "[x]": {}, "[z]": {},
	"[low]": {}, "[u]": {}, "supp": {}, "suppressed": {}, "redacted": {}, "small": {},
}

// isLessThanMarker matches "<5", "< 10" and "<=5".
func isLessThanMarker(b []byte) bool {
	if len(b) < 2 || b[0] != '<' {
		return false
	}
	b = bytes.TrimLeft(b[1:], "= ")
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		if !isDigit(c) {
			return false
		}
	}
	return true
}

// parseNumber parses a signed number with optional thousands separators, fraction, exponent or
// percent sign. Whole values (no exponent or percent, fraction all zeros, at most 18 digits) are
// cellInt; other numbers are cellDecimal.
func parseNumber(f []byte) (int, int64, bool) {
	i := 0
	neg := false
	if f[0] == '-' || f[0] == '+' {
		neg = f[0] == '-'
		i++
	}
	start := i
	var v int64
	digits := 0
	group := -1 // digits since the last thousands comma, or -1 before any comma
	for i < len(f) {
		c := f[i]
		if isDigit(c) {
			if digits < 18 {
				v = v*10 + int64(c-'0')
			}
			digits++
			if group >= 0 {
				group++
			}
			i++
			continue
		}
		if c == ',' && digits > 0 && ((group == -1 && digits <= 3) || group == 3) {
			group = 0
			i++
			continue
		}
		break
	}
	if digits == 0 && (i >= len(f) || f[i] != '.') {
		return 0, 0, false
	}
	if group >= 0 && group != 3 {
		return 0, 0, false
	}
	whole := digits > 0 && digits <= 18
	if i < len(f) && f[i] == '.' {
		i++
		fd := 0
		for i < len(f) && isDigit(f[i]) {
			if f[i] != '0' {
				whole = false
			}
			fd++
			i++
		}
		if fd == 0 && digits == 0 {
			return 0, 0, false
		}
	}
	if i < len(f) && (f[i] == 'e' || f[i] == 'E') {
		i++
		if i < len(f) && (f[i] == '+' || f[i] == '-') {
			i++
		}
		ed := 0
		for i < len(f) && isDigit(f[i]) {
			ed++
			i++
		}
		if ed == 0 {
			return 0, 0, false
		}
		whole = false
	}
	if i < len(f) && f[i] == '%' {
		i++
		whole = false
	}
	if i != len(f) || i == start {
		return 0, 0, false
	}
	if !whole {
		return cellDecimal, 0, true
	}
	if neg {
		v = -v
	}
	return cellInt, v, true
}

// IsFormulaCell reports whether a spreadsheet opening the CSV would treat the cell as a formula or
// command: after leading spaces it starts with =, +, -, @, a tab or a carriage return (or their
// full-width forms), unless it is a plain number such as -3 or +1.5e3, or a lone sign.
func IsFormulaCell(f []byte) bool {
	t := bytes.TrimLeft(f, " ")
	if len(t) == 0 {
		return false
	}
	switch t[0] {
	case '=', '@':
		return true
	case '\t', '\r':
		return true
	case '+', '-':
		if len(t) == 1 {
			return false
		}
		_, _, ok := parseNumber(t)
		return !ok
	}
	if len(t) >= 3 && t[0] == 0xef && t[1] == 0xbc {
		switch t[2] {
		case 0x9d, 0x8b, 0x8d, 0xa0: // ＝ ＋ － ＠
			return true
		}
	}
	return false
}

// headerRole is what a column's name says it holds.
type headerRole uint8

const (
	roleOther headerRole = iota
	roleCount
	roleMeasure
	roleLabel
	roleID
	roleDOB
)

var (
	countWords = setOf("n", "count", "counts", "freq", "frequency", "frequencies", "number", "total",
		"patients", "people", "persons", "individuals", "cnt")
	countLast    = setOf("count", "counts", "freq", "frequency", "cnt", "n")
	countFirst   = setOf("n", "num", "number", "count", "cnt", "freq", "total")
	measureWords = setOf("mean", "median", "avg", "average", "sd", "std", "stdev", "se", "sem", "var",
		"variance", "rate", "rates", "pct", "percent", "percentage", "perc", "prop", "proportion",
		"ratio", "or", "hr", "rr", "ci", "lci", "uci", "lower", "upper", "min", "max", "minimum",
		"maximum", "iqr", "q1", "q3", "cost", "costs", "amount", "spend", "price", "income", "salary",
		"sum", "score", "weight", "height", "bmi", "los", "days", "duration", "length", "hours",
		"minutes", "estimate", "est", "coef", "coefficient", "beta", "p", "pvalue", "pval", "z",
		"stat", "statistic", "prevalence", "incidence", "per", "share", "dose", "volume", "mass")
	labelWords = setOf("year", "yr", "fy", "month", "week", "day", "date", "quarter", "period", "age",
		"ageband", "agegroup", "group", "band", "code", "id", "rank", "order", "index", "level",
		"category", "cat", "stage", "grade", "class", "decile", "quintile", "quartile", "imd",
		"lsoa", "msoa", "region", "ward", "wave", "visit", "cycle", "version", "sex", "gender")
	idNames = setOf("nhsnumber", "nhsno", "nhsnum", "nhs", "patientid", "personid", "pseudonym",
		"pseudoid", "pseudonymisedid", "pseudonymid", "subjectid", "participantid", "mrn",
		"hospitalnumber", "hospitalno", "recordid", "chinumber", "chi", "forename", "forenames",
		"surname", "firstname", "lastname", "fullname", "givenname", "familyname", "patientname",
		"personname", "address", "addressline1", "email", "emailaddress", "phone", "phonenumber",
		"telephone", "mobile", "uprn", "ninumber", "nino", "nationalinsurancenumber")
	idSuffixes = []string{"nhsnumber", "patientid", "personid", "pseudonym", "subjectid", "participantid"}
	dobNames   = setOf("dob", "dateofbirth", "birthdate", "birthdt", "dobdt", "dateofbirthdt", "birthday")
)

func setOf(words ...string) map[string]struct{} {
	m := make(map[string]struct{}, len(words))
	for _, w := range words {
		m[w] = struct{}{}
	}
	return m
}

func in(m map[string]struct{}, w string) bool {
	_, ok := m[w]
	return ok
}

// headerTokens splits a header into lower-case words at anything that is not a letter or digit,
// and between a lower-case letter and an upper-case one ("patientId").
func headerTokens(f []byte) []string {
	var toks []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			toks = append(toks, string(cur))
			cur = cur[:0]
		}
	}
	for i, c := range f {
		switch {
		case c >= 'A' && c <= 'Z':
			if i > 0 && f[i-1] >= 'a' && f[i-1] <= 'z' {
				flush()
			}
			cur = append(cur, c+'a'-'A')
		case c >= 'a' && c <= 'z', isDigit(c):
			cur = append(cur, c)
		default:
			flush()
		}
	}
	flush()
	return toks
}

// classifyHeader tells what a column's name says it holds.
func classifyHeader(f []byte) headerRole {
	toks := headerTokens(f)
	if len(toks) == 0 {
		return roleOther
	}
	joined := strings.Join(toks, "")
	switch {
	case in(dobNames, joined):
		return roleDOB
	case in(idNames, joined):
		return roleID
	}
	for _, s := range idSuffixes {
		if strings.HasSuffix(joined, s) {
			return roleID
		}
	}
	for _, w := range toks {
		if in(measureWords, w) {
			return roleMeasure
		}
	}
	switch {
	case len(toks) == 1 && in(countWords, toks[0]):
		return roleCount
	case len(toks) > 1 && (in(countLast, toks[len(toks)-1]) || in(countFirst, toks[0])):
		return roleCount
	}
	for _, w := range toks {
		if in(labelWords, w) {
			return roleLabel
		}
	}
	return roleOther
}
