package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// runDefinitions runs a fresh "definitions" subcommand (validate,
// diagram, schema), so that flags do not carry over between calls.
func runDefinitions(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var cmd *cobra.Command
	switch args[0] {
	case "validate":
		cmd = newDefinitionsValidateCmd()
	case "diagram":
		cmd = newDefinitionsDiagramCmd()
	case "schema":
		cmd = newDefinitionsSchemaCmd()
	default:
		t.Fatalf("unknown subcommand %q", args[0])
	}
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs(args[1:])
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	err := cmd.Execute()
	return out.String(), err
}

func TestDefinitionsRegistered(t *testing.T) {
	defs, _, err := New().Find([]string{"definitions"})
	found := err == nil && defs.Name() == "definitions"
	names := map[string]bool{}
	if found {
		for _, c := range defs.Commands() {
			names[c.Name()] = true
		}
	}
	if !found || !names["validate"] || !names["diagram"] || !names["schema"] || !names["deploy"] || !names["list"] {
		t.Fatalf("definitions command tree: registered=%v subcommands=%v", found, names)
	}
}

func TestDefinitionsSchema(t *testing.T) {
	out, err := runDefinitions(t, "schema")
	if err != nil || !strings.Contains(out, `"$schema": "https://json-schema.org/draft/2020-12/schema"`) {
		t.Fatalf("%v\n%.200s", err, out)
	}
}

func TestDefinitionsValidate(t *testing.T) {
	good := "../../definitions/procedures/gewerbeanmeldung.yaml"
	if out, err := runDefinitions(t, "validate", good); err != nil {
		t.Fatalf("valid file: %v\n%s", err, out)
	}
	src, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	broken := strings.Replace(string(src), "    next: vollstaendig\n", "    next: vollstandig\n", 1)
	broken = strings.Replace(broken, "due: P1W", "due: 1W", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runDefinitions(t, "validate", good, bad)
	if err == nil {
		t.Fatalf("broken file validated:\n%s", out)
	}
	// The error points at the line of the broken value, found in the file
	// itself; "due: " is 4 columns in, so the value starts in column 10.
	want := fmt.Sprintf("%s:%d:10: steps[1].due: \"1W\" is not a legal period", bad, lineOf(t, broken, "    due: 1W"))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], want) {
		t.Fatalf("output:\n%s", out)
	}
	if err.Error() != "1 problem in 1 of 2 files" {
		t.Fatalf("error = %q", err)
	}
	// After fixing the schema error, the reference error shows.
	broken = strings.Replace(broken, "due: 1W", "due: P1W", 1)
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _ = runDefinitions(t, "validate", bad)
	if !strings.Contains(out, `steps[1].next: step "vollstandig" does not exist (did you mean "vollstaendig"?)`) {
		t.Fatalf("output:\n%s", out)
	}
}

func TestDefinitionsValidateWithCatalog(t *testing.T) {
	dir := t.TempDir()
	cat := filepath.Join(dir, "activities.json")
	if err := os.WriteFile(cat, []byte(`{"amtsweg.case-number": {"input": {"type": "object", "additionalProperties": false}, "output": {"type": "object"}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runDefinitions(t, "validate", "--activities", cat, "../../definitions/procedures/gewerbeanmeldung.yaml"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if err := os.WriteFile(cat, []byte(`{}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runDefinitions(t, "validate", "--activities", cat, "../../definitions/procedures/gewerbeanmeldung.yaml")
	if err == nil || !strings.Contains(out, `activity "amtsweg.case-number" does not exist`) {
		t.Fatalf("%v\n%s", err, out)
	}
}

// TestDefinitionsValidateAgainstThePlugins: without a catalog file,
// validate checks service steps against the activities of Amtsweg's own,
// the bundled and the plugin directory's plugins: the bundled procedures
// (which call amtsweg.*, xbau.*, efile.* and notify.*) pass, an activity
// no plugin offers fails at its line and column, and so does an input the
// activity's schema rejects.
func TestDefinitionsValidateAgainstThePlugins(t *testing.T) {
	t.Setenv("AMTSWEG_PLUGINS", filepath.Join(t.TempDir(), "no-such-dir"))
	if out, err := runDefinitions(t, "validate", "../../definitions/procedures/bauantrag.yaml", "../../definitions/procedures/anwohnerparken.yaml"); err != nil {
		t.Fatalf("bundled procedures: %v\n%s", err, out)
	}
	src, err := os.ReadFile("../../definitions/procedures/anwohnerparken.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// The value of "    activity: amtsweg.case-number" starts in column 15.
	line := lineOf(t, string(src), "    activity: amtsweg.case-number")
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(string(src), "activity: amtsweg.case-number", "activity: nosuchplugin.nothing", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := runDefinitions(t, "validate", bad)
	at := fmt.Sprintf("%s:%d:15: ", bad, line)
	if err == nil || !strings.Contains(out, "\n"+at) || !strings.Contains(out, `activity "nosuchplugin.nothing" does not exist`) {
		t.Fatalf("want %s... activity \"nosuchplugin.nothing\" does not exist; got %v\n%s", at, err, out)
	}
}

// lineOf returns the 1-based number of the first line of src that equals
// line exactly.
func lineOf(t *testing.T, src, line string) int {
	t.Helper()
	for i, l := range strings.Split(src, "\n") {
		if l == line {
			return i + 1
		}
	}
	t.Fatalf("no line %q in the file", line)
	return 0
}

func TestDefinitionsDiagram(t *testing.T) {
	file := "../../definitions/procedures/gewerbeanmeldung.yaml"
	out, err := runDefinitions(t, "diagram", file)
	if err != nil || !strings.Contains(out, "flowchart TD") {
		t.Fatalf("mermaid: %v\n%s", err, out)
	}
	svgFile := filepath.Join(t.TempDir(), "g.svg")
	if out, err := runDefinitions(t, "diagram", file, "-o", svgFile); err != nil {
		t.Fatalf("svg: %v\n%s", err, out)
	}
	data, err := os.ReadFile(svgFile)
	if err != nil || !bytes.HasPrefix(data, []byte("<svg ")) {
		t.Fatalf("svg file: %v %.40q", err, data)
	}
	if _, err := runDefinitions(t, "diagram", file, "--format", "png"); err == nil {
		t.Fatal("unknown format accepted")
	}
}
