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

// Package register builds Fivesafes' public data release register: what data was released to
// which organisation, on what legal basis, for what purposes and with what benefits expected, and
// how many outputs left each workspace. It is modelled on the NHS Digital data release register
// and raises the same warnings: an organisation receiving one dataset in one month both with and
// without the national data opt-out applied, agreements that set opt-outs aside, and releases
// after an agreement ended. It renders Markdown, a static HTML site and JSON.
package register

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/release"
)

// Input is what the register is built from.
type Input struct {
	// Agreements are the data access agreements, with status when read from a cluster.
	Agreements []fivesafesv1alpha1.DataAccessAgreement
	// Releases are the release manifests from the egress bucket.
	Releases []release.Manifest
	// Extracts are the copies of datasets made into workspaces, when known. For an agreement's
	// dataset with no extract record, the month its validity starts stands in for the month of
	// the copy.
	Extracts []ExtractRecord
	// DatasetTitles maps catalogue dataset names to their titles, from Dataset objects.
	DatasetTitles map[string]string
	// GeneratedAt is printed on the register when set.
	GeneratedAt time.Time
}

// ExtractRecord is one copy of a dataset made under an agreement.
type ExtractRecord struct {
	// Agreement is the DataAccessAgreement's name.
	Agreement string
	// Dataset is the catalogue dataset's name.
	Dataset string
	// OptOuts says whether the opt-out list was applied to the copy.
	OptOuts fivesafesv1alpha1.OptOutHandling
	// Month is when the copy was made, as YYYY-MM (UTC).
	Month string
}

// ExtractRecordFrom makes an ExtractRecord from a DatasetExtract whose copy completed; ok is false
// for an extract that has not completed.
func ExtractRecordFrom(x *fivesafesv1alpha1.DatasetExtract) (ExtractRecord, bool) {
	if x.Status.CompletedAt == nil || x.Status.CompletedAt.IsZero() {
		return ExtractRecord{}, false
	}
	return ExtractRecord{
		Agreement: x.Spec.Agreement,
		Dataset:   x.Spec.Dataset,
		OptOuts:   x.Spec.OptOuts,
		Month:     x.Status.CompletedAt.UTC().Format("2006-01"),
	}, true
}

// Register is the built register, in the shape its JSON form takes.
type Register struct {
	// GeneratedAt is when the register was generated, when known.
	GeneratedAt *time.Time `json:"generatedAt,omitempty"`
	// Summary counts what the register holds.
	Summary Summary `json:"summary"`
	// Organisations receive data, in name order.
	Organisations []Organisation `json:"organisations"`
	// Flags are the register's warnings.
	Flags []Flag `json:"flags"`
	// Warnings are problems with the inputs, e.g. release manifests naming unknown agreements.
	Warnings []string `json:"warnings,omitempty"`
}

// Summary counts what the register holds.
type Summary struct {
	// Organisations is the number of organisations.
	Organisations int `json:"organisations"`
	// Agreements is the number of agreements listed.
	Agreements int `json:"agreements"`
	// Releases is the number of releases (output requests released).
	Releases int `json:"releases"`
	// ReleasedFiles is the number of files released.
	ReleasedFiles int `json:"releasedFiles"`
	// Flags is the number of flags raised.
	Flags int `json:"flags"`
}

// Organisation is one recipient and its agreements.
type Organisation struct {
	// Name is the organisation's name, as its first agreement (by reference) gives it.
	Name string `json:"name"`
	// Code is the organisation's ODS or other registry code.
	Code string `json:"code,omitempty"`
	// Type is the kind of data controller, e.g. CCG or University.
	Type string `json:"type,omitempty"`
	// Agreements are the organisation's agreements, by reference.
	Agreements []Agreement `json:"agreements"`

	key  string
	page string
}

// Validity is an agreement's window, as dates.
type Validity struct {
	// Start is the first day, YYYY-MM-DD.
	Start string `json:"start"`
	// End is the last day, YYYY-MM-DD.
	End string `json:"end"`
}

// Agreement is one agreement as the register prints it.
type Agreement struct {
	// Reference is the register reference, e.g. NIC-38002-S3K0V.
	Reference string `json:"reference"`
	// Title is the agreement's short title.
	Title string `json:"title"`
	// Name is the DataAccessAgreement object's name.
	Name string `json:"name"`
	// Phase is the agreement's phase, when read from a cluster.
	Phase string `json:"phase,omitempty"`
	// LegalBases are the legal bases in words.
	LegalBases []string `json:"legalBases"`
	// Purposes are the purposes the data may be used for.
	Purposes []string `json:"purposes"`
	// Sensitivity is Sensitive or Non-sensitive.
	Sensitivity string `json:"sensitivity"`
	// AccessMethod is Ongoing or One-off.
	AccessMethod string `json:"accessMethod"`
	// Validity is the agreement's window.
	Validity Validity `json:"validity"`
	// Ended is the day the agreement expired or was revoked, when it has.
	Ended string `json:"ended,omitempty"`
	// Revocation is the reason the agreement was revoked, when it was.
	Revocation string `json:"revocation,omitempty"`
	// OptOutsHonoured is Y, N, or "Y, N" when the agreement's datasets differ.
	OptOutsHonoured string `json:"optOutsHonoured"`
	// Datasets are the datasets released.
	Datasets []Dataset `json:"datasets"`
	// Objectives says what the organisation does with the data and why.
	Objectives string `json:"objectives"`
	// ExpectedBenefits are the benefits expected.
	ExpectedBenefits []string `json:"expectedBenefits"`
	// ExpectedOutputs are the outputs expected.
	ExpectedOutputs []string `json:"expectedOutputs"`
	// Sublicensing is Yes or No.
	Sublicensing string `json:"sublicensing"`
	// Releases is the number of releases made under the agreement.
	Releases int `json:"releases"`
	// ReleasedOutputs is the number of files released under the agreement.
	ReleasedOutputs int `json:"releasedOutputs"`
}

// Dataset is one dataset an agreement releases.
type Dataset struct {
	// Name is the catalogue dataset's name.
	Name string `json:"name"`
	// Title is the dataset's title, when the catalogue entry is known.
	Title string `json:"title,omitempty"`
	// OptOutsHonoured is Y or N.
	OptOutsHonoured string `json:"optOutsHonoured"`
	// OptOutJustification says why opt-outs are not applied, for N.
	OptOutJustification string `json:"optOutJustification,omitempty"`
}

// Flag kinds.
const (
	// FlagMixedOptOuts: the organisation received the same dataset in the same month both with
	// opt-outs honoured and with them not applied. Pseudonyms are consistent between the copies,
	// so the organisation could link them and recover what the opt-out removed.
	FlagMixedOptOuts = "mixed-opt-outs"
	// FlagOptOutsNotApplied: an agreement sets the national data opt-out aside for a dataset.
	FlagOptOutsNotApplied = "opt-outs-not-applied"
	// FlagReleasedAfterEnd: outputs were released under an agreement after it ended.
	FlagReleasedAfterEnd = "released-after-end"
)

// Flag is one warning.
type Flag struct {
	// Kind is one of the Flag* constants.
	Kind string `json:"kind"`
	// Organisation is the organisation's name.
	Organisation string `json:"organisation"`
	// Dataset is the catalogue dataset's name; empty for released-after-end.
	Dataset string `json:"dataset,omitempty"`
	// Month is YYYY-MM: of the copies (mixed-opt-outs), of the agreement's start
	// (opt-outs-not-applied), or of the releases (released-after-end).
	Month string `json:"month"`
	// Agreements are the references of the agreements involved.
	Agreements []string `json:"agreements"`
	// Message says what the flag means for this organisation, in words.
	Message string `json:"message"`

	org string // organisation key
}

// Build assembles the register. Agreements that were never approved (phase Pending or Rejected
// without ever being active) are left out; agreements read from files, which carry no status,
// are all included. It fails on an agreement whose validity dates are not dates.
func Build(in Input) (*Register, error) {
	reg := &Register{Organisations: []Organisation{}, Flags: []Flag{}}
	if !in.GeneratedAt.IsZero() {
		t := in.GeneratedAt.UTC()
		reg.GeneratedAt = &t
	}

	type agreementInfo struct {
		daa   *fivesafesv1alpha1.DataAccessAgreement
		org   string // organisation key
		start time.Time
		end   time.Time // first instant after the agreement ended
	}
	var infos []*agreementInfo
	byName := map[string]*agreementInfo{}
	byRef := map[string]*agreementInfo{}
	orgs := map[string]*Organisation{}
	for i := range in.Agreements {
		d := &in.Agreements[i]
		if !listed(d) {
			continue
		}
		start, err := time.Parse(time.DateOnly, d.Spec.Validity.Start)
		if err != nil {
			return nil, fmt.Errorf("agreement %s: spec.validity.start is not a date (YYYY-MM-DD)", label(d))
		}
		last, err := time.Parse(time.DateOnly, d.Spec.Validity.End)
		if err != nil {
			return nil, fmt.Errorf("agreement %s: spec.validity.end is not a date (YYYY-MM-DD)", label(d))
		}
		end := last.AddDate(0, 0, 1)
		if e := d.Status.EndedAt; e != nil && !e.IsZero() && e.UTC().Before(end) {
			end = e.UTC()
		}
		info := &agreementInfo{daa: d, org: orgKey(d.Spec.Organisation), start: start, end: end}
		infos = append(infos, info)
		if d.Name != "" {
			byName[d.Name] = info
		}
		byRef[d.Spec.Reference] = info
	}
	slices.SortFunc(infos, func(a, b *agreementInfo) int {
		return cmp.Or(cmp.Compare(a.daa.Spec.Reference, b.daa.Spec.Reference), cmp.Compare(a.daa.Name, b.daa.Name))
	})

	// Releases, deduplicated and matched to agreements.
	type relKey struct{ agreement, namespace, request, content string }
	seen := map[relKey]bool{}
	releases := map[*agreementInfo][]release.Manifest{}
	unmatched := map[string]bool{}
	for _, m := range in.Releases {
		k := relKey{m.Agreement, m.Namespace, m.Request, string(m.ContentDigest)}
		if seen[k] {
			continue
		}
		seen[k] = true
		info := byName[m.Agreement]
		if info == nil && m.Reference != "" {
			info = byRef[m.Reference]
		}
		if info == nil {
			unmatched[m.Agreement] = true
			continue
		}
		releases[info] = append(releases[info], m)
	}
	if len(unmatched) > 0 {
		names := sortedKeys(unmatched)
		reg.Warnings = append(reg.Warnings, fmt.Sprintf("release manifests name agreements that are not in the register: %s", strings.Join(names, ", ")))
	}

	// Copies per agreement and dataset, for the mixed opt-out flag.
	type copyKey struct{ agreement, dataset string }
	copies := map[copyKey][]ExtractRecord{}
	for _, x := range in.Extracts {
		if _, err := time.Parse("2006-01", x.Month); err != nil {
			return nil, fmt.Errorf("extract record for agreement %s dataset %s: month is not YYYY-MM", x.Agreement, x.Dataset)
		}
		k := copyKey{x.Agreement, x.Dataset}
		copies[k] = append(copies[k], x)
	}

	type mixKey struct{ org, dataset, month string }
	type mix struct{ honoured, notApplied map[string]bool }
	mixes := map[mixKey]*mix{}
	var flags []Flag

	for _, info := range infos {
		d := info.daa
		org := orgs[info.org]
		if org == nil {
			org = &Organisation{Name: d.Spec.Organisation.Name, Code: d.Spec.Organisation.Code, Type: d.Spec.Organisation.Type, key: info.org}
			orgs[info.org] = org
		}
		a := describe(d, in.DatasetTitles)
		rels := releases[info]
		a.Releases = len(rels)
		after := map[string]int{}
		for _, m := range rels {
			a.ReleasedOutputs += len(m.Files)
			if !m.ReleasedAt.UTC().Before(info.end) {
				after[m.ReleasedAt.UTC().Format("2006-01")]++
			}
		}
		org.Agreements = append(org.Agreements, a)
		reg.Summary.Releases += a.Releases
		reg.Summary.ReleasedFiles += a.ReleasedOutputs

		startMonth := info.start.Format("2006-01")
		for _, ds := range d.Spec.Datasets {
			recs := copies[copyKey{d.Name, ds.Name}]
			if len(recs) == 0 {
				recs = []ExtractRecord{{Agreement: d.Name, Dataset: ds.Name, OptOuts: ds.OptOuts, Month: startMonth}}
			}
			for _, r := range recs {
				k := mixKey{info.org, ds.Name, r.Month}
				mx := mixes[k]
				if mx == nil {
					mx = &mix{honoured: map[string]bool{}, notApplied: map[string]bool{}}
					mixes[k] = mx
				}
				if r.OptOuts == fivesafesv1alpha1.OptOutsHonoured {
					mx.honoured[d.Spec.Reference] = true
				} else {
					mx.notApplied[d.Spec.Reference] = true
				}
			}
			if ds.OptOuts != fivesafesv1alpha1.OptOutsHonoured {
				flags = append(flags, Flag{
					Kind: FlagOptOutsNotApplied, Organisation: org.Name, org: org.key, Dataset: ds.Name, Month: startMonth,
					Agreements: []string{d.Spec.Reference},
					Message: fmt.Sprintf("%s receives %s under %s without the national data opt-out applied.",
						org.Name, datasetLabel(ds.Name, in.DatasetTitles), d.Spec.Reference),
				})
			}
		}
		for _, month := range sortedKeys(after) {
			n := after[month]
			flags = append(flags, Flag{
				Kind: FlagReleasedAfterEnd, Organisation: org.Name, org: org.key, Month: month,
				Agreements: []string{d.Spec.Reference},
				Message: fmt.Sprintf("%s had %s released under %s in %s, after the agreement ended on %s.",
					org.Name, plural(n, "output request", "output requests"), d.Spec.Reference, month,
					info.end.AddDate(0, 0, -1).Format(time.DateOnly)),
			})
		}
	}

	for k, mx := range mixes {
		if len(mx.honoured) == 0 || len(mx.notApplied) == 0 {
			continue
		}
		org := orgs[k.org]
		all := map[string]bool{}
		for r := range mx.honoured {
			all[r] = true
		}
		for r := range mx.notApplied {
			all[r] = true
		}
		flags = append(flags, Flag{
			Kind: FlagMixedOptOuts, Organisation: org.Name, org: org.key, Dataset: k.dataset, Month: k.month,
			Agreements: sortedKeys(all),
			Message: fmt.Sprintf("%s was sent %s in %s both with opt-outs honoured (%s) and with opt-outs not applied (%s). "+
				"The pseudonyms are consistent between the copies, so the copies can be linked and the opt-out undone.",
				org.Name, datasetLabel(k.dataset, in.DatasetTitles), k.month,
				strings.Join(sortedKeys(mx.honoured), ", "), strings.Join(sortedKeys(mx.notApplied), ", ")),
		})
	}

	order := map[string]int{FlagMixedOptOuts: 0, FlagOptOutsNotApplied: 1, FlagReleasedAfterEnd: 2}
	slices.SortFunc(flags, func(a, b Flag) int {
		return cmp.Or(
			cmp.Compare(order[a.Kind], order[b.Kind]),
			cmp.Compare(strings.ToLower(a.Organisation), strings.ToLower(b.Organisation)),
			cmp.Compare(a.Dataset, b.Dataset),
			cmp.Compare(a.Month, b.Month),
			slices.Compare(a.Agreements, b.Agreements),
		)
	})
	reg.Flags = append(reg.Flags, flags...)

	for _, o := range orgs {
		reg.Organisations = append(reg.Organisations, *o)
	}
	slices.SortFunc(reg.Organisations, func(a, b Organisation) int {
		return cmp.Or(cmp.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)), cmp.Compare(a.key, b.key))
	})
	assignPages(reg.Organisations)
	reg.Summary.Organisations = len(reg.Organisations)
	reg.Summary.Agreements = len(infos)
	reg.Summary.Flags = len(reg.Flags)
	return reg, nil
}

// listed says whether an agreement belongs in the register: it carries no status (read from a
// file), or it was approved at some point.
func listed(d *fivesafesv1alpha1.DataAccessAgreement) bool {
	switch d.Status.Phase {
	case "", fivesafesv1alpha1.AgreementApproved, fivesafesv1alpha1.AgreementActive, fivesafesv1alpha1.AgreementExpired, fivesafesv1alpha1.AgreementRevoked:
		return true
	}
	return d.Status.ActivatedAt != nil
}

func label(d *fivesafesv1alpha1.DataAccessAgreement) string {
	if d.Spec.Reference != "" {
		return d.Spec.Reference
	}
	return d.Name
}

// orgKey identifies an organisation: by its code when it has one, else by its name with case and
// spacing ignored.
func orgKey(o fivesafesv1alpha1.Organisation) string {
	if c := strings.TrimSpace(o.Code); c != "" {
		return "code:" + strings.ToUpper(c)
	}
	return "name:" + strings.Join(strings.Fields(strings.ToLower(o.Name)), " ")
}

func describe(d *fivesafesv1alpha1.DataAccessAgreement, titles map[string]string) Agreement {
	s := d.Spec
	a := Agreement{
		Reference:        s.Reference,
		Title:            s.Title,
		Name:             d.Name,
		Phase:            string(d.Status.Phase),
		LegalBases:       []string{},
		Purposes:         append([]string{}, s.Purposes...),
		Sensitivity:      SensitivityWords(s.Sensitivity),
		AccessMethod:     AccessMethodWords(s.AccessMethod),
		Validity:         Validity{Start: s.Validity.Start, End: s.Validity.End},
		Objectives:       s.Objectives,
		ExpectedBenefits: append([]string{}, s.ExpectedBenefits...),
		ExpectedOutputs:  append([]string{}, s.ExpectedOutputs...),
		Sublicensing:     SublicensingWords(s.Sublicensing),
		Datasets:         []Dataset{},
	}
	for _, lb := range s.LegalBases {
		a.LegalBases = append(a.LegalBases, LegalBasisWords(lb))
	}
	if e := d.Status.EndedAt; e != nil && !e.IsZero() {
		a.Ended = e.UTC().Format(time.DateOnly)
	}
	if s.Revocation != nil {
		a.Revocation = s.Revocation.Reason
	}
	var y, n bool
	for _, ds := range s.Datasets {
		honoured := ds.OptOuts == fivesafesv1alpha1.OptOutsHonoured
		y = y || honoured
		n = n || !honoured
		x := Dataset{Name: ds.Name, Title: titles[ds.Name], OptOutsHonoured: yn(honoured)}
		if !honoured {
			x.OptOutJustification = ds.OptOutJustification
		}
		a.Datasets = append(a.Datasets, x)
	}
	switch {
	case y && n:
		a.OptOutsHonoured = "Y, N"
	case y:
		a.OptOutsHonoured = "Y"
	case n:
		a.OptOutsHonoured = "N"
	}
	return a
}

func yn(b bool) string {
	if b {
		return "Y"
	}
	return "N"
}

func datasetLabel(name string, titles map[string]string) string {
	if t := titles[name]; t != "" {
		return t
	}
	return name
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// assignPages gives each organisation a page name for the HTML site: a slug of its name, made
// unique.
func assignPages(orgs []Organisation) {
	used := map[string]bool{}
	for i := range orgs {
		base := slug(orgs[i].Name)
		s := base
		for n := 2; used[s]; n++ {
			s = fmt.Sprintf("%s-%d", base, n)
		}
		used[s] = true
		orgs[i].page = "organisations/" + s + ".html"
	}
}

func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			if b.Len() >= 60 {
				break
			}
		} else {
			dash = true
		}
	}
	if b.Len() == 0 {
		return "organisation"
	}
	return b.String()
}
