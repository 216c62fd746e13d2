package definitions

import (
	"os"
	"strings"
	"testing"
)

// TestReferenceDocExample keeps the complete example in
// docs/definitions.md valid.
func TestReferenceDocExample(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../docs/definitions.md")
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, block := range strings.Split(string(doc), "```yaml\n")[1:] {
		src, _, _ := strings.Cut(block, "```")
		if !strings.HasPrefix(src, "apiVersion:") {
			continue
		}
		found++
		if _, err := Load("definitions.md", []byte(src), testOpts); err != nil {
			t.Errorf("example %d in docs/definitions.md: %v", found, err)
		}
	}
	if found == 0 {
		t.Fatal("docs/definitions.md has no complete example")
	}
}
