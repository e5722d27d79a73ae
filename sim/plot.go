package sim

import (
	"fmt"
	"image/color"
	"path/filepath"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// WritePlot draws the block propagation CDFs (to 50 %, 90 % and all
// reachable nodes, and the shortest-path bound) and every node's tip
// height over time, side by side, to file (.svg or .png).
func (res *Result) WritePlot(file string) error {
	cdf := plot.New()
	cdf.Title.Text = fmt.Sprintf("Block propagation, %d nodes", res.Nodes)
	cdf.X.Label.Text = "ms after mining"
	cdf.Y.Label.Text = "fraction of blocks"
	cdf.Legend.Top = false
	cdf.Legend.Left = false
	// Log time axis: the bulk (a few hundred ms) and the tail (seconds)
	// both stay readable.
	cdf.X.Scale = plot.LogScale{}
	cdf.X.Tick.Marker = msTicks{}
	cdf.Y.Tick.Marker = plot.ConstantTicks([]plot.Tick{{Value: 0, Label: "0"}, {Value: 0.25, Label: "0.25"},
		{Value: 0.5, Label: "0.5"}, {Value: 0.75, Label: "0.75"}, {Value: 0.9, Label: "0.9"}, {Value: 1, Label: "1"}})
	series := []struct {
		name string
		get  func(BlockStat) float64
	}{
		{"50% of nodes", func(b BlockStat) float64 { return b.T50Ms }},
		{"90% of nodes", func(b BlockStat) float64 { return b.T90Ms }},
		{"all nodes", func(b BlockStat) float64 { return b.T100Ms }},
		{"shortest-path bound", func(b BlockStat) float64 { return b.BoundMs }},
		{"bound over the gossip mesh", func(b BlockStat) float64 { return b.MeshMs }},
	}
	for k, sr := range series {
		var xs []float64
		for _, b := range res.Blocks {
			if x := sr.get(b); b.T100Ms > 0 && x > 0 {
				xs = append(xs, x)
			}
		}
		if len(xs) == 0 {
			continue
		}
		slices.Sort(xs)
		pts := make(plotter.XYs, len(xs))
		for i, x := range xs {
			pts[i] = plotter.XY{X: x, Y: float64(i+1) / float64(len(xs))}
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		l.Color = plotColor(k)
		l.Width = vg.Points(1.5)
		if k >= 3 {
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		}
		cdf.Add(l)
		cdf.Legend.Add(sr.name, l)
	}
	cdf.Add(plotter.NewGrid())

	hp := plot.New()
	hp.Title.Text = "Tip height of each node"
	hp.X.Label.Text = "s since start"
	hp.Y.Label.Text = "height"
	for i := 0; i < res.Nodes; i++ {
		pts := make(plotter.XYs, 0, len(res.Heights))
		for _, s := range res.Heights {
			pts = append(pts, plotter.XY{X: s.T, Y: float64(s.Heights[i])})
		}
		if len(pts) == 0 {
			continue
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return err
		}
		c := plotColor(i)
		c.A = 160
		l.Color = c
		l.Width = vg.Points(0.6)
		hp.Add(l)
	}
	hp.Add(plotter.NewGrid())

	const w, h = 12 * vg.Inch, 5 * vg.Inch
	var c draw.Canvas
	var save func() error
	switch strings.ToLower(filepath.Ext(file)) {
	case ".svg":
		sv := vgsvg.New(w, h)
		c = draw.New(sv)
		save = func() error { return writeTo(file, sv) }
	case ".png":
		img := vgimg.New(w, h)
		c = draw.New(img)
		save = func() error { return writeTo(file, vgimg.PngCanvas{Canvas: img}) }
	default:
		return fmt.Errorf("-plot %s: want a .svg or .png file", file)
	}
	tiles := draw.Tiles{Rows: 1, Cols: 2, PadX: vg.Inch / 4, PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	cs := plot.Align([][]*plot.Plot{{cdf, hp}}, tiles, c)
	cdf.Draw(cs[0][0])
	hp.Draw(cs[0][1])
	return save()
}

// msTicks marks a log axis of milliseconds at 1-2-5 steps.
type msTicks struct{}

func (msTicks) Ticks(lo, hi float64) []plot.Tick {
	var ts []plot.Tick
	for d := 1.0; d <= hi*10; d *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if v := d * m; v >= lo && v <= hi {
				label := fmt.Sprintf("%g", v)
				if v >= 1000 {
					label = fmt.Sprintf("%gs", v/1000)
				}
				ts = append(ts, plot.Tick{Value: v, Label: label})
			}
		}
	}
	return ts
}

func plotColor(i int) color.RGBA {
	pal := []color.RGBA{{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
		{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255}, {188, 189, 34, 255}, {23, 190, 207, 255}}
	return pal[i%len(pal)]
}
