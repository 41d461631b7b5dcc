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

package extract

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"io"
)

// DigestWriter writes through to another writer while computing the SHA-256 and size of what was
// written.
type DigestWriter struct {
	w io.Writer
	h hash.Hash
	n int64
}

// NewDigestWriter returns a DigestWriter writing to w.
func NewDigestWriter(w io.Writer) *DigestWriter {
	return &DigestWriter{w: w, h: sha256.New()}
}

// Write writes p to the underlying writer and adds what it accepted to the digest.
func (d *DigestWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	d.h.Write(p[:n])
	d.n += int64(n)
	return n, err
}

// Digest returns the digest of the bytes written so far: "sha256:" and 64 lower-case hex
// characters.
func (d *DigestWriter) Digest() string {
	var sum [sha256.Size]byte
	return "sha256:" + hex.EncodeToString(d.h.Sum(sum[:0]))
}

// Size returns the number of bytes written so far.
func (d *DigestWriter) Size() int64 { return d.n }
