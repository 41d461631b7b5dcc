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
	"bytes"
	"context"
	"testing"

	"github.com/fivesafes/fivesafes/internal/pseudonym"
)

// countingPseudonymiser is a local pseudonymiser that counts the identifiers it was asked for.
type countingPseudonymiser struct {
	l     *pseudonym.Local
	asked map[string]int
}

func (c *countingPseudonymiser) Pseudonymise(ctx context.Context, ids [][]byte) ([][]byte, error) {
	for _, id := range ids {
		c.asked[string(id)]++
	}
	return c.l.Pseudonymise(ctx, ids)
}

// The memo returns exactly the pseudonymiser's pseudonyms, asks for each distinct numeric
// identifier once while it has room, and passes other identifiers through every time.
func TestPseudonymMemo(t *testing.T) {
	l, err := pseudonym.NewLocal(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	c := &countingPseudonymiser{l: l, asked: map[string]int{}}
	m := newMemo(c, 3)
	batches := [][]string{
		{"9434765919", "9434765919", "4010232137", "A12345", "0123"},
		{"4010232137", "9434765919", "A12345", "6543210982", "1000000001"},
		{"6543210982", "1000000001", "123", "0123"},
	}
	for _, batch := range batches {
		ids := make([][]byte, len(batch))
		for i, s := range batch {
			ids[i] = []byte(s)
		}
		got, err := m.Pseudonymise(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		want, err := l.Pseudonymise(context.Background(), ids)
		if err != nil {
			t.Fatal(err)
		}
		for i := range ids {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("pseudonym of %s differs through the memo", batch[i])
			}
		}
	}
	for id, want := range map[string]int{
		"9434765919": 2, // asked twice within the first batch, before it was remembered
		"4010232137": 1,
		"6543210982": 1, // the third remembered
		"1000000001": 2, // the memo was full: never remembered
		"A12345":     2, // not numeric: never remembered
		"0123":       2, // a leading zero: never remembered
		"123":        1,
	} {
		if c.asked[id] != want {
			t.Errorf("%s asked %d times, want %d", id, c.asked[id], want)
		}
	}
	if len(m.seen) != 3 {
		t.Errorf("the memo holds %d pseudonyms, more than its 3", len(m.seen))
	}
}
