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

package egress

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

// parseAll feeds b to a parser in chunks of the given size and returns the non-blank records.
func parseAll(b []byte, delim byte, chunk, maxLine, maxFields int) ([][]string, []bool, csvStop) {
	var recs [][]string
	var malformed []bool
	p := newCSVParser(delim, maxLine, maxFields, func(r *csvRecord) bool {
		if r.blank() {
			return true
		}
		rec := make([]string, len(r.fields))
		for i, f := range r.fields {
			rec[i] = string(f)
		}
		recs = append(recs, rec)
		malformed = append(malformed, r.malformed)
		return true
	})
	for len(b) > 0 {
		n := min(chunk, len(b))
		if !p.write(b[:n]) {
			break
		}
		b = b[n:]
	}
	p.finish()
	return recs, malformed, p.stop
}

func TestCSVParser(t *testing.T) {
	tests := []struct {
		name      string
		in        string
		want      [][]string
		malformed []bool
	}{
		{name: "simple", in: "a,b\n1,2\n", want: [][]string{{"a", "b"}, {"1", "2"}}, malformed: []bool{false, false}},
		{name: "crlf and no final newline", in: "a,b\r\n1,2", want: [][]string{{"a", "b"}, {"1", "2"}}, malformed: []bool{false, false}},
		{name: "quoted delimiter and newline", in: "\"a,b\",\"c\nd\"\n", want: [][]string{{"a,b", "c\nd"}}, malformed: []bool{false}},
		{name: "escaped quote", in: "\"say \"\"hi\"\"\",x\n", want: [][]string{{"say \"hi\"", "x"}}, malformed: []bool{false}},
		{name: "empty fields", in: ",,\n", want: [][]string{{"", "", ""}}, malformed: []bool{false}},
		{name: "blank lines skipped", in: "a\n\n\r\nb\n", want: [][]string{{"a"}, {"b"}}, malformed: []bool{false, false}},
		{name: "quoted empty line is a record", in: "\"\"\n", want: [][]string{{""}}, malformed: []bool{false}},
		{name: "bare quote kept", in: "a\"b,c\n", want: [][]string{{"a\"b", "c"}}, malformed: []bool{true}},
		{name: "data after closing quote", in: "\"a\"b,c\n", want: [][]string{{"a\"b,c\n"}}, malformed: []bool{true}},
		{name: "unterminated quote", in: "\"abc\ndef", want: [][]string{{"abc\ndef"}}, malformed: []bool{true}},
		{name: "lone CR is data", in: "a\rb,c\n", want: [][]string{{"a\rb", "c"}}, malformed: []bool{false}},
		{name: "leading CR kept for formula checks", in: "\r=1,x\n", want: [][]string{{"\r=1", "x"}}, malformed: []bool{false}},
		{name: "trailing CR at end of input", in: "a,b\r", want: [][]string{{"a", "b"}}, malformed: []bool{false}},
	}
	for _, tt := range tests {
		for _, chunk := range []int{1, 2, 3, 7, 1 << 20} {
			got, malformed, stop := parseAll([]byte(tt.in), ',', chunk, 1<<20, 100)
			if stop != csvRunning {
				t.Errorf("%s (chunk %d): stopped with %d", tt.name, chunk, stop)
			}
			if !reflect.DeepEqual(got, tt.want) || !reflect.DeepEqual(malformed, tt.malformed) {
				t.Errorf("%s (chunk %d): got %q %v, want %q %v", tt.name, chunk, got, malformed, tt.want, tt.malformed)
			}
		}
	}
}

func TestCSVParserLimits(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		in   string
		want csvStop
	}{
		{name: "line at limit", in: strings.Repeat("x", 64) + "\n", want: csvRunning},
		{name: "line over limit", in: long + "\n", want: csvStopLine},
		{name: "line over limit without newline", in: long, want: csvStopLine},
		{name: "quoted record over limit across short lines", in: "\"" + strings.Repeat("ab\n", 40) + "\"\n", want: csvStopLine},
		{name: "fields at limit", in: "a,b,c,d\n", want: csvRunning},
		{name: "fields over limit", in: "a,b,c,d,e\n", want: csvStopColumns},
	}
	for _, tt := range tests {
		_, _, stop := parseAll([]byte(tt.in), ',', 5, 64, 4)
		if stop != tt.want {
			t.Errorf("%s: stop = %d, want %d", tt.name, stop, tt.want)
		}
	}
}

func TestCSVParserLines(t *testing.T) {
	for in, want := range map[string]int64{"": 0, "a": 1, "a\n": 1, "a\nb": 2, "a\nb\n": 2, "\"a\nb\"\n": 2} {
		p := newCSVParser(',', 100, 10, func(*csvRecord) bool { return true })
		p.write([]byte(in))
		p.finish()
		if got := p.physicalLines(); got != want {
			t.Errorf("physicalLines(%q) = %d, want %d", in, got, want)
		}
	}
}

// FuzzCSVParser checks the parser against encoding/csv with LazyQuotes, fed in small chunks.
func FuzzCSVParser(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "\"a\"\"b\",c\r\n", "\"unterminated\n", "a\"b\",\"c", "\"a\"\rb\n", "\r\r\n", "\"\"\"",
		",,,\n\n\n", "\"a\"b\"c\"", "x\ty\n", "\xff\xfe,\x00\n", strings.Repeat("\"", 50), "a\r", "\"a\"\r",
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, b []byte, chunk uint8) {
		got, _, stop := parseAll(b, ',', int(chunk)+1, 1<<20, 1<<20)
		if stop != csvRunning {
			t.Fatalf("stopped with %d", stop)
		}
		r := csv.NewReader(bytes.NewReader(b))
		r.FieldsPerRecord = -1
		r.LazyQuotes = true
		var want [][]string
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return // encoding/csv gives up; nothing to compare with
			}
			want = append(want, rec)
		}
		// encoding/csv turns CRLF into LF inside quoted fields, and reads a record that is a quoted
		// empty field the same as ours.
		for _, rec := range got {
			for i := range rec {
				rec[i] = strings.ReplaceAll(rec[i], "\r\n", "\n")
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parsed %q as %q, encoding/csv as %q", b, got, want)
		}
	})
}
