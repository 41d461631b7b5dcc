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
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stepClock returns a clock that moves one millisecond per call.
func stepClock() func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return t0.Add(time.Duration(n) * time.Millisecond)
	}
}

func sampleInput(i int) EntryInput {
	decisions := []string{"Approve", "pass", "Released", ""}
	return EntryInput{
		Actor:    "system:serviceaccount:fivesafes-system:manager",
		Action:   Actions()[i%len(Actions())],
		Object:   ObjectRef{Kind: "OutputRequest", Namespace: "ws-nic-38002", Name: fmt.Sprintf("request-%d", i)},
		Decision: decisions[i%len(decisions)],
		Details: map[string]any{
			"files":   i % 7,
			"content": fmt.Sprintf("sha256:%064x", i),
			"policy":  "sha256:" + strings.Repeat("c", 64),
		},
	}
}

// buildLines writes n entries to a fresh log and returns their stored lines and hashes.
func buildLines(t testing.TB, n int) ([][]byte, []string) {
	t.Helper()
	ctx := context.Background()
	l, err := Open(ctx, NewMemStore(), Options{Now: stepClock(), SegmentSize: 1 << 30, CheckpointEvery: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	lines := make([][]byte, 0, n)
	hashes := make([]string, 0, n)
	for i := range n {
		e, err := l.Append(ctx, sampleInput(i))
		if err != nil {
			t.Fatal(err)
		}
		line, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
		hashes = append(hashes, e.Hash)
	}
	return lines, hashes
}

func joinLines(lines [][]byte) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func parse(t testing.TB, line []byte) Entry {
	t.Helper()
	e, err := ParseLine(line)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func rehash(t testing.TB, e Entry) []byte {
	t.Helper()
	e.Hash = ""
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestVerifyTampering(t *testing.T) {
	const n = 20
	lines, hashes := buildLines(t, n)
	at := func(seq int) int { return seq - 1 } // index of entry seq
	cp := func(seq int) Checkpoint { return Checkpoint{Seq: int64(seq), Hash: hashes[at(seq)]} }

	tests := []struct {
		name   string
		tamper func(ls [][]byte) [][]byte
		opts   VerifyOptions
		want   int64 // first broken sequence number; 0 for intact
		forged bool  // entries before the break were rewritten, so the head is not the original
	}{
		{name: "intact", tamper: func(ls [][]byte) [][]byte { return ls }},
		{name: "intact with blank lines and CRLF", tamper: func(ls [][]byte) [][]byte {
			out := [][]byte{{}}
			for _, l := range ls {
				out = append(out, append(bytes.Clone(l), '\r'), []byte("  "))
			}
			return out
		}},
		{name: "edited decision, hash left", want: 7, tamper: func(ls [][]byte) [][]byte {
			ls[at(7)] = bytes.Replace(ls[at(7)], []byte(`"stage"`), []byte(`"decision":"Reject","stage"`), 1)
			return ls
		}},
		{name: "edited detail, re-hashed", want: 7, tamper: func(ls [][]byte) [][]byte {
			e := parse(t, ls[at(7)])
			e.Details["files"] = 0
			ls[at(7)] = rehash(t, e)
			return ls
		}},
		{name: "edited prev, re-hashed", want: 7, tamper: func(ls [][]byte) [][]byte {
			e := parse(t, ls[at(7)])
			e.Prev = hashes[at(3)]
			ls[at(7)] = rehash(t, e)
			return ls
		}},
		{name: "edited first entry, re-hashed", want: 1, tamper: func(ls [][]byte) [][]byte {
			e := parse(t, ls[at(1)])
			e.Actor = "someone-else"
			ls[at(1)] = rehash(t, e)
			return ls
		}},
		{name: "edited sequence number, hash left", want: 7, tamper: func(ls [][]byte) [][]byte {
			ls[at(7)] = bytes.Replace(ls[at(7)], []byte(`"seq":7`), []byte(`"seq":8`), 1)
			return ls
		}},
		{name: "deleted entry", want: 7, tamper: func(ls [][]byte) [][]byte {
			return append(ls[:at(7)], ls[at(8):]...)
		}},
		{name: "deleted first entry", want: 1, tamper: func(ls [][]byte) [][]byte { return ls[1:] }},
		{name: "deleted last entry, no checkpoint (undetectable)", want: 0, tamper: func(ls [][]byte) [][]byte { return ls[:n-1] }},
		{name: "deleted last entry, checkpoint of it", want: n, opts: VerifyOptions{Checkpoints: []Checkpoint{cp(10), cp(n)}},
			tamper: func(ls [][]byte) [][]byte { return ls[:n-1] }},
		{name: "truncated tail, checkpoint", want: 16, opts: VerifyOptions{Checkpoints: []Checkpoint{cp(18)}},
			tamper: func(ls [][]byte) [][]byte { return ls[:15] }},
		{name: "truncated to nothing, checkpoint", want: 1, opts: VerifyOptions{Checkpoints: []Checkpoint{cp(5)}},
			tamper: func([][]byte) [][]byte { return nil }},
		{name: "inserted entry chained to its predecessor", want: 7, tamper: func(ls [][]byte) [][]byte {
			e := parse(t, ls[at(7)])
			e.Decision = "Forged"
			return insert(ls, at(7), rehash(t, e))
		}},
		{name: "inserted entry with a wrong prev", want: 7, tamper: func(ls [][]byte) [][]byte {
			e := parse(t, ls[at(7)])
			e.Decision = "Forged"
			e.Prev = hashes[at(2)]
			return insert(ls, at(7), rehash(t, e))
		}},
		{name: "inserted garbage line", want: 7, tamper: func(ls [][]byte) [][]byte {
			return insert(ls, at(7), []byte(`{"seq":7,"note":"hello"}`))
		}},
		{name: "inserted entry from the future", want: 7, tamper: func(ls [][]byte) [][]byte {
			return insert(ls, at(7), ls[at(15)])
		}},
		{name: "repeated entry", want: 8, tamper: func(ls [][]byte) [][]byte {
			return insert(ls, at(8), ls[at(7)])
		}},
		{name: "swapped entries", want: 7, tamper: func(ls [][]byte) [][]byte {
			ls[at(7)], ls[at(8)] = ls[at(8)], ls[at(7)]
			return ls
		}},
		{name: "moved entry to the end", want: 7, tamper: func(ls [][]byte) [][]byte {
			m := ls[at(7)]
			return append(append(ls[:at(7)], ls[at(8):]...), m)
		}},
		{name: "edited last entry, re-hashed, no checkpoint (undetectable)", want: 0, tamper: func(ls [][]byte) [][]byte {
			e := parse(t, ls[at(n)])
			e.Decision = "Forged"
			ls[at(n)] = rehash(t, e)
			return ls
		}},
		{name: "edited last entry, re-hashed, checkpoint", want: n, opts: VerifyOptions{Checkpoints: []Checkpoint{cp(n)}},
			tamper: func(ls [][]byte) [][]byte {
				e := parse(t, ls[at(n)])
				e.Decision = "Forged"
				ls[at(n)] = rehash(t, e)
				return ls
			}},
		{name: "re-chained suffix caught by checkpoint", want: 10, forged: true, opts: VerifyOptions{Checkpoints: []Checkpoint{cp(5), cp(10)}},
			tamper: func(ls [][]byte) [][]byte {
				prev := hashes[at(6)]
				for seq := 7; seq <= n; seq++ {
					e := parse(t, ls[at(seq)])
					if seq == 7 {
						e.Decision = "Forged"
					}
					e.Prev = prev
					ls[at(seq)] = rehash(t, e)
					prev = parse(t, ls[at(seq)]).Hash
				}
				return ls
			}},
		{name: "link broken just after a checkpoint", want: 7, opts: VerifyOptions{Checkpoints: []Checkpoint{cp(6)}},
			tamper: func(ls [][]byte) [][]byte {
				e := parse(t, ls[at(7)])
				e.Prev = hashes[at(3)]
				ls[at(7)] = rehash(t, e)
				return ls
			}},
		{name: "line longer than the limit", want: 7, tamper: func(ls [][]byte) [][]byte {
			ls[at(7)] = append([]byte(`{"x":"`), append(bytes.Repeat([]byte("a"), MaxLineBytes+100), `"}`...)...)
			return ls
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ls := make([][]byte, len(lines))
			for i := range lines {
				ls[i] = bytes.Clone(lines[i])
			}
			data := joinLines(tt.tamper(ls))
			res, err := Verify(bytes.NewReader(data), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == 0 {
				if !res.OK || res.FirstBroken != 0 {
					t.Fatalf("Verify = %+v, want intact", res)
				}
				return
			}
			if res.OK || res.FirstBroken != tt.want {
				t.Fatalf("Verify = %+v, want first broken %d", res, tt.want)
			}
			if res.Entries != tt.want-1 || res.Head.Seq != tt.want-1 {
				t.Fatalf("Verify = %+v, want %d entries intact", res, tt.want-1)
			}
			if !tt.forged && res.Head.Seq > 0 && res.Head.Hash != hashes[res.Head.Seq-1] {
				t.Fatalf("Verify head %+v is not entry %d", res.Head, res.Head.Seq)
			}
			if res.Reason == "" {
				t.Fatal("broken result has no reason")
			}
		})
	}
}

func insert(ls [][]byte, i int, line []byte) [][]byte {
	out := append([][]byte{}, ls[:i]...)
	out = append(out, line)
	return append(out, ls[i:]...)
}

func TestVerifyRangeWithAnchor(t *testing.T) {
	lines, hashes := buildLines(t, 20)
	data := joinLines(lines[10:])
	good := Checkpoint{Seq: 10, Hash: hashes[9]}
	res, err := Verify(bytes.NewReader(data), VerifyOptions{Anchor: &good})
	if err != nil || !res.OK || res.Entries != 10 || res.Head.Seq != 20 || res.Head.Hash != hashes[19] {
		t.Fatalf("Verify from anchor = %+v, %v; want 10 intact entries ending at 20", res, err)
	}
	bad := Checkpoint{Seq: 10, Hash: hashes[8]}
	res, err = Verify(bytes.NewReader(data), VerifyOptions{Anchor: &bad})
	if err != nil || res.OK || res.FirstBroken != 11 || res.Entries != 0 || res.Head.Seq != 10 {
		t.Fatalf("Verify from a wrong anchor = %+v, %v; want broken at 11", res, err)
	}
	res, err = Verify(bytes.NewReader(data), VerifyOptions{})
	if err != nil || res.OK || res.FirstBroken != 1 {
		t.Fatalf("Verify of a range without anchor = %+v, %v; want broken at 1", res, err)
	}
}

func TestVerifyEmpty(t *testing.T) {
	res, err := Verify(strings.NewReader(""), VerifyOptions{})
	if err != nil || !res.OK || res.Entries != 0 || res.Head.Seq != 0 || res.Head.Hash != GenesisHash {
		t.Fatalf("Verify of an empty log = %+v, %v", res, err)
	}
}

// storeLog writes n entries through a log on a DirStore with small segments and frequent
// checkpoints, without pruning.
func storeLog(t *testing.T, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	ctx := context.Background()
	l, err := Open(ctx, NewDirStore(dir), Options{Now: stepClock(), SegmentSize: 10, CheckpointEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	var hashes []string
	for i := range n {
		e, err := l.Append(ctx, sampleInput(i))
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, e.Hash)
	}
	if err := l.MaintenanceErr(); err != nil {
		t.Fatal(err)
	}
	return dir, hashes
}

func TestVerifyStoreTampering(t *testing.T) {
	const n = 35 // segments 1-10, 11-20, 21-30; tail 31-35; checkpoints every 5
	file := func(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }
	editLine := func(t *testing.T, path string, i int, edit func([]byte) []byte) {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ls := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
		ls[i] = edit(ls[i])
		if i >= 0 {
			if err := os.WriteFile(path, joinLines(ls), 0o600); err != nil {
				t.Fatal(err)
			}
		}
	}
	tests := []struct {
		name   string
		tamper func(t *testing.T, dir string)
		want   int64
	}{
		{name: "intact", tamper: func(*testing.T, string) {}},
		{name: "stale tail copies are ignored", tamper: func(t *testing.T, dir string) {
			if err := os.WriteFile(file(dir, TailName(3)), []byte("garbage\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "edited entry in a sealed segment", want: 14, tamper: func(t *testing.T, dir string) {
			editLine(t, file(dir, SegmentName(11, 20)), 3, func(b []byte) []byte {
				return bytes.Replace(b, []byte(`"files":`), []byte(`"files":1`), 1)
			})
		}},
		{name: "deleted sealed segment", want: 11, tamper: func(t *testing.T, dir string) {
			if err := os.Remove(file(dir, SegmentName(11, 20))); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "sealed segment cut short", want: 20, tamper: func(t *testing.T, dir string) {
			p := file(dir, SegmentName(11, 20))
			data, _ := os.ReadFile(p)
			ls := bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
			if err := os.WriteFile(p, joinLines(ls[:9]), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "deleted tail object in the middle", want: 33, tamper: func(t *testing.T, dir string) {
			if err := os.Remove(file(dir, TailName(33))); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "deleted last tail object (checkpoint)", want: 35, tamper: func(t *testing.T, dir string) {
			if err := os.Remove(file(dir, TailName(35))); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "truncated tail (checkpoint)", want: 31, tamper: func(t *testing.T, dir string) {
			for seq := int64(31); seq <= 35; seq++ {
				if err := os.Remove(file(dir, TailName(seq))); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{name: "extra segment", want: 20, tamper: func(t *testing.T, dir string) {
			data, _ := os.ReadFile(file(dir, SegmentName(11, 20)))
			if err := os.WriteFile(file(dir, SegmentName(11, 19)), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "unreadable checkpoint", want: 15, tamper: func(t *testing.T, dir string) {
			if err := os.WriteFile(file(dir, CheckpointName(15)), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, hashes := storeLog(t, n)
			tt.tamper(t, dir)
			res, err := VerifyStore(context.Background(), NewDirStore(dir))
			if err != nil {
				t.Fatal(err)
			}
			if tt.want == 0 {
				if !res.OK || res.Entries != n || res.Head.Hash != hashes[n-1] {
					t.Fatalf("VerifyStore = %+v, want %d intact entries", res, n)
				}
				return
			}
			if res.OK || res.FirstBroken != tt.want {
				t.Fatalf("VerifyStore = %+v, want first broken %d", res, tt.want)
			}
		})
	}
}
