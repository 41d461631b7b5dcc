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
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// faultStore wraps a real store and makes it fail on demand, as an unreachable bucket does:
// before a write (nothing stored), or after it (stored, but the writer hears an error).
type faultStore struct {
	Store
	mu        sync.Mutex
	putFails  bool
	putLands  bool // with putFails: the object is stored before the error is returned
	getFails  bool
	listFails bool
	puts      int
}

var errOutage = errors.New("connection refused")

func (f *faultStore) set(put, lands, get, list bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.putFails, f.putLands, f.getFails, f.listFails = put, lands, get, list
}

func (f *faultStore) Put(ctx context.Context, name string, data []byte) error {
	f.mu.Lock()
	fails, lands := f.putFails, f.putLands
	f.puts++
	f.mu.Unlock()
	if fails && !lands {
		return errOutage
	}
	if err := f.Store.Put(ctx, name, data); err != nil {
		return err
	}
	if fails {
		return errOutage
	}
	return nil
}

func (f *faultStore) Get(ctx context.Context, name string) ([]byte, error) {
	f.mu.Lock()
	fails := f.getFails
	f.mu.Unlock()
	if fails {
		return nil, errOutage
	}
	return f.Store.Get(ctx, name)
}

func (f *faultStore) List(ctx context.Context, prefix, after string) ([]string, error) {
	f.mu.Lock()
	fails := f.listFails
	f.mu.Unlock()
	if fails {
		return nil, errOutage
	}
	return f.Store.List(ctx, prefix, after)
}

func mustOpen(t testing.TB, s Store, opts Options) *Log {
	t.Helper()
	if opts.Now == nil {
		opts.Now = stepClock()
	}
	l, err := Open(context.Background(), s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func mustVerify(t testing.TB, s Store, want int64) Result {
	t.Helper()
	res, err := VerifyStore(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK || res.Entries != want {
		t.Fatalf("VerifyStore = %+v, want %d intact entries", res, want)
	}
	return res
}

func allEntries(t testing.TB, s Store) []Entry {
	t.Helper()
	var out []Entry
	for e, err := range Entries(context.Background(), s) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func TestConcurrentAppends(t *testing.T) {
	const writers, each = 64, 40
	ctx := context.Background()
	s := NewMemStore()
	l := mustOpen(t, s, Options{SegmentSize: 100, CheckpointEvery: 50, Now: time.Now})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				in := sampleInput(w*each + i)
				in.IdempotencyKey = fmt.Sprintf("w%d/%d", w, i)
				if _, err := l.Append(ctx, in); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = writers * each
	if h := l.Head(); h.Seq != total {
		t.Fatalf("head = %d, want %d", h.Seq, total)
	}
	mustVerify(t, s, total)
	seen := map[string]int64{}
	for i, e := range allEntries(t, s) {
		if e.Seq != int64(i+1) {
			t.Fatalf("entry %d has sequence number %d", i+1, e.Seq)
		}
		if prev, dup := seen[e.IdempotencyKey]; dup {
			t.Fatalf("key %s written twice, at %d and %d", e.IdempotencyKey, prev, e.Seq)
		}
		seen[e.IdempotencyKey] = e.Seq
	}
	if len(seen) != total {
		t.Fatalf("%d distinct keys, want %d", len(seen), total)
	}
}

// slowStore takes a while over each write, as an object store does, so that appends queue up.
type slowStore struct {
	Store
	delay time.Duration
}

func (s slowStore) Put(ctx context.Context, name string, data []byte) error {
	time.Sleep(s.delay)
	return s.Store.Put(ctx, name, data)
}

// Appends that arrive while a write is in flight go together in the next tail object (group
// commit); no tail object holds entries of two segments, so sealing, reopening, verifying and
// pruning read the chain as before.
func TestGroupCommit(t *testing.T) {
	const writers, each, segment = 16, 10, 10
	ctx := context.Background()
	mem := NewMemStore()
	s := slowStore{Store: mem, delay: 2 * time.Millisecond}
	l := mustOpen(t, s, Options{SegmentSize: segment, CheckpointEvery: 7})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				in := sampleInput(w*each + i)
				in.IdempotencyKey = fmt.Sprintf("g%d/%d", w, i)
				if _, err := l.Append(ctx, in); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	const total = writers * each
	mustVerify(t, mem, total)
	tails, err := mem.List(ctx, TailPrefix, "")
	if err != nil {
		t.Fatal(err)
	}
	most := 0
	for _, n := range tails {
		data, err := mem.Get(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := splitRecords(data)
		if err != nil {
			t.Fatal(err)
		}
		first, last := recs[0].entry.Seq, recs[len(recs)-1].entry.Seq
		if seq, _ := parseTailName(n); seq != first {
			t.Errorf("%s starts with entry %d", n, first)
		}
		if (first-1)/segment != (last-1)/segment {
			t.Errorf("%s holds entries %d to %d, across a segment boundary", n, first, last)
		}
		most = max(most, len(recs))
	}
	if most < 2 || len(tails) >= total {
		t.Errorf("%d tail objects for %d entries, at most %d in one: appends were not grouped", len(tails), total, most)
	}
	// A restarted manager continues the chain, before and after pruning the sealed tail.
	r := mustOpen(t, mem, Options{SegmentSize: segment})
	if h := r.Head(); h != l.Head() {
		t.Fatalf("reopened head %+v, want %+v", h, l.Head())
	}
	if _, err := r.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	r = mustOpen(t, mem, Options{SegmentSize: segment})
	if _, err := r.Append(ctx, sampleInput(1000)); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, mem, total+1)
}

func TestReopenContinuesChain(t *testing.T) {
	for _, n := range []int{0, 1, 9, 10, 25, 30} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			ctx := context.Background()
			s := NewDirStore(t.TempDir())
			opts := Options{SegmentSize: 10, CheckpointEvery: 4}
			l := mustOpen(t, s, opts)
			var last Entry
			for i := range n {
				e, err := l.Append(ctx, sampleInput(i))
				if err != nil {
					t.Fatal(err)
				}
				last = e
			}
			// A restarted manager: a new Log on the same store.
			r := mustOpen(t, s, opts)
			h := r.Head()
			if h.Seq != int64(n) || (n > 0 && h.Hash != last.Hash) || (n == 0 && h.Hash != GenesisHash) {
				t.Fatalf("reopened head = %+v, want %d %s", h, n, last.Hash)
			}
			for i := range 12 {
				e, err := r.Append(ctx, sampleInput(100+i))
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 && (e.Seq != int64(n+1) || e.Prev != h.Hash) {
					t.Fatalf("first entry after reopening = %d chained to %s, want %d chained to %s", e.Seq, e.Prev, n+1, h.Hash)
				}
			}
			if err := r.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, s, int64(n+12))
		})
	}
}

func TestStoreOutage(t *testing.T) {
	tests := []struct {
		name      string
		lands     bool // the failed write reached the store
		getFails  bool // the store cannot be read during the outage either
		sameKey   bool // the caller retries with the same idempotency key
		wantTotal int64
	}{
		{name: "write lost, retried with key", sameKey: true, wantTotal: 5},
		{name: "write landed, retried with key", lands: true, sameKey: true, wantTotal: 5},
		{name: "write lost, unreadable, retried with key", getFails: true, sameKey: true, wantTotal: 5},
		{name: "write landed, unreadable, retried with key", lands: true, getFails: true, sameKey: true, wantTotal: 5},
		{name: "write lost, next append is new", wantTotal: 5},
		{name: "write landed, next append is new", lands: true, wantTotal: 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			fs := &faultStore{Store: NewMemStore()}
			l := mustOpen(t, fs, Options{SegmentSize: 4, CheckpointEvery: 2})
			for i := range 3 {
				if _, err := l.Append(ctx, sampleInput(i)); err != nil {
					t.Fatal(err)
				}
			}
			before := l.Head()

			release := sampleInput(3)
			release.Action = ActionOutputRelease
			release.IdempotencyKey = "release/ws/r1/sha256:1"
			fs.set(true, tt.lands, tt.getFails, false)
			_, err := l.Append(ctx, release)
			if !errors.Is(err, ErrUnavailable) {
				t.Fatalf("Append during an outage: err = %v, want ErrUnavailable", err)
			}
			if h := l.Head(); h != before {
				t.Fatalf("head moved during an outage: %+v, was %+v", h, before)
			}
			// A second attempt during the outage fails too and leaves the head alone, unless
			// the log can read back that the first attempt landed.
			if !tt.lands || tt.getFails {
				if _, err := l.Append(ctx, release); !errors.Is(err, ErrUnavailable) {
					t.Fatalf("second Append during an outage: err = %v, want ErrUnavailable", err)
				}
				if h := l.Head(); h != before {
					t.Fatalf("head moved during an outage: %+v, was %+v", h, before)
				}
			}

			fs.set(false, false, false, false)
			retry := release
			if !tt.sameKey {
				retry = sampleInput(50)
			}
			got, err := l.Append(ctx, retry)
			if err != nil {
				t.Fatalf("Append after the outage: %v", err)
			}
			wantSeq := before.Seq + 1
			if tt.lands && !tt.sameKey {
				wantSeq++ // the landed entry was adopted first
			}
			if got.Seq != wantSeq || got.Object != retry.Object {
				t.Fatalf("Append after the outage = %s, want entry %d for %v", got, wantSeq, retry.Object)
			}
			if _, err := l.Append(ctx, sampleInput(60)); err != nil {
				t.Fatal(err)
			}
			if err := l.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, fs, tt.wantTotal)
			n := 0
			for _, e := range allEntries(t, fs) {
				if e.IdempotencyKey == release.IdempotencyKey {
					n++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.sameKey || tt.lands]; n != want {
				t.Fatalf("release recorded %d times, want %d", n, want)
			}
			// A restart sees the same chain.
			if h := mustOpen(t, fs, Options{SegmentSize: 4}).Head(); h != l.Head() {
				t.Fatalf("reopened head %+v, want %+v", h, l.Head())
			}
		})
	}
}

func TestOpenDuringOutage(t *testing.T) {
	fs := &faultStore{Store: NewMemStore()}
	fs.set(false, false, false, true)
	if _, err := Open(context.Background(), fs, Options{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open with an unreachable store: err = %v, want ErrUnavailable", err)
	}
}

func TestMaintenanceFailureKeepsEntries(t *testing.T) {
	ctx := context.Background()
	f := &faultStore{Store: NewMemStore()}
	l := mustOpen(t, f, Options{SegmentSize: 3, CheckpointEvery: 3})
	for i := range 2 {
		if _, err := l.Append(ctx, sampleInput(i)); err != nil {
			t.Fatal(err)
		}
	}
	// The tail write of entry 3 lands; the seal and checkpoint after it fail.
	wrap := &sealFailStore{Store: f.Store}
	l.store = wrap
	e, err := l.Append(ctx, sampleInput(2))
	if err != nil || e.Seq != 3 {
		t.Fatalf("Append with a failing seal = %v, %v; want entry 3 stored", e, err)
	}
	if l.MaintenanceErr() == nil {
		t.Fatal("MaintenanceErr is nil after a failed seal")
	}
	if err := l.Flush(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Flush with a failing seal: err = %v, want ErrUnavailable", err)
	}
	l.store = f.Store
	if err := l.Flush(ctx); err != nil {
		t.Fatalf("Flush after recovery: %v", err)
	}
	if l.MaintenanceErr() != nil {
		t.Fatalf("MaintenanceErr after a good Flush: %v", l.MaintenanceErr())
	}
	if _, err := f.Store.Get(ctx, SegmentName(1, 3)); err != nil {
		t.Fatalf("segment 1-3 not sealed after recovery: %v", err)
	}
	mustVerify(t, f.Store, 3)
}

// sealFailStore refuses segments and checkpoints, as a store whose lock configuration rejects
// them would.
type sealFailStore struct{ Store }

func (s *sealFailStore) Put(ctx context.Context, name string, data []byte) error {
	if !strings.HasPrefix(name, TailPrefix) {
		return errOutage
	}
	return s.Store.Put(ctx, name, data)
}

func TestIdempotency(t *testing.T) {
	ctx := context.Background()
	s := NewMemStore()
	l := mustOpen(t, s, Options{SegmentSize: 5, RecentKeys: 8})
	in := sampleInput(1)
	in.IdempotencyKey = "approve/nic-38002/sha256:1/alice"
	a, err := l.Append(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Append(ctx, in)
	if err != nil || b.Seq != a.Seq || b.Hash != a.Hash {
		t.Fatalf("retry = %v, %v; want entry %d again", b, err, a.Seq)
	}
	other := in
	other.Action = ActionOutputReview
	if _, err := l.Append(ctx, other); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("reused key for another action: err = %v, want ErrIdempotencyConflict", err)
	}
	reserved := sampleInput(2)
	reserved.IdempotencyKey = "@outcome/1"
	if _, err := l.Append(ctx, reserved); !errors.Is(err, ErrInvalid) {
		t.Fatalf("reserved key: err = %v, want ErrInvalid", err)
	}
	// The key is still known after a restart, from the entries Open reads.
	for i := range 6 {
		if _, err := l.Append(ctx, sampleInput(10+i)); err != nil {
			t.Fatal(err)
		}
	}
	r := mustOpen(t, s, Options{SegmentSize: 5, RecentKeys: 8})
	c, err := r.Append(ctx, in)
	if err != nil || c.Seq != a.Seq {
		t.Fatalf("retry after restart = %v, %v; want entry %d", c, err, a.Seq)
	}
	mustVerify(t, s, 7)
}

func TestIntendComplete(t *testing.T) {
	ctx := context.Background()
	s := NewMemStore()
	l := mustOpen(t, s, Options{})
	in := EntryInput{
		Actor: "system:serviceaccount:fivesafes-system:manager", Action: ActionOutputRelease,
		Object:         ObjectRef{Kind: "OutputRequest", Namespace: "ws", Name: "r1"},
		Details:        map[string]any{"content": "sha256:" + strings.Repeat("1", 64), "files": 2},
		IdempotencyKey: "release/ws/r1/sha256:1",
	}
	intent, err := l.Intend(ctx, in)
	if err != nil || intent.Stage != StageIntended {
		t.Fatalf("Intend = %v, %v", intent, err)
	}
	if got := Unfinished(allEntries(t, s)); len(got) != 1 || got[0].Seq != intent.Seq {
		t.Fatalf("Unfinished before completion = %v, want the intention", got)
	}

	// The manager crashes after the action and before recording its outcome. The new leader
	// asks again under the same key, gets the same intention, re-checks, and completes it.
	r := mustOpen(t, s, Options{})
	again, err := r.Intend(ctx, in)
	if err != nil || again.Seq != intent.Seq {
		t.Fatalf("Intend after restart = %v, %v; want entry %d", again, err, intent.Seq)
	}
	done, err := r.Complete(ctx, again, Outcome{Decision: "Released", Details: map[string]any{"manifest": "sha256:" + strings.Repeat("2", 64)}})
	if err != nil {
		t.Fatal(err)
	}
	if done.Stage != StageDone || done.Intent != intent.Seq || done.Action != in.Action || done.Object != in.Object || done.Actor != in.Actor {
		t.Fatalf("Complete = %+v", done)
	}
	retry, err := r.Complete(ctx, again, Outcome{Decision: "Released"})
	if err != nil || retry.Seq != done.Seq {
		t.Fatalf("retried Complete = %v, %v; want entry %d", retry, err, done.Seq)
	}
	if _, err := r.Complete(ctx, again, Outcome{Failed: true}); !errors.Is(err, ErrIdempotencyConflict) {
		t.Fatalf("Complete as failed after done: err = %v, want ErrIdempotencyConflict", err)
	}
	if _, err := r.Complete(ctx, done, Outcome{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Complete of a done entry: err = %v, want ErrInvalid", err)
	}
	if _, err := r.Complete(ctx, Entry{Seq: 99, Stage: StageIntended, Actor: "a", Action: ActionKeyDestroy, Object: ObjectRef{Kind: "K", Name: "n"}}, Outcome{}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("Complete of an intention not in the log: err = %v, want ErrInvalid", err)
	}
	if got := Unfinished(allEntries(t, s)); len(got) != 0 {
		t.Fatalf("Unfinished after completion = %v", got)
	}
	failed, err := r.Intend(ctx, EntryInput{Actor: "m", Action: ActionKeyDestroy, Object: ObjectRef{Kind: "DataAccessAgreement", Name: "nic-1"}})
	if err != nil {
		t.Fatal(err)
	}
	f, err := r.Complete(ctx, failed, Outcome{Failed: true, Decision: "VaultUnavailable"})
	if err != nil || f.Stage != StageFailed {
		t.Fatalf("Complete failed = %v, %v", f, err)
	}
	mustVerify(t, s, 4)
}

func TestSecondWriterIsStopped(t *testing.T) {
	ctx := context.Background()
	s := NewMemStore()
	a := mustOpen(t, s, Options{})
	b := mustOpen(t, s, Options{}) // a stale leader that opened before a wrote
	if _, err := a.Append(ctx, sampleInput(1)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Append(ctx, sampleInput(2)); !errors.Is(err, ErrConflict) {
		t.Fatalf("second writer: err = %v, want ErrConflict", err)
	}
	if _, err := b.Append(ctx, sampleInput(3)); !errors.Is(err, ErrConflict) {
		t.Fatalf("second writer after a conflict: err = %v, want ErrConflict", err)
	}
	if _, err := a.Append(ctx, sampleInput(4)); err != nil {
		t.Fatal(err)
	}
	mustVerify(t, s, 2)
}

func TestOpenRefusesBrokenHead(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
	}{
		{"truncated tail", func(t *testing.T, dir string) {
			rm(t, dir, TailName(12))
		}},
		{"gap in tail", func(t *testing.T, dir string) {
			rm(t, dir, TailName(11))
		}},
		{"edited tail", func(t *testing.T, dir string) {
			p := filepath.Join(dir, filepath.FromSlash(TailName(11)))
			data, _ := os.ReadFile(p)
			if err := os.WriteFile(p, []byte(strings.Replace(string(data), `"files":`, `"files":9`, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"edited last segment", func(t *testing.T, dir string) {
			p := filepath.Join(dir, filepath.FromSlash(SegmentName(6, 10)))
			data, _ := os.ReadFile(p)
			if err := os.WriteFile(p, []byte(strings.Replace(string(data), `"files":`, `"files":9`, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := NewDirStore(dir)
			l := mustOpen(t, s, Options{SegmentSize: 5, CheckpointEvery: 4})
			for i := range 12 {
				if _, err := l.Append(ctx(), sampleInput(i)); err != nil {
					t.Fatal(err)
				}
			}
			tt.tamper(t, dir)
			if _, err := Open(ctx(), s, Options{SegmentSize: 5}); !errors.Is(err, ErrBroken) {
				t.Fatalf("Open of a tampered log: err = %v, want ErrBroken", err)
			}
		})
	}
}

func ctx() context.Context { return context.Background() }

func rm(t *testing.T, dir, name string) {
	t.Helper()
	if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil {
		t.Fatal(err)
	}
}

func TestPrune(t *testing.T) {
	s := NewMemStore()
	l := mustOpen(t, s, Options{SegmentSize: 5})
	for i := range 12 {
		if _, err := l.Append(ctx(), sampleInput(i)); err != nil {
			t.Fatal(err)
		}
	}
	n, err := l.Prune(ctx())
	if err != nil || n != 10 {
		t.Fatalf("Prune = %d, %v; want 10 tail objects deleted", n, err)
	}
	tails, _ := s.List(ctx(), TailPrefix, "")
	if len(tails) != 2 || tails[0] != TailName(11) {
		t.Fatalf("tail after prune = %v, want entries 11 and 12", tails)
	}
	mustVerify(t, s, 12)
	if h := mustOpen(t, s, Options{SegmentSize: 5}).Head(); h.Seq != 12 {
		t.Fatalf("reopened after prune at %d, want 12", h.Seq)
	}
	// A store that cannot delete is left alone.
	type noDelete struct{ Store }
	m := mustOpen(t, noDelete{NewMemStore()}, Options{SegmentSize: 2})
	for i := range 3 {
		if _, err := m.Append(ctx(), sampleInput(i)); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := m.Prune(ctx()); n != 0 || err != nil {
		t.Fatalf("Prune without Deleter = %d, %v", n, err)
	}
}

func TestAppendRefusesIdentifiers(t *testing.T) {
	s := NewMemStore()
	l := mustOpen(t, s, Options{})
	in := sampleInput(0)
	in.Details = map[string]any{"patient": "943 476 5919"}
	_, err := l.Append(ctx(), in)
	if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), "5919") {
		t.Fatalf("Append with an NHS number: err = %v", err)
	}
	if h := l.Head(); h.Seq != 0 {
		t.Fatalf("head moved to %d after a refused entry", h.Seq)
	}
	if names, _ := s.List(ctx(), "", ""); len(names) != 0 {
		t.Fatalf("store holds %v after a refused entry", names)
	}
}

func TestTimeNeverGoesBackwards(t *testing.T) {
	times := []time.Time{t0.Add(time.Hour), t0, t0.Add(2 * time.Hour)}
	i := 0
	l := mustOpen(t, NewMemStore(), Options{Now: func() time.Time { i++; return times[(i-1)%len(times)] }, CheckpointEvery: 1000})
	var got []time.Time
	for j := range 3 {
		e, err := l.Append(ctx(), sampleInput(j))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Time)
	}
	if !got[1].Equal(got[0]) || !got[2].Equal(times[2]) {
		t.Fatalf("entry times = %v; want the second clamped to the first", got)
	}
}

func TestCanceledContextWritesNothing(t *testing.T) {
	s := NewMemStore()
	l := mustOpen(t, s, Options{})
	c, cancel := context.WithCancel(ctx())
	cancel()
	if _, err := l.Append(c, sampleInput(0)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: err = %v", err)
	}
	if names, _ := s.List(ctx(), "", ""); len(names) != 0 {
		t.Fatalf("store holds %v", names)
	}
}

func TestIdempotencyWindow(t *testing.T) {
	s := NewMemStore()
	l := mustOpen(t, s, Options{RecentKeys: 3})
	for i := range 5 {
		in := sampleInput(i)
		in.IdempotencyKey = fmt.Sprint("k", i)
		if _, err := l.Append(ctx(), in); err != nil {
			t.Fatal(err)
		}
	}
	// Keys k2..k4 are remembered; k0 has left the window and a retry writes a new entry, which in
	// turn pushes k2 out.
	for _, c := range []struct {
		i       int
		wantSeq int64
	}{{4, 5}, {2, 3}, {0, 6}, {2, 7}} {
		i, wantSeq := c.i, c.wantSeq
		in := sampleInput(i)
		in.IdempotencyKey = fmt.Sprint("k", i)
		e, err := l.Append(ctx(), in)
		if err != nil || e.Seq != wantSeq {
			t.Fatalf("retry of k%d = entry %d, %v; want entry %d", i, e.Seq, err, wantSeq)
		}
	}
}
