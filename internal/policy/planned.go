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
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/ir"
	"github.com/open-policy-agent/opa/v1/metrics"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/topdown"
)

// The planned evaluator runs a query as OPA's planner writes it out: a program of blocks of simple
// statements over numbered locals (the intermediate representation OPA compiles to WebAssembly,
// https://www.openpolicyagent.org/docs/ir). OPA's own evaluator, topdown, unifies terms under
// bindings for every expression, which allocates at every step; a planned query only reads and
// writes locals, and calls OPA's own implementations of the builtins. Policies are still written,
// compiled, planned and tested by OPA; this file only runs the plan.
//
// It implements OPA's target plugin interface, so that rego prepares and plans the query and hands
// over the plan. A plan it cannot run (a statement or builtin it does not implement) is refused
// when the query is prepared, and the engine then evaluates that query with topdown: nothing is
// ever evaluated in part.

// plannedTarget is the rego target name of the planned evaluator.
const plannedTarget = "fivesafes-planned"

func init() {
	rego.RegisterPlugin(plannedTarget, plannedPlugin{})
}

type plannedPlugin struct{}

func (plannedPlugin) IsTarget(t string) bool { return t == plannedTarget }

func (plannedPlugin) PrepareForEval(_ context.Context, p *ir.Policy, _ ...rego.PrepareOption) (rego.TargetPluginEval, error) {
	return newProgram(p)
}

// errUnplannable marks a plan the evaluator cannot run.
var errUnplannable = errors.New("plan not supported by the planned evaluator")

// opcode is the kind of one instruction.
type opcode uint8

const (
	opAssign opcode = iota
	opAssignOnce
	opReset
	opConst
	opCall
	opBuiltin
	opDot
	opLen
	opScan
	opNot
	opBlocks
	opBreak
	opReturn
	opEqual
	opNotEqual
	opIsArray
	opIsObject
	opIsSet
	opIsDefined
	opIsUndefined
	opMakeArray
	opMakeObject
	opMakeObjectWith
	opMakeSet
	opArrayAppend
	opObjectInsert
	opObjectInsertOnce
	opSetAdd
	opResultSetAdd
	opNop
)

// operand is a local, or a constant when term is set.
type operand struct {
	local int
	term  *ast.Term
}

// instr is one statement of a plan with its names resolved: locals are indexes into the frame,
// strings and numbers are terms made once, and calls point at their function or builtin.
type instr struct {
	op      opcode
	a, b    operand
	target  int
	key     int // a scan's key local
	n       int // a break's depth
	block   *block
	blocks  []*block
	fn      *function
	builtin topdown.BuiltinFunc
	args    []operand
	loc     *ast.Location
}

type block struct {
	instrs []instr
}

// function is a planned rule or function: its body, its parameters and return locals, and the
// size of its frame and of the deepest chain of frames it calls.
type function struct {
	name   string
	params []int
	ret    int
	blocks []*block
	locals int
	depth  int // locals of this frame and the deepest chain of calls from it
	memo   int // index of its memoised value, or -1: rules without arguments are evaluated once
	// constant is true for a rule whose value does not depend on input or data.
	constant bool
}

// program is one prepared query.
type program struct {
	plan  *function
	funcs []*function
	// shared holds, by memo index, the values of the constant rules (see findConstants) that an
	// evaluation has computed, for every later evaluation; undefinedValue stands for undefined.
	shared   []atomic.Pointer[ast.Term]
	machines sync.Pool
}

// Break codes returned by running a block: done is a block run to its end; a code n >= 0 leaves
// n blocks beyond the current one; returned leaves the function.
const (
	done     = -1
	returned = 1 << 30
)

// Terms shared by every evaluation; the evaluator never changes a term it did not make.
var (
	nullTerm = ast.NullTerm()
	// undefinedValue stands for a constant rule found undefined.
	undefinedValue = &ast.Term{}
	emptyData      = ast.NewTerm(ast.NewObject())
	noMetrics      = metrics.NoOp()
)

// compiler turns an ir.Policy into a program.
type compiler struct {
	files   []string
	strings []*ast.Term
	numbers map[int]*ast.Term
	funcs   map[string]*function
	memos   int
}

func newProgram(p *ir.Policy) (*program, error) {
	if len(p.UnplannedRules) > 0 {
		return nil, fmt.Errorf("%w: %d rules were not planned", errUnplannable, len(p.UnplannedRules))
	}
	if p.Plans == nil || len(p.Plans.Plans) != 1 {
		return nil, fmt.Errorf("%w: want one plan", errUnplannable)
	}
	c := &compiler{numbers: map[int]*ast.Term{}, funcs: map[string]*function{}}
	if p.Static != nil {
		for _, s := range p.Static.Strings {
			c.strings = append(c.strings, ast.StringTerm(s.Value))
		}
		for _, f := range p.Static.Files {
			c.files = append(c.files, f.Value)
		}
	}
	prog := &program{}
	// Functions are declared first, so that calls resolve whatever their order.
	if p.Funcs != nil {
		for _, f := range p.Funcs.Funcs {
			fn := &function{name: f.Name, ret: int(f.Return), memo: -1}
			for _, l := range f.Params {
				fn.params = append(fn.params, int(l))
			}
			if len(f.Params) == 2 {
				fn.memo = c.memos
				c.memos++
			}
			c.funcs[f.Name] = fn
			prog.funcs = append(prog.funcs, fn)
		}
		for _, f := range p.Funcs.Funcs {
			fn := c.funcs[f.Name]
			var err error
			if fn.blocks, fn.locals, err = c.body(f.Blocks, int(f.Return)); err != nil {
				return nil, fmt.Errorf("%s: %w", f.Name, err)
			}
		}
	}
	plan := p.Plans.Plans[0]
	blocks, locals, err := c.body(plan.Blocks, 0)
	if err != nil {
		return nil, fmt.Errorf("plan %s: %w", plan.Name, err)
	}
	prog.plan = &function{name: plan.Name, params: []int{int(ir.Input), int(ir.Data)}, blocks: blocks, locals: locals, memo: -1}
	// Frame depths; calls form no cycles, as Rego has no recursion.
	depths := map[*function]int{}
	var depth func(fn *function, seen map[*function]bool) (int, error)
	depth = func(fn *function, seen map[*function]bool) (int, error) {
		if d, ok := depths[fn]; ok {
			return d, nil
		}
		if seen[fn] {
			return 0, fmt.Errorf("%w: %s calls itself", errUnplannable, fn.name)
		}
		seen[fn] = true
		deepest := 0
		var err error
		walkInstrs(fn.blocks, func(in *instr) {
			if in.op == opCall && err == nil {
				var d int
				d, err = depth(in.fn, seen)
				deepest = max(deepest, d)
			}
		})
		if err != nil {
			return 0, err
		}
		depths[fn] = fn.locals + deepest
		return depths[fn], nil
	}
	for _, fn := range append(prog.funcs, prog.plan) {
		if fn.depth, err = depth(fn, map[*function]bool{}); err != nil {
			return nil, err
		}
	}
	prog.machines.New = func() any { return prog.newMachine() }
	prog.shared = make([]atomic.Pointer[ast.Term], c.memos)
	prog.findConstants()
	return prog, nil
}

// findConstants marks every rule that reads neither input nor data, directly or through the rules
// it calls: its value is the same in every evaluation. The first evaluation that computes it keeps
// it for the others; it is computed then, not when the query is prepared, so that the evaluation's
// context bounds it and an error is reported where it happens.
func (p *program) findConstants() {
	constant := map[*function]bool{}
	var isConstant func(fn *function) bool
	isConstant = func(fn *function) bool {
		if c, ok := constant[fn]; ok {
			return c
		}
		constant[fn] = false // no cycles; a rule is not constant while it is being decided
		if fn.memo < 0 {
			return false
		}
		ok := true
		walkInstrs(fn.blocks, func(in *instr) {
			for _, o := range in.reads() {
				if o.term == nil && (o.local == int(ir.Input) || o.local == int(ir.Data)) && (in.op != opCall || !isConstant(in.fn)) {
					ok = false
				}
			}
		})
		constant[fn] = ok
		return ok
	}
	for _, fn := range p.funcs {
		fn.constant = isConstant(fn)
	}
}

// reads returns the operands an instruction reads.
func (in *instr) reads() []operand {
	switch in.op {
	case opCall, opBuiltin, opMakeObjectWith:
		return in.args
	case opDot, opEqual, opNotEqual, opObjectInsert, opObjectInsertOnce:
		return []operand{in.a, in.b}
	case opAssign, opAssignOnce, opConst, opLen, opScan, opReturn, opIsArray, opIsObject, opIsSet,
		opIsDefined, opIsUndefined, opArrayAppend, opSetAdd, opResultSetAdd:
		return []operand{in.a}
	case opReset, opNot, opBlocks, opBreak, opMakeArray, opMakeObject, opMakeSet, opNop:
		return nil
	}
	// An instruction not listed reads input, as far as anyone can tell.
	return []operand{{local: int(ir.Input)}}
}

// walkInstrs calls f on every instruction of blocks, nested ones included.
func walkInstrs(blocks []*block, f func(*instr)) {
	for _, b := range blocks {
		for i := range b.instrs {
			in := &b.instrs[i]
			f(in)
			if in.block != nil {
				walkInstrs([]*block{in.block}, f)
			}
			walkInstrs(in.blocks, f)
		}
	}
}

// body compiles a function's blocks and returns them with the size of its frame.
func (c *compiler) body(blocks []*ir.Block, ret int) ([]*block, int, error) {
	locals := max(ret, int(ir.Data)) + 1
	out := make([]*block, 0, len(blocks))
	for _, b := range blocks {
		cb, err := c.block(b, &locals)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, cb)
	}
	return out, locals, nil
}

func (c *compiler) block(b *ir.Block, locals *int) (*block, error) {
	out := &block{instrs: make([]instr, 0, len(b.Stmts))}
	for _, s := range b.Stmts {
		in, err := c.instr(s, locals)
		if err != nil {
			return nil, err
		}
		out.instrs = append(out.instrs, in)
	}
	out.instrs = objectLiterals(out.instrs)
	return out, nil
}

// objectLiterals joins an object made and then given constant, distinct keys by the statements
// that follow, as the planner writes an object literal, into one statement that makes the object
// with its keys: one allocation for all of them, not one and a rehash for each.
func objectLiterals(instrs []instr) []instr {
	out := instrs[:0]
	for i := 0; i < len(instrs); i++ {
		in := instrs[i]
		if in.op != opMakeObject {
			out = append(out, in)
			continue
		}
		j := i + 1
		for ; j < len(instrs); j++ {
			next := instrs[j]
			if next.op != opObjectInsert || next.target != in.target || next.a.term == nil ||
				(next.b.term == nil && next.b.local == in.target) || hasKey(in.args, next.a.term) {
				break
			}
			in.args = append(in.args, next.a, next.b)
		}
		if len(in.args) > 0 {
			in.op = opMakeObjectWith
			i = j - 1
		}
		out = append(out, in)
	}
	return out
}

// hasKey reports whether pairs (key, value, key, value...) hold key.
func hasKey(pairs []operand, key *ast.Term) bool {
	for i := 0; i < len(pairs); i += 2 {
		if pairs[i].term.Value.Compare(key.Value) == 0 {
			return true
		}
	}
	return false
}

func (c *compiler) instr(s ir.Stmt, locals *int) (instr, error) {
	local := func(l ir.Local) int {
		*locals = max(*locals, int(l)+1)
		return int(l)
	}
	var err error
	operandOf := func(o ir.Operand) operand {
		switch v := o.Value.(type) {
		case ir.Local:
			return operand{local: local(v)}
		case ir.Bool:
			return operand{term: ast.InternedTerm(bool(v))}
		case ir.StringIndex:
			if int(v) < 0 || int(v) >= len(c.strings) {
				err = fmt.Errorf("%w: string %d out of range", errUnplannable, v)
				return operand{term: nullTerm}
			}
			return operand{term: c.strings[v]}
		default:
			err = fmt.Errorf("%w: operand %T", errUnplannable, o.Value)
			return operand{term: nullTerm}
		}
	}
	in := instr{loc: c.location(s.GetLocation())}
	switch s := s.(type) {
	case *ir.AssignVarStmt:
		in.op, in.a, in.target = opAssign, operandOf(s.Source), local(s.Target)
	case *ir.AssignVarOnceStmt:
		in.op, in.a, in.target = opAssignOnce, operandOf(s.Source), local(s.Target)
	case *ir.ResetLocalStmt:
		in.op, in.target = opReset, local(s.Target)
	case *ir.MakeNullStmt:
		in.op, in.a, in.target = opConst, operand{term: nullTerm}, local(s.Target)
	case *ir.MakeNumberIntStmt:
		in.op, in.a, in.target = opConst, operand{term: ast.InternedTerm(s.Value)}, local(s.Target)
	case *ir.AssignIntStmt:
		in.op, in.a, in.target = opConst, operand{term: ast.InternedTerm(s.Value)}, local(s.Target)
	case *ir.MakeNumberRefStmt:
		t, nerr := c.number(s.Index)
		if nerr != nil {
			return in, nerr
		}
		in.op, in.a, in.target = opConst, operand{term: t}, local(s.Target)
	case *ir.CallStmt:
		in.target = local(s.Result)
		for _, a := range s.Args {
			in.args = append(in.args, operandOf(a))
		}
		if fn, ok := c.funcs[s.Func]; ok {
			if len(s.Args) != len(fn.params) {
				return in, fmt.Errorf("%w: %s called with %d arguments, wants %d", errUnplannable, s.Func, len(s.Args), len(fn.params))
			}
			in.op, in.fn = opCall, fn
			break
		}
		b, berr := c.builtin(s.Func, len(s.Args))
		if berr != nil {
			return in, berr
		}
		in.op, in.builtin = opBuiltin, b
	case *ir.DotStmt:
		in.op, in.a, in.b, in.target = opDot, operandOf(s.Source), operandOf(s.Key), local(s.Target)
	case *ir.LenStmt:
		in.op, in.a, in.target = opLen, operandOf(s.Source), local(s.Target)
	case *ir.ScanStmt:
		body, berr := c.block(s.Block, locals)
		if berr != nil {
			return in, berr
		}
		in.op, in.a, in.key, in.target, in.block = opScan, operand{local: local(s.Source)}, local(s.Key), local(s.Value), body
	case *ir.NotStmt:
		body, berr := c.block(s.Block, locals)
		if berr != nil {
			return in, berr
		}
		in.op, in.block = opNot, body
	case *ir.BlockStmt:
		in.op = opBlocks
		for _, b := range s.Blocks {
			cb, berr := c.block(b, locals)
			if berr != nil {
				return in, berr
			}
			in.blocks = append(in.blocks, cb)
		}
	case *ir.BreakStmt:
		in.op, in.n = opBreak, int(s.Index)
	case *ir.ReturnLocalStmt:
		in.op, in.a = opReturn, operand{local: local(s.Source)}
	case *ir.EqualStmt:
		in.op, in.a, in.b = opEqual, operandOf(s.A), operandOf(s.B)
	case *ir.NotEqualStmt:
		in.op, in.a, in.b = opNotEqual, operandOf(s.A), operandOf(s.B)
	case *ir.IsArrayStmt:
		in.op, in.a = opIsArray, operandOf(s.Source)
	case *ir.IsObjectStmt:
		in.op, in.a = opIsObject, operandOf(s.Source)
	case *ir.IsSetStmt:
		in.op, in.a = opIsSet, operandOf(s.Source)
	case *ir.IsDefinedStmt:
		in.op, in.a = opIsDefined, operand{local: local(s.Source)}
	case *ir.IsUndefinedStmt:
		in.op, in.a = opIsUndefined, operand{local: local(s.Source)}
	case *ir.MakeArrayStmt:
		in.op, in.n, in.target = opMakeArray, int(max(s.Capacity, 0)), local(s.Target)
	case *ir.MakeObjectStmt:
		in.op, in.target = opMakeObject, local(s.Target)
	case *ir.MakeSetStmt:
		in.op, in.target = opMakeSet, local(s.Target)
	case *ir.ArrayAppendStmt:
		in.op, in.a, in.target = opArrayAppend, operandOf(s.Value), local(s.Array)
	case *ir.ObjectInsertStmt:
		in.op, in.a, in.b, in.target = opObjectInsert, operandOf(s.Key), operandOf(s.Value), local(s.Object)
	case *ir.ObjectInsertOnceStmt:
		in.op, in.a, in.b, in.target = opObjectInsertOnce, operandOf(s.Key), operandOf(s.Value), local(s.Object)
	case *ir.SetAddStmt:
		in.op, in.a, in.target = opSetAdd, operandOf(s.Value), local(s.Set)
	case *ir.ResultSetAddStmt:
		in.op, in.a = opResultSetAdd, operand{local: local(s.Value)}
	case *ir.NopStmt:
		in.op = opNop
	default:
		// WithStmt, CallDynamicStmt and ObjectMergeStmt: no platform policy needs them.
		return in, fmt.Errorf("%w: statement %T", errUnplannable, s)
	}
	return in, err
}

// builtin returns OPA's implementation of a builtin that yields one value per call.
func (c *compiler) builtin(name string, args int) (topdown.BuiltinFunc, error) {
	decl, ok := ast.BuiltinMap[name]
	if !ok || decl.Decl == nil {
		return nil, fmt.Errorf("%w: unknown function %s", errUnplannable, name)
	}
	if decl.Relation || decl.Decl.Result() == nil || decl.Nondeterministic {
		return nil, fmt.Errorf("%w: builtin %s", errUnplannable, name)
	}
	if args != len(decl.Decl.FuncArgs().Args) && decl.Decl.FuncArgs().Variadic == nil {
		return nil, fmt.Errorf("%w: %s called with %d arguments", errUnplannable, name, args)
	}
	f := topdown.GetBuiltin(name)
	if f == nil {
		return nil, fmt.Errorf("%w: builtin %s has no implementation", errUnplannable, name)
	}
	return f, nil
}

// number returns the number literal held in string constant i.
func (c *compiler) number(i int) (*ast.Term, error) {
	if t, ok := c.numbers[i]; ok {
		return t, nil
	}
	if i < 0 || i >= len(c.strings) {
		return nil, fmt.Errorf("%w: number %d out of range", errUnplannable, i)
	}
	t, err := ast.ParseTerm(string(c.strings[i].Value.(ast.String)))
	if err != nil {
		return nil, fmt.Errorf("%w: number %q: %v", errUnplannable, c.strings[i].Value, err)
	}
	if _, ok := t.Value.(ast.Number); !ok {
		return nil, fmt.Errorf("%w: %q is not a number", errUnplannable, c.strings[i].Value)
	}
	c.numbers[i] = t
	return t, nil
}

// location turns a statement's location into the form OPA's errors carry.
func (c *compiler) location(l *ir.Location) *ast.Location {
	if l == nil || l.Row == 0 {
		return nil
	}
	loc := &ast.Location{Row: l.Row, Col: l.Col}
	if l.File >= 0 && l.File < len(c.files) {
		loc.File = c.files[l.File]
	}
	return loc
}

// machine is the state of one evaluation.
type machine struct {
	prog    *program
	bctx    topdown.BuiltinContext
	cancel  topdown.Cancel
	frames  []*ast.Term // every frame's locals, one after another
	memo    []*ast.Term
	memoSet []bool
	args    []*ast.Term
	items   [][2]*ast.Term
	out     *ast.Term
	emit    func(*ast.Term) error
	ret     *ast.Term
	results ast.Set
	// owner marks the collections this evaluation made, as their terms' location: the only
	// values it may change. Input, constants and values kept from other evaluations are never
	// changed; a plan that tried would fail.
	owner *ast.Location
}

var errStopScan = errors.New("stop scan")

// Eval runs the plan against input and returns its result set. A panic, in a builtin or here, fails
// the evaluation rather than the process.
func (p *program) Eval(ctx context.Context, ectx *rego.EvalContext, _ ast.Value) (_ ast.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = internalErr(nil, "evaluation failed: %v", r)
		}
	}()
	input := ectx.ParsedInput()
	if input == nil && ectx.RawInput() != nil {
		// The engine gives every input parsed; rego leaves a raw one to the target.
		if input, err = inputValue(*ectx.RawInput()); err != nil {
			return nil, err
		}
	}
	m := p.machines.Get().(*machine)
	defer m.release()
	m.owner = new(ast.Location)
	m.cancel = ectx.ExternalCancel()
	m.results = ast.NewSet()
	m.bctx = topdown.BuiltinContext{
		// The time and seed are left out: builtins that read them are not deterministic, and
		// plans that call them are evaluated by topdown.
		Context:                     ctx,
		Metrics:                     noMetrics,
		Cancel:                      m.cancel,
		InterQueryBuiltinCache:      ectx.InterQueryBuiltinCache(),
		InterQueryBuiltinValueCache: ectx.InterQueryBuiltinValueCache(),
		PrintHook:                   ectx.PrintHook(),
		Capabilities:                ectx.Capabilities(),
	}
	if input != nil {
		m.frames[ir.Input] = ast.NewTerm(input)
	}
	m.frames[ir.Data] = emptyData
	if _, err := m.function(p.plan, 0); err != nil {
		return nil, err
	}
	return m.results, nil
}

func (p *program) newMachine() *machine {
	m := &machine{
		prog:    p,
		frames:  make([]*ast.Term, p.plan.depth),
		memo:    make([]*ast.Term, len(p.shared)),
		memoSet: make([]bool, len(p.shared)),
		bctx:    topdown.BuiltinContext{Metrics: noMetrics},
	}
	m.emit = func(t *ast.Term) error {
		m.out = t
		return nil
	}
	return m
}

// release drops every value the machine holds and keeps it for another evaluation.
func (m *machine) release() {
	clear(m.frames)
	clear(m.memo)
	clear(m.memoSet)
	clear(m.args[:cap(m.args)])
	m.out, m.ret, m.results, m.cancel = nil, nil, nil, nil
	m.bctx = topdown.BuiltinContext{Metrics: noMetrics}
	m.prog.machines.Put(m)
}

// call runs fn with args in the frame at base and returns its value, nil when it is undefined.
func (m *machine) call(fn *function, caller []*ast.Term, args []operand, base int) (*ast.Term, error) {
	if fn.memo >= 0 && m.memoSet[fn.memo] {
		return m.memo[fn.memo], nil
	}
	if fn.constant {
		if v := m.prog.shared[fn.memo].Load(); v != nil {
			if v == undefinedValue {
				v = nil
			}
			m.memo[fn.memo], m.memoSet[fn.memo] = v, true
			return v, nil
		}
	}
	frame := m.frames[base : base+fn.locals]
	clear(frame)
	for i, p := range fn.params {
		frame[p] = m.value(caller, args[i])
	}
	v, err := m.function(fn, base)
	if err != nil {
		return nil, err
	}
	if fn.memo >= 0 {
		m.memo[fn.memo], m.memoSet[fn.memo] = v, true
	}
	if fn.constant {
		// Shared, the value is no longer this evaluation's to change.
		disown(v, m.owner)
		shared := v
		if shared == nil {
			shared = undefinedValue
		}
		m.prog.shared[fn.memo].CompareAndSwap(nil, shared)
	}
	return v, nil
}

// disown clears owner from every term of t that carries it, however deep, so that no evaluation
// may change them.
func disown(t *ast.Term, owner *ast.Location) {
	if t == nil {
		return
	}
	if t.Location == owner {
		t.Location = nil
	}
	switch x := t.Value.(type) {
	case *ast.Array:
		for i := range x.Len() {
			disown(x.Elem(i), owner)
		}
	case ast.Object:
		x.Foreach(func(k, v *ast.Term) {
			disown(k, owner)
			disown(v, owner)
		})
	case ast.Set:
		x.Foreach(func(e *ast.Term) { disown(e, owner) })
	}
}

// function runs fn's blocks in the frame at base, whose parameters are set.
func (m *machine) function(fn *function, base int) (*ast.Term, error) {
	if m.cancel != nil && m.cancel.Cancelled() {
		return nil, &topdown.Error{Code: topdown.CancelErr, Message: "caller cancelled query execution"}
	}
	frame := m.frames[base : base+fn.locals]
	m.ret = nil
	for _, b := range fn.blocks {
		n, err := m.block(b, frame, base+fn.locals)
		if err != nil {
			return nil, err
		}
		if n == returned {
			return m.ret, nil
		}
		if n > 0 {
			break
		}
	}
	return frame[fn.ret], nil
}

func (m *machine) value(frame []*ast.Term, o operand) *ast.Term {
	if o.term != nil {
		return o.term
	}
	return frame[o.local]
}

// outer is the code a container statement passes to its block when one of its blocks, levels
// deep, ended with code n.
func outer(n, levels int) int {
	if n == returned {
		return n
	}
	return n - levels
}

// block runs b in frame; next is where the frame of a function it calls starts.
func (m *machine) block(b *block, frame []*ast.Term, next int) (int, error) {
	for i := range b.instrs {
		in := &b.instrs[i]
		switch in.op {
		case opAssign:
			frame[in.target] = m.value(frame, in.a)
		case opAssignOnce:
			v := m.value(frame, in.a)
			if v == nil {
				return 0, internalErr(in.loc, "assigns an undefined value")
			}
			if cur := frame[in.target]; cur != nil {
				if ast.Compare(cur.Value, v.Value) != 0 {
					return 0, &topdown.Error{Code: topdown.ConflictErr, Location: in.loc, Message: "complete rules must not produce multiple outputs"}
				}
				continue
			}
			frame[in.target] = v
		case opReset:
			frame[in.target] = nil
		case opConst:
			frame[in.target] = in.a.term
		case opCall:
			v, err := m.call(in.fn, frame, in.args, next)
			if err != nil {
				return 0, err
			}
			if v == nil {
				return 0, nil
			}
			frame[in.target] = v
		case opBuiltin:
			args := m.args[:0]
			for _, a := range in.args {
				v := m.value(frame, a)
				if v == nil {
					return 0, nil
				}
				args = append(args, v)
			}
			m.args = args
			m.out = nil
			bctx := m.bctx
			bctx.Location = in.loc
			if err := in.builtin(bctx, args, m.emit); err != nil {
				return 0, err
			}
			clear(args)
			if m.out == nil {
				return 0, nil
			}
			frame[in.target] = m.out
		case opDot:
			v := dot(m.value(frame, in.a), m.value(frame, in.b))
			if v == nil {
				return 0, nil
			}
			frame[in.target] = v
		case opLen:
			n, err := length(m.value(frame, in.a), in.loc)
			if err != nil {
				return 0, err
			}
			frame[in.target] = ast.InternedTerm(n)
		case opScan:
			n, err := m.scan(in, frame, next)
			if err != nil {
				return 0, err
			}
			if n >= 0 {
				return n, nil
			}
		case opNot:
			n, err := m.block(in.block, frame, next)
			if err != nil {
				return 0, err
			}
			switch {
			case n == done:
				return 0, nil
			case n > 0:
				return outer(n, 1), nil
			}
		case opBlocks:
			for _, b := range in.blocks {
				n, err := m.block(b, frame, next)
				if err != nil {
					return 0, err
				}
				if n > 0 {
					return outer(n, 1), nil
				}
			}
		case opBreak:
			return in.n, nil
		case opReturn:
			m.ret = frame[in.a.local]
			return returned, nil
		case opEqual, opNotEqual:
			a, b := m.value(frame, in.a), m.value(frame, in.b)
			if a == nil || b == nil || (ast.Compare(a.Value, b.Value) == 0) != (in.op == opEqual) {
				return 0, nil
			}
		case opIsArray, opIsObject, opIsSet:
			if !isKind(m.value(frame, in.a), in.op) {
				return 0, nil
			}
		case opIsDefined:
			if frame[in.a.local] == nil {
				return 0, nil
			}
		case opIsUndefined:
			if frame[in.a.local] != nil {
				return 0, nil
			}
		case opMakeArray:
			frame[in.target] = &ast.Term{Value: ast.NewArrayWithCapacity(in.n), Location: m.owner}
		case opMakeObject:
			frame[in.target] = &ast.Term{Value: ast.NewObject(), Location: m.owner}
		case opMakeObjectWith:
			items := m.items[:0]
			for k := 0; k < len(in.args); k += 2 {
				v := m.value(frame, in.args[k+1])
				if v == nil {
					return 0, internalErr(in.loc, "an object literal's value is undefined")
				}
				items = append(items, [2]*ast.Term{in.args[k].term, v})
			}
			frame[in.target] = &ast.Term{Value: ast.NewObject(items...), Location: m.owner}
			clear(items)
			m.items = items
		case opMakeSet:
			frame[in.target] = &ast.Term{Value: ast.NewSet(), Location: m.owner}
		case opArrayAppend:
			t, err := m.owned(frame[in.target], in.loc)
			if err != nil {
				return 0, err
			}
			arr, ok := t.Value.(*ast.Array)
			if !ok {
				return 0, internalErr(in.loc, "append to %v", ast.ValueName(t.Value))
			}
			v := m.value(frame, in.a)
			if v == nil {
				return 0, internalErr(in.loc, "appends an undefined value")
			}
			t.Value = arr.Append(v)
		case opObjectInsert, opObjectInsertOnce:
			t, err := m.owned(frame[in.target], in.loc)
			if err != nil {
				return 0, err
			}
			obj, ok := t.Value.(ast.Object)
			if !ok {
				return 0, internalErr(in.loc, "insert into %v", ast.ValueName(t.Value))
			}
			k, v := m.value(frame, in.a), m.value(frame, in.b)
			if k == nil || v == nil {
				return 0, internalErr(in.loc, "inserts an undefined key or value")
			}
			if in.op == opObjectInsertOnce {
				if cur := obj.Get(k); cur != nil {
					if ast.Compare(cur.Value, v.Value) != 0 {
						return 0, &topdown.Error{Code: topdown.ConflictErr, Location: in.loc, Message: "object keys must be unique"}
					}
					continue
				}
			}
			obj.Insert(k, v)
		case opSetAdd:
			t, err := m.owned(frame[in.target], in.loc)
			if err != nil {
				return 0, err
			}
			set, ok := t.Value.(ast.Set)
			if !ok {
				return 0, internalErr(in.loc, "add to %v", ast.ValueName(t.Value))
			}
			v := m.value(frame, in.a)
			if v == nil {
				return 0, internalErr(in.loc, "adds an undefined value")
			}
			set.Add(v)
		case opResultSetAdd:
			if v := frame[in.a.local]; v != nil {
				m.results.Add(v)
			}
		case opNop:
		}
	}
	return done, nil
}

// owned returns t when this evaluation made it, and an error otherwise.
func (m *machine) owned(t *ast.Term, loc *ast.Location) (*ast.Term, error) {
	if t == nil || t.Location != m.owner {
		return nil, internalErr(loc, "a statement changes %v, which this evaluation did not make", valueName(t))
	}
	return t, nil
}

// scan runs a scan's block for each element of its source, and returns the code of the block
// that holds it.
func (m *machine) scan(in *instr, frame []*ast.Term, next int) (int, error) {
	src := frame[in.a.local]
	if src == nil {
		return done, nil
	}
	code := done
	var err error
	// each runs the block for one element; it returns false to stop the scan.
	each := func(k, v *ast.Term) bool {
		if m.cancel != nil && m.cancel.Cancelled() {
			err = &topdown.Error{Code: topdown.CancelErr, Message: "caller cancelled query execution"}
			return false
		}
		frame[in.key], frame[in.target] = k, v
		var n int
		if n, err = m.block(in.block, frame, next); err != nil {
			return false
		}
		switch {
		case n == 1:
			return false
		case n > 1:
			code = outer(n, 2)
			return false
		}
		return true
	}
	switch x := src.Value.(type) {
	case *ast.Array:
		for i := range x.Len() {
			if !each(ast.InternedTerm(i), x.Elem(i)) {
				break
			}
		}
	case ast.Object:
		_ = x.Iter(func(k, v *ast.Term) error {
			if !each(k, v) {
				return errStopScan
			}
			return nil
		})
	case ast.Set:
		_ = x.Iter(func(e *ast.Term) error {
			if !each(e, e) {
				return errStopScan
			}
			return nil
		})
	}
	if err != nil {
		return 0, err
	}
	return code, nil
}

// dot returns src[key], or nil when it is undefined.
func dot(src, key *ast.Term) *ast.Term {
	if src == nil || key == nil {
		return nil
	}
	switch x := src.Value.(type) {
	case ast.Object:
		return x.Get(key)
	case *ast.Array:
		n, ok := key.Value.(ast.Number)
		if !ok {
			return nil
		}
		i, ok := n.Int()
		if !ok || i < 0 || i >= x.Len() {
			return nil
		}
		return x.Elem(i)
	case ast.Set:
		if x.Contains(key) {
			return key
		}
	}
	return nil
}

// length is the number of elements of a collection.
func length(t *ast.Term, loc *ast.Location) (int, error) {
	if t != nil {
		switch x := t.Value.(type) {
		case *ast.Array:
			return x.Len(), nil
		case ast.Object:
			return x.Len(), nil
		case ast.Set:
			return x.Len(), nil
		}
	}
	return 0, internalErr(loc, "length of %v", valueName(t))
}

func isKind(t *ast.Term, op opcode) bool {
	if t == nil {
		return false
	}
	switch t.Value.(type) {
	case *ast.Array:
		return op == opIsArray
	case ast.Object:
		return op == opIsObject
	case ast.Set:
		return op == opIsSet
	}
	return false
}

func valueName(t *ast.Term) string {
	if t == nil {
		return "undefined"
	}
	return ast.ValueName(t.Value)
}

func internalErr(loc *ast.Location, format string, args ...any) error {
	return &topdown.Error{Code: topdown.InternalErr, Location: loc, Message: "planned evaluation: " + fmt.Sprintf(format, args...)}
}
