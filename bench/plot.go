package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Plot draws the report to path (.png or .svg): throughput over time of every series on the left,
// the cumulative distribution of every latency on the right (log scale). A report made of runs
// (scale) draws every run's, labelled with the run's parameters.
func (r *Report) Plot(path string) error {
	const w, h = 11 * vg.Inch, 4 * vg.Inch
	var cw io.WriterTo
	var dc draw.Canvas
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		c := vgimg.New(w, h)
		cw, dc = vgimg.PngCanvas{Canvas: c}, draw.New(c)
	case ".svg":
		c := vgsvg.New(w, h)
		cw, dc = c, draw.New(c)
	default:
		return fmt.Errorf("--plot %s: want a .png or .svg file name", path)
	}
	tp := plot.New()
	tp.Title.Text = r.Scenario + ": throughput over time"
	tp.X.Label.Text = "seconds since the phase started"
	tp.Y.Label.Text = "per second"
	lp := plot.New()
	lp.Title.Text = r.Scenario + ": latency distribution"
	lp.X.Label.Text = "latency ms (log)"
	lp.Y.Label.Text = "fraction <= latency"
	lp.Legend.Top, lp.Legend.Left = false, false
	tp.Legend.Top = true

	var tlines, llines []any
	add := func(rep *Report, label string) {
		for _, s := range rep.Series {
			rates := s.Rates()
			if len(rates) == 0 {
				continue
			}
			xy := make(plotter.XYs, len(rates))
			for i, p := range rates {
				xy[i].X, xy[i].Y = p[0], p[1]
			}
			tlines = append(tlines, strings.TrimSpace(label+" "+s.Name+" "+s.Unit), xy)
		}
		for _, l := range rep.Latencies {
			if len(l.CDF) == 0 {
				continue
			}
			xy := make(plotter.XYs, len(l.CDF))
			for i, p := range l.CDF {
				xy[i].X, xy[i].Y = math.Max(p[0], 1e-3), p[1]
			}
			llines = append(llines, strings.TrimSpace(label+" "+l.Name), xy)
		}
	}
	add(r, "")
	for _, run := range r.Runs {
		// A run is labelled by the parameters it shares with the whole report but sets
		// differently (scale: processes and gomaxprocs; ingest --baseline: no_fsync).
		var parts []string
		for _, p := range run.Params {
			if q, ok := r.Params.Get(p.Name); ok && fmt.Sprint(q.Value) != fmt.Sprint(p.Value) {
				parts = append(parts, fmt.Sprintf("%s=%v", p.Name, p.Value))
			}
		}
		add(run, strings.Join(parts, " "))
	}
	if len(tlines) == 0 && len(llines) == 0 {
		return fmt.Errorf("--plot: the %s report has no throughput series or latency distribution to draw", r.Scenario)
	}
	if len(tlines) > 0 {
		if err := plotutil.AddLines(tp, tlines...); err != nil {
			return err
		}
	}
	if len(llines) > 0 {
		lp.X.Scale = plot.LogScale{}
		lp.X.Tick.Marker = plot.LogTicks{Prec: -1}
		if err := plotutil.AddLines(lp, llines...); err != nil {
			return err
		}
	}
	plots := [][]*plot.Plot{{tp, lp}}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Millimeter * 8, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	cs := plot.Align(plots, tiles, dc)
	tp.Draw(cs[0][0])
	lp.Draw(cs[0][1])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := cw.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
