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

package policy

import (
	"slices"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// valueCache holds the values of the rules and function calls one evaluation has computed, as
// topdown.VirtualCache asks, in storage that is kept for the next evaluation. OPA's own cache
// allocates a tree node and a hash map for each reference it caches, which is a sixth of all an
// evaluation of the egress policy allocates; this one keeps its index, entries and references in
// slices and maps that are emptied, not freed, between evaluations.
//
// The cache is a stack of frames (a `with` statement pushes one); only the top frame is read or
// written, and entries are added to the top frame only, so a frame's entries are the tail of
// entries from the length it had when the frame was pushed.
type valueCache struct {
	frames  []cacheFrame
	entries []cacheEntry
	terms   []*ast.Term
}

type cacheFrame struct {
	// index maps a reference's hash to one more than the position in entries of the last entry
	// with that hash; entries with the same hash are chained through next.
	index map[int]int32
	// start is the length of entries when the frame was pushed.
	start int
}

type cacheEntry struct {
	ref       ast.Ref
	value     *ast.Term
	undefined bool
	next      int32
}

var _ topdown.VirtualCache = (*valueCache)(nil)

// maxPooledEntries bounds the size of a cache kept for reuse: one that an unusually large
// evaluation grew is left to the garbage collector instead.
const maxPooledEntries = 1 << 14

var valueCaches = sync.Pool{New: func() any {
	c := &valueCache{}
	c.Push()
	return c
}}

// getValueCache returns an empty cache with one frame.
func getValueCache() *valueCache {
	return valueCaches.Get().(*valueCache)
}

// release empties c, dropping every reference it held, and keeps it for another evaluation.
func (c *valueCache) release() {
	if len(c.entries) > maxPooledEntries || len(c.terms) > 4*maxPooledEntries {
		return
	}
	for i := range c.frames {
		clear(c.frames[i].index)
	}
	clear(c.entries)
	clear(c.terms)
	c.frames, c.entries, c.terms = c.frames[:1], c.entries[:0], c.terms[:0]
	c.frames[0].start = 0
	valueCaches.Put(c)
}

// Push starts a new, empty frame.
func (c *valueCache) Push() {
	if len(c.frames) < cap(c.frames) {
		c.frames = c.frames[:len(c.frames)+1]
		c.frames[len(c.frames)-1].start = len(c.entries)
		return
	}
	c.frames = append(c.frames, cacheFrame{index: map[int]int32{}, start: len(c.entries)})
}

// Pop drops the top frame and its entries.
func (c *valueCache) Pop() {
	top := &c.frames[len(c.frames)-1]
	clear(top.index)
	clear(c.entries[top.start:])
	c.entries = c.entries[:top.start]
	c.frames = c.frames[:len(c.frames)-1]
}

// find returns the position in entries of ref's entry in the top frame, or -1.
func (c *valueCache) find(ref ast.Ref, hash int) int {
	for i := int(c.frames[len(c.frames)-1].index[hash]) - 1; i >= 0; i = int(c.entries[i].next) - 1 {
		if slices.EqualFunc(c.entries[i].ref, ref, (*ast.Term).Equal) {
			return i
		}
	}
	return -1
}

// Get returns ref's value and false, nil and true when ref is known to be undefined, or nil and
// false when ref is not cached.
func (c *valueCache) Get(ref ast.Ref) (*ast.Term, bool) {
	i := c.find(ref, ref.Hash())
	if i < 0 {
		return nil, false
	}
	if c.entries[i].undefined {
		return nil, true
	}
	return c.entries[i].value, false
}

// Put records ref's value, or, when value is nil, that ref is undefined. The caller may reuse
// ref's slice afterwards, so its terms are copied.
func (c *valueCache) Put(ref ast.Ref, value *ast.Term) {
	hash := ref.Hash()
	i := c.find(ref, hash)
	if i < 0 {
		start := len(c.terms)
		c.terms = append(c.terms, ref...)
		top := &c.frames[len(c.frames)-1]
		c.entries = append(c.entries, cacheEntry{ref: c.terms[start:len(c.terms):len(c.terms)], next: top.index[hash]})
		i = len(c.entries) - 1
		top.index[hash] = int32(i + 1) //nolint:gosec // bounded by maxPooledEntries in practice
	}
	if value != nil {
		c.entries[i].value = value
	} else {
		c.entries[i].undefined = true
	}
}

// Keys returns the references cached in the top frame.
func (c *valueCache) Keys() []ast.Ref {
	top := c.frames[len(c.frames)-1]
	out := make([]ast.Ref, 0, len(c.entries)-top.start)
	for _, e := range c.entries[top.start:] {
		out = append(out, e.ref)
	}
	return out
}
