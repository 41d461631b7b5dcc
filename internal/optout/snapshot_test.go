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

package optout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/fivesafes/fivesafes/internal/nhsnumber"
)

// validNumbers returns n valid NHS numbers, starting the search at from.
func validNumbers(from uint64, n int) []nhsnumber.Number {
	var out []nhsnumber.Number
	for v := from; len(out) < n; v++ {
		if num, ok := nhsnumber.FromUint64(v); ok {
			out = append(out, num)
		}
	}
	return out
}

func TestParse(t *testing.T) {
	nums := validNumbers(4_000_000_000, 4)
	a, b, c, d := nums[0].String(), nums[1].String(), nums[2].String(), nums[3].String()
	spaced := a[:3] + " " + a[3:6] + " " + a[6:]
	dashed := b[:3] + "-" + b[3:6] + "-" + b[6:]
	tests := []struct {
		name    string
		in      string
		count   int64
		invalid int64
		header  bool
		holds   []string
	}{
		{"empty", "", 0, 0, false, nil},
		{"one per line", a + "\n" + b + "\n", 2, 0, false, []string{a, b}},
		{"no final newline", a + "\n" + b, 2, 0, false, []string{a, b}},
		{"crlf and bom", "\ufeff" + a + "\r\n" + b + "\r\n", 2, 0, false, []string{a, b}},
		{"header", "nhs_number\n" + a + "\n", 1, 0, true, []string{a}},
		{"bom and csv header", "\ufeffnhs_number,added\r\n" + a + ",2025-01-02\r\n" + b + ",2025-01-03\r\n", 2, 0, true, []string{a, b}},
		{"quoted first field", `"` + a + `",x` + "\n" + ` "` + b + `" ,y` + "\n", 2, 0, false, []string{a, b}},
		{"spaces and dashes", spaced + "\n" + dashed + "\n  " + c + "\t\n", 3, 0, false, []string{a, b, c}},
		{"duplicates counted once", a + "\n" + a + "\n" + spaced + "\n", 1, 0, false, []string{a}},
		{"empty and blank lines skipped", "\n\n" + a + "\n   \n\r\n" + b + "\n\n", 2, 0, false, []string{a, b}},
		{"invalid lines", a + "\n9434765918\n123\nabc\n0000000000\n1111111111\n" + b + "x\n" + `"` + c + "\n", 1, 7, false, []string{a}},
		{"header only on the first line", "nhs_number\nnhs_number\n" + a + "\n", 1, 1, true, []string{a}},
		{"first line invalid without letters is not a header", "12345\n" + a + "\n", 1, 1, false, []string{a}},
		{"first line valid", a + "\nnhs_number\n", 1, 1, false, []string{a}},
		{"quoted field followed by junk", d + "\n" + `"` + a + `"x` + "\n", 1, 1, false, []string{d}},
		{"line too long", a + strings.Repeat(" ", MaxLineLength) + "\n" + b + "\n", 1, 1, false, []string{b}},
		{"very long line", strings.Repeat("9", 200_000) + "\n" + b + "\n", 1, 1, false, []string{b}},
		{"longest line allowed", a + strings.Repeat(" ", MaxLineLength-len(a)) + "\r\n", 1, 0, false, []string{a}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, oneByte := range []bool{false, true} {
				var r io.Reader = strings.NewReader(tt.in)
				if oneByte {
					r = iotest.OneByteReader(r)
				}
				s, err := Parse(context.Background(), r)
				if err != nil {
					t.Fatal(err)
				}
				if s.Count != tt.count || s.Invalid != tt.invalid || s.Header != tt.header {
					t.Errorf("count %d invalid %d header %v, want %d %d %v", s.Count, s.Invalid, s.Header, tt.count, tt.invalid, tt.header)
				}
				if int64(s.Set.Len()) != s.Count {
					t.Errorf("Set.Len = %d, Count = %d", s.Set.Len(), s.Count)
				}
				for _, want := range tt.holds {
					n, err := nhsnumber.Parse(want)
					if err != nil {
						t.Fatal(err)
					}
					if !s.Set.Contains(n.Uint64()) {
						t.Errorf("set lacks a number it should hold")
					}
				}
				sum := sha256.Sum256([]byte(tt.in))
				if s.Digest != "sha256:"+hex.EncodeToString(sum[:]) || s.Size != int64(len(tt.in)) {
					t.Errorf("digest %s size %d do not match the input", s.Digest, s.Size)
				}
			}
		})
	}
}

func TestParseFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Parse(ctx, strings.NewReader("9434765919\n")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: err = %v, want context.Canceled", err)
	}
	boom := errors.New("boom")
	r := io.MultiReader(strings.NewReader("9434765919\n"), iotest.ErrReader(boom))
	if _, err := Parse(context.Background(), r); !errors.Is(err, boom) {
		t.Errorf("read error: err = %v, want it wrapped", err)
	}
}

// referenceParse is a plain, unbuffered restatement of the snapshot format, for the fuzz target.
func referenceParse(data []byte) (nums map[uint64]bool, invalid int64, header bool) {
	nums = map[uint64]bool{}
	text := strings.TrimPrefix(string(data), "\ufeff")
	first := true
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSuffix(l, "\r")
		tooLong := len(l) > MaxLineLength
		if strings.TrimSpace(l) == "" && !tooLong {
			continue
		}
		wasFirst := first
		first = false
		if !tooLong {
			var field string
			ok := true
			if t := strings.TrimLeft(l, " \t"); strings.HasPrefix(t, `"`) {
				var rest string
				field, rest, ok = strings.Cut(t[1:], `"`)
				if t := strings.TrimLeft(rest, " \t"); t != "" && t[0] != ',' {
					ok = false
				}
			} else {
				field, _, _ = strings.Cut(l, ",")
			}
			if n, err := nhsnumber.Parse(strings.TrimSpace(field)); ok && err == nil {
				nums[n.Uint64()] = true
				continue
			}
			if wasFirst && strings.ContainsFunc(l, func(r rune) bool { return r < 128 && (r|0x20 >= 'a' && r|0x20 <= 'z') }) {
				header = true
				continue
			}
		}
		invalid++
	}
	return nums, invalid, header
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "\r\n", "\ufeff", "\ufeff\ufeff9434765919", "9434765919", "9434765919\r\n4010232137\n",
		"nhs_number\n9434765919\n", "\ufeffNHS Number,Date\r\n\"943 476 5919\",2024-01-01\r\n",
		"\"9434765919", "\"9434765919\"\"", "943-476-5919,,,\n", "\x00\xff\xfe", "\r\r\n\r",
		"0000000000\n1111111111\n", " \t\v\f9434765919\u00a0\n", strings.Repeat("9", MaxLineLength+1) + "\n9434765919",
		"9434765919" + strings.Repeat("-", MaxLineLength),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(context.Background(), iotest.HalfReader(bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		nums, invalid, header := referenceParse(data)
		if s.Count != int64(len(nums)) || s.Invalid != invalid || s.Header != header {
			t.Fatalf("count %d invalid %d header %v; reference %d %d %v", s.Count, s.Invalid, s.Header, len(nums), invalid, header)
		}
		for v := range nums {
			if !s.Set.Contains(v) {
				t.Fatalf("set lacks %d", v)
			}
		}
		if s.Size != int64(len(data)) {
			t.Fatalf("size %d, want %d", s.Size, len(data))
		}
	})
}
