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
	"crypto/hmac"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/internal/nhsnumber"
	"github.com/fivesafes/fivesafes/internal/optout"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// hmacHex is the expected pseudonym, computed independently of package pseudonym.
func hmacHex(id string) string {
	m := hmac.New(sha256.New, testKey)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil))
}

func newLocal(t testing.TB) *pseudonym.Local {
	t.Helper()
	l, err := pseudonym.NewLocal(testKey)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// valid returns the nth valid NHS number at or after from.
func valid(from uint64, nth int) string {
	for v := from; ; v++ {
		if n, ok := nhsnumber.FromUint64(v); ok {
			if nth == 0 {
				return n.String()
			}
			nth--
		}
	}
}

func optOuts(t testing.TB, numbers ...string) *optout.Set {
	t.Helper()
	b := optout.NewBuilder()
	for _, s := range numbers {
		n, err := nhsnumber.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		b.Add(n.Uint64())
	}
	return b.Set()
}

var schema = []Column{
	{Name: "nhs_number", Identifier: fivesafesv1alpha1.IdentifierNHSNumber},
	{Name: "dob"},
	{Name: "sex", Identifier: fivesafesv1alpha1.IdentifierNone},
	{Name: "admidate"},
	{Name: "diag_01"},
	{Name: "lsoa11"},
	{Name: "local_id", Identifier: fivesafesv1alpha1.IdentifierLocal},
	{Name: "postcode"},
	{Name: "note"},
}

var approved = []string{"diag_01", "nhs_number", "dob", "local_id", "note", "lsoa11"}

// fixture is a small source with one row of each kind, and the copy expected from it.
type fixture struct {
	in       string
	want     string // with opt-outs applied
	wantAll  string // with opt-outs not applied
	optedOut string // the opted-out person's NHS number
}

func newFixture() fixture {
	a, b, c, d := valid(4_000_000_000, 0), valid(4_000_000_000, 1), valid(4_000_000_000, 2), valid(4_000_000_000, 3)
	bSpaced := b[:3] + " " + b[3:6] + " " + b[6:]
	lines := []string{
		"nhs_number,dob,sex,admidate,diag_01,lsoa11,local_id,postcode,note",               // 1
		a + ",1970-01-01,1,2024-01-02,C34.1,E01000001,L1,AB1 2CD,plain",                   // 2
		bSpaced + ",1980-02-02,2,2024-02-03,I21.9,E01000002, L2 ,EF3 4GH,\"has, comma\"",  // 3
		c + ",1990-03-03,1,2024-03-04,J18.9,E01000003,L3,IJ5 6KL,x",                       // 4 opted out
		"9434765918,2000-04-04,2,2024-04-05,K35.8,E01000004,,MN7 8OP,\"quote \"\"q\"\"\"", // 5 bad check digit
		",2001-05-05,1,2024-05-06,E11.9,E01000005,L5,,\"multi",                            // 6 missing NHS number
		"line\"", // 7
		a + ",1970-01-01,1,2024-06-07,C34.1,E01000001,L1,AB1 2CD,too,many",       // 8 too many fields
		d + ",1960,1,2024,Z00.0,E0100000\"6,L6,QR9,x",                            // 9 bare quote
		d + ",1960-07-07,2,2024-07-08,Z00.0,E01000006,L6,QR9 0ST,\xff",           // 10 invalid UTF-8
		d + ",1960-07-07,2,2024-07-08,Z00.0,E01000006,L6,QR9 0ST, leading space", // 11
	}
	rows := []string{
		"diag_01,nhs_number,dob,local_id,note,lsoa11",
		"C34.1," + hmacHex(a) + ",1970-01-01," + hmacHex("L1") + ",plain,E01000001",
		"I21.9," + hmacHex(b) + ",1980-02-02," + hmacHex("L2") + ",\"has, comma\",E01000002",
		"J18.9," + hmacHex(c) + ",1990-03-03," + hmacHex("L3") + ",x,E01000003",
		"K35.8,,2000-04-04,,\"quote \"\"q\"\"\",E01000004",
		"E11.9,,2001-05-05," + hmacHex("L5") + ",\"multi\nline\",E01000005",
		"Z00.0," + hmacHex(d) + ",1960-07-07," + hmacHex("L6") + ",\" leading space\",E01000006",
	}
	join := func(rs []string) string { return strings.Join(rs, "\n") + "\n" }
	return fixture{
		in:       strings.Join(lines, "\n") + "\n",
		want:     join(slices.Delete(slices.Clone(rows), 3, 4)),
		wantAll:  join(rows),
		optedOut: c,
	}
}

func run(t *testing.T, in string, cfg Config) (Result, string) {
	t.Helper()
	var out bytes.Buffer
	res, err := Transform(context.Background(), strings.NewReader(in), &out, cfg)
	if err != nil {
		t.Fatalf("Transform: %v", err)
	}
	sum := sha256.Sum256(out.Bytes())
	if res.SHA256 != "sha256:"+hex.EncodeToString(sum[:]) || res.Size != int64(out.Len()) {
		t.Errorf("digest %s size %d do not match the %d bytes written", res.SHA256, res.Size, out.Len())
	}
	c := res.Counts
	if c.Read != c.Written+c.OptedOut+c.Malformed {
		t.Errorf("counts do not add up: %+v", c)
	}
	return res, out.String()
}

func TestTransform(t *testing.T) {
	fx := newFixture()
	crlf := "\ufeff" + strings.ReplaceAll(fx.in, "\n", "\r\n")
	wantLines := []int64{8, 9, 10}
	tests := []struct {
		name    string
		in      string
		optOuts bool
		want    string
		counts  Counts
	}{
		{"opt-outs honoured", fx.in, true, fx.want, Counts{Read: 9, Written: 5, OptedOut: 1, InvalidIdentifier: 2, Malformed: 3}},
		{"opt-outs not applied", fx.in, false, fx.wantAll, Counts{Read: 9, Written: 6, InvalidIdentifier: 2, Malformed: 3}},
		{"bom and crlf", crlf, true, fx.want, Counts{Read: 9, Written: 5, OptedOut: 1, InvalidIdentifier: 2, Malformed: 3}},
	}
	for _, tt := range tests {
		for _, shape := range []struct{ batch, conc int }{{0, 0}, {1, 1}, {2, 3}, {3, 1}} {
			t.Run(fmt.Sprintf("%s/batch %d conc %d", tt.name, shape.batch, shape.conc), func(t *testing.T) {
				cfg := Config{Schema: schema, Columns: approved, Pseudonymiser: newLocal(t), BatchSize: shape.batch, Concurrency: shape.conc}
				if tt.optOuts {
					cfg.OptOuts = optOuts(t, fx.optedOut, "9434765919")
				}
				res, out := run(t, tt.in, cfg)
				if out != tt.want {
					t.Errorf("output:\n%s\nwant:\n%s", out, tt.want)
				}
				if res.Counts != tt.counts {
					t.Errorf("counts %+v, want %+v", res.Counts, tt.counts)
				}
				rc := res.Counts.RowCounts()
				if rc.Read != tt.counts.Read || rc.Written != tt.counts.Written || rc.OptedOut != tt.counts.OptedOut ||
					rc.InvalidIdentifier != tt.counts.InvalidIdentifier || rc.Malformed != tt.counts.Malformed {
					t.Errorf("RowCounts %+v, want %+v", rc, tt.counts)
				}
				if !slices.Equal(res.MalformedLines, wantLines) {
					t.Errorf("malformed lines %v, want %v", res.MalformedLines, wantLines)
				}
			})
		}
	}
}

func TestTransformOptOutOnColumnNotApproved(t *testing.T) {
	fx := newFixture()
	cfg := Config{Schema: schema, Columns: []string{"dob", "diag_01"}, OptOuts: optOuts(t, fx.optedOut)}
	res, out := run(t, fx.in, cfg)
	if strings.Contains(out, "1990-03-03") {
		t.Error("opted-out person's row was copied")
	}
	want := Counts{Read: 9, Written: 5, OptedOut: 1, InvalidIdentifier: 2, Malformed: 3}
	if res.Counts != want {
		t.Errorf("counts %+v, want %+v", res.Counts, want)
	}
	if !strings.HasPrefix(out, "dob,diag_01\n1970-01-01,C34.1\n") {
		t.Errorf("output starts %q", out[:min(len(out), 40)])
	}
}

func TestTransformNoIdentifiersNeedsNoPseudonymiser(t *testing.T) {
	_, out := run(t, "a,b\n1,2\n3,4\n", Config{Schema: []Column{{Name: "a"}, {Name: "b"}}, Columns: []string{"b"}})
	if out != "b\n2\n4\n" {
		t.Errorf("output %q", out)
	}
}

func TestTransformQuotesHeader(t *testing.T) {
	in := "\"a,b\",\" c\",d\"\"e\n1,2\n"
	_, err := Transform(context.Background(), strings.NewReader(in), io.Discard, Config{Schema: []Column{{Name: "a,b"}}, Columns: []string{"a,b"}})
	if !errors.Is(err, ErrBareQuote) {
		t.Errorf("malformed header: err = %v, want ErrBareQuote", err)
	}
	in = "\"a,b\",\" c \"\n1,2\n"
	_, out := run(t, in, Config{Schema: []Column{{Name: "a,b"}, {Name: "c"}}, Columns: []string{"c", "a,b"}})
	if out != "c,\"a,b\"\n2,1\n" {
		t.Errorf("output %q", out)
	}
}

func TestTransformConfigErrors(t *testing.T) {
	local := newLocal(t)
	hdr := "nhs_number,dob,local_id\n"
	nhs := Column{Name: "nhs_number", Identifier: fivesafesv1alpha1.IdentifierNHSNumber}
	tests := []struct {
		name   string
		in     string
		cfg    Config
		substr string
	}{
		{"empty source", "", Config{Schema: schema, Columns: approved}, "no header"},
		{"only empty lines", "\n\r\n", Config{Schema: schema, Columns: approved}, "no header"},
		{"no approved columns", hdr, Config{Schema: schema}, "no approved columns"},
		{"approved column missing from header", hdr, Config{Schema: schema, Columns: []string{"dob", "postcode"}}, `"postcode" is not in the source header`},
		{"approved column not in schema", hdr, Config{Schema: []Column{{Name: "dob"}}, Columns: []string{"dob", "local_id"}}, `"local_id" is not in the dataset schema`},
		{"approved twice", hdr, Config{Schema: schema, Columns: []string{"dob", "dob"}}, "listed twice"},
		{"schema twice", hdr, Config{Schema: []Column{{Name: "dob"}, {Name: "dob"}}, Columns: []string{"dob"}}, "twice"},
		{"header twice", "dob,dob\n", Config{Schema: schema, Columns: []string{"dob"}}, "more than once"},
		{"unknown identifier kind", hdr, Config{Schema: []Column{{Name: "dob", Identifier: "Postcode"}}, Columns: []string{"dob"}}, "unknown identifier kind"},
		{"identifier without pseudonymiser", hdr, Config{Schema: schema, Columns: []string{"local_id"}}, "no pseudonymiser"},
		{"opt-outs without NHS column in header", "dob\n", Config{Schema: []Column{nhs, {Name: "dob"}}, Columns: []string{"dob"}, OptOuts: optOuts(t)}, "opt-outs cannot be applied"},
		{"opt-outs without NHS column in schema", hdr, Config{Schema: []Column{{Name: "dob"}}, Columns: []string{"dob"}, OptOuts: optOuts(t), Pseudonymiser: local}, "no NHS number column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Transform(context.Background(), strings.NewReader(tt.in), io.Discard, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.substr) {
				t.Errorf("err = %v, want one containing %q", err, tt.substr)
			}
		})
	}
}

func TestTransformFailures(t *testing.T) {
	fx := newFixture()
	boom := errors.New("boom")
	cfg := func(t *testing.T) Config {
		return Config{Schema: schema, Columns: approved, Pseudonymiser: newLocal(t), BatchSize: 2}
	}
	t.Run("pseudonymiser fails", func(t *testing.T) {
		c := cfg(t)
		l := newLocal(t)
		_ = l.Close()
		c.Pseudonymiser = l
		_, err := Transform(context.Background(), strings.NewReader(fx.in), io.Discard, c)
		if !errors.Is(err, pseudonym.ErrClosed) {
			t.Errorf("err = %v, want pseudonym.ErrClosed", err)
		}
	})
	t.Run("read fails", func(t *testing.T) {
		src := io.MultiReader(strings.NewReader(fx.in), iotest.ErrReader(boom))
		_, err := Transform(context.Background(), src, io.Discard, cfg(t))
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want the read error", err)
		}
	})
	t.Run("write fails", func(t *testing.T) {
		pr, pw := io.Pipe()
		_ = pr.CloseWithError(boom)
		_, err := Transform(context.Background(), strings.NewReader(fx.in), pw, cfg(t))
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want the write error", err)
		}
	})
	t.Run("write fails after the header", func(t *testing.T) {
		pr, pw := io.Pipe()
		go func() {
			buf := make([]byte, 10)
			_, _ = io.ReadFull(pr, buf)
			_ = pr.CloseWithError(boom)
		}()
		_, err := Transform(context.Background(), strings.NewReader(strings.Repeat(fx.in, 50)), pw, cfg(t))
		if !errors.Is(err, boom) {
			t.Errorf("err = %v, want the write error", err)
		}
	})
	t.Run("cancelled before", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Transform(ctx, strings.NewReader(fx.in), io.Discard, cfg(t))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("cancelled while reading", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		src := &cancelAfter{r: strings.NewReader(bigInput(20_000)), n: 200_000, cancel: cancel}
		var out bytes.Buffer
		_, err := Transform(ctx, src, &out, cfg(t))
		if !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
}

// cancelAfter reads from r and cancels a context once n bytes have been read.
type cancelAfter struct {
	r      io.Reader
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.n -= n; c.n <= 0 {
		c.cancel()
	}
	return n, err
}

// bigInput returns rows rows in the fixture's layout with distinct valid NHS numbers.
func bigInput(rows int) string {
	var sb strings.Builder
	sb.WriteString("nhs_number,dob,sex,admidate,diag_01,lsoa11,local_id,postcode,note\n")
	v := uint64(6_000_000_000)
	for i := range rows {
		var n nhsnumber.Number
		for ok := false; !ok; v++ {
			n, ok = nhsnumber.FromUint64(v)
		}
		fmt.Fprintf(&sb, "%s,1970-01-01,1,2024-01-02,C34.1,E0%07d,L%d,AB1 2CD,row %d\n", n, i, i, i)
	}
	return sb.String()
}

// TestTransformKeepsOrder pushes many small batches through several workers, with every tenth
// person opted out, and checks every other row comes out in source order with the right
// pseudonyms.
func TestTransformKeepsOrder(t *testing.T) {
	in := bigInput(5000)
	src, err := csv.NewReader(strings.NewReader(in)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var want [][]string
	for i, rec := range src[1:] {
		if i%10 == 3 {
			out = append(out, rec[0])
			continue
		}
		want = append(want, []string{rec[8], hmacHex(rec[0]), hmacHex(rec[6])})
	}
	for _, shape := range []struct{ batch, conc int }{{7, 4}, {1, 2}, {1000, 1}} {
		res, got := run(t, in, Config{Schema: schema, Columns: []string{"note", "nhs_number", "local_id"}, Pseudonymiser: newLocal(t),
			OptOuts: optOuts(t, out...), BatchSize: shape.batch, Concurrency: shape.conc})
		if res.Counts != (Counts{Read: 5000, Written: 4500, OptedOut: 500}) {
			t.Fatalf("batch %d: counts %+v", shape.batch, res.Counts)
		}
		recs, err := csv.NewReader(strings.NewReader(got)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != len(want)+1 {
			t.Fatalf("batch %d: %d rows, want %d", shape.batch, len(recs)-1, len(want))
		}
		for i := range want {
			if !slices.Equal(recs[i+1], want[i]) {
				t.Fatalf("batch %d: row %d: %q, want %q", shape.batch, i+1, recs[i+1], want[i])
			}
		}
	}
}

// FuzzTransform checks that any input either fails as a whole or is fully accounted for, and that
// the copy is well-formed CSV holding only the approved columns.
func FuzzTransform(f *testing.F) {
	fx := newFixture()
	f.Add([]byte(fx.in))
	f.Add([]byte("nhs_number,local_id,dob\n9434765919,a,b\n\"9434765919\",\"\",\"\"\n"))
	f.Add([]byte("nhs_number,local_id,dob\n943 476 5919, x ,\"a\nb\"\n,,\n\xff,,\n"))
	f.Add([]byte("dob,nhs_number,local_id\r\n\"\r\n\",4010232137,\"\"\"\"\r\n"))
	l, err := pseudonym.NewLocal(testKey)
	if err != nil {
		f.Fatal(err)
	}
	set := optOuts(f, "9434765919")
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Config{
			Schema:        []Column{{Name: "nhs_number", Identifier: fivesafesv1alpha1.IdentifierNHSNumber}, {Name: "local_id", Identifier: fivesafesv1alpha1.IdentifierLocal}, {Name: "dob"}},
			Columns:       []string{"dob", "nhs_number", "local_id"},
			Pseudonymiser: l,
			OptOuts:       set,
			BatchSize:     3,
		}
		var out bytes.Buffer
		res, err := Transform(context.Background(), bytes.NewReader(data), &out, cfg)
		if err != nil {
			return
		}
		c := res.Counts
		if c.Read != c.Written+c.OptedOut+c.Malformed || c.InvalidIdentifier > c.Written {
			t.Fatalf("counts do not add up: %+v", c)
		}
		if len(res.MalformedLines) != int(min(c.Malformed, MaxMalformedLines)) {
			t.Fatalf("%d malformed lines kept for %d malformed rows", len(res.MalformedLines), c.Malformed)
		}
		r := csv.NewReader(&out)
		r.FieldsPerRecord = 3
		recs, err := r.ReadAll()
		if err != nil {
			t.Fatalf("copy is not valid CSV: %v", err)
		}
		if int64(len(recs)) != c.Written+1 {
			t.Fatalf("%d records in the copy, %d written", len(recs)-1, c.Written)
		}
		for _, rec := range recs[1:] {
			for _, id := range rec[1:] {
				if id != "" && (len(id) != pseudonym.Size || strings.Trim(id, "0123456789abcdef") != "") {
					t.Fatalf("identifier cell %q is not a pseudonym", id)
				}
			}
		}
	})
}
