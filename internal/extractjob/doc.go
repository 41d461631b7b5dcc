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

// Package extractjob copies one catalogue dataset into one workspace bucket at the storage
// level: it lists the source objects, streams each through extract.Transform into the workspace
// bucket as a multipart upload, and makes the copy visible by writing its manifest last. It knows
// nothing of Kubernetes; the DatasetExtract controller decides when a copy is needed and what
// goes into it.
//
// # Layout and visibility
//
// A dataset's copy lives under datasets/<dataset>/ in the workspace bucket:
//
//	datasets/<dataset>/manifest.json              the copy: what it holds and how it was made
//	datasets/<dataset>/<run>/part-0001.csv        the objects of the copy made by run <run>
//	datasets/<dataset>/<run>/part-0002.csv        (one per source object, in source name order)
//
// Readers find a dataset's objects through its manifest and nothing else. Each run writes its
// objects under a prefix of its own (a generation) that no manifest names yet, so while it runs,
// and if it fails or the process dies at any point before the manifest is written, the previous
// manifest and every object it names are untouched: the previous copy stays whole and visible.
// The manifest is one small object written in one request, so it is replaced atomically: a
// reader sees the old copy or the new one, never a mixture. Only after the new manifest is in
// place are the objects of earlier generations (and of runs that failed) deleted, every version
// of them, so that rows removed by a newer opt-out snapshot do not linger as old object versions.
// A failed clean-up leaves only unreferenced objects behind; Prune removes them later.
//
// Two runs for the same dataset do not spoil each other's work. A run publishes its manifest
// only if the stored manifest is still the one it set out to replace (a conditional write), so
// of two runs started from the same copy one publishes and the other fails with ErrSuperseded
// and removes its objects. Prune deletes only generations of runs older than the published one
// (run identifiers sort by start time), never those of a run that may still be writing.
//
// Objects are not first written to a staging prefix and then renamed: object storage has no
// rename, and copying every object once more would double the work without making anything
// safer than the generation prefix already does.
//
// # Provenance
//
// A manifest records the Provenance of its copy (source objects by name and ETag, approved
// columns, schema, pseudonymisation mode and key version, opt-out snapshot or the justification
// for not applying one) so that a controller can tell, by comparing Provenance values, whether
// the visible copy is still the one it would make now, and re-copy only when something changed.
package extractjob
