package suite

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// The suite draws its plots with gonum.org/v1/plot: a maintained, pure-Go
// library (no cgo, no browser) that writes SVG itself, with log axes and
// legends; the suite needs nothing more.

// Series is one line of a chart: points (X[i], Y[i]); NaN values are left
// out.
type Series struct {
	Name string    `json:"name"`
	X    []float64 `json:"x"`
	Y    []float64 `json:"y"`
}

// Chart is one plot the suite draws.
type Chart struct {
	// File is the SVG's name in <out>/plots.
	File   string   `json:"file"`
	Title  string   `json:"title"`
	XLabel string   `json:"xLabel"`
	YLabel string   `json:"yLabel"`
	LogX   bool     `json:"logX"`
	Series []Series `json:"series"`
}

// points returns the finite points of s.
func (s Series) points() plotter.XYs {
	var xys plotter.XYs
	for i := range min(len(s.X), len(s.Y)) {
		if math.IsNaN(s.X[i]) || math.IsNaN(s.Y[i]) || math.IsInf(s.Y[i], 0) {
			continue
		}
		xys = append(xys, plotter.XY{X: s.X[i], Y: s.Y[i]})
	}
	return xys
}

// writeSVG draws c as SVG to w.
func writeSVG(w io.Writer, c Chart) error { return writePlot(w, c, "svg") }

// writePlot draws c to w in format ("svg", "png" …, as gonum's plot
// names them).
func writePlot(w io.Writer, c Chart, format string) error {
	p := plot.New()
	p.Title.Text = c.Title
	p.X.Label.Text, p.Y.Label.Text = c.XLabel, c.YLabel
	p.Y.Min = 0
	if c.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	p.Add(plotter.NewGrid())
	var args []any
	drawn, maxY := 0, 0.0
	var xs []float64
	for _, s := range c.Series {
		xys := s.points()
		if c.LogX {
			xys = slices.DeleteFunc(xys, func(xy plotter.XY) bool { return xy.X <= 0 })
		}
		if len(xys) == 0 {
			continue
		}
		for _, xy := range xys {
			maxY = max(maxY, xy.Y)
			if !slices.Contains(xs, xy.X) {
				xs = append(xs, xy.X)
			}
		}
		args = append(args, s.Name, xys)
		drawn++
	}
	if drawn == 0 {
		return errors.New("no points to draw")
	}
	// Room above the points for the legend; a labelled tick at every
	// measured x when there are few (the sizes, rates or rounds run).
	if maxY > 0 {
		p.Y.Max = maxY * 1.35
	}
	if len(xs) <= 12 {
		slices.Sort(xs)
		ticks := make([]plot.Tick, len(xs))
		for i, x := range xs {
			ticks[i] = plot.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', -1, 64)}
		}
		p.X.Tick.Marker = plot.ConstantTicks(ticks)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	p.Legend.Top = true
	wt, err := p.WriterTo(16*vg.Centimeter, 10*vg.Centimeter, format)
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// writeCharts draws every chart into dir and returns the files written;
// a chart without points is skipped and named in skipped.
func writeCharts(dir string, charts []Chart) (files, skipped []string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, fmt.Errorf("plots: %w", err)
	}
	for _, c := range charts {
		path := filepath.Join(dir, c.File)
		f, err := os.Create(path)
		if err != nil {
			return files, skipped, fmt.Errorf("plot %s: %w", c.File, err)
		}
		err = writeSVG(f, c)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			skipped = append(skipped, c.File+": "+err.Error())
			continue
		}
		files = append(files, path)
	}
	return files, skipped, nil
}

// charts are the plots of a report: the scaling curve, the status lookups
// against their baseline by offered rate, the drain against COPY by
// round, and memory by open procedures.
func charts(rep *Report) []Chart {
	var out []Chart
	if c := rep.Curve; c != nil && len(c.Points) > 0 {
		tp := Chart{File: "curve-throughput.svg", Title: "Throughput by N (as fast as possible)", XLabel: "applications N",
			YLabel: "applications/s", LogX: true}
		cpu := Chart{File: "curve-cpu.svg", Title: "CPU per application by N (suite + plugins + PostgreSQL)", XLabel: "applications N",
			YLabel: "CPU ms per application", LogX: true}
		for _, system := range []string{SystemAmtsweg, SystemTemporal} {
			st, sc := Series{Name: system}, Series{Name: system}
			for _, p := range c.Points {
				st.X, st.Y = append(st.X, float64(p.N)), append(st.Y, valueOr(p.Throughput, system))
				sc.X, sc.Y = append(sc.X, float64(p.N)), append(sc.Y, valueOr(p.CPUMsPerApp, system))
			}
			tp.Series, cpu.Series = append(tp.Series, st), append(cpu.Series, sc)
		}
		out = append(out, tp, cpu)
	}
	if s := rep.Status; s != nil {
		ch := Chart{File: "status-p99-by-rate.svg", Title: fmt.Sprintf("Status lookups, %d applications: p99 by offered rate (median of rounds)", s.Rows),
			XLabel: "requests/s offered", YLabel: "p99 ms"}
		for _, target := range []string{targetStatus, targetBareStatus} {
			ser := Series{Name: target}
			for _, rate := range rep.Config.StatusRates {
				var p99 []float64
				for _, st := range s.Steps {
					if st.Target == target && st.Mode == ModeRate && st.Rate == rate {
						p99 = append(p99, st.Latency.P99)
					}
				}
				if len(p99) > 0 {
					ser.X, ser.Y = append(ser.X, float64(rate)), append(ser.Y, median(p99))
				}
			}
			ch.Series = append(ch.Series, ser)
		}
		out = append(out, ch)
	}
	if b := rep.Backlog; b != nil && len(b.Drains) > 0 {
		ch := Chart{File: "backlog-rounds.svg", Title: fmt.Sprintf("Projector drain vs plain COPY, %d events, %d connections, by round", b.Events, b.Consumers),
			XLabel: "round", YLabel: "events/s"}
		dr, cp := Series{Name: "projector drain"}, Series{Name: "plain COPY"}
		for _, d := range b.Drains {
			dr.X, dr.Y = append(dr.X, float64(d.Round)), append(dr.Y, d.EventsPerSecond)
		}
		for _, d := range b.Copies {
			cp.X, cp.Y = append(cp.X, float64(d.Round)), append(cp.Y, d.EventsPerSecond)
		}
		ch.Series = []Series{dr, cp}
		out = append(out, ch)
	}
	if o := rep.Open; o != nil && len(o.Points) > 1 {
		ch := Chart{File: "open-memory.svg", Title: "Memory by open procedures", XLabel: "open procedures", YLabel: "MiB"}
		rss, heap := Series{Name: "RSS"}, Series{Name: "heap in use"}
		for _, p := range o.Points {
			rss.X, rss.Y = append(rss.X, float64(p.Open)), append(rss.Y, mib(p.RSS))
			heap.X, heap.Y = append(heap.X, float64(p.Open)), append(heap.Y, mib(p.HeapInuse))
		}
		ch.Series = []Series{rss, heap}
		out = append(out, ch)
	}
	return out
}

func valueOr(m map[string]float64, key string) float64 {
	if v, ok := m[key]; ok {
		return v
	}
	return math.NaN()
}

// publish copies report.json and the plots from out to dir (e.g.
// docs/benchmarks), replacing the plots published before.
func publish(out, dir string, plots []string) error {
	if err := os.RemoveAll(filepath.Join(dir, "plots")); err != nil {
		return fmt.Errorf("publish: remove the old plots: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "plots"), 0o755); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	copyFile := func(from, to string) error {
		b, err := os.ReadFile(from)
		if err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		if err := os.WriteFile(to, b, 0o644); err != nil {
			return fmt.Errorf("publish: %w", err)
		}
		return nil
	}
	if err := copyFile(filepath.Join(out, "report.json"), filepath.Join(dir, "report.json")); err != nil {
		return err
	}
	for _, p := range plots {
		if err := copyFile(p, filepath.Join(dir, "plots", filepath.Base(p))); err != nil {
			return err
		}
	}
	return nil
}

// plotNames renders the plot files for the table.
func plotNames(files []string) string {
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	return strings.Join(names, ", ")
}
