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

package audit

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// TestStoreContract checks what the Log relies on, for each Store in this package.
func TestStoreContract(t *testing.T) {
	stores := map[string]func(t *testing.T) Store{
		"mem": func(*testing.T) Store { return NewMemStore() },
		"dir": func(t *testing.T) Store { return NewDirStore(filepath.Join(t.TempDir(), "audit")) },
	}
	for name, mk := range stores {
		t.Run(name, func(t *testing.T) {
			s := mk(t)
			if names, err := s.List(ctx(), TailPrefix, ""); err != nil || len(names) != 0 {
				t.Fatalf("List of an empty store = %v, %v", names, err)
			}
			if _, err := s.Get(ctx(), TailName(1)); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Get of a missing object: err = %v, want fs.ErrNotExist", err)
			}
			for _, n := range []string{TailName(2), TailName(1), TailName(10), SegmentName(1, 5), CheckpointName(5)} {
				if err := s.Put(ctx(), n, []byte(n)); err != nil {
					t.Fatalf("Put %s: %v", n, err)
				}
			}
			if err := s.Put(ctx(), TailName(1), []byte("other")); !errors.Is(err, fs.ErrExist) {
				t.Fatalf("Put over an existing object: err = %v, want fs.ErrExist", err)
			}
			if b, err := s.Get(ctx(), TailName(1)); err != nil || string(b) != TailName(1) {
				t.Fatalf("Get after a refused overwrite = %q, %v", b, err)
			}
			got, err := s.List(ctx(), TailPrefix, "")
			if want := []string{TailName(1), TailName(2), TailName(10)}; err != nil || !slices.Equal(got, want) {
				t.Fatalf("List tail = %v, %v; want %v", got, err, want)
			}
			got, err = s.List(ctx(), TailPrefix, TailName(1))
			if want := []string{TailName(2), TailName(10)}; err != nil || !slices.Equal(got, want) {
				t.Fatalf("List tail after 1 = %v, %v; want %v", got, err, want)
			}
			got, err = s.List(ctx(), "", "")
			if err != nil || len(got) != 5 {
				t.Fatalf("List all = %v, %v", got, err)
			}
			if d, ok := s.(Deleter); ok {
				if err := d.Delete(ctx(), TailName(2)); err != nil {
					t.Fatal(err)
				}
				if _, err := s.Get(ctx(), TailName(2)); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("Get after Delete: err = %v", err)
				}
			}
			// Concurrent writers of one name: exactly one wins.
			var wg sync.WaitGroup
			wins := make(chan int, 16)
			for i := range 16 {
				wg.Go(func() {
					if s.Put(ctx(), TailName(99), []byte{byte(i)}) == nil {
						wins <- i
					}
				})
			}
			wg.Wait()
			close(wins)
			if n := len(wins); n != 1 {
				t.Fatalf("%d concurrent writers of one name succeeded, want 1", n)
			}
		})
	}
}

func TestDirStoreNames(t *testing.T) {
	dir := t.TempDir()
	s := NewDirStore(dir)
	for _, bad := range []string{"", "/abs", "../up", "a/../../b", "a//b", ".hidden", "a/.tmp", "a b", `a\b`, "a/"} {
		if err := s.Put(ctx(), bad, nil); err == nil {
			t.Errorf("Put(%q) succeeded", bad)
		}
	}
	// Temporary files left by a crash are not listed.
	if err := os.MkdirAll(filepath.Join(dir, "tail"), 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tail", ".put-123"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if names, err := s.List(ctx(), TailPrefix, ""); err != nil || len(names) != 0 {
		t.Fatalf("List = %v, %v; want no temporary files", names, err)
	}
	if names, err := NewDirStore(filepath.Join(dir, "missing")).List(ctx(), SegmentPrefix, ""); err != nil || len(names) != 0 {
		t.Fatalf("List of a missing directory = %v, %v", names, err)
	}
}

func TestObjectNames(t *testing.T) {
	if got := SegmentName(1, 1000); got != "segments/000000000001-000000001000.jsonl" {
		t.Fatalf("SegmentName = %s", got)
	}
	tests := []struct {
		name        string
		first, last int64
		ok          bool
	}{
		{SegmentName(1, 1000), 1, 1000, true},
		{SegmentName(1001, 2000), 1001, 2000, true},
		{"segments/000000000005-000000000004.jsonl", 0, 0, false},
		{"segments/1-2.jsonl", 0, 0, false},
		{"segments/000000000000-000000000004.jsonl", 0, 0, false},
		{"segments/000000000001-000000000004.json", 0, 0, false},
		{"tail/000000000001.jsonl", 0, 0, false},
	}
	for _, tt := range tests {
		first, last, ok := parseSegmentName(tt.name)
		if ok != tt.ok || first != tt.first || last != tt.last {
			t.Errorf("parseSegmentName(%q) = %d, %d, %v", tt.name, first, last, ok)
		}
	}
	if seq, ok := parseTailName(TailName(42)); !ok || seq != 42 {
		t.Errorf("parseTailName(TailName(42)) = %d, %v", seq, ok)
	}
	if seq, ok := parseCheckpointName(CheckpointName(42)); !ok || seq != 42 {
		t.Errorf("parseCheckpointName(CheckpointName(42)) = %d, %v", seq, ok)
	}
	// Names sort in sequence order.
	names := []string{TailName(10), TailName(9), TailName(100), TailName(1)}
	slices.Sort(names)
	if !slices.Equal(names, []string{TailName(1), TailName(9), TailName(10), TailName(100)}) {
		t.Errorf("tail names sort as %v", names)
	}
}
