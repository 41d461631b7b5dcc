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
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Store holds the log's objects. Implementations must be safe for concurrent use.
//
// Put stores data under name atomically (a reader sees all of it or nothing), create-only (it
// fails with an error matching fs.ErrExist when name is taken) and durably (when it returns nil
// the object survives a crash of the writer and of the store). Objects under segments/ and
// checkpoints/ are never written twice and may be locked against deletion and change; objects
// under tail/ may be deleted by Prune once a sealed segment covers them.
//
// Get returns the bytes stored under name, or an error matching fs.ErrNotExist.
//
// List returns the names that start with prefix and sort after after (all of them when after is
// empty), in ascending byte order.
type Store interface {
	Put(ctx context.Context, name string, data []byte) error
	Get(ctx context.Context, name string) ([]byte, error)
	List(ctx context.Context, prefix, after string) ([]string, error)
}

// Deleter is implemented by stores that can delete objects. The log uses it only to prune tail
// objects that a sealed segment covers; deletion may fail (for example under object lock) without
// harm.
type Deleter interface {
	Delete(ctx context.Context, name string) error
}

// Object name prefixes.
const (
	TailPrefix       = "tail/"
	SegmentPrefix    = "segments/"
	CheckpointPrefix = "checkpoints/"
)

const seqDigits = 12

func pad(seq int64) string {
	s := strconv.FormatInt(seq, 10)
	if len(s) < seqDigits {
		s = strings.Repeat("0", seqDigits-len(s)) + s
	}
	return s
}

// TailName is the name of the tail object that starts with entry seq.
func TailName(seq int64) string { return TailPrefix + pad(seq) + ".jsonl" }

// SegmentName is the name of the sealed segment holding entries first to last.
func SegmentName(first, last int64) string {
	return SegmentPrefix + pad(first) + "-" + pad(last) + ".jsonl"
}

// CheckpointName is the name of the checkpoint of the chain head at seq.
func CheckpointName(seq int64) string { return CheckpointPrefix + pad(seq) + ".json" }

func parseSeq(s string) (int64, bool) {
	if len(s) != seqDigits {
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// parseTailName returns the sequence number a tail object's name gives.
func parseTailName(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, TailPrefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".jsonl")
	if !ok {
		return 0, false
	}
	return parseSeq(s)
}

// parseSegmentName returns the range a segment's name gives.
func parseSegmentName(name string) (first, last int64, ok bool) {
	s, ok := strings.CutPrefix(name, SegmentPrefix)
	if !ok {
		return 0, 0, false
	}
	s, ok = strings.CutSuffix(s, ".jsonl")
	if !ok {
		return 0, 0, false
	}
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, false
	}
	first, ok1 := parseSeq(a)
	last, ok2 := parseSeq(b)
	if !ok1 || !ok2 || last < first {
		return 0, 0, false
	}
	return first, last, true
}

// parseCheckpointName returns the sequence number a checkpoint's name gives.
func parseCheckpointName(name string) (int64, bool) {
	s, ok := strings.CutPrefix(name, CheckpointPrefix)
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, ".json")
	if !ok {
		return 0, false
	}
	return parseSeq(s)
}

// MemStore is a Store in memory, for tests and for tools that build a log to export it.
type MemStore struct {
	mu      sync.RWMutex
	objects map[string][]byte
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{objects: map[string][]byte{}} }

// Put stores a copy of data under name unless the name is taken.
func (m *MemStore) Put(ctx context.Context, name string, data []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[name]; ok {
		return fmt.Errorf("putting %s: %w", name, fs.ErrExist)
	}
	m.objects[name] = bytes.Clone(data)
	return nil
}

// Get returns a copy of the object stored under name.
func (m *MemStore) Get(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.objects[name]
	if !ok {
		return nil, fmt.Errorf("getting %s: %w", name, fs.ErrNotExist)
	}
	return bytes.Clone(b), nil
}

// List returns the names with prefix that sort after after.
func (m *MemStore) List(ctx context.Context, prefix, after string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	var names []string
	for n := range m.objects {
		if strings.HasPrefix(n, prefix) && n > after {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names, nil
}

// Delete removes the object stored under name.
func (m *MemStore) Delete(ctx context.Context, name string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[name]; !ok {
		return fmt.Errorf("deleting %s: %w", name, fs.ErrNotExist)
	}
	delete(m.objects, name)
	return nil
}
