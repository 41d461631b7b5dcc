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
	"context"
	"sync"
)

// DefaultPseudonymMemo is how many pseudonyms of numeric identifiers one Transform remembers:
// a person has many episodes, and each is pseudonymised once. At about 110 bytes an entry,
// the default holds a quarter of a million people in under 30 MiB.
const DefaultPseudonymMemo = 1 << 18

// memo remembers the pseudonyms of numeric identifiers (NHS numbers and other digit strings)
// for one Transform, so that each distinct identifier goes to the pseudonymiser once: a local
// HMAC or, in transit mode, a Vault request. It is as sensitive as the key it was computed
// with, lives only as long as the copy, and is dropped with it. Other identifiers pass through.
type memo struct {
	ps  Pseudonymiser
	max int

	mu   sync.Mutex
	seen map[uint64][]byte
}

func newMemo(ps Pseudonymiser, max int) *memo {
	return &memo{ps: ps, max: max, seen: make(map[uint64][]byte, min(max, 1<<14))}
}

// numericKey is the identifier as a number when it is 1 to 19 ASCII digits.
func numericKey(id []byte) (uint64, bool) {
	if len(id) == 0 || len(id) > 19 {
		return 0, false
	}
	var v uint64
	for _, c := range id {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	// A leading zero would make "0123" and "123" one key.
	if id[0] == '0' && len(id) > 1 {
		return 0, false
	}
	return v, true
}

// Pseudonymise returns the pseudonyms of ids, asking the pseudonymiser only for those not
// remembered.
func (m *memo) Pseudonymise(ctx context.Context, ids [][]byte) ([][]byte, error) {
	outs := make([][]byte, len(ids))
	keys := make([]uint64, len(ids))
	numeric := make([]bool, len(ids))
	var missing [][]byte
	var missingAt []int
	m.mu.Lock()
	for i, id := range ids {
		k, ok := numericKey(id)
		keys[i], numeric[i] = k, ok
		if ok {
			if p, hit := m.seen[k]; hit {
				outs[i] = p
				continue
			}
		}
		missing = append(missing, id)
		missingAt = append(missingAt, i)
	}
	m.mu.Unlock()
	if len(missing) == 0 {
		return outs, nil
	}
	got, err := m.ps.Pseudonymise(ctx, missing)
	if err != nil {
		return nil, err
	}
	if len(got) != len(missing) {
		return got, nil // Transform reports the mismatch.
	}
	m.mu.Lock()
	for j, i := range missingAt {
		outs[i] = got[j]
		if numeric[i] && len(m.seen) < m.max {
			m.seen[keys[i]] = got[j]
		}
	}
	m.mu.Unlock()
	return outs, nil
}
