package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const src = `package x

func a(ok bool) error {
	if !ok {
		return errA
	}
	return nil
}

func b(ok bool) error {
	if !ok {
		return errB
	}
	return nil
}
`

func TestMutateFindsTheGuardInItsFunction(t *testing.T) {
	g := Guard{Name: "b", File: "x.go", In: "func b(", Find: "if !ok {", Replace: "if false {"}
	got, err := g.Mutate(src)
	if err != nil {
		t.Fatal(err)
	}
	// a's guard stays, b's is removed.
	if strings.Count(got, "if !ok {") != 1 || !strings.Contains(got, "if false {\n\t\treturn errB") {
		t.Errorf("mutated:\n%s", got)
	}
}

func TestMutateRefusesAmbiguousOrMissingGuards(t *testing.T) {
	for name, g := range map[string]Guard{
		"ambiguous without in": {File: "x.go", Find: "if !ok {", Replace: "if false {"},
		"guard gone":           {File: "x.go", In: "func a(", Find: "if ok {", Replace: "if false {"},
		"function gone":        {File: "x.go", In: "func c(", Find: "if !ok {", Replace: "if false {"},
	} {
		if _, err := g.Mutate(src); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestParseGuards(t *testing.T) {
	in := `# comment
[w/four-eyes]
file: workflows/tasks.go
in: func (r *run) validateComplete(
find: if t.Approval && t.CompletedBy == req.Actor.Subject {
replace: if false {
package: ./workflows
run: ^TestX$
`
	gs, err := ParseGuards(strings.NewReader(in), "g.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(gs) != 1 || gs[0].Find != "if t.Approval && t.CompletedBy == req.Actor.Subject {" || gs[0].Run != "^TestX$" || gs[0].Line != 2 {
		t.Errorf("parsed %+v", gs)
	}
	for name, bad := range map[string]string{
		"no run":        "[a]\nfile: f\nfind: x\nreplace: y\npackage: ./p\n",
		"unchanged":     "[a]\nfile: f\nfind: x\nreplace: x\npackage: ./p\nrun: T\n",
		"unknown key":   "[a]\nfile: f\nfnd: x\n",
		"before a name": "file: f\n",
		"empty":         "# nothing\n",
	} {
		if _, err := ParseGuards(strings.NewReader(bad), "g.txt"); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestGuardsListApplies: every entry of .ci/guards.txt still finds its
// guard in the code, so a moved guard fails here, not only in CI's
// mutation run.
func TestGuardsListApplies(t *testing.T) {
	root := filepath.Join("..", "..")
	gs, err := readGuards(filepath.Join(root, ".ci", "guards.txt"))
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		b, err := os.ReadFile(filepath.Join(root, g.File))
		if err != nil {
			t.Errorf("%s: %v", g.Name, err)
			continue
		}
		if _, err := g.Mutate(string(b)); err != nil {
			t.Errorf("%s: %v", g.Name, err)
		}
	}
}
