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

package pseudonym

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"
)

// testKey returns a key whose bytes are first, first+1, ..., first+31.
func testKey(first byte) []byte {
	k := make([]byte, KeySize)
	for i := range k {
		k[i] = first + byte(i)
	}
	return k
}

func newLocal(t testing.TB, key []byte) *Local {
	t.Helper()
	l, err := NewLocal(key)
	if err != nil {
		t.Fatalf("NewLocal: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func TestLocalKnownAnswers(t *testing.T) {
	// Expected values computed independently (Python's hmac module).
	tests := []struct {
		name string
		key  []byte
		id   string
		want string
	}{
		{"key 0..31", testKey(0), "9434765919", "dd5c602eeb31d60c7c0d662c897231dda00e13cdf945b14cad185a4a7125826c"},
		{"key 1..32", testKey(1), "9434765919", "e6c78fe3b5d1f0759f7fdfb29484476f98535a98acaa884594d68fc7c5639d8f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := newLocal(t, tt.key)
			got, err := l.Pseudonymise(context.Background(), [][]byte{[]byte(tt.id)})
			if err != nil {
				t.Fatal(err)
			}
			if string(got[0]) != tt.want {
				t.Errorf("pseudonym = %s, want %s", got[0], tt.want)
			}
		})
	}
}

func TestLocalMatchesCryptoHMAC(t *testing.T) {
	key := testKey(7)
	l := newLocal(t, key)
	var ids [][]byte
	for _, s := range []string{"", "1", "9434765919", "client-00042", string(make([]byte, 55)), string(make([]byte, 56)),
		string(make([]byte, 64)), string(make([]byte, 200)), "ünïcödé"} {
		ids = append(ids, []byte(s))
	}
	got, err := l.Pseudonymise(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	hexPattern := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for i, id := range ids {
		m := hmac.New(sha256.New, key)
		m.Write(id)
		want := hex.EncodeToString(m.Sum(nil))
		if string(got[i]) != want {
			t.Errorf("id %d (len %d): got %s, want %s", i, len(id), got[i], want)
		}
		if !hexPattern.Match(got[i]) {
			t.Errorf("id %d: %q is not 64 lower-case hex characters", i, got[i])
		}
		one, err := l.Append([]byte("x"), id)
		if err != nil {
			t.Fatal(err)
		}
		if string(one) != "x"+want {
			t.Errorf("Append id %d: got %s", i, one)
		}
	}
}

func TestLocalSameAndDifferent(t *testing.T) {
	a, b := newLocal(t, testKey(10)), newLocal(t, testKey(11))
	ctx := context.Background()
	ids := [][]byte{[]byte("9434765919"), []byte("9434765919"), []byte("4010232137")}
	pa, err := a.Pseudonymise(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	pb, err := b.Pseudonymise(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if string(pa[0]) != string(pa[1]) {
		t.Error("same identifier under the same key gave different pseudonyms")
	}
	if string(pa[0]) == string(pa[2]) {
		t.Error("different identifiers gave the same pseudonym")
	}
	if string(pa[0]) == string(pb[0]) {
		t.Error("different keys gave the same pseudonym")
	}
	again, err := a.Pseudonymise(ctx, ids[:1])
	if err != nil {
		t.Fatal(err)
	}
	if string(again[0]) != string(pa[0]) {
		t.Error("pseudonym changed between calls")
	}
}

func TestLocalKeySize(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewLocal(make([]byte, n)); !errors.Is(err, ErrKeySize) {
			t.Errorf("key of %d bytes: err = %v, want ErrKeySize", n, err)
		}
	}
}

func TestLocalCloseWipes(t *testing.T) {
	l, err := NewLocal(testKey(3))
	if err != nil {
		t.Fatal(err)
	}
	inner, outer := l.inner, l.outer
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{inner, outer} {
		for _, c := range b {
			if c != 0 {
				t.Fatal("key-derived state not wiped by Close")
			}
		}
	}
	if _, err := l.Pseudonymise(context.Background(), [][]byte{[]byte("1")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Pseudonymise after Close: err = %v, want ErrClosed", err)
	}
	if _, err := l.Append(nil, []byte("1")); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close: err = %v, want ErrClosed", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLocalCancelled(t *testing.T) {
	l := newLocal(t, testKey(0))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.Pseudonymise(ctx, [][]byte{[]byte("1")}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestLocalConcurrent(t *testing.T) {
	key := testKey(20)
	l := newLocal(t, key)
	ids := make([][]byte, 300)
	want := make([]string, len(ids))
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "%010d", i*7919)
		m := hmac.New(sha256.New, key)
		m.Write(ids[i])
		want[i] = hex.EncodeToString(m.Sum(nil))
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := 0; round < 20; round++ {
				got, err := l.Pseudonymise(context.Background(), ids)
				if err != nil {
					errs <- err
					return
				}
				for i := range got {
					if string(got[i]) != want[i] {
						errs <- fmt.Errorf("goroutine got a wrong pseudonym for id %d", i)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkLocal compares Local with crypto/hmac computing the same HMACs one at a time, both
// timed in the same iterations.
func BenchmarkLocal(b *testing.B) {
	key := testKey(0)
	l := newLocal(b, key)
	ids := make([][]byte, 1024)
	for i := range ids {
		ids[i] = fmt.Appendf(nil, "%010d", 4000000000+i)
	}
	ctx := context.Background()
	m := hmac.New(sha256.New, key)
	var sum [32]byte
	var out [64]byte
	var tStd, tLocal time.Duration
	for b.Loop() {
		start := time.Now()
		for _, id := range ids {
			m.Reset()
			m.Write(id)
			hex.Encode(out[:], m.Sum(sum[:0]))
		}
		tStd += time.Since(start)
		start = time.Now()
		if _, err := l.Pseudonymise(ctx, ids); err != nil {
			b.Fatal(err)
		}
		tLocal += time.Since(start)
	}
	n := float64(b.N * len(ids))
	b.ReportMetric(float64(tLocal.Nanoseconds())/n, "local-ns/id")
	b.ReportMetric(float64(tStd.Nanoseconds())/n, "crypto-hmac-ns/id")
	b.ReportMetric(tStd.Seconds()/tLocal.Seconds(), "local/crypto-hmac-speed")
}
