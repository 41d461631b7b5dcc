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
	"fmt"
	"sync"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

func ref(t *testing.T, s string) ast.Ref {
	t.Helper()
	r, err := ast.ParseRef(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestValueCache(t *testing.T) {
	c := getValueCache()
	defer c.release()
	a, b := ref(t, `data.p.f["x"]["y"]`), ref(t, `data.p.f["y"]["x"]`)
	if a.Hash() != b.Hash() {
		t.Fatalf("the test needs two references with one hash")
	}
	if v, undefined := c.Get(a); v != nil || undefined {
		t.Fatalf("empty cache: Get = %v, %v", v, undefined)
	}
	// The caller may reuse the slice it passed.
	buf := append(ast.Ref{}, a...)
	c.Put(buf, ast.IntNumberTerm(1))
	buf[3] = ast.StringTerm("z")
	c.Put(b, nil)
	if v, undefined := c.Get(a); v == nil || !v.Equal(ast.IntNumberTerm(1)) || undefined {
		t.Errorf("Get(%v) = %v, %v; want 1, false", a, v, undefined)
	}
	if v, undefined := c.Get(b); v != nil || !undefined {
		t.Errorf("Get(%v) = %v, %v; want nil, true", b, v, undefined)
	}
	if v, undefined := c.Get(ref(t, `data.p.f["z"]["y"]`)); v != nil || undefined {
		t.Errorf("a reference never put: Get = %v, %v", v, undefined)
	}
	c.Put(a, ast.IntNumberTerm(2))
	if v, _ := c.Get(a); !v.Equal(ast.IntNumberTerm(2)) {
		t.Errorf("after a second Put, Get = %v; want 2", v)
	}
	if got := len(c.Keys()); got != 2 {
		t.Errorf("Keys() has %d references, want 2", got)
	}

	// A pushed frame starts empty and goes with what was put in it.
	c.Push()
	if v, undefined := c.Get(a); v != nil || undefined {
		t.Errorf("new frame: Get = %v, %v", v, undefined)
	}
	c.Put(a, ast.IntNumberTerm(3))
	c.Put(ref(t, "data.p.g"), ast.BooleanTerm(true))
	if v, _ := c.Get(a); !v.Equal(ast.IntNumberTerm(3)) {
		t.Errorf("new frame: Get = %v; want 3", v)
	}
	if got := len(c.Keys()); got != 2 {
		t.Errorf("new frame: Keys() has %d references, want 2", got)
	}
	c.Pop()
	if v, _ := c.Get(a); !v.Equal(ast.IntNumberTerm(2)) {
		t.Errorf("after Pop, Get = %v; want 2", v)
	}
	if v, undefined := c.Get(ref(t, "data.p.g")); v != nil || undefined {
		t.Errorf("after Pop, the popped frame's entry is still there: %v, %v", v, undefined)
	}

	// A released cache comes back empty.
	c.release()
	c = getValueCache()
	for _, r := range []ast.Ref{a, b} {
		if v, undefined := c.Get(r); v != nil || undefined {
			t.Errorf("reused cache: Get(%v) = %v, %v", r, v, undefined)
		}
	}
}

// cachePolicy uses what the value cache serves: complete and partial rules, functions called
// again with the same arguments, undefined results, and `with`, which evaluates under a new frame.
const cachePolicy = `package p

limit := input.limit

small contains x if {
	some x in input.xs
	x < limit
}

big[x] := x * 2 if {
	some x in input.xs
	x >= limit
}

double(x) := x * 2

sum_double := sum([double(x) | some x in input.xs]) + sum([double(x) | some x in input.xs])

none_over := count([x | some x in input.xs; over(x)]) == 0

over(x) if x > 1000

scoped := {"small": s3, "again": small, "big": b10} if {
	s3 := small with input.limit as 3
	b10 := big with input.xs as [10]
}

result := {"small": small, "big": big, "sum_double": sum_double, "none_over": none_over, "scoped": scoped, "missing": object.get({}, "k", "default")}
`

func TestValueCacheAgreesWithOPA(t *testing.T) {
	ctx := context.Background()
	// The cache serves topdown only; the planned evaluator keeps rule values in its own frames.
	eng, err := NewTopdownEngine(ctx, mustBundle(t, map[string]string{"p.rego": cachePolicy}), "data.p.result")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := rego.New(rego.Query("data.p.result"), rego.Module("p.rego", cachePolicy), rego.SetRegoVersion(ast.RegoV1)).PrepareForEval(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				input := map[string]any{"limit": i % 7, "xs": []any{w, i, i + 1, 5, 9}}
				got, err := eng.EvalValue(ctx, "data.p.result", input)
				if err != nil {
					errs <- err
					return
				}
				rs, err := plain.Eval(ctx, rego.EvalInput(input), rego.EvalGenerateJSON(keepValue))
				if err != nil {
					errs <- err
					return
				}
				want := rs[0].Expressions[0].Value.(ast.Value)
				if got.Value.Compare(want) != 0 {
					errs <- fmt.Errorf("input %v: engine gave %v, OPA's own cache %v", input, got.Value, want)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
