package expr

import (
	"fmt"
	"testing"
)

// TestProgramCacheIsBounded: however many distinct expressions are
// evaluated, the cache keeps at most programCacheSize programs, and an
// evicted expression still evaluates (it is compiled again).
func TestProgramCacheIsBounded(t *testing.T) {
	t.Parallel()
	for i := range programCacheSize + 50 {
		src := fmt.Sprintf("x + %d.0", i)
		got, err := Eval(src, map[string]any{"x": 1.0})
		if err != nil {
			t.Fatal(err)
		}
		if want := float64(1 + i); got != want {
			t.Fatalf("%s = %v, want %v", src, got, want)
		}
	}
	if n := programs.Len(); n > programCacheSize {
		t.Fatalf("the program cache holds %d programs, more than its bound %d", n, programCacheSize)
	}
	// "x + 0.0" was the first and is evicted by now; it must still evaluate.
	if got, err := Eval("x + 0.0", map[string]any{"x": 2.0}); err != nil || got != 2.0 {
		t.Fatalf("evicted expression: %v, %v", got, err)
	}
}
