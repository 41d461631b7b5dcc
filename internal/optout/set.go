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

// Package optout reads national data opt-out snapshots and holds them as a compact, immutable set
// of NHS numbers. Opt-out status is only ever looked up, never stored against a record.
package optout

import (
	"slices"
)

// MaxValue is the largest value a Set can hold: the largest ten-digit number.
const MaxValue = 9_999_999_999

// MaxLen is the most numbers a Builder accepts (counting repeats), so that a Set's offsets fit in
// 32 bits. It is four times the number of valid NHS numbers.
const MaxLen = 1<<32 - 1

const (
	// The dense layout keeps the low 16 bits of each number, bucketed by the high bits: 2 bytes a
	// number plus 4 bytes a bucket.
	denseShift   = 16
	denseBuckets = MaxValue>>denseShift + 1
	// The sparse layout keeps the low 32 bits: 4 bytes a number and three buckets. It is smaller
	// for sets of fewer than about 300,000 numbers.
	sparseShift   = 32
	sparseBuckets = MaxValue>>sparseShift + 1
)

// Set is an immutable set of NHS numbers (as nhsnumber.Number.Uint64 gives them). Numbers are
// sorted and bucketed by their high bits, so a set of tens of millions takes about 2 bytes a
// number, and a lookup is a binary search within one small bucket. It is safe for concurrent use.
type Set struct {
	n       int
	shift   uint
	dense   bool
	offsets []uint32 // bucket b holds entries offsets[b] to offsets[b+1]
	low16   []uint16 // dense layout
	low32   []uint32 // sparse layout
}

// Contains reports whether v is in the set. A nil Set is empty.
func (s *Set) Contains(v uint64) bool {
	if s == nil || v > MaxValue {
		return false
	}
	b := v >> s.shift
	lo, hi := s.offsets[b], s.offsets[b+1]
	if s.dense {
		return searchDense(s.low16[lo:hi], uint16(v)) //nolint:gosec // the low 16 bits are the key
	}
	_, found := slices.BinarySearch(s.low32[lo:hi], uint32(v)) //nolint:gosec // the low 32 bits are the key
	return found
}

// probeLimit is how far searchDense walks from its guess before it falls back to binary search.
const probeLimit = 8

// searchDense reports whether the sorted bucket holds key. NHS numbers spread evenly over a
// bucket's range, so the entry's position is guessed from the key's value and found by walking a
// few steps, usually within one cache line; a bucket that is not even falls back to binary search.
func searchDense(bucket []uint16, key uint16) bool {
	n := len(bucket)
	if n == 0 {
		return false
	}
	i := int(uint32(key) * uint32(n) >> 16) //nolint:gosec // n <= 1<<16, so the product fits
	if bucket[i] >= key {
		for j := i; ; j-- {
			if bucket[j] <= key {
				return bucket[j] == key
			}
			if j == 0 {
				return false
			}
			if i-j == probeLimit {
				_, found := slices.BinarySearch(bucket[:j], key)
				return found
			}
		}
	}
	for j := i + 1; ; j++ {
		if j == n {
			return false
		}
		if bucket[j] >= key {
			return bucket[j] == key
		}
		if j-i == probeLimit {
			_, found := slices.BinarySearch(bucket[j+1:], key)
			return found
		}
	}
}

// Len returns the number of distinct numbers in the set.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	return s.n
}

// SizeBytes returns the memory the set's tables take, in bytes.
func (s *Set) SizeBytes() int {
	if s == nil {
		return 0
	}
	return 4*len(s.offsets) + 2*len(s.low16) + 4*len(s.low32)
}

// smallLimit is how many numbers a Builder keeps in a plain list before bucketing them.
const smallLimit = 1 << 16

// Builder collects numbers for a Set, taking about 3 bytes a number while it does. It is not
// safe for concurrent use, and is spent by Set.
type Builder struct {
	small   []uint64   // the first numbers added, until there are smallLimit of them
	buckets [][]uint16 // then every number, by its high bits
	added   int
	spent   bool
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{}
}

// Add adds v and reports whether it could: a value above MaxValue is not added, nor is anything
// after MaxLen values or once Set has been called. Adding a value twice is allowed.
func (b *Builder) Add(v uint64) bool {
	if v > MaxValue || b.spent || b.added == MaxLen {
		return false
	}
	b.added++
	if b.buckets == nil {
		if len(b.small) < smallLimit {
			b.small = append(b.small, v)
			return true
		}
		b.buckets = make([][]uint16, denseBuckets)
		for _, s := range b.small {
			b.buckets[s>>denseShift] = append(b.buckets[s>>denseShift], uint16(s)) //nolint:gosec // the low 16 bits are the key
		}
		b.small = nil
	}
	k := v >> denseShift
	b.buckets[k] = append(b.buckets[k], uint16(v)) //nolint:gosec // the low 16 bits are the key
	return true
}

// Set returns the set of the numbers added, choosing the smaller layout, and empties the Builder.
func (b *Builder) Set() *Set {
	b.spent = true
	if b.buckets == nil {
		return b.smallSet()
	}
	n := 0
	for k, bucket := range b.buckets {
		if len(bucket) == 0 {
			continue
		}
		slices.Sort(bucket)
		bucket = slices.Compact(bucket)
		b.buckets[k] = bucket
		n += len(bucket)
	}
	s := &Set{n: n}
	if 2*n+4*(denseBuckets+1) <= 4*n+4*(sparseBuckets+1) {
		s.shift, s.dense = denseShift, true
		s.offsets = make([]uint32, denseBuckets+1)
		s.low16 = make([]uint16, 0, n)
		for k, bucket := range b.buckets {
			s.offsets[k] = uint32(len(s.low16)) //nolint:gosec // at most MaxLen entries
			s.low16 = append(s.low16, bucket...)
			b.buckets[k] = nil
		}
		s.offsets[denseBuckets] = uint32(n)
	} else {
		s.shift = sparseShift
		s.offsets = make([]uint32, sparseBuckets+1)
		s.low32 = make([]uint32, 0, n)
		counts := make([]uint32, sparseBuckets)
		for k, bucket := range b.buckets {
			counts[k>>(sparseShift-denseShift)] += uint32(len(bucket)) //nolint:gosec // a bucket holds at most 2^16 entries
			for _, low := range bucket {
				s.low32 = append(s.low32, uint32(k)<<denseShift|uint32(low))
			}
			b.buckets[k] = nil
		}
		for sb := range sparseBuckets {
			s.offsets[sb+1] = s.offsets[sb] + counts[sb]
		}
	}
	b.buckets = nil
	return s
}

// smallSet builds a set in the sparse layout from the plain list.
func (b *Builder) smallSet() *Set {
	slices.Sort(b.small)
	vals := slices.Compact(b.small)
	b.small = nil
	s := &Set{n: len(vals), shift: sparseShift, offsets: make([]uint32, sparseBuckets+1), low32: make([]uint32, len(vals))}
	for i, v := range vals {
		s.low32[i] = uint32(v) //nolint:gosec // the low 32 bits are the key
		s.offsets[v>>sparseShift+1]++
	}
	for sb := range sparseBuckets {
		s.offsets[sb+1] += s.offsets[sb]
	}
	return s
}
