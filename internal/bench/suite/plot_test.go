package suite

import (
	"bytes"
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// countArcs parses svg and counts the path elements with arcs: plotutil
// draws the first series' glyphs (and its legend entry) as circles.
func countArcs(t *testing.T, svg string) (root string, arcs int) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return root, arcs
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%.500s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok {
			if root == "" {
				root = se.Name.Local
			}
			for _, a := range se.Attr {
				if a.Name.Local == "d" && strings.Contains(a.Value, "A") {
					arcs++
				}
			}
		}
	}
}

// The plot writer produces well-formed SVG holding the title, the legend
// and one glyph per finite point.
func TestWriteSVG(t *testing.T) {
	one := Chart{Title: "one", Series: []Series{{Name: "s", X: []float64{1, 2, 3, 4, 5}, Y: []float64{1, math.NaN(), 3, 4, 5}}}}
	var b1 bytes.Buffer
	if err := writeSVG(&b1, one); err != nil {
		t.Fatal(err)
	}
	if root, arcs := countArcs(t, b1.String()); root != "svg" || arcs != 4+1 {
		t.Errorf("root %q, %d circles; want svg and 4 points + 1 legend glyph", root, arcs)
	}

	c := Chart{File: "t.svg", Title: "Throughput by N", XLabel: "N", YLabel: "apps/s", LogX: true, Series: []Series{
		{Name: "amtsweg", X: []float64{100, 500, 2000}, Y: []float64{10, 20, math.NaN()}},
		{Name: "temporal-baseline", X: []float64{100, 500, 2000}, Y: []float64{12, 24, 30}},
	}}
	var buf bytes.Buffer
	if err := writeSVG(&buf, c); err != nil {
		t.Fatal(err)
	}
	svg := buf.String()
	if root, _ := countArcs(t, svg); root != "svg" {
		t.Errorf("root element %q, want svg", root)
	}
	for _, want := range []string{"Throughput by N", "amtsweg", "temporal-baseline", "apps/s"} {
		if !strings.Contains(svg, want) {
			t.Errorf("the SVG lacks %q", want)
		}
	}
	if err := writeSVG(io.Discard, Chart{Series: []Series{{Name: "x", X: []float64{1}, Y: []float64{math.NaN()}}}}); err == nil {
		t.Error("a chart without a finite point was drawn")
	}
}

func TestWriteChartsAndPublish(t *testing.T) {
	out, pub := t.TempDir(), t.TempDir()
	rep := &Report{Curve: &Curve{Points: []CurvePoint{
		{N: 100, Throughput: map[string]float64{SystemAmtsweg: 10, SystemTemporal: 12}, CPUMsPerApp: map[string]float64{SystemAmtsweg: 5}},
		{N: 500, Throughput: map[string]float64{SystemAmtsweg: 11, SystemTemporal: 14}, CPUMsPerApp: map[string]float64{SystemAmtsweg: 4}},
	}}}
	files, skipped, err := writeCharts(filepath.Join(out, "plots"), charts(rep))
	if err != nil || len(files) != 2 || len(skipped) != 0 {
		t.Fatalf("files %v, skipped %v, err %v", files, skipped, err)
	}
	if err := os.WriteFile(filepath.Join(out, "report.json"), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(pub, "plots"), 0o755); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(pub, "plots", "stale.svg")
	if err := os.WriteFile(stale, []byte("<svg/>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := publish(out, pub, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"report.json", "plots/curve-throughput.svg", "plots/curve-cpu.svg"} {
		if _, err := os.Stat(filepath.Join(pub, f)); err != nil {
			t.Errorf("not published: %s", f)
		}
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Error("a stale plot survived publishing")
	}
}
