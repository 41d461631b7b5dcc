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

package extractjob

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/fivesafes/fivesafes/internal/extract"
	"github.com/fivesafes/fivesafes/internal/storage"
)

// Layout of a dataset's copy in a workspace bucket.
const (
	// ManifestName is the name of a dataset's manifest inside its prefix.
	ManifestName = "manifest.json"
	// FormatVersion is the version of the manifest format and of the copy it describes. A copy
	// made by another version is made again.
	FormatVersion = 1
	// MaxObjects is the most source objects one in-process copy takes.
	MaxObjects = 1024
	// DefaultPartSize is the multipart upload part size when Input.PartSize is zero: each upload
	// holds one part in memory.
	DefaultPartSize = 16 << 20
	// minPartSize is the smallest part size S3 accepts.
	minPartSize = 5 << 20
)

var (
	runIDPattern   = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,62}$`)
	datasetPattern = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$`)
)

// Prefix is where the copy of dataset lives in a workspace bucket: datasets/<dataset>/.
func Prefix(dataset string) string { return storage.DatasetsPrefix + dataset + "/" }

// ManifestKey is the object key of the manifest of dataset's copy.
func ManifestKey(dataset string) string { return Prefix(dataset) + ManifestName }

// GenerationPrefix is where run runID writes the objects of dataset's copy.
func GenerationPrefix(dataset, runID string) string { return Prefix(dataset) + runID + "/" }

// PartKey is the key of the n-th object (from 1) that run runID writes for dataset.
func PartKey(dataset, runID string, n int) string {
	return GenerationPrefix(dataset, runID) + "part-" + fmt.Sprintf("%04d", n) + ".csv"
}

// NewRunID returns a fresh run identifier: the time in UTC to the nanosecond, then random hex,
// so run identifiers sort by when the runs started and never collide. Prune relies on the order.
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	now = now.UTC()
	return now.Format("20060102t150405") + fmt.Sprintf("%09d", now.Nanosecond()) + "z-" + hex.EncodeToString(b[:])
}

// CheckRunID reports whether id can name a run.
func CheckRunID(id string) error {
	if !runIDPattern.MatchString(id) {
		return fmt.Errorf("run id must be 1-63 lower-case letters, digits or '-', starting with a letter or digit")
	}
	return nil
}

// CheckDataset reports whether name can name a dataset's prefix.
func CheckDataset(name string) error {
	if !datasetPattern.MatchString(name) {
		return fmt.Errorf("dataset name %q is not a lower-case DNS subdomain", name)
	}
	return nil
}

// SchemaDigest identifies a schema as far as a copy depends on it: each column's name and
// identifier kind, in order.
func SchemaDigest(schema []extract.Column) string {
	h := sha256.New()
	for _, c := range schema {
		writeField(h, c.Name)
		writeField(h, string(c.Identifier))
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// writeField writes s length-prefixed, so that no two sequences of fields hash alike.
func writeField(h interface{ Write([]byte) (int, error) }, s string) {
	_, _ = h.Write([]byte(strconv.Itoa(len(s))))
	_, _ = h.Write([]byte{':'})
	_, _ = h.Write([]byte(s))
}

// OptOutRecord says whether an opt-out snapshot was applied to a copy, and which, or why not.
type OptOutRecord struct {
	// Applied is true when rows of people in the snapshot were removed.
	Applied bool `json:"applied"`
	// List is the OptOutList whose snapshot was applied.
	List string `json:"list,omitempty"`
	// SnapshotDate is the date (YYYY-MM-DD) of the snapshot applied.
	SnapshotDate string `json:"snapshotDate,omitempty"`
	// Digest is the sha256 of the snapshot applied.
	Digest string `json:"digest,omitempty"`
	// Justification is, when not applied, why not (copied from the agreement).
	Justification string `json:"justification,omitempty"`
}

// Provenance is everything a copy is made from. Two copies with equal Provenance hold the same
// rows, columns and pseudonyms.
type Provenance struct {
	// Agreement is the DataAccessAgreement the copy is made under.
	Agreement string `json:"agreement"`
	// Dataset is the catalogue dataset copied.
	Dataset string `json:"dataset"`
	// Columns are the approved columns, in output order.
	Columns []string `json:"columns"`
	// SchemaDigest is SchemaDigest of the dataset's schema.
	SchemaDigest string `json:"schemaDigest"`
	// PseudonymMode is how pseudonyms were computed: Envelope or Transit.
	PseudonymMode string `json:"pseudonymMode"`
	// KeyVersion is the transit key version the pseudonyms were made with.
	KeyVersion int32 `json:"keyVersion"`
	// DataKeyDigest identifies, in Envelope mode, the wrapped data key: the sha256 of its
	// ciphertext, so that a replaced data key is noticed even at the same key version.
	DataKeyDigest string `json:"dataKeyDigest,omitempty"`
	// OptOuts says whether, and which, opt-outs were applied.
	OptOuts OptOutRecord `json:"optOuts"`
	// SourceBucket and SourcePrefix locate the source objects.
	SourceBucket string `json:"sourceBucket"`
	// SourcePrefix selects the source objects in SourceBucket.
	SourcePrefix string `json:"sourcePrefix"`
	// SourceDigest is Source.Digest of the source objects copied.
	SourceDigest string `json:"sourceDigest"`
}

// Changes lists, in words, how p differs from the provenance was of an existing copy: empty when
// the copy is the one p describes.
func (p Provenance) Changes(was Provenance) []string {
	var out []string
	add := func(differs bool, what string) {
		if differs {
			out = append(out, what)
		}
	}
	add(p.Agreement != was.Agreement, "the agreement changed")
	add(p.Dataset != was.Dataset, "the dataset changed")
	add(p.SourceBucket != was.SourceBucket || p.SourcePrefix != was.SourcePrefix, "the source location changed")
	add(p.SourceDigest != was.SourceDigest, "the source objects changed")
	add(p.SchemaDigest != was.SchemaDigest, "the dataset's schema changed")
	add(!slices.Equal(p.Columns, was.Columns), "the approved columns changed")
	add(p.PseudonymMode != was.PseudonymMode, "the pseudonymisation mode changed")
	add(p.KeyVersion != was.KeyVersion, "the key version changed")
	add(p.DataKeyDigest != was.DataKeyDigest, "the data key changed")
	switch {
	case p.OptOuts.Applied && !was.OptOuts.Applied:
		out = append(out, "opt-outs are now applied")
	case !p.OptOuts.Applied && was.OptOuts.Applied:
		out = append(out, "opt-outs are no longer applied")
	case p.OptOuts.Applied:
		add(p.OptOuts.List != was.OptOuts.List, "the opt-out list changed")
		add(p.OptOuts.Digest != was.OptOuts.Digest || p.OptOuts.SnapshotDate != was.OptOuts.SnapshotDate, "the opt-out snapshot changed")
	default:
		add(p.OptOuts.Justification != was.OptOuts.Justification, "the justification for not applying opt-outs changed")
	}
	return out
}

// DataKeyDigest is the digest recorded for a wrapped data key: the sha256 of its ciphertext.
func DataKeyDigest(wrapped string) string {
	sum := sha256.Sum256([]byte(wrapped))
	return "sha256:" + hex.EncodeToString(sum[:])
}
