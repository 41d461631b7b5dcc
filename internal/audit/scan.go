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
	"errors"
	"strconv"
)

// maxJSONDepth matches encoding/json's nesting limit, so that the scanner and encoding/json agree
// on which documents are valid.
const maxJSONDepth = 10000

var errSyntax = errors.New("invalid JSON")

// scanChain checks that line is exactly one JSON object (RFC 8259, surrounding whitespace
// allowed) and returns its top-level "seq", "prev" and "hash" members, the last of each when a
// key repeats. Keys are matched exactly. seq must be an integer literal; prev and hash must be
// strings without escapes. It is the fast path of Verify: it allocates nothing and reads the
// line once.
func scanChain(line []byte) (chainFields, error) {
	var c chainFields
	var seqLit []byte
	var haveSeq, havePrev, haveHash bool
	i := skipWS(line, 0)
	if i >= len(line) || line[i] != '{' {
		return c, errSyntax
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		i++
	} else {
		for {
			if i >= len(line) || line[i] != '"' {
				return c, errSyntax
			}
			ks := i + 1
			end, err := skipString(line, i)
			if err != nil {
				return c, err
			}
			key := line[ks : end-1]
			i = skipWS(line, end)
			if i >= len(line) || line[i] != ':' {
				return c, errSyntax
			}
			i = skipWS(line, i+1)
			vs := i
			i, err = skipValue(line, i, 1)
			if err != nil {
				return c, err
			}
			val := line[vs:i]
			switch string(key) {
			case "seq":
				seqLit, haveSeq = val, true
			case "prev":
				c.Prev, havePrev = plainString(val)
			case "hash":
				c.Hash, haveHash = plainString(val)
			}
			i = skipWS(line, i)
			if i >= len(line) {
				return c, errSyntax
			}
			if line[i] == '}' {
				i++
				break
			}
			if line[i] != ',' {
				return c, errSyntax
			}
			i = skipWS(line, i+1)
		}
	}
	if skipWS(line, i) != len(line) {
		return c, errSyntax
	}
	if !haveSeq || !havePrev || !haveHash {
		return c, errors.New("seq, prev or hash missing, or prev or hash not a plain string")
	}
	n, err := strconv.ParseInt(string(seqLit), 10, 64)
	if err != nil {
		return c, errors.New("seq is not an integer")
	}
	c.Seq = n
	return c, nil
}

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// plainString returns the contents of a JSON string literal of printable ASCII with no escapes,
// which is all a hash needs.
func plainString(v []byte) (string, bool) {
	if len(v) < 2 || v[0] != '"' {
		return "", false
	}
	s := v[1 : len(v)-1]
	for _, c := range s {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return "", false
		}
	}
	return string(s), true
}

// skipValue returns the index just after the JSON value starting at b[i].
func skipValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errSyntax
	}
	switch c := b[i]; {
	case c == '"':
		return skipString(b, i)
	case c == '{':
		return skipObject(b, i, depth+1)
	case c == '[':
		return skipArray(b, i, depth+1)
	case c == '-' || (c >= '0' && c <= '9'):
		return skipNumber(b, i)
	case c == 't':
		return skipLiteral(b, i, "true")
	case c == 'f':
		return skipLiteral(b, i, "false")
	case c == 'n':
		return skipLiteral(b, i, "null")
	}
	return i, errSyntax
}

func skipLiteral(b []byte, i int, lit string) (int, error) {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return i, errSyntax
	}
	return i + len(lit), nil
}

// skipString returns the index just after the string literal starting at b[i] == '"'.
func skipString(b []byte, i int) (int, error) {
	i++
	for i < len(b) {
		c := b[i]
		switch {
		case c == '"':
			return i + 1, nil
		case c == '\\':
			if i+1 >= len(b) {
				return i, errSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return i, errSyntax
				}
				for _, h := range b[i+2 : i+6] {
					if (h < '0' || h > '9') && (h < 'a' || h > 'f') && (h < 'A' || h > 'F') {
						return i, errSyntax
					}
				}
				i += 6
			default:
				return i, errSyntax
			}
		case c < 0x20:
			return i, errSyntax
		default:
			i++
		}
	}
	return i, errSyntax
}

// skipNumber follows RFC 8259: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?
func skipNumber(b []byte, i int) (int, error) {
	digits := func(i int) (int, bool) {
		s := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
		}
		return i, i > s
	}
	if b[i] == '-' {
		i++
	}
	if i >= len(b) {
		return i, errSyntax
	}
	if b[i] == '0' {
		i++
	} else {
		var ok bool
		if i, ok = digits(i); !ok {
			return i, errSyntax
		}
	}
	if i < len(b) && b[i] == '.' {
		var ok bool
		if i, ok = digits(i + 1); !ok {
			return i, errSyntax
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		var ok bool
		if i, ok = digits(i); !ok {
			return i, errSyntax
		}
	}
	return i, nil
}

func skipObject(b []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return i, errSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errSyntax
		}
		var err error
		if i, err = skipString(b, i); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, errSyntax
		}
		if i, err = skipValue(b, skipWS(b, i+1), depth); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, errSyntax
		}
		if b[i] == '}' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return i, errSyntax
		}
		i = skipWS(b, i+1)
	}
}

func skipArray(b []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return i, errSyntax
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	for {
		var err error
		if i, err = skipValue(b, i, depth); err != nil {
			return i, err
		}
		i = skipWS(b, i)
		if i >= len(b) {
			return i, errSyntax
		}
		if b[i] == ']' {
			return i + 1, nil
		}
		if b[i] != ',' {
			return i, errSyntax
		}
		i = skipWS(b, i+1)
	}
}
