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

// Package policy is the one engine every Rego policy of the platform runs through. An Engine holds
// one policy revision at a time: a Bundle of modules compiled once, with each query prepared once
// per revision. A new revision (e.g. from a ConfigMap) is compiled and prepared aside and then
// swapped in atomically, so evaluations never see half a revision.
//
// Queries are evaluated from the plan OPA compiles them to (planned.go), or by OPA's topdown
// evaluator when their plan holds something the planned evaluator does not run; both give the same
// results, which the tests check on every platform policy.
//
// The engine fails closed: a module that does not compile, an evaluation error (builtin errors
// included, which plain OPA would turn into undefined) and an undefined result are all errors, so
// no caller can mistake a broken policy for an allow.
package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/util"
)

// ErrUndefined is returned when a query has no result: the policy says nothing, which is never
// taken as an allow.
var ErrUndefined = errors.New("policy query is undefined")

// networkBuiltins are builtins no platform policy may call: they reach the network, so a policy
// loaded from a ConfigMap could send its input away.
var networkBuiltins = map[string]bool{
	"http.send":          true,
	"net.lookup_ip_addr": true,
}

// capabilities are this OPA version's capabilities without the network builtins.
var capabilities = func() *ast.Capabilities {
	c := ast.CapabilitiesForThisVersion()
	kept := c.Builtins[:0]
	for _, b := range c.Builtins {
		if !networkBuiltins[b.Name] {
			kept = append(kept, b)
		}
	}
	c.Builtins = kept
	return c
}()

// Engine evaluates queries against the current policy revision. Make one with NewEngine or
// NewDefaultEngine; it is safe for concurrent use.
type Engine struct {
	loadMu   sync.Mutex // serialises Load
	cur      atomic.Pointer[revision]
	observer atomic.Pointer[Observer]
	// topdown has every query evaluated by OPA's topdown evaluator, not the planned one.
	topdown bool
}

// Observer is told of each evaluation once it ends: its query, how long it took, and its error
// (nil when it produced a value).
type Observer func(query string, took time.Duration, err error)

// Observe has o told of every evaluation from now on, for example to export their latency.
func (e *Engine) Observe(o Observer) {
	e.observer.Store(&o)
}

// revision is one compiled bundle and the queries prepared against it.
type revision struct {
	digest   string
	compiler *ast.Compiler
	store    storage.Store
	topdown  bool

	prepareMu sync.Mutex // serialises preparing a query not seen yet
	queries   sync.Map   // query string -> *rego.PreparedEvalQuery
}

// Result is the value a query produced and the policy revision that produced it.
type Result struct {
	// Value is the query's value decoded from Rego: maps, slices (sets become slices), strings,
	// bools, nil and json.Number.
	Value any
	// Revision is the digest of the bundle the query was evaluated against.
	Revision string
}

// Decode stores the result's value in the value pointed to by out, as encoding/json would.
func (r Result) Decode(out any) error {
	b, err := json.Marshal(r.Value)
	if err != nil {
		return fmt.Errorf("encoding policy result: %w", err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("decoding policy result: %w", err)
	}
	return nil
}

// NewEngine compiles b and prepares the given queries against it. Queries are evaluated from the
// plan OPA makes of them (see planned.go), or by OPA's topdown evaluator when their plan holds
// something the planned evaluator does not run.
func NewEngine(ctx context.Context, b Bundle, queries ...string) (*Engine, error) {
	e := &Engine{}
	if err := e.load(ctx, b, queries); err != nil {
		return nil, err
	}
	return e, nil
}

// NewTopdownEngine is NewEngine with every query evaluated by OPA's topdown evaluator: the
// reference the planned evaluator is tested against.
func NewTopdownEngine(ctx context.Context, b Bundle, queries ...string) (*Engine, error) {
	e := &Engine{topdown: true}
	if err := e.load(ctx, b, queries); err != nil {
		return nil, err
	}
	return e, nil
}

// Planned reports whether query is evaluated by the planned evaluator under the current revision,
// preparing it if it is not yet.
func (e *Engine) Planned(ctx context.Context, query string) (bool, error) {
	p, err := e.cur.Load().prepared(ctx, query)
	if err != nil {
		return false, err
	}
	return p.planned, nil
}

// NewDefaultEngine is NewEngine with the policies built into the binary.
func NewDefaultEngine(ctx context.Context, queries ...string) (*Engine, error) {
	b, err := DefaultBundle()
	if err != nil {
		return nil, err
	}
	return NewEngine(ctx, b, queries...)
}

// Load compiles b, prepares against it every query prepared for the current revision, and then
// makes it the current revision, e.g. when the policy ConfigMap changes. On error (b does not
// compile, or a query in use no longer compiles against it) the current revision stays in place.
// Loading the bundle that is already current does nothing.
func (e *Engine) Load(ctx context.Context, b Bundle) error {
	return e.load(ctx, b, nil)
}

func (e *Engine) load(ctx context.Context, b Bundle, queries []string) error {
	e.loadMu.Lock()
	defer e.loadMu.Unlock()
	old := e.cur.Load()
	if old != nil && old.digest == b.Digest() && len(queries) == 0 {
		return nil
	}
	if old != nil {
		old.queries.Range(func(k, _ any) bool {
			queries = append(queries, k.(string))
			return true
		})
	}
	rev, err := compile(b, e.topdown)
	if err != nil {
		return err
	}
	for _, q := range queries {
		if _, err := rev.prepared(ctx, q); err != nil {
			return err
		}
	}
	e.cur.Store(rev)
	return nil
}

// Revision returns the digest of the current policy revision.
func (e *Engine) Revision() string {
	return e.cur.Load().digest
}

// ValueResult is the value a query produced, as OPA holds it, and the policy revision that
// produced it.
type ValueResult struct {
	// Value is the query's value as Rego left it: objects, arrays and sets stay as they are, and
	// numbers keep their literal form. It may share parts with the policy and must not be changed.
	Value ast.Value
	// Revision is the digest of the bundle the query was evaluated against.
	Revision string
}

// Eval evaluates query (e.g. "data.fivesafes.agreement.violations") against input under the
// current revision. input is nil for no input, an ast.Value, which is used as it is, or any other
// value encoding/json can encode, which is converted through JSON. The query must produce exactly
// one value: an undefined query returns ErrUndefined, and every compile or evaluation error is
// returned as an error.
func (e *Engine) Eval(ctx context.Context, query string, input any) (Result, error) {
	v, rev, err := e.eval(ctx, query, input, false)
	if err != nil {
		return Result{}, err
	}
	return Result{Value: v, Revision: rev}, nil
}

// EvalValue is Eval without converting the query's value to Go values, for callers that read the
// value directly: converting a large value is a good part of the cost of an evaluation. Giving
// the input as an ast.Value spares converting it too.
func (e *Engine) EvalValue(ctx context.Context, query string, input any) (ValueResult, error) {
	v, rev, err := e.eval(ctx, query, input, true)
	if err != nil {
		return ValueResult{}, err
	}
	av, ok := v.(ast.Value)
	if !ok {
		// An expression that binds no value, such as a comparison, is reported as true.
		if av, err = ast.InterfaceToValue(v); err != nil {
			return ValueResult{}, fmt.Errorf("%s under policy %s: %w", query, rev, err)
		}
	}
	return ValueResult{Value: av, Revision: rev}, nil
}

// inputValue converts an input to a Rego value as OPA converts a raw input: through JSON, so that
// it reads as a policy sees it (struct field names and times as JSON writes them). An ast.Value is
// used as it is.
func inputValue(input any) (ast.Value, error) {
	if v, ok := input.(ast.Value); ok {
		return v, nil
	}
	if err := util.RoundTripFast(&input); err != nil {
		return nil, fmt.Errorf("converting the input: %w", err)
	}
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return nil, fmt.Errorf("converting the input: %w", err)
	}
	return v, nil
}

// keepValue leaves a query's value as OPA produced it.
func keepValue(t *ast.Term, _ *rego.EvalContext) (any, error) {
	return t.Value, nil
}

// eval evaluates query against input, and returns the query's value, as an ast.Value when raw is
// true, and the digest of the revision it was evaluated under. The observer, if any, is told.
func (e *Engine) eval(ctx context.Context, query string, input any, raw bool) (any, string, error) {
	o := e.observer.Load()
	if o == nil {
		return e.evaluate(ctx, query, input, raw)
	}
	start := time.Now()
	v, rev, err := e.evaluate(ctx, query, input, raw)
	(*o)(query, time.Since(start), err)
	return v, rev, err
}

// evaluate is eval without the observer.
func (e *Engine) evaluate(ctx context.Context, query string, input any, raw bool) (any, string, error) {
	rev := e.cur.Load()
	pq, err := rev.prepared(ctx, query)
	if err != nil {
		return nil, "", err
	}
	if err := ctx.Err(); err != nil {
		return nil, "", fmt.Errorf("evaluating %s under policy %s: %w", query, rev.digest, err)
	}
	// The evaluation is cancelled when ctx ends; a callback rather than the goroutine that OPA
	// would otherwise start for each evaluation.
	cancel := topdown.NewCancel()
	stop := context.AfterFunc(ctx, cancel.Cancel)
	defer stop()
	// Nothing reads the evaluation's metrics; the no-op ones cost nothing to keep.
	opts := make([]rego.EvalOption, 0, 5)
	opts = append(opts, rego.EvalExternalCancel(cancel), rego.EvalMetrics(metrics.NoOp()))
	if input != nil {
		// Both evaluators are given the input as a Rego value, converted here the one way.
		v, err := inputValue(input)
		if err != nil {
			return nil, "", fmt.Errorf("evaluating %s under policy %s: %w", query, rev.digest, err)
		}
		opts = append(opts, rego.EvalParsedInput(v))
	}
	if raw {
		opts = append(opts, rego.EvalGenerateJSON(keepValue))
	}
	var rs rego.ResultSet
	if pq.planned {
		rs, err = pq.query.Eval(ctx, opts...)
	} else {
		// The cache of rule values is emptied and kept for the next evaluation, not made anew.
		vc := getValueCache()
		rs, err = pq.query.Eval(ctx, append(opts, rego.EvalVirtualCache(vc))...)
		vc.release()
	}
	if err != nil {
		return nil, "", fmt.Errorf("evaluating %s under policy %s: %w", query, rev.digest, err)
	}
	switch {
	case len(rs) == 0 || len(rs[0].Expressions) == 0:
		return nil, "", fmt.Errorf("%s under policy %s: %w", query, rev.digest, ErrUndefined)
	case len(rs) > 1 || len(rs[0].Expressions) > 1:
		return nil, "", fmt.Errorf("%s under policy %s gave %d results, want one value", query, rev.digest, len(rs))
	}
	return rs[0].Expressions[0].Value, rev.digest, nil
}

// compile parses and compiles every module of b, as Rego v1, for the planned evaluator or, when
// topdown is true, for topdown only.
func compile(b Bundle, topdown bool) (*revision, error) {
	modules := make(map[string]*ast.Module, len(b.modules))
	for _, name := range b.Names() {
		m, err := ast.ParseModuleWithOpts(name, b.modules[name], ast.ParserOptions{RegoVersion: ast.RegoV1, Capabilities: capabilities})
		if err != nil {
			return nil, fmt.Errorf("parsing policy %s: %w", b.Digest(), err)
		}
		modules[name] = m
	}
	c := ast.NewCompiler().
		WithDefaultRegoVersion(ast.RegoV1).
		WithCapabilities(capabilities)
	c.Compile(modules)
	if c.Failed() {
		return nil, fmt.Errorf("compiling policy %s: %w", b.Digest(), c.Errors)
	}
	return &revision{digest: b.Digest(), compiler: c, store: inmem.New(), topdown: topdown}, nil
}

// prepared is a query prepared against a revision.
type prepared struct {
	query rego.PreparedEvalQuery
	// planned is true when the planned evaluator runs the query, false when topdown does.
	planned bool
}

// prepared returns query prepared against the revision, preparing it the first time.
func (r *revision) prepared(ctx context.Context, query string) (*prepared, error) {
	if p, ok := r.queries.Load(query); ok {
		return p.(*prepared), nil
	}
	r.prepareMu.Lock()
	defer r.prepareMu.Unlock()
	if p, ok := r.queries.Load(query); ok {
		return p.(*prepared), nil
	}
	prepare := func(opts ...func(*rego.Rego)) (rego.PreparedEvalQuery, error) {
		return rego.New(append([]func(*rego.Rego){
			rego.Query(query),
			rego.Compiler(r.compiler),
			rego.Store(r.store),
			rego.SetRegoVersion(ast.RegoV1),
			rego.StrictBuiltinErrors(true),
			rego.Capabilities(capabilities),
		}, opts...)...).PrepareForEval(ctx)
	}
	var pq rego.PreparedEvalQuery
	var err error
	planned := false
	if !r.topdown {
		// A query the planned evaluator cannot run (see planned.go) is evaluated by topdown.
		pq, err = prepare(rego.Target(plannedTarget))
		planned = err == nil
	}
	if !planned {
		if pq, err = prepare(rego.Target("rego"), rego.EvalMode(ast.EvalModeTopdown)); err != nil {
			return nil, fmt.Errorf("preparing %s under policy %s: %w", query, r.digest, err)
		}
	}
	p := &prepared{query: pq, planned: planned}
	r.queries.Store(query, p)
	return p, nil
}
