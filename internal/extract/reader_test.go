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
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"
)

// item is one thing Read returned: a record or a parse error, with its line.
type item struct {
	line   int64
	fields []string
	err    error
}

// readAll reads every record and parse error from in, as r wraps it.
func readAll(t testing.TB, in io.Reader, maxRecord int) ([]item, error) {
	t.Helper()
	rd := NewReader(in)
	if maxRecord > 0 {
		rd.MaxRecordSize = maxRecord
	}
	var out []item
	for range 1 << 20 {
		rec, err := rd.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		var pe *ParseError
		if errors.As(err, &pe) {
			out = append(out, item{line: pe.Line, err: pe.Err})
			continue
		}
		if err != nil {
			return out, err
		}
		fs := make([]string, len(rec))
		for i, f := range rec {
			fs[i] = string(f)
		}
		out = append(out, item{line: rd.Line(), fields: fs})
	}
	t.Fatal("reader did not reach the end")
	return nil, nil
}

// wrappers feed the input in different-sized reads, to exercise refills mid-record.
var wrappers = []struct {
	name string
	wrap func(io.Reader) io.Reader
}{
	{"whole", func(r io.Reader) io.Reader { return r }},
	{"one byte", iotest.OneByteReader},
	{"half", iotest.HalfReader},
	{"data with EOF", iotest.DataErrReader},
}

func rec(line int64, fields ...string) item { return item{line: line, fields: fields} }
func bad(line int64, err error) item        { return item{line: line, err: err} }

func TestReader(t *testing.T) {
	long := strings.Repeat("x", 300)
	tests := []struct {
		name      string
		in        string
		maxRecord int
		want      []item
	}{
		{"empty", "", 0, nil},
		{"lf", "a,b\nc,d\n", 0, []item{rec(1, "a", "b"), rec(2, "c", "d")}},
		{"crlf", "a,b\r\nc,d\r\n", 0, []item{rec(1, "a", "b"), rec(2, "c", "d")}},
		{"no final newline", "a,b\nc,d", 0, []item{rec(1, "a", "b"), rec(2, "c", "d")}},
		{"bom", "\ufeffa,b\n", 0, []item{rec(1, "a", "b")}},
		{"bom only", "\ufeff", 0, nil},
		{"bom not at start is data", "a\n\ufeffb\n", 0, []item{rec(1, "a"), rec(2, "\ufeffb")}},
		{"empty fields", ",,\n,\n", 0, []item{rec(1, "", "", ""), rec(2, "", "")}},
		{"empty lines skipped", "\na\n\r\n\nb\n\n", 0, []item{rec(2, "a"), rec(5, "b")}},
		{"trailing cr at end dropped", "a,b\r", 0, []item{rec(1, "a", "b")}},
		{"bare cr is data", "a\rb,c\r\r\n", 0, []item{rec(1, "a\rb", "c\r")}},
		{"spaces kept", " a , b \n", 0, []item{rec(1, " a ", " b ")}},
		{"quoted", `"a,b","c""d",""` + "\n", 0, []item{rec(1, "a,b", `c"d`, "")}},
		{"quoted last field crlf", `a,"b"` + "\r\n" + `"c"` + "\n", 0, []item{rec(1, "a", "b"), rec(2, "c")}},
		{"quoted at end without newline", `a,"b"`, 0, []item{rec(1, "a", "b")}},
		{"quoted then cr at end", `a,"b"` + "\r", 0, []item{rec(1, "a", "b")}},
		{"quoted then empty field", `"a",` + "\n", 0, []item{rec(1, "a", "")}},
		{"multi-line field", "x,\"1\n2\r\n3\"\ny,z\n", 0, []item{rec(1, "x", "1\n2\n3"), rec(4, "y", "z")}},
		{"quoted cr kept", "\"a\rb\"\n", 0, []item{rec(1, "a\rb")}},
		{"utf-8", "é,日本\n", 0, []item{rec(1, "é", "日本")}},
		{"bare quote", "a,b\"c\nd\n", 0, []item{bad(1, ErrBareQuote), rec(2, "d")}},
		{"text after closing quote", "\"a\"b,c\nd\n", 0, []item{bad(1, ErrQuote), rec(2, "d")}},
		{"cr after closing quote", "\"a\"\rb\nd\n", 0, []item{bad(1, ErrQuote), rec(2, "d")}},
		{"unterminated quote", "a\n\"b,c\nd\n", 0, []item{rec(1, "a"), bad(2, ErrQuote)}},
		{"error inside multi-line field", "\"a\nb\"x\nc\nd\n", 0, []item{bad(1, ErrQuote), rec(3, "c"), rec(4, "d")}},
		{"invalid utf-8", "a\n\xff,b\nc\n", 0, []item{rec(1, "a"), bad(2, ErrInvalidUTF8), rec(3, "c")}},
		{"invalid utf-8 in quotes", "\"\xc3\"\nc\n", 0, []item{bad(1, ErrInvalidUTF8), rec(2, "c")}},
		{"record too long", "a\n" + long + "\nb\n", 100, []item{rec(1, "a"), bad(2, ErrRecordTooLong), rec(3, "b")}},
		{"quoted record too long", "a\n\"" + long + "\n" + long + "\"\nb\n", 100, []item{rec(1, "a"), bad(2, ErrRecordTooLong), bad(3, ErrRecordTooLong), rec(4, "b")}},
		{"quoted record too long resyncs at a line end", "\"" + long + "\nb\"x\nc\n", 100, []item{bad(1, ErrRecordTooLong), bad(2, ErrBareQuote), rec(3, "c")}},
		{"long record allowed", long + "\n", 400, []item{rec(1, long)}},
	}
	for _, tt := range tests {
		for _, w := range wrappers {
			t.Run(tt.name+"/"+w.name, func(t *testing.T) {
				got, err := readAll(t, w.wrap(strings.NewReader(tt.in)), tt.maxRecord)
				if err != nil {
					t.Fatal(err)
				}
				if !sameItems(got, tt.want) {
					t.Errorf("got  %v\nwant %v", got, tt.want)
				}
			})
		}
	}
}

func sameItems(a, b []item) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].line != b[i].line || !errors.Is(a[i].err, b[i].err) || strings.Join(a[i].fields, "\x00") != strings.Join(b[i].fields, "\x00") ||
			len(a[i].fields) != len(b[i].fields) {
			return false
		}
	}
	return true
}

func TestReaderReadError(t *testing.T) {
	boom := errors.New("boom")
	rd := NewReader(io.MultiReader(strings.NewReader("a,b\nc,"), iotest.ErrReader(boom)))
	if _, err := rd.Read(); err != nil {
		t.Fatalf("first record: %v", err)
	}
	_, err := rd.Read()
	var pe *ParseError
	if !errors.Is(err, boom) || errors.As(err, &pe) {
		t.Fatalf("err = %v, want the read error, not a parse error", err)
	}
	if _, err2 := rd.Read(); !errors.Is(err2, boom) {
		t.Fatalf("after a read error, err = %v, want it again", err2)
	}
}

// stdRecords reads data with encoding/csv, as strictly as Reader reads.
func stdRecords(data []byte) ([][]string, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	return r.ReadAll()
}

// FuzzReader checks that Reader never fails to finish, and that on valid UTF-8 it agrees with
// encoding/csv: the same records where that package reads everything, a parse error where it
// finds one.
func FuzzReader(f *testing.F) {
	for _, seed := range []string{
		"", "\n", "\r\n", "\r", "a", "a,b\nc,d\n", "a,b\r\nc,d", "\ufeffh1,h2\r\n1,2\r\n",
		`"a""b",c` + "\n", "\"a\nb\",c\n", "\"a\r\nb\"\r\n", `"a"b`, `a"b`, `"a`, `""""`, `"",""`,
		"\"\r\n\"\r\n", "\xff\xfe,\x00\n", "a,\"b\"\r", "a,\"b\"\rc", ",,,\n,,\n", "\"\"\"\n\"\"\"\n",
		"9434765919,1970-01-01,F,C34.1,E01000001\n", "\"x\ny\nz\"x\nq\n",
	} {
		f.Add([]byte(seed), false)
		f.Add([]byte(seed), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, small bool) {
		var in io.Reader = bytes.NewReader(data)
		maxRecord := 0
		if small {
			in = iotest.OneByteReader(in)
			maxRecord = 64
		}
		got, err := readAll(t, in, maxRecord)
		if err != nil {
			t.Fatal(err)
		}
		last := int64(0)
		for _, it := range got {
			if it.line <= last {
				t.Fatalf("line numbers not increasing: %d after %d", it.line, last)
			}
			last = it.line
		}
		if lines := int64(bytes.Count(data, []byte{'\n'}) + 1); last > lines {
			t.Fatalf("line %d beyond the %d lines of the input", last, lines)
		}
		if small || !utf8.Valid(data) {
			return
		}
		want, stdErr := stdRecords(bytes.TrimPrefix(data, []byte("\ufeff")))
		var firstErr *item
		for i := range got {
			if got[i].err != nil {
				firstErr = &got[i]
				break
			}
		}
		if stdErr != nil {
			var pe *csv.ParseError
			if !errors.As(stdErr, &pe) {
				t.Fatalf("encoding/csv: %v", stdErr)
			}
			if firstErr == nil {
				t.Fatalf("encoding/csv found %v, Reader found nothing", stdErr)
			}
			if int64(pe.StartLine) != firstErr.line {
				t.Fatalf("first error on line %d, encoding/csv says %d (%v)", firstErr.line, pe.StartLine, stdErr)
			}
			return
		}
		if firstErr != nil {
			t.Fatalf("Reader found %v on line %d, encoding/csv found nothing", firstErr.err, firstErr.line)
		}
		if len(got) != len(want) {
			t.Fatalf("%d records, encoding/csv read %d", len(got), len(want))
		}
		for i := range want {
			if strings.Join(got[i].fields, "\x00") != strings.Join(want[i], "\x00") || len(got[i].fields) != len(want[i]) {
				t.Fatalf("record %d: %q, encoding/csv read %q", i, got[i].fields, want[i])
			}
		}
	})
}
