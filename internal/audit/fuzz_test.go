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
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	lines, _ := buildLines(f, 5)
	good := joinLines(lines)
	f.Add(good)
	f.Add(joinLines(lines[:3]))
	f.Add(joinLines([][]byte{lines[0], lines[2], lines[1]}))
	f.Add(joinLines([][]byte{lines[0], lines[0]}))
	f.Add(bytes.Replace(good, []byte(`"seq":2`), []byte(`"seq":3`), 1))
	f.Add(bytes.ReplaceAll(good, []byte("\n"), []byte("\r\n")))
	suffix := lines[0][len(lines[0])-hashSuffixLen:]
	for _, s := range []string{
		"", "\n", "\n\n\r\n", "{}", "null", "[]", `"x"`, "{", "}\n{",
		`{"seq":1e400,"prev":"","hash":"sha256:` + strings.Repeat("0", 64) + `"}`,
		`{"seq":9223372036854775807,"prev":"` + GenesisHash + `"` + string(suffix),
		`{"seq":-1` + string(suffix),
		`{"SEQ":1,"Prev":"` + GenesisHash + `"` + string(suffix),
		`{"hash":"a","hash":"b"` + string(suffix),
		"{\"seq\":1,\"x\":\"\xff\xfe\"" + string(suffix),
		"{\"seq\":1,\"x\":\"\u2028\x00\"" + string(suffix),
		`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + string(suffix),
		string(suffix[1:]),
		string(lines[0][:len(lines[0])-1]),
		strings.Repeat("{", MaxLineBytes+10),
	} {
		f.Add([]byte(s))
	}
}

// FuzzVerify feeds arbitrary bytes to the JSON-lines verifier: it must never panic or fail with
// an I/O error, and its result must be self-consistent.
func FuzzVerify(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := Verify(bytes.NewReader(data), VerifyOptions{})
		if err != nil {
			t.Fatalf("Verify of in-memory bytes returned an I/O error: %v", err)
		}
		nonBlank := int64(0)
		for _, l := range bytes.Split(data, []byte("\n")) {
			if len(bytes.TrimSpace(l)) > 0 {
				nonBlank++
			}
		}
		if res.OK {
			if res.FirstBroken != 0 || res.Reason != "" || res.Entries != nonBlank || res.Head.Seq != res.Entries {
				t.Fatalf("inconsistent intact result %+v for %d lines", res, nonBlank)
			}
		} else {
			if res.FirstBroken < 1 || res.Reason == "" || res.Entries != res.FirstBroken-1 || res.Entries > nonBlank {
				t.Fatalf("inconsistent broken result %+v for %d lines", res, nonBlank)
			}
		}
		// Every entry Verify accepted reads back as an entry with that sequence number.
		n := int64(0)
		for e, err := range ReadLines(bytes.NewReader(data)) {
			if n == res.Entries {
				break
			}
			if err != nil {
				t.Fatalf("ReadLines failed on entry %d that Verify accepted: %v", n+1, err)
			}
			n++
			if e.Seq != n {
				t.Fatalf("ReadLines entry %d has sequence number %d", n, e.Seq)
			}
		}
	})
}

// FuzzParseLine checks that any line ParseLine accepts can be encoded again, and that a line
// in canonical form round-trips byte for byte.
func FuzzParseLine(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := ParseLine(data)
		if err != nil {
			return
		}
		if e.Seq < 1 {
			t.Fatalf("accepted sequence number %d", e.Seq)
		}
		out, err := json.Marshal(e)
		if err != nil {
			t.Fatalf("re-encoding an accepted line: %v", err)
		}
		canonical := bytes.Equal(out, bytes.TrimRight(data, "\r\n"))
		if _, err := ParseLine(out); canonical && err != nil {
			t.Fatalf("canonical line did not round-trip: %v", err)
		}
	})
}

// FuzzParseCheckpoint checks that the checkpoint reader never panics and accepts only
// well-formed checkpoints.
func FuzzParseCheckpoint(f *testing.F) {
	f.Add([]byte(`{"seq":5,"hash":"` + GenesisHash + `","time":"2026-03-01T09:30:00Z"}`))
	f.Add([]byte(`{"seq":0,"hash":""}`))
	f.Add([]byte(`{"seq":5,"hash":"` + GenesisHash + `","extra":1}`))
	f.Add([]byte(`{"seq":5,"hash":"sha256:ZZ"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cp, err := ParseCheckpoint(data)
		if err == nil && (cp.Seq < 1 || !validDigest(cp.Hash)) {
			t.Fatalf("accepted checkpoint %+v", cp)
		}
	})
}

// FuzzScanChain checks the Verify fast path against encoding/json: both must agree on which
// inputs are a valid JSON object, and on the seq, prev and hash members the scanner returns.
func FuzzScanChain(f *testing.F) {
	fuzzSeeds(f)
	for _, s := range []string{
		`{"a":1.5e-3,"b":[true,false,null,{}],"seq":1,"prev":"p","hash":"h"}`,
		`{"seq":01}`, `{"seq":1.}`, `{"seq":-}`, `{"a":"\u12"}`, `{"a":"\x"}`, `{"a":1,}`, `[1,]`,
		` {"seq":2,"prev":"a","hash":"b","seq":3} `, `{"seq":1,"SEQ":2,"prev":"","hash":""}`,
		"{\"a\":\"\t\"}", `{"a":tru}`, `{"a"  :  [ ] , "b":{ }}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := scanChain(data)
		scanValid := err == nil || !errors.Is(err, errSyntax)
		trimmed := bytes.TrimLeft(data, " \t\r\n")
		stdValid := json.Valid(data) && len(trimmed) > 0 && trimmed[0] == '{'
		if scanValid != stdValid {
			t.Fatalf("scanner says valid=%v (%v), encoding/json says %v", scanValid, err, stdValid)
		}
		if err != nil || bytes.IndexByte(data, '\\') >= 0 {
			return
		}
		lower := bytes.ToLower(data)
		repeated := false
		for _, k := range []string{`"seq"`, `"prev"`, `"hash"`} {
			n := bytes.Count(data, []byte(k))
			if bytes.Count(lower, []byte(k)) != n {
				return // encoding/json matches keys case-insensitively; the scanner does not
			}
			repeated = repeated || n > 1
		}
		var std chainFields
		if err := json.Unmarshal(data, &std); err != nil {
			// encoding/json reports a wrongly typed member even when a later one of the same
			// key is right; the scanner takes the last. Nothing else may make them differ.
			if !repeated {
				t.Fatalf("scanner read %+v, encoding/json failed: %v", c, err)
			}
			return
		}
		if std != c {
			t.Fatalf("scanner read %+v, encoding/json read %+v", c, std)
		}
	})
}
