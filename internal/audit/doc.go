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

// Package audit is Fivesafes' tamper-evident audit log: an append-only hash chain of entries,
// one JSON line each, kept as objects in a Store.
//
// # Entries and the chain
//
// Every entry has a sequence number (1, 2, 3, ... with no gaps), a time, an actor, an action, the
// object acted on, a decision, details (digests and counts, never identifier values), a stage
// (recorded, intended, done or failed), the previous entry's hash (Prev) and its own (Hash). The
// first entry's Prev is GenesisHash. An edited, deleted, inserted or reordered entry breaks the
// chain and Verify names the first sequence number that is wrong. A truncated tail cannot be seen
// in the chain itself; checkpoints, written at intervals as separate objects, record the head so
// that a log shorter than its last checkpoint is reported as truncated.
//
// # Canonical encoding
//
// Hash is "sha256:" followed by the 64 lower-case hex digits of SHA-256 over the entry's
// canonical encoding, which is its JSON object with:
//
//   - every field but hash, keys in byte order: action, actor, decision, details,
//     idempotencyKey, intent, object (kind, name, namespace), prev, seq, stage, time;
//   - decision, details, idempotencyKey, intent and object.namespace left out when empty;
//   - no insignificant whitespace;
//   - strings escaped as Go's encoding/json escapes them by default: ", \ and control characters;
//     <, > and & as \u003c, \u003e and \u0026; U+2028 and U+2029; invalid UTF-8 replaced by
//     U+FFFD (so a line is the same whether or not it passes through json.Marshal again);
//   - integers in decimal; details maps with their keys in byte order at every depth;
//   - time in UTC as RFC 3339 with exactly nine fractional digits, e.g.
//     2026-03-01T09:30:00.000000000Z.
//
// The stored line is that encoding with one member, "hash", appended before the closing brace:
//
//	{"action":"output.release",...,"time":"..."}  →  {"action":"output.release",...,"time":"...","hash":"sha256:..."}
//
// so a verifier in any language checks an entry by removing the final `,"hash":"sha256:<hex>"`
// member from the line and hashing the bytes that remain; it never needs to re-encode JSON.
//
// # Storage
//
// A Store holds named, immutable objects. The Log writes three kinds:
//
//   - tail/<seq>.jsonl: entry seq and, when several appends arrived while the previous write
//     was in flight, the entries after it, one per line, written (create-only) before those
//     Appends return. This is what makes an entry durable. A tail object never holds entries of
//     two segments, so a sealed segment covers whole tail objects.
//   - segments/<first>-<last>.jsonl: a sealed segment of SegmentSize consecutive entries, written
//     once when the tail has filled it. Sealed segments are never rewritten, so a bucket with
//     object lock (compliance or governance retention) may lock them.
//   - checkpoints/<seq>.json: the chain head (sequence number and hash) at intervals, written
//     once each and lockable in the same way.
//
// Sequence numbers in names are zero-padded to twelve digits so names sort by sequence. Tail
// objects covered by a sealed segment are redundant copies: readers ignore them and Log.Prune
// deletes them where the store allows it. With MinIO, the recommended layout is a bucket with
// object lock enabled and no default retention, retention set on segments/ and checkpoints/
// objects as they are written, and none on tail/ objects so that they can be pruned.
//
// The Store contract is small: Put is atomic (an object is either wholly present or absent),
// create-only (it fails with an error matching fs.ErrExist when the name is taken, so two writers
// can never both write sequence n) and durable when it returns; Get returns the bytes written or
// an error matching fs.ErrNotExist; List returns names with a prefix that sort after a given name,
// in ascending byte order. Deleting is optional (Deleter) and used only for pruning.
//
// # Writing
//
// One Log writes the chain (in the manager, the elected leader). Append is safe for concurrent
// use and returns only after the entry's tail object is stored. Concurrent appends are grouped:
// those that arrive while one tail object is being written are chained together and written as
// the next one, so many writers cost few store writes. If a store write fails, the Appends in it
// return an error, the head does not move, and the next Append first settles whether the failed
// write landed, so the chain has neither a gap nor a duplicate. An entry may carry an
// idempotency key: appending the same key again returns the entry already written. Intend and
// Complete record an action in two steps, so that a crash between the record and the action
// leaves an "intended" entry with no completion, never an action with no record.
package audit
