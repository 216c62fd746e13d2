// Package expr evaluates the conditions and input mappings of procedure
// definitions. Expressions are CEL (github.com/google/cel-go): side-effect
// free, terminating, and deterministic, so the workflow can evaluate them
// during replay.
package expr

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/interpreter"
	lru "github.com/hashicorp/golang-lru/v2"
	"google.golang.org/protobuf/types/known/structpb"
)

// CostLimit bounds the work of one evaluation, in CEL's cost units (about
// one per operation and per iteration of a comprehension). An expression
// that exceeds it stops with an error wrapping ErrCostLimit. The count
// depends only on the expression and its data, so the outcome is the same
// on every replay of a workflow. A million units take tens to hundreds of
// milliseconds; the bundled procedures are estimated at 340,000 at most (for
// 1,000-item lists), and need a few hundred on real data.
const CostLimit = 1_000_000

// EvalTimeout is the wall-clock safety net behind CostLimit: evaluation
// checks every InterruptEvery comprehension iterations whether it has run
// longer, and stops with ErrInterrupted. It is below the one second after
// which Temporal's deadlock detector fails a workflow task.
const EvalTimeout = 500 * time.Millisecond

// evalTimeout is EvalTimeout unless SetEvalTimeout changed it; atomic, so
// that it may change while a worker evaluates expressions.
var evalTimeout = func() *atomic.Int64 {
	var d atomic.Int64
	d.Store(int64(EvalTimeout))
	return &d
}()

// SetEvalTimeout replaces EvalTimeout for this process and returns the
// previous value: for a worker whose deadlock detection timeout was
// raised, for tests on a loaded machine that must see the deterministic
// cost limit rather than the wall clock, and for tests that make every
// evaluation of a long comprehension stop (a workflow task that keeps
// failing). Evaluations already running keep the value they started with.
func SetEvalTimeout(d time.Duration) (previous time.Duration) {
	return time.Duration(evalTimeout.Swap(int64(d)))
}

// InterruptEvery is how many comprehension iterations run between checks
// of EvalTimeout.
const InterruptEvery = 100

// ErrCostLimit: the expression did more work than CostLimit allows, on
// this data. Evaluating it again on the same data fails the same way.
var ErrCostLimit = errors.New("the expression exceeds the cost limit")

// ErrInterrupted: the evaluation ran longer than EvalTimeout and was
// stopped. Unlike ErrCostLimit this depends on the machine's speed, so
// workflow code must not act on it (it fails the workflow task instead,
// which Temporal retries).
var ErrInterrupted = errors.New("the expression's evaluation took too long and was interrupted")

// baseOptions are the language options of evaluation; Check compiles
// with them too, to prove that Eval will accept the expression.
func baseOptions() []cel.EnvOption {
	return append(checkOptions(), cel.HomogeneousAggregateLiterals())
}

// checkOptions are the options of the typed check environment: the
// runtime's without the homogeneous aggregate literal rule, which with
// typed variables would reject literals that Eval accepts.
func checkOptions() []cel.EnvOption {
	return []cel.EnvOption{
		cel.CrossTypeNumericComparisons(true),
		cel.DefaultUTCTimeZone(true),
		// Field names that are not identifiers (JSON keys with '-') are
		// selected with backticks: application.`plot-number`.
		cel.EnableIdentifierEscapeSyntax(),
	}
}

type cacheKey struct{ vars, src string }

// programCacheSize bounds the compiled programs kept. Each distinct
// expression of the deployed definitions (with its variable names) takes
// one entry; a large installation deploys a few hundred expressions over
// all its definitions and versions, so 1024 keeps them all warm while a
// stream of ad-hoc expressions (designer previews) cannot grow memory
// without limit. An evicted program is compiled again on next use.
const programCacheSize = 1024

var programs = mustLRU[cacheKey, cel.Program](programCacheSize)

func mustLRU[K comparable, V any](size int) *lru.Cache[K, V] {
	c, err := lru.New[K, V](size)
	if err != nil {
		panic(err) // only for a size <= 0
	}
	return c
}

// Eval evaluates the CEL expression src with vars bound as dynamically typed
// variables and returns the result as plain Go values (nil, bool, float64,
// string, []any, map[string]any), the same shapes encoding/json produces.
func Eval(src string, vars map[string]any) (any, error) {
	names := make([]string, 0, len(vars))
	for n := range vars {
		names = append(names, n)
	}
	sort.Strings(names)
	key := cacheKey{strings.Join(names, ","), src}
	prg, ok := programs.Get(key)
	if !ok {
		opts := baseOptions()
		for _, n := range names {
			opts = append(opts, cel.Variable(n, cel.DynType))
		}
		env, err := cel.NewEnv(opts...)
		if err != nil {
			return nil, fmt.Errorf("expression %q: %w", src, err)
		}
		ast, iss := env.Compile(src)
		if iss.Err() != nil {
			return nil, fmt.Errorf("expression %q: %w", src, iss.Err())
		}
		p, err := env.Program(ast, cel.CostLimit(CostLimit), cel.InterruptCheckFrequency(InterruptEvery))
		if err != nil {
			return nil, fmt.Errorf("expression %q: %w", src, err)
		}
		programs.Add(key, p)
		prg = p
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(evalTimeout.Load()))
	defer cancel()
	out, _, err := prg.ContextEval(ctx, vars)
	if err != nil {
		var cancelled interpreter.EvalCancelledError
		switch {
		case errors.As(err, &cancelled) && cancelled.Cause == interpreter.CostLimitExceeded:
			return nil, fmt.Errorf("evaluate %q: %w (%d units): nested comprehensions (all, exists, map, filter) over long lists multiply; simplify the expression",
				src, ErrCostLimit, CostLimit)
		case errors.As(err, &cancelled), ctx.Err() != nil:
			return nil, fmt.Errorf("evaluate %q: %w", src, ErrInterrupted)
		}
		return nil, fmt.Errorf("evaluate %q: %w", src, err)
	}
	native, err := out.ConvertToNative(reflect.TypeOf(&structpb.Value{}))
	if err != nil {
		return nil, fmt.Errorf("evaluate %q: result %v cannot be represented as JSON: %w", src, out.Type(), err)
	}
	return native.(*structpb.Value).AsInterface(), nil
}

// EvalBool evaluates a condition; a result that is not a bool is an error.
func EvalBool(src string, vars map[string]any) (bool, error) {
	v, err := Eval(src, vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("condition %q yielded %T, want bool", src, v)
	}
	return b, nil
}
