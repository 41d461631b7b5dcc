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

package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fivesafes/fivesafes/internal/audit"
)

// FuzzVerifyAuditBundle feeds arbitrary manifests and entries to the bundle verifier, which reads
// bundles passed between people. It must never panic, and whenever it calls a bundle intact, the
// bundle must really hold every entry its manifest lists, unaltered and about that release, in an
// unbroken range.
func FuzzVerifyAuditBundle(f *testing.F) {
	store, out := f.TempDir(), filepath.Join(f.TempDir(), "bundle")
	buildAuditStore(f, store)
	if _, err := exportAuditBundle(context.Background(), audit.NewDirStore(store), releaseAgr, releaseReq, out, time.Unix(0, 0)); err != nil {
		f.Fatal(err)
	}
	manifest, err := os.ReadFile(filepath.Join(out, bundleManifestFile))
	if err != nil {
		f.Fatal(err)
	}
	entries, err := os.ReadFile(filepath.Join(out, bundleEntriesFile))
	if err != nil {
		f.Fatal(err)
	}
	lines := bytes.SplitAfter(entries, []byte("\n"))
	f.Add(manifest, entries)
	f.Add(manifest, bytes.ReplaceAll(entries, []byte("\n"), []byte("\r\n")))
	f.Add(manifest, bytes.Join(lines[:len(lines)-2], nil))
	f.Add(manifest, append(append([]byte(nil), lines[1]...), lines[0]...))
	f.Add(manifest, []byte{})
	f.Add(manifest, []byte("\x00\xff\n{}\n"))
	f.Add(bytes.Replace(manifest, []byte(`"seq": 10`), []byte(`"seq": 9223372036854775807`), 1), entries)
	f.Add(bytes.Replace(manifest, []byte(`"first": 11`), []byte(`"first": -1`), 1), entries)
	f.Add(bytes.Replace(manifest, []byte(`"release": [`), []byte(`"release": [{"seq":11,"hash":"","action":"x"},`), 1), entries)
	f.Add(append(append([]byte(nil), manifest...), manifest...), entries)
	f.Add([]byte(`null`), entries)
	f.Add([]byte(`{"apiVersion":"fivesafes.io/v1alpha1","kind":"AuditBundle","entries":"entries.jsonl","anchor":{"seq":0,"hash":"`+audit.GenesisHash+`"},"first":1,"last":1,"release":[{"seq":1}]}`), []byte("\n\n\n"))
	f.Add([]byte(`{"kind":"AuditBundle","checkpoints":[{"seq":-5}],"release":[{"seq":0}]`), []byte(`{"seq":1}`))

	f.Fuzz(func(t *testing.T, manifest, entries []byte) {
		m, err := parseBundleManifest(manifest)
		if err != nil {
			return
		}
		res := verifyAuditBundleData(m, entries)
		if !res.OK {
			if res.FirstBroken < m.First || res.FirstBroken > m.Last+1 {
				t.Fatalf("first broken entry %d outside the bundle's range %d to %d", res.FirstBroken, m.First, m.Last)
			}
			return
		}
		if res.Entries != m.Last-m.First+1 || res.Head.Seq != m.Last {
			t.Fatalf("intact bundle of entries %d to %d reported %d entries ending at %d", m.First, m.Last, res.Entries, res.Head.Seq)
		}
		seen := map[int64]audit.Entry{}
		for e, err := range audit.ReadLines(bytes.NewReader(entries)) {
			if err != nil {
				t.Fatalf("an intact bundle holds an unreadable entry: %v", err)
			}
			seen[e.Seq] = e
		}
		for _, r := range m.Release {
			e, ok := seen[r.Seq]
			if !ok || e.Hash != r.Hash || !concernsRelease(e, m.Agreement, m.Request) {
				t.Fatalf("an intact bundle does not hold release entry %d as listed", r.Seq)
			}
		}
	})
}
