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
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/types"
)

// language is a module that uses every construct of Rego the platform's policies use, and more:
// rules with defaults and else chains, functions with several bodies, partial sets and objects,
// multi-value rules, comprehensions of every kind, some, every, not, indexing, builtins, sets and
// numbers. Its rules read input, so that each input takes them down other paths, errors included.
const language = `package t

default allow := false

allow if input.user == "admin"

allow if {
	some r in input.roles
	r == "approver"
}

level := "high" if {
	input.n > 10
} else := "mid" if {
	input.n > 5
} else := "low"

classify(x) := "negative" if x < 0

classify(x) := "zero" if x == 0

classify(x) := "positive" if x > 0

classes := [classify(x) | some x in input.nums]

names contains p.name if some p in input.people

ages[p.name] := p.age if some p in input.people

by_team[p.team] contains p.name if some p in input.people

doubled := [y | some x in input.nums; y := x * 2]

evens := {x | some x in input.nums; x % 2 == 0}

index := {k: v | some k, v in input.obj}

all_positive if every x in input.nums { x > 0 }

any_admin if {
	some p in input.people
	p.role == "admin"
}

no_admins if not any_admin

pairs contains [i, j] if {
	some i, x in input.nums
	some j, y in input.nums
	i < j
	x == y
}

summary := sprintf("%d people, the first %v", [count(input.people), object.get(input.people[0], "name", "unnamed")])

valid_ids := [id | some id in input.ids; regex.match(` + "`^[A-Z]{2}[0-9]{3}$`" + `, id)]

upper_names := {upper(n) | some n in names}

whole if 1 == 1.0

scaled := input.n * 1000000000000

common := {1, 2, 3} & {x | some x in input.nums}

has_a if input.obj.a

second := input.nums[1]

mixed := {1: "a", "1": "b", "k": [1, {"x": null}]}

first_team := t if {
	some p in input.people
	t := p.team
	t != null
}

nested := {team: members |
	some p in input.people
	team := p.team
	members := [q.name | some q in input.people; q.team == team]
}

count_by_role[role] := n if {
	some p in input.people
	role := p.role
	n := count([q | some q in input.people; q.role == role])
}

joined := concat(", ", sort([n | some n in names]))

lookup := object.get(input.obj, ["a", "b"], "missing")

subset if object.subset(input.obj, {"a": 1})

trimmed := trim_space(input.user)

total := sum([x | some x in input.nums])

largest := max(input.nums)

last := input.nums[count(input.nums) - 1]

same_value := input.a if input.a == input.b

conflict := x if {
	some x in input.nums
}

dup_keys[k] := v if {
	some v in input.nums
	k := "same"
}
`

// languageQueries are the rules of language evaluated one by one.
var languageQueries = []string{
	"data.t.allow", "data.t.level", "data.t.classes", "data.t.names", "data.t.ages", "data.t.by_team",
	"data.t.doubled", "data.t.evens", "data.t.index", "data.t.all_positive", "data.t.no_admins",
	"data.t.pairs", "data.t.summary", "data.t.valid_ids", "data.t.upper_names", "data.t.whole",
	"data.t.scaled", "data.t.common", "data.t.has_a", "data.t.second", "data.t.mixed",
	"data.t.first_team", "data.t.nested", "data.t.count_by_role", "data.t.joined", "data.t.lookup",
	"data.t.subset", "data.t.trimmed", "data.t.total", "data.t.largest", "data.t.last",
	"data.t.same_value", "data.t.conflict", "data.t.dup_keys",
}

// languageInputs take the rules of language down their different paths.
var languageInputs = []string{
	`{}`,
	`null`,
	`"a string"`,
	`{"user": "admin", "n": 11, "nums": [1, 2, 3, 2], "people": [{"name": "ann", "age": 30, "team": "red", "role": "admin"}, {"name": "bob", "age": 25, "team": "blue", "role": "viewer"}, {"name": "cy", "age": 41, "team": "red", "role": "viewer"}], "obj": {"a": 1, "b": [true]}, "ids": ["AB123", "ab123", "XY999", 7], "a": 1, "b": 1.0}`,
	`{"user": "  bob  ", "n": 6, "roles": ["viewer", "approver"], "nums": [-1, 0, 4], "people": [], "obj": {"a": {"b": "deep"}}, "ids": []}`,
	`{"n": 2, "nums": [5], "people": [{"name": "dee", "team": null, "role": "admin"}], "obj": {}, "a": "x", "b": "y"}`,
	`{"n": "eleven", "nums": ["1", 2], "people": [{"name": 1}, {"age": 3}], "obj": [1, 2], "ids": "AB123"}`,
	`{"n": 1e400, "nums": [1.5, 2.5, 2.5], "people": [{"name": "eve", "team": "x"}, {"name": "eve", "team": "y"}]}`,
	`{"nums": [], "people": [{"name": "fay", "age": 1, "team": "t", "role": "r"}, {"name": "fay", "age": 2, "team": "t", "role": "r"}]}`,
	`{"user": "admin", "roles": "approver", "nums": {"x": 1}, "obj": {"a": 1, "c": 2}}`,
}

// compareEvaluators evaluates query on input with the planned engine and the topdown engine and
// fails unless both give the same value, or both fail the same way.
//
// One difference is allowed when typeErrors is true: a builtin given an operand of the wrong type
// may fail the planned evaluation where topdown gives a value or nothing. Topdown's rule index can
// skip a rule whose body would fail, and topdown stops at the first body of a rule that gives a
// constant value; a plan evaluates every body, in order. The planned evaluator then fails closed.
func compareEvaluators(t *testing.T, planned, reference *Engine, query string, input ast.Value, typeErrors bool) {
	t.Helper()
	ctx := context.Background()
	var in any
	if input != nil {
		in = input
	}
	got, gotErr := planned.EvalValue(ctx, query, in)
	want, wantErr := reference.EvalValue(ctx, query, in)
	switch {
	case typeErrors && code(gotErr) == topdown.TypeErr && code(wantErr) != topdown.TypeErr:
		return
	case gotErr != nil || wantErr != nil:
		if (gotErr == nil) != (wantErr == nil) || errors.Is(gotErr, ErrUndefined) != errors.Is(wantErr, ErrUndefined) {
			t.Errorf("%s on %v: planned %v (error %v), topdown %v (error %v)", query, input, got.Value, gotErr, want.Value, wantErr)
			return
		}
		if code(gotErr) != code(wantErr) {
			t.Errorf("%s on %v: planned error %v, topdown error %v", query, input, gotErr, wantErr)
		}
	case got.Value.Compare(want.Value) != 0 || got.Value.String() != want.Value.String():
		t.Errorf("%s on %v: planned %v, topdown %v", query, input, got.Value, want.Value)
	case got.Revision != want.Revision:
		t.Errorf("%s: planned revision %s, topdown %s", query, got.Revision, want.Revision)
	}
}

// code is the code of an evaluation error, "" when it has none.
func code(err error) string {
	var e *topdown.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

func engines(t testing.TB, b Bundle, queries ...string) (planned, reference *Engine) {
	t.Helper()
	ctx := context.Background()
	planned, err := NewEngine(ctx, b, queries...)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	reference, err = NewTopdownEngine(ctx, b, queries...)
	if err != nil {
		t.Fatalf("NewTopdownEngine: %v", err)
	}
	for _, q := range queries {
		ok, err := planned.Planned(ctx, q)
		if err != nil || !ok {
			t.Fatalf("%s is not planned: %v", q, err)
		}
		if ok, _ := reference.Planned(ctx, q); ok {
			t.Fatalf("%s is planned by the topdown engine", q)
		}
	}
	return planned, reference
}

func parseInput(t testing.TB, s string) ast.Value {
	t.Helper()
	v, err := ast.ValueFromReader(strings.NewReader(s))
	if err != nil {
		t.Fatalf("input %s: %v", s, err)
	}
	return v
}

// TestPlannedMatchesTopdown checks that the planned evaluator gives what OPA's topdown evaluator
// gives, value or error, for every rule of language on every input of languageInputs, and for
// the platform's policies on their test inputs.
func TestPlannedMatchesTopdown(t *testing.T) {
	planned, reference := engines(t, mustBundle(t, map[string]string{"t.rego": language}), languageQueries...)
	for _, s := range languageInputs {
		in := parseInput(t, s)
		for _, q := range languageQueries {
			compareEvaluators(t, planned, reference, q, in, false)
		}
	}

	b, err := DefaultBundle()
	if err != nil {
		t.Fatal(err)
	}
	planned, reference = engines(t, b, platformQueries...)
	for _, s := range platformInputs(t) {
		in := parseInput(t, s)
		for _, q := range platformQueries {
			compareEvaluators(t, planned, reference, q, in, false)
		}
	}
}

// platformQueries are the queries the platform evaluates.
var platformQueries = []string{agreementQuery, "data.fivesafes.egress.decision"}

// platformInputs are the test inputs of the platform's policies.
func platformInputs(t testing.TB) []string {
	t.Helper()
	var out []string
	for _, name := range []string{"testdata/agreement-input.json", "testdata/egress-input.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// TestPlannedFallsBack checks that a query whose plan holds what the planned evaluator does not
// run (with, builtins that are not deterministic, builtins with several results) is evaluated by
// topdown, correctly.
func TestPlannedFallsBack(t *testing.T) {
	ctx := context.Background()
	src := `package f

limit := input.limit

small := [x | some x in input.xs; x < limit]

scoped := s if s := small with input.limit as 3

stamped if time.now_ns() > 0

paths := [p | walk(input, [p, _])]
`
	e, err := NewEngine(ctx, mustBundle(t, map[string]string{"f.rego": src}), "data.f.small")
	if err != nil {
		t.Fatal(err)
	}
	input := map[string]any{"limit": 5, "xs": []any{1, 4, 6}}
	for q, want := range map[string]string{
		"data.f.small":   "[1, 4]",
		"data.f.scoped":  "[1]",
		"data.f.stamped": "true",
		"data.f.paths":   `[[], ["limit"], ["xs"], ["xs", 0], ["xs", 1], ["xs", 2]]`,
	} {
		res, err := e.EvalValue(ctx, q, input)
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if res.Value.String() != want {
			t.Errorf("%s = %v, want %s", q, res.Value, want)
		}
		planned, err := e.Planned(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if wantPlanned := q == "data.f.small"; planned != wantPlanned {
			t.Errorf("Planned(%s) = %v, want %v", q, planned, wantPlanned)
		}
	}
}

// FuzzPlannedMatchesTopdown compares the planned evaluator with topdown on any JSON input, for
// the rules of language and the platform's policies.
func FuzzPlannedMatchesTopdown(f *testing.F) {
	for _, s := range languageInputs {
		f.Add([]byte(s))
	}
	for _, s := range platformInputs(f) {
		f.Add([]byte(s))
	}
	lp, lr := engines(f, mustBundle(f, map[string]string{"t.rego": language}), languageQueries...)
	b, err := DefaultBundle()
	if err != nil {
		f.Fatal(err)
	}
	pp, pr := engines(f, b, platformQueries...)
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := ast.ValueFromReader(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, q := range languageQueries {
			compareEvaluators(t, lp, lr, q, in, true)
		}
		for _, q := range platformQueries {
			compareEvaluators(t, pp, pr, q, in, false)
		}
	})
}

// capture is a target plugin for tests: the planned evaluator, which keeps the last program it
// prepared and the context of the last evaluation it ran.
type capture struct {
	mu   sync.Mutex
	prog *program
	ectx *rego.EvalContext
}

const captureTarget = "fivesafes-test-capture"

var captured = &capture{}

func init() { rego.RegisterPlugin(captureTarget, captured) }

func (*capture) IsTarget(t string) bool { return t == captureTarget }

func (c *capture) PrepareForEval(_ context.Context, p *ir.Policy, _ ...rego.PrepareOption) (rego.TargetPluginEval, error) {
	prog, err := newProgram(p)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.prog = prog
	return c, nil
}

func (c *capture) Eval(ctx context.Context, ectx *rego.EvalContext, rt ast.Value) (ast.Value, error) {
	c.mu.Lock()
	c.ectx = ectx
	prog := c.prog
	c.mu.Unlock()
	return prog.Eval(ctx, ectx, rt)
}

// plannedProgram returns the program of query planned against src.
func plannedProgram(t *testing.T, src, query string) *program {
	t.Helper()
	rev, err := compile(mustBundle(t, map[string]string{"p.rego": src}), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rego.New(rego.Query(query), rego.Compiler(rev.compiler), rego.Target(captureTarget)).PrepareForEval(context.Background()); err != nil {
		t.Fatal(err)
	}
	captured.mu.Lock()
	defer captured.mu.Unlock()
	return captured.prog
}

// TestPlannedConstants checks that the rules that read neither input nor data, and only those, are
// kept from one evaluation for the next, and that each evaluation still sees its own input through
// every other rule.
func TestPlannedConstants(t *testing.T) {
	src := `package p

k := {"a": [1, 2], "b": {"c": true}}

ks := {x | some x in k.a}

via := input.v

alias := y if {
	i := input
	y := i.v
}

through := via + 1

mixed := [k.b.c, via]

nothing if input.never

result := {"k": k, "ks": ks, "via": via, "alias": alias, "through": through, "mixed": mixed}
`
	prog := plannedProgram(t, src, "data.p.result")
	constant := map[string]bool{}
	for _, fn := range prog.funcs {
		constant[strings.TrimPrefix(fn.name, "g0.data.p.")] = fn.constant
	}
	want := map[string]bool{"k": true, "ks": true, "via": false, "alias": false, "through": false, "mixed": false, "result": false}
	for name, w := range want {
		if constant[name] != w {
			t.Errorf("%s: constant %v, want %v", name, constant[name], w)
		}
	}
	e, err := NewEngine(context.Background(), mustBundle(t, map[string]string{"p.rego": src}), "data.p.result")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []int{1, 2, 1} {
		res, err := e.EvalValue(context.Background(), "data.p.result", map[string]any{"v": v})
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf(`{"alias": %d, "k": {"a": [1, 2], "b": {"c": true}}, "ks": {1, 2}, "mixed": [true, %d], "through": %d, "via": %d}`, v, v, v+1, v)
		if res.Value.String() != want {
			t.Errorf("v=%d: %v, want %s", v, res.Value, want)
		}
	}
}

// TestPlannedChangesOnlyWhatItMade runs plans, written by hand, that change a value the evaluation
// did not make: a constant rule's value kept for every evaluation, and the input. Each must fail,
// never change the value.
func TestPlannedChangesOnlyWhatItMade(t *testing.T) {
	str := func(i int) ir.Operand { return ir.Operand{Value: ir.StringIndex(i)} }
	loc := func(l int) ir.Operand { return ir.Operand{Value: ir.Local(l)} }
	constRule := &ir.Func{Name: "g0.data.t.c", Params: []ir.Local{0, 1}, Return: 2, Blocks: []*ir.Block{
		{Stmts: []ir.Stmt{
			&ir.MakeObjectStmt{Target: 3},
			&ir.ObjectInsertStmt{Key: str(0), Value: str(0), Object: 3},
			&ir.AssignVarOnceStmt{Source: loc(3), Target: 2},
		}},
		{Stmts: []ir.Stmt{&ir.ReturnLocalStmt{Source: 2}}},
	}}
	plan := func(stmts ...ir.Stmt) *ir.Policy {
		return &ir.Policy{
			Static: &ir.Static{Strings: []*ir.StringConst{{Value: "a"}, {Value: "b"}, {Value: "x"}}},
			Funcs:  &ir.Funcs{Funcs: []*ir.Func{constRule}},
			Plans: &ir.Plans{Plans: []*ir.Plan{{Name: "eval", Blocks: []*ir.Block{{Stmts: append(stmts,
				&ir.MakeObjectStmt{Target: 4},
				&ir.ObjectInsertStmt{Key: str(2), Value: loc(2), Object: 4},
				&ir.ResultSetAddStmt{Value: 4},
			)}}}}},
		}
	}
	call := &ir.CallStmt{Func: constRule.Name, Args: []ir.Operand{loc(0), loc(1)}, Result: 2}
	tests := map[string]*ir.Policy{
		"constant": plan(call, &ir.ObjectInsertStmt{Key: str(1), Value: str(1), Object: 2}),
		"input":    plan(&ir.AssignVarStmt{Source: loc(0), Target: 2}, &ir.ObjectInsertStmt{Key: str(1), Value: str(1), Object: 0}),
	}
	for name, pol := range tests {
		prog, err := newProgram(pol)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		input := ast.NewObject()
		for range 2 {
			_, err := prog.Eval(context.Background(), evalContext(t, input), nil)
			if err == nil || !strings.Contains(err.Error(), "did not make") {
				t.Errorf("%s: %v, want an error", name, err)
			}
		}
		if input.Len() != 0 {
			t.Errorf("%s: the input became %v", name, input)
		}
	}
	// The rule's value, kept after the first evaluation, is unchanged.
	prog, err := newProgram(plan(call))
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		v, err := prog.Eval(context.Background(), evalContext(t, ast.NewObject()), nil)
		if err != nil || v.String() != `{{"x": {"a": "a"}}}` {
			t.Errorf("Eval = %v, %v", v, err)
		}
	}
}

// evalContext is the context rego gives a target plugin's evaluation of a query, with input.
func evalContext(t *testing.T, input ast.Value) *rego.EvalContext {
	t.Helper()
	pq, err := rego.New(rego.Query("x := 1"), rego.Target(captureTarget)).PrepareForEval(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pq.Eval(context.Background(), rego.EvalParsedInput(input)); err != nil {
		t.Fatal(err)
	}
	captured.mu.Lock()
	defer captured.mu.Unlock()
	return captured.ectx
}

// TestObjectLiterals checks which runs of statements become one object literal.
func TestObjectLiterals(t *testing.T) {
	k := func(s string) operand { return operand{term: ast.StringTerm(s)} }
	l := func(i int) operand { return operand{local: i} }
	ins := func(key, value operand, obj int) instr {
		return instr{op: opObjectInsert, a: key, b: value, target: obj}
	}
	mk := instr{op: opMakeObject, target: 5}
	tests := []struct {
		name string
		in   []instr
		want []opcode
	}{
		{"constant keys", []instr{mk, ins(k("a"), l(1), 5), ins(k("b"), k("x"), 5)}, []opcode{opMakeObjectWith}},
		{"then another object", []instr{mk, ins(k("a"), l(1), 5), ins(k("b"), l(2), 6)}, []opcode{opMakeObjectWith, opObjectInsert}},
		{"a repeated key", []instr{mk, ins(k("a"), l(1), 5), ins(k("a"), l(2), 5)}, []opcode{opMakeObjectWith, opObjectInsert}},
		{"a key from a local", []instr{mk, ins(l(3), l(1), 5), ins(k("b"), l(2), 5)}, []opcode{opMakeObject, opObjectInsert, opObjectInsert}},
		{"the object as a value", []instr{mk, ins(k("a"), l(5), 5)}, []opcode{opMakeObject, opObjectInsert}},
		{"nothing inserted", []instr{mk, {op: opNop}}, []opcode{opMakeObject, opNop}},
	}
	for _, tt := range tests {
		var got []opcode
		for _, in := range objectLiterals(slices.Clone(tt.in)) {
			got = append(got, in.op)
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPlannedPanicFails checks that a builtin that panics fails the evaluation, not the process.
func TestPlannedPanicFails(t *testing.T) {
	panicOnce.Do(func() {
		rego.RegisterBuiltin1(&rego.Function{Name: "fivesafes_test.panic", Decl: types.NewFunction(types.Args(types.A), types.A)},
			func(rego.BuiltinContext, *ast.Term) (*ast.Term, error) { panic("boom") })
	})
	ctx := context.Background()
	pq, err := rego.New(rego.Query("data.p.x"), rego.Module("p.rego", "package p\n\nx := fivesafes_test.panic(input)\n"), rego.Target(captureTarget)).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if _, err := pq.Eval(ctx, rego.EvalInput(1)); err == nil || !strings.Contains(err.Error(), "boom") {
			t.Errorf("Eval: %v, want the panic as an error", err)
		}
	}
}

var panicOnce sync.Once
