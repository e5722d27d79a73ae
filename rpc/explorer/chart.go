package explorer

import (
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cairn-ledger/cairn/chain"
	"github.com/cairn-ledger/cairn/consensus"
)

// The chart's geometry, in the SVG's user units (it scales to the page's
// width): the plot area and the margins for the axis labels.
const (
	chartW      = 960
	chartH      = 240
	chartLeft   = 56
	chartRight  = 76
	chartTop    = 14
	chartBottom = 28
)

// chartView is an inline SVG chart of the block intervals (bars, left
// axis) and the difficulty (line, right axis) of the last blocks, oldest
// on the left. Every field is a number or a label the server computed:
// the template escapes them like any text.
type chartView struct {
	Empty         bool
	W, H          int
	Left, Right   float64 // x of the plot area's edges
	Top, Bottom   float64 // y of the plot area's edges
	Bars          []chartBar
	DiffPoints    string // the polyline's points
	MeanShown     bool   // the mean is within the axis (else only in the legend)
	Clipped       int    // bars cut at the axis's top
	MeanY         float64
	Mean          string // the mean interval, as a label
	IntervalTicks []chartTick
	DiffTicks     []chartTick
	FirstHeight   uint64
	LastHeight    uint64
	Blocks        int
}

type chartBar struct {
	X, Y, W, H float64
	Height     uint64
	Label      string // tooltip
	Clipped    bool   // the interval is above the axis's top
}

type chartTick struct {
	Y     float64
	Label string
}

// newChart draws the blocks of infos (newest first, as branch returns
// them); the oldest only gives the interval of the next.
func newChart(infos []chain.HeaderInfo) chartView {
	v := chartView{W: chartW, H: chartH, Left: chartLeft, Right: chartW - chartRight,
		Top: chartTop, Bottom: chartH - chartBottom}
	n := len(infos) - 1 // blocks with an interval
	if n < 1 {
		v.Empty = true
		return v
	}
	intervals := make([]float64, n) // seconds, oldest first
	diffs := make([]float64, n)
	var sum float64
	for i := range n {
		newer, older := infos[n-1-i], infos[n-i]
		intervals[i] = float64(newer.Header.Time-older.Header.Time) / 1000
		diffs[i] = bigFloat(consensus.CalcWork(newer.Header.Bits))
		sum += intervals[i]
	}
	v.Blocks = n
	v.FirstHeight, v.LastHeight = infos[n-1].Header.Height, infos[0].Header.Height
	mean := sum / float64(n)

	// The interval axis goes to the 95th percentile (at least twice the
	// median), so that one long gap — the first block of a chain whose
	// genesis is old, a miner that stopped for a day — does not flatten
	// every other bar; bars above it are clipped and marked.
	sorted := slices.Sorted(slices.Values(intervals))
	top := max(sorted[(len(sorted)-1)*95/100], 2*sorted[len(sorted)/2], 0.001)
	top = niceCeil(top)
	plotH := v.Bottom - v.Top
	slot := (v.Right - v.Left) / float64(n)
	yOf := func(s float64) float64 { return v.Bottom - plotH*min(max(s, 0), top)/top }
	for i, s := range intervals {
		y := yOf(s)
		v.Bars = append(v.Bars, chartBar{
			X: round1(v.Left + float64(i)*slot), Y: round1(y), W: round1(max(slot*0.8, 0.5)), H: round1(v.Bottom - y),
			Height:  infos[n-1-i].Header.Height,
			Label:   "block " + strconv.FormatUint(infos[n-1-i].Header.Height, 10) + ": " + formatInterval(int64(s*1000)) + ", difficulty " + formatSI(diffs[i], "H"),
			Clipped: s > top,
		})
		if s > top {
			v.Clipped++
		}
	}
	v.Mean = "mean " + formatInterval(int64(mean*1000))
	if v.MeanShown = mean <= top; v.MeanShown {
		v.MeanY = round1(yOf(mean))
	}
	for _, f := range []float64{0, 0.5, 1} {
		v.IntervalTicks = append(v.IntervalTicks, chartTick{Y: round1(yOf(top * f)),
			Label: strconv.FormatFloat(top*f, 'f', -1, 64) + " s"})
	}

	// The difficulty line spans its own range, padded by a tenth.
	lo, hi := slices.Min(diffs), slices.Max(diffs)
	if hi-lo < hi*1e-9 {
		lo, hi = lo*0.9, hi*1.1+1
	} else {
		pad := (hi - lo) / 10
		lo, hi = max(lo-pad, 0), hi+pad
	}
	dy := func(d float64) float64 { return v.Bottom - plotH*(d-lo)/(hi-lo) }
	var pts strings.Builder
	for i, d := range diffs {
		if i > 0 {
			pts.WriteByte(' ')
		}
		pts.WriteString(strconv.FormatFloat(round1(v.Left+(float64(i)+0.4)*slot), 'f', -1, 64))
		pts.WriteByte(',')
		pts.WriteString(strconv.FormatFloat(round1(dy(d)), 'f', -1, 64))
	}
	v.DiffPoints = pts.String()
	for _, f := range []float64{0, 0.5, 1} {
		d := lo + (hi-lo)*f
		v.DiffTicks = append(v.DiffTicks, chartTick{Y: round1(dy(d)), Label: formatSI(d, "H")})
	}
	return v
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

func round1(v float64) float64 { return math.Round(v*10) / 10 }
