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

package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
)

const agreementQuery = "data.fivesafes.agreement.violations"

func mustBundle(t testing.TB, sources map[string]string) Bundle {
	t.Helper()
	b, err := NewBundle(sources)
	if err != nil {
		t.Fatalf("NewBundle: %v", err)
	}
	return b
}

func TestNewBundle(t *testing.T) {
	tests := []struct {
		name    string
		sources map[string]string
		want    []string
		err     error
	}{
		{
			name:    "modules only",
			sources: map[string]string{"b.rego": "package b", "a.rego": "package a"},
			want:    []string{"a.rego", "b.rego"},
		},
		{
			name:    "tests and other files left out",
			sources: map[string]string{"a.rego": "package a", "a_test.rego": "package a_test", "README.md": "#", "data.json": "{}"},
			want:    []string{"a.rego"},
		},
		{
			name:    "nested names kept",
			sources: map[string]string{"agreement/agreement.rego": "package a", "agreement/agreement_test.rego": "package a_test"},
			want:    []string{"agreement/agreement.rego"},
		},
		{name: "nothing but tests", sources: map[string]string{"a_test.rego": "package a_test"}, err: ErrEmptyBundle},
		{name: "empty", sources: nil, err: ErrEmptyBundle},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBundle(tt.sources)
			if !errors.Is(err, tt.err) {
				t.Fatalf("err = %v, want %v", err, tt.err)
			}
			if err != nil {
				return
			}
			if got := b.Names(); !slices.Equal(got, tt.want) {
				t.Errorf("Names() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestBundleDigest(t *testing.T) {
	base := map[string]string{"a.rego": "package a\n\nx := 1\n", "b.rego": "package b\n"}
	digestOf := func(m map[string]string) string { return mustBundle(t, m).Digest() }
	want := digestOf(base)
	if !regexp.MustCompile(`^sha256:[a-f0-9]{64}$`).MatchString(want) {
		t.Fatalf("digest %q is not sha256: and 64 lower-case hex characters", want)
	}

	same := []map[string]string{
		{"b.rego": "package b\n", "a.rego": "package a\n\nx := 1\n"},
		{"a.rego": "package a\n\nx := 1\n", "b.rego": "package b\n", "a_test.rego": "package a_test\n", "notes.txt": "x"},
	}
	for i, m := range same {
		if got := digestOf(m); got != want {
			t.Errorf("same[%d]: digest %s, want %s", i, got, want)
		}
	}

	different := map[string]map[string]string{
		"source changed":  {"a.rego": "package a\n\nx := 2\n", "b.rego": "package b\n"},
		"module renamed":  {"c.rego": "package a\n\nx := 1\n", "b.rego": "package b\n"},
		"module added":    {"a.rego": "package a\n\nx := 1\n", "b.rego": "package b\n", "c.rego": "package c\n"},
		"module removed":  {"a.rego": "package a\n\nx := 1\n"},
		"boundary moved":  {"a.rego": "package a\n\nx := 1\nb.rego", "b.rego": ""},
		"sources swapped": {"a.rego": "package b\n", "b.rego": "package a\n\nx := 1\n"},
	}
	seen := map[string]string{want: "base"}
	for name, m := range different {
		got := digestOf(m)
		if prev, ok := seen[got]; ok {
			t.Errorf("%s: digest equals that of %s", name, prev)
		}
		seen[got] = name
	}
}

func TestDefaultBundle(t *testing.T) {
	b, err := DefaultBundle()
	if err != nil {
		t.Fatal(err)
	}
	names := b.Names()
	if !slices.Contains(names, "agreement/agreement.rego") {
		t.Errorf("default bundle %v lacks agreement/agreement.rego", names)
	}
	for _, n := range names {
		if strings.HasSuffix(n, "_test.rego") {
			t.Errorf("default bundle holds test module %s", n)
		}
	}
}

func TestBundleFromFS(t *testing.T) {
	fsys := fstest.MapFS{
		"agreement/agreement.rego":      {Data: []byte("package a")},
		"agreement/agreement_test.rego": {Data: []byte("package a_test")},
		"egress/deep/egress.rego":       {Data: []byte("package e")},
		"embed.go":                      {Data: []byte("package policies")},
	}
	b, err := BundleFromFS(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"agreement/agreement.rego", "egress/deep/egress.rego"}
	if got := b.Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
	if src, ok := b.Source("egress/deep/egress.rego"); !ok || src != "package e" {
		t.Errorf("Source = %q, %v", src, ok)
	}
	if _, err := BundleFromFS(fstest.MapFS{"x.go": {Data: []byte("package x")}}); !errors.Is(err, ErrEmptyBundle) {
		t.Errorf("empty FS: err = %v, want ErrEmptyBundle", err)
	}
}

// TestFailClosed checks that nothing but a clean, defined, single result comes back as a value.
// failClosedCase is a policy and query whose evaluation must fail.
type failClosedCase struct {
	name      string
	src       string
	query     string
	input     any
	loadError bool
	undefined bool
}

func TestFailClosed(t *testing.T) {
	tests := []failClosedCase{
		{name: "syntax error", src: "package p\n\nallow if {", query: "data.p.allow", loadError: true},
		{name: "type error", src: "package p\n\nallow if { 1 + \"a\" }", query: "data.p.allow", loadError: true},
		{name: "unsafe builtin", src: "package p\n\nx := http.send({\"method\": \"get\", \"url\": \"http://127.0.0.1\"})", query: "data.p.x", loadError: true},
		{name: "rego v0 syntax", src: "package p\n\nallow { true }", query: "data.p.allow", loadError: true},
		{name: "query does not parse", src: "package p\n\nallow := true", query: "data.p.allow[", loadError: true},
		{name: "undefined rule", src: "package p\n\nallow if input.ok", query: "data.p.allow", input: map[string]any{"ok": false}, undefined: true},
		{name: "undefined package", src: "package p\n\nallow := true", query: "data.q.allow", undefined: true},
		{name: "no input", src: "package p\n\nallow if input.ok", query: "data.p.allow", undefined: true},
		{name: "builtin error", src: "package p\n\nx := to_number(input.n)", query: "data.p.x", input: map[string]any{"n": "ten"}},
		{name: "conflicting values", src: "package p\n\nx := 1 if input.a\n\nx := 2 if input.b", query: "data.p.x", input: map[string]any{"a": true, "b": true}},
		{name: "conflicting keys", src: "package p\n\nm[k] := v if {\n\tsome v in input.vs\n\tk := \"same\"\n}", query: "data.p.m", input: map[string]any{"vs": []any{1, 2}}},
		{name: "several results", src: "package p\n\nxs := [1, 2]", query: "data.p.xs[_]"},
		{name: "cancelled", src: "package p\n\nx if {\n\tsome i in numbers.range(1, 10000)\n\tsome j in numbers.range(1, 10000)\n\ti * j < 0\n}", query: "data.p.x"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"/planned", func(t *testing.T) { tt.check(t, NewEngine, true) })
		t.Run(tt.name+"/topdown", func(t *testing.T) { tt.check(t, NewTopdownEngine, false) })
	}
}

// check runs the case on an engine from newEngine, whose queries are planned or not.
func (tt failClosedCase) check(t *testing.T, newEngine func(context.Context, Bundle, ...string) (*Engine, error), planned bool) {
	b := mustBundle(t, map[string]string{"p.rego": tt.src})
	e, err := newEngine(context.Background(), b, tt.query)
	if tt.loadError {
		if err == nil {
			t.Fatal("NewEngine succeeded, want an error")
		}
		return
	}
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	if got, err := e.Planned(context.Background(), tt.query); err != nil || got != planned {
		t.Fatalf("Planned(%s) = %v, %v; want %v", tt.query, got, err, planned)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	res, err := e.Eval(ctx, tt.query, tt.input)
	if err == nil {
		t.Fatalf("Eval = %v, want an error", res.Value)
	}
	if got := errors.Is(err, ErrUndefined); got != tt.undefined {
		t.Errorf("errors.Is(%v, ErrUndefined) = %v, want %v", err, got, tt.undefined)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	vres, err := e.EvalValue(ctx, tt.query, tt.input)
	if err == nil {
		t.Fatalf("EvalValue = %v, want an error", vres.Value)
	}
	if got := errors.Is(err, ErrUndefined); got != tt.undefined {
		t.Errorf("EvalValue: errors.Is(%v, ErrUndefined) = %v, want %v", err, got, tt.undefined)
	}
}

func TestEvalEndedContext(t *testing.T) {
	e, err := NewEngine(context.Background(), versioned(t, 1), "data.p.version")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.Eval(ctx, "data.p.version", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Eval with an ended context: %v, want context.Canceled", err)
	}
	if _, err := e.EvalValue(ctx, "data.p.version", ast.Boolean(true)); !errors.Is(err, context.Canceled) {
		t.Errorf("EvalValue with an ended context: %v, want context.Canceled", err)
	}
}

// TestObserve checks that an observer is told of every evaluation, Eval and EvalValue alike, with
// its query, a duration and its error, including evaluations that fail closed.
func TestObserve(t *testing.T) {
	src := "package p\n\nallow if input.ok\n\nslow if {\n\tsome i in numbers.range(1, 20000)\n\ti < 0\n}\n"
	e, err := NewEngine(context.Background(), mustBundle(t, map[string]string{"p.rego": src}), "data.p.allow")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Eval(context.Background(), "data.p.allow", map[string]any{"ok": true}); err != nil {
		t.Fatalf("before Observe: %v", err)
	}
	type call struct {
		query string
		took  time.Duration
		err   error
	}
	var calls []call
	e.Observe(func(query string, took time.Duration, err error) {
		calls = append(calls, call{query, took, err})
	})
	if _, err := e.Eval(context.Background(), "data.p.allow", map[string]any{"ok": true}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.EvalValue(context.Background(), "data.p.allow", ast.MustParseTerm(`{"ok": false}`).Value); !errors.Is(err, ErrUndefined) {
		t.Fatalf("EvalValue of an undefined rule: %v, want ErrUndefined", err)
	}
	// Slow enough to be timed however coarse the clock.
	if _, err := e.Eval(context.Background(), "data.p.slow", nil); !errors.Is(err, ErrUndefined) {
		t.Fatalf("Eval of data.p.slow: %v, want ErrUndefined", err)
	}
	if _, err := e.Eval(context.Background(), "data.p.allow[", nil); err == nil {
		t.Fatal("a query that does not parse was evaluated")
	}
	want := []struct {
		query string
		err   bool
	}{{"data.p.allow", false}, {"data.p.allow", true}, {"data.p.slow", true}, {"data.p.allow[", true}}
	if len(calls) != len(want) {
		t.Fatalf("observer told of %d evaluations, want %d (the one before Observe not among them): %+v", len(calls), len(want), calls)
	}
	for i, w := range want {
		if calls[i].query != w.query || (calls[i].err != nil) != w.err {
			t.Errorf("evaluation %d: observed (%q, error %v), want (%q, error %v)", i, calls[i].query, calls[i].err, w.query, w.err)
		}
		if calls[i].took < 0 {
			t.Errorf("evaluation %d took %v", i, calls[i].took)
		}
	}
	if calls[1].err != nil && !errors.Is(calls[1].err, ErrUndefined) {
		t.Errorf("observed error %v, want ErrUndefined", calls[1].err)
	}
	if calls[2].took <= 0 {
		t.Errorf("an evaluation of 20,000 steps took %v", calls[2].took)
	}
}

// TestEvalValue checks that EvalValue gives the value Eval gives, left as OPA holds it, whether the
// input is a Go value or an ast.Value.
func TestEvalValue(t *testing.T) {
	ctx := context.Background()
	src := `package p

findings contains {"rule": "r", "n": n} if some n in input.ns

total := sum(input.ns)

names := [x | some x in input.names]
`
	e, err := NewEngine(ctx, mustBundle(t, map[string]string{"p.rego": src}))
	if err != nil {
		t.Fatal(err)
	}
	goInput := map[string]any{"ns": []int{3, 1, 2, 3}, "names": []string{"a", "b"}}
	astInput := ast.MustInterfaceToValue(map[string]any{"ns": []any{3, 1, 2, 3}, "names": []any{"a", "b"}})
	tests := []struct {
		query string
		want  string
	}{
		{query: "data.p.findings", want: `{{"n": 1, "rule": "r"}, {"n": 2, "rule": "r"}, {"n": 3, "rule": "r"}}`},
		{query: "data.p.total", want: "9"},
		{query: "data.p.names", want: `["a", "b"]`},
		{query: "data.p.total == 9", want: "true"},
	}
	for _, tt := range tests {
		want := ast.MustParseTerm(tt.want).Value
		for name, input := range map[string]any{"go input": goInput, "ast input": astInput} {
			res, err := e.EvalValue(ctx, tt.query, input)
			if err != nil {
				t.Fatalf("%s, %s: %v", tt.query, name, err)
			}
			if res.Value.Compare(want) != 0 || res.Revision != e.Revision() {
				t.Errorf("%s, %s: %v at %s, want %v at %s", tt.query, name, res.Value, res.Revision, want, e.Revision())
			}
			// Eval gives the same value, converted.
			plain, err := e.Eval(ctx, tt.query, input)
			if err != nil {
				t.Fatal(err)
			}
			converted, err := ast.JSON(res.Value)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(plain.Value)
			b, _ := json.Marshal(converted)
			if string(a) != string(b) {
				t.Errorf("%s, %s: Eval gave %s, EvalValue %s", tt.query, name, a, b)
			}
		}
	}
}

func TestEvalDecode(t *testing.T) {
	ctx := context.Background()
	src := `package p

findings contains {"rule": "r", "n": n} if some n in input.ns
`
	e, err := NewEngine(ctx, mustBundle(t, map[string]string{"p.rego": src}))
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Eval(ctx, "data.p.findings", map[string]any{"ns": []int{3, 1, 2, 3}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Revision != e.Revision() {
		t.Errorf("Revision = %s, want %s", res.Revision, e.Revision())
	}
	var got []struct {
		Rule string `json:"rule"`
		N    int    `json:"n"`
	}
	if err := res.Decode(&got); err != nil {
		t.Fatal(err)
	}
	sort.Slice(got, func(i, j int) bool { return got[i].N < got[j].N })
	if len(got) != 3 || got[0].N != 1 || got[2].N != 3 || got[1].Rule != "r" {
		t.Errorf("decoded %+v", got)
	}
	var wrong []string
	if err := res.Decode(&wrong); err == nil {
		t.Error("decoding objects into []string succeeded")
	}
	// An empty set is a defined value, not undefined.
	res, err = e.Eval(ctx, "data.p.findings", map[string]any{"ns": []int{}})
	if err != nil {
		t.Fatalf("empty set: %v", err)
	}
	if vs, ok := res.Value.([]any); !ok || len(vs) != 0 {
		t.Errorf("empty set decoded as %#v", res.Value)
	}
}

func versioned(t testing.TB, v int) Bundle {
	return mustBundle(t, map[string]string{"p.rego": fmt.Sprintf("package p\n\nversion := %d\n", v)})
}

func TestLoadSwapsAtomically(t *testing.T) {
	ctx := context.Background()
	const q = "data.p.version"
	e, err := NewEngine(ctx, versioned(t, 1), q)
	if err != nil {
		t.Fatal(err)
	}
	check := func(want int, bundle Bundle) {
		t.Helper()
		res, err := e.Eval(ctx, q, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := res.Value.(json.Number).String(); got != fmt.Sprint(want) {
			t.Errorf("version = %s, want %d", got, want)
		}
		if res.Revision != bundle.Digest() || e.Revision() != bundle.Digest() {
			t.Errorf("revision = %s (engine %s), want %s", res.Revision, e.Revision(), bundle.Digest())
		}
	}
	check(1, versioned(t, 1))

	if err := e.Load(ctx, versioned(t, 2)); err != nil {
		t.Fatal(err)
	}
	check(2, versioned(t, 2))

	broken := mustBundle(t, map[string]string{"p.rego": "package p\n\nversion := "})
	if err := e.Load(ctx, broken); err == nil {
		t.Fatal("loading a broken bundle succeeded")
	}
	check(2, versioned(t, 2))

	// A bundle with more modules loads; loading the current bundle again changes nothing.
	twoModules := mustBundle(t, map[string]string{"p.rego": "package p\n\nversion := 3\n", "q.rego": "package q\n\nx := 1\n"})
	if err := e.Load(ctx, twoModules); err != nil {
		t.Fatal(err)
	}
	check(3, twoModules)
	if err := e.Load(ctx, twoModules); err != nil {
		t.Errorf("reloading the current bundle: %v", err)
	}
}

// TestConcurrentEvalAndLoad evaluates from many goroutines while revisions are swapped: every
// result must come from one whole revision (its value matches its digest). Run with -race.
func TestConcurrentEvalAndLoad(t *testing.T) {
	ctx := context.Background()
	const q = "data.p.version"
	bundles := make([]Bundle, 4)
	byDigest := map[string]string{}
	for i := range bundles {
		bundles[i] = versioned(t, i)
		byDigest[bundles[i].Digest()] = fmt.Sprint(i)
	}
	e, err := NewEngine(ctx, bundles[0], q)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				res, err := e.Eval(ctx, q, map[string]any{"x": 1})
				if err != nil {
					errs <- err
					return
				}
				if got := res.Value.(json.Number).String(); got != byDigest[res.Revision] {
					errs <- fmt.Errorf("revision %s answered %s, want %s", res.Revision, got, byDigest[res.Revision])
					return
				}
			}
		}()
	}
	for i := range 40 {
		if err := e.Load(ctx, bundles[i%len(bundles)]); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestDefaultEngineEvaluatesAgreementPolicy(t *testing.T) {
	ctx := context.Background()
	e, err := NewDefaultEngine(ctx, agreementQuery)
	if err != nil {
		t.Fatal(err)
	}
	input := loadInput(t)
	res, err := e.Eval(ctx, agreementQuery, input)
	if err != nil {
		t.Fatal(err)
	}
	if vs, ok := res.Value.([]any); !ok || len(vs) != 0 {
		t.Fatalf("violations of the realistic agreement = %v, want none", res.Value)
	}
	spec := input["agreement"].(map[string]any)["spec"].(map[string]any)
	spec["reference"] = "not a reference"
	res, err = e.Eval(ctx, agreementQuery, input)
	if err != nil {
		t.Fatal(err)
	}
	if vs, ok := res.Value.([]any); !ok || len(vs) != 1 {
		t.Fatalf("violations = %v, want one", res.Value)
	}
}

func loadInput(t testing.TB) map[string]any {
	t.Helper()
	b, err := os.ReadFile("testdata/agreement-input.json")
	if err != nil {
		t.Fatal(err)
	}
	var input map[string]any
	if err := json.Unmarshal(b, &input); err != nil {
		t.Fatal(err)
	}
	return input
}

// BenchmarkEval measures one evaluation of the agreement policy on a realistic agreement and
// catalogue (2 datasets, 34 columns, 8 researchers) against the same engine's floor: a policy that
// allows everything, given the same input, in the same run. It reports p50 and p99 latency of
// both and their ratios.
func BenchmarkEval(b *testing.B) {
	ctx := context.Background()
	agreementEngine, err := NewDefaultEngine(ctx, agreementQuery)
	if err != nil {
		b.Fatal(err)
	}
	const allowQuery = "data.baseline.allow"
	baselineEngine, err := NewEngine(ctx, mustBundle(b, map[string]string{"baseline.rego": "package baseline\n\nallow := true\n"}), allowQuery)
	if err != nil {
		b.Fatal(err)
	}
	input := loadInput(b)
	agreement := make([]time.Duration, 0, b.N)
	baseline := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := agreementEngine.Eval(ctx, agreementQuery, input); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		if _, err := baselineEngine.Eval(ctx, allowQuery, input); err != nil {
			b.Fatal(err)
		}
		agreement = append(agreement, mid.Sub(start))
		baseline = append(baseline, time.Since(mid))
	}
	b.StopTimer()
	a50, a99 := percentiles(agreement)
	b50, b99 := percentiles(baseline)
	us := func(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
	b.ReportMetric(us(a50), "agreement-p50-µs")
	b.ReportMetric(us(a99), "agreement-p99-µs")
	b.ReportMetric(us(b50), "allow-p50-µs")
	b.ReportMetric(us(b99), "allow-p99-µs")
	b.ReportMetric(float64(a50)/float64(b50), "p50-ratio")
	b.ReportMetric(float64(a99)/float64(b99), "p99-ratio")
}

func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	at := func(p float64) time.Duration { return s[min(len(s)-1, int(p*float64(len(s))))] }
	return at(0.50), at(0.99)
}
