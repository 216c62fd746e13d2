package diagram

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/amtsweg/amtsweg/definitions"
)

func load(t testing.TB, path string) *definitions.Procedure {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := definitions.Parse(filepath.Base(path), src)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMermaidShapes(t *testing.T) {
	t.Parallel()
	p := load(t, "../testdata/bauantrag.yaml")
	m := Mermaid(p)
	for _, want := range []string{
		"flowchart TD",
		`[["<small>Dienst</small><br/><b>gebuehren</b><br/>fees.calculate`,                             // service: subroutine
		`("<small>Aufgabe</small><br/><b>vollstaendigkeit</b><br/>Rolle: bauaufsicht<br/>⏱ Frist: P2W`, // task: rounded
		`{{"<small>Warten</small><br/><b>nachforderung</b><br/>auf unterlagen<br/>⏱ Frist: P1M`,        // wait: hexagon
		`{"<b>vollstaendig</b>"}`, // decision: rhombus
		`[/"<small>Teilverfahren</small>`,
		`((("<small>Ende</small><br/><b>erteilt</b><br/>Ergebnis: approved")))`,
		`[/"<small>Für jedes</small><br/><b>beteiligung</b><br/>für jedes behoerde in application.behoerden`,
		`subgraph`, `Frist: P1M → zustimmung-fingiert`,
		`-.->|"Frist abgelaufen (P1M)"|`,
		`-.->|"Fehler"|`,
		`Vier Augen: teamleitung`,
		`startet Entscheidungsfrist (P3M)`,
		"classDef awTask", "class ", "linkStyle ",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("Mermaid lacks %q", want)
		}
	}
	if strings.Count(m, "subgraph ") != strings.Count(m, "\n  end\n")+strings.Count(m, "\n    end\n")+strings.Count(m, "\n      end\n") {
		t.Errorf("unbalanced subgraphs:\n%s", m)
	}
	for _, bad := range []string{"classDef end", "class end"} {
		if strings.Contains(m, bad) {
			t.Errorf("Mermaid uses the reserved word end as a name: %q", bad)
		}
	}
	en := MermaidWith(p, Options{Lang: "en"})
	if !strings.Contains(en, "role: bauaufsicht") || !strings.Contains(en, "deadline passed (P1M)") {
		t.Errorf("English labels missing:\n%s", en)
	}
}

// wellFormed parses an SVG document as XML and returns its text.
func wellFormed(t *testing.T, data []byte) string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var text strings.Builder
	root := ""
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch x := tok.(type) {
		case xml.StartElement:
			if root == "" {
				root = x.Name.Local
			}
		case xml.CharData:
			text.Write(x)
			text.WriteByte('\n')
		}
	}
	if root != "svg" {
		t.Fatalf("root element %q, want svg", root)
	}
	return text.String()
}

func TestSVG(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"../testdata/bauantrag.yaml", "../procedures/gewerbeanmeldung.yaml"} {
		p := load(t, path)
		data, err := SVG(p)
		if err != nil {
			t.Fatal(err)
		}
		text := wellFormed(t, data)
		for _, want := range []string{"AUFGABE", "WARTEN", "ENTSCHEIDUNG", "Frist: P2W", "Rolle:", "Frist abgelaufen"} {
			if !strings.Contains(text, want) {
				t.Errorf("%s: SVG text lacks %q", path, want)
			}
		}
		// Each kind has its own colour.
		for k, st := range styles {
			if k == kStart {
				continue
			}
			if !bytes.Contains(data, []byte(st.stroke)) {
				t.Errorf("%s: no shape in the colour of kind %d", path, k)
			}
		}
	}
}

// TestLayoutNoOverlap checks that no two nodes of a flow overlap and that
// every edge starts at its source and ends at its target.
func TestLayoutNoOverlap(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"../testdata/bauantrag.yaml", "../procedures/gewerbeanmeldung.yaml", "../testdata/minimal.yaml"} {
		p := load(t, path)
		b := newBuilder(p, Options{})
		lg := layout(b.build(p.Steps, p.Start, nil, 0), false, 0)
		checkLayout(t, path, lg)
	}
}

func checkLayout(t *testing.T, name string, lg *laidGraph) {
	t.Helper()
	for i, a := range lg.nodes {
		if a.x-a.w/2 < 0 || a.y-a.h/2 < 0 || a.x+a.w/2 > lg.w+0.01 || a.y+a.h/2 > lg.h+0.01 {
			t.Errorf("%s: node %v lies outside its flow (%.0fx%.0f)", name, a.lines[0].text, lg.w, lg.h)
		}
		for _, b := range lg.nodes[i+1:] {
			if a.x-a.w/2 < b.x+b.w/2 && b.x-b.w/2 < a.x+a.w/2 && a.y-a.h/2 < b.y+b.h/2 && b.y-b.h/2 < a.y+a.h/2 {
				t.Errorf("%s: nodes %q and %q overlap", name, a.lines[len(a.lines)-1].text, b.lines[len(b.lines)-1].text)
			}
		}
		for _, in := range a.inner {
			checkLayout(t, name, in)
		}
	}
	for _, e := range lg.edges {
		if len(e.points) < 2 {
			t.Errorf("%s: edge %s -> %s has no route", name, e.e.from, e.e.to)
			continue
		}
		near := func(p pt, n *lnode) bool {
			return p.x >= n.x-n.w/2-0.5 && p.x <= n.x+n.w/2+0.5 && p.y >= n.y-n.h/2-0.5 && p.y <= n.y+n.h/2+0.5
		}
		if !near(e.points[0], e.from) || !near(e.points[len(e.points)-1], e.to) {
			t.Errorf("%s: edge %s -> %s does not connect its nodes: %v", name, e.e.from, e.e.to, e.points)
		}
	}
}

// TestBrokenDefinitionsStillDraw: diagrams are drawn for drafts too, so
// missing references, loops and odd nesting must not break them.
func TestBrokenDefinitionsStillDraw(t *testing.T) {
	t.Parallel()
	p := &definitions.Procedure{
		Key: "kaputt", Start: "a",
		Steps: []definitions.Step{
			{ID: "a", Type: definitions.StepTask, Next: "nirgends"},
			{ID: "a", Type: definitions.StepDecision, Conditions: []definitions.Condition{{When: "<&>\"", Next: "a"}}, Default: "b"},
			{ID: "b", Type: definitions.StepWait, Next: "b", OnExpiry: "a", Deadline: "P2W"},
			{ID: "p", Type: definitions.StepParallel, Branches: []definitions.Branch{{ID: "x"}, {ID: "y", Start: "q", Steps: []definitions.Step{{ID: "q", Type: definitions.StepEnd}}}}},
			{ID: "f", Type: definitions.StepForEach},
			{ID: "u", Type: "unbekannt"},
		},
	}
	if m := Mermaid(p); !strings.Contains(m, "flowchart TD") {
		t.Fatal(m)
	}
	data, err := SVG(p)
	if err != nil {
		t.Fatal(err)
	}
	wellFormed(t, data)
	if _, err := SVG(nil); err == nil {
		t.Fatal("SVG(nil) succeeded")
	}
	if Mermaid(nil) == "" {
		t.Fatal("Mermaid(nil) is empty")
	}
}

func FuzzDiagram(f *testing.F) {
	for _, path := range []string{"../testdata/bauantrag.yaml", "../procedures/gewerbeanmeldung.yaml", "../testdata/minimal.yaml"} {
		src, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := definitions.Parse("fuzz.yaml", src)
		if err != nil {
			return
		}
		_ = Mermaid(p)
		data, err := SVG(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := xml.Unmarshal(data, new(struct{})); err != nil {
			t.Fatalf("SVG is not XML: %v", err)
		}
	})
}

func BenchmarkSVG(b *testing.B) {
	p := load(b, "../testdata/bauantrag.yaml")
	for b.Loop() {
		if _, err := SVG(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCollectingWait: a wait that collects every matching event shows its
// match and that it collects until the period ends, and its expiry edge
// says that none arrived.
func TestCollectingWait(t *testing.T) {
	t.Parallel()
	p := load(t, "../procedures/bauantrag-v3.yaml")
	m := Mermaid(p)
	for _, want := range []string{
		"<b>Einwendungsfrist eines Nachbarn</b><br/>auf nachbar-einwendung<br/>nur wenn event.nachbarId == nachbar.id<br/>sammelt alle bis Fristende",
		"Frist abgelaufen (P2W), keine eingegangen",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("diagram lacks %q", want)
		}
	}
}
