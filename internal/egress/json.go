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

// JSON validator states.
const (
	jsValue = iota
	jsObjKeyOrEnd
	jsObjKey
	jsColon
	jsArrValueOrEnd
	jsAfterValue
	jsTopSep
	jsTopNext
	jsString
	jsEscape
	jsHex
	jsNumber
	jsLiteral
)

// Number sub-states: what the number has so far.
const (
	numSign     = iota // "-"
	numZero            // "0" or "-0"
	numInt             // non-zero integer digits
	numDot             // "."
	numFrac            // fraction digits
	numExp             // "e" or "E"
	numExpSign         // exponent sign
	numExpDigit        // exponent digits
)

// jsonValidator checks, in a stream of chunks, that the input is one or more JSON values separated
// by whitespace (a JSON document, or JSON Lines), nesting at most maxDepth deep. It holds only the
// nesting stack.
type jsonValidator struct {
	maxDepth int
	stack    []byte
	state    uint8
	num      uint8
	isKey    bool
	lit      string
	hexLeft  int
	values   int
	invalid  bool
	tooDeep  bool
}

func newJSONValidator(maxDepth int) *jsonValidator {
	return &jsonValidator{maxDepth: maxDepth}
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// write validates the next chunk. It returns false once the input is known to be invalid.
func (v *jsonValidator) write(b []byte) bool {
	if v.invalid {
		return false
	}
	for i := 0; i < len(b); {
		c := b[i]
		switch v.state {
		case jsValue:
			if isJSONSpace(c) {
				i++
				continue
			}
			i++
			switch {
			case c == '{':
				if !v.push('{') {
					return false
				}
				v.state = jsObjKeyOrEnd
			case c == '[':
				if !v.push('[') {
					return false
				}
				v.state = jsArrValueOrEnd
			case c == '"':
				v.isKey = false
				v.state = jsString
			case c == '-':
				v.state, v.num = jsNumber, numSign
			case c == '0':
				v.state, v.num = jsNumber, numZero
			case c >= '1' && c <= '9':
				v.state, v.num = jsNumber, numInt
			case c == 't':
				v.state, v.lit = jsLiteral, "true"[1:]
			case c == 'f':
				v.state, v.lit = jsLiteral, "false"[1:]
			case c == 'n':
				v.state, v.lit = jsLiteral, "null"[1:]
			default:
				return v.fail()
			}
		case jsObjKeyOrEnd, jsObjKey:
			if isJSONSpace(c) {
				i++
				continue
			}
			i++
			switch {
			case c == '"':
				v.isKey = true
				v.state = jsString
			case c == '}' && v.state == jsObjKeyOrEnd:
				v.pop()
			default:
				return v.fail()
			}
		case jsColon:
			if isJSONSpace(c) {
				i++
				continue
			}
			i++
			if c != ':' {
				return v.fail()
			}
			v.state = jsValue
		case jsArrValueOrEnd:
			if isJSONSpace(c) {
				i++
				continue
			}
			if c == ']' {
				i++
				v.pop()
				continue
			}
			v.state = jsValue
		case jsAfterValue:
			if isJSONSpace(c) {
				i++
				continue
			}
			i++
			top := v.stack[len(v.stack)-1]
			switch {
			case c == ',' && top == '{':
				v.state = jsObjKey
			case c == ',' && top == '[':
				v.state = jsValue
			case c == '}' && top == '{', c == ']' && top == '[':
				v.pop()
			default:
				return v.fail()
			}
		case jsTopSep:
			if !isJSONSpace(c) {
				return v.fail()
			}
			i++
			v.state = jsTopNext
		case jsTopNext:
			if isJSONSpace(c) {
				i++
				continue
			}
			v.state = jsValue
		case jsString:
			j := i
			for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
				j++
			}
			i = j
			if i == len(b) {
				continue
			}
			i++
			switch b[j] {
			case '"':
				if v.isKey {
					v.state = jsColon
				} else {
					v.endValue()
				}
			case '\\':
				v.state = jsEscape
			default:
				return v.fail()
			}
		case jsEscape:
			i++
			switch c {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				v.state = jsString
			case 'u':
				v.state, v.hexLeft = jsHex, 4
			default:
				return v.fail()
			}
		case jsHex:
			i++
			if !isDigit(c) && (c|0x20 < 'a' || c|0x20 > 'f') {
				return v.fail()
			}
			v.hexLeft--
			if v.hexLeft == 0 {
				v.state = jsString
			}
		case jsNumber:
			if next, ok := numberStep(v.num, c); ok {
				v.num = next
				i++
				continue
			}
			if !numberComplete(v.num) {
				return v.fail()
			}
			v.endValue()
		case jsLiteral:
			i++
			if c != v.lit[0] {
				return v.fail()
			}
			v.lit = v.lit[1:]
			if v.lit == "" {
				v.endValue()
			}
		}
	}
	return true
}

// numberStep advances the number grammar by one byte.
func numberStep(s uint8, c byte) (uint8, bool) {
	d := isDigit(c)
	switch s {
	case numSign:
		if c == '0' {
			return numZero, true
		}
		if d {
			return numInt, true
		}
	case numZero, numInt:
		switch {
		case d && s == numInt:
			return numInt, true
		case c == '.':
			return numDot, true
		case c == 'e' || c == 'E':
			return numExp, true
		}
	case numDot, numFrac:
		if d {
			return numFrac, true
		}
		if s == numFrac && (c == 'e' || c == 'E') {
			return numExp, true
		}
	case numExp:
		if c == '+' || c == '-' {
			return numExpSign, true
		}
		if d {
			return numExpDigit, true
		}
	case numExpSign, numExpDigit:
		if d {
			return numExpDigit, true
		}
	}
	return s, false
}

func numberComplete(s uint8) bool {
	return s == numZero || s == numInt || s == numFrac || s == numExpDigit
}

func (v *jsonValidator) push(c byte) bool {
	if len(v.stack) >= v.maxDepth {
		v.tooDeep = true
		return v.fail()
	}
	v.stack = append(v.stack, c)
	return true
}

func (v *jsonValidator) pop() {
	v.stack = v.stack[:len(v.stack)-1]
	v.endValue()
}

func (v *jsonValidator) endValue() {
	if len(v.stack) == 0 {
		v.values++
		v.state = jsTopSep
		return
	}
	v.state = jsAfterValue
}

func (v *jsonValidator) fail() bool {
	v.invalid = true
	return false
}

// valid ends the input and reports whether it was valid JSON.
func (v *jsonValidator) valid() bool {
	if v.invalid {
		return false
	}
	if v.state == jsNumber && len(v.stack) == 0 && numberComplete(v.num) {
		v.endValue()
	}
	return v.values > 0 && (v.state == jsTopSep || v.state == jsTopNext)
}

// plausible reports whether what was written so far could begin valid JSON.
func (v *jsonValidator) plausible() bool { return !v.invalid }
