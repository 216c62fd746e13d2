package definitions

import (
	"strings"
	"testing"
)

// TestAliasBombIsRefused: a YAML document whose aliases expand
// exponentially ("billion laughs") is refused while it is read, with the
// fix, instead of expanding in memory (#17).
func TestAliasBombIsRefused(t *testing.T) {
	var b strings.Builder
	b.WriteString("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		prev := "*a" + string(rune('0'+i-1))
		b.WriteString("a" + string(rune('0'+i)) + ": &a" + string(rune('0'+i)) + " [" +
			strings.TrimSuffix(strings.Repeat(prev+", ", 10), ", ") + "]\n")
	}
	// 10^10 values if expanded.
	_, err := Load("bomb.yaml", []byte(b.String()), ValidateOptions{})
	if err == nil || !strings.Contains(err.Error(), "aliases that expand") {
		t.Fatalf("Load(alias bomb) = %v", err)
	}
}
