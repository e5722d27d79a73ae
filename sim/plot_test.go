package sim

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritePlot(t *testing.T) {
	res := &Result{Nodes: 2, Blocks: []BlockStat{
		{Height: 1, T50Ms: 10, T90Ms: 20, T100Ms: 30, BoundMs: 25},
		{Height: 2, T50Ms: 12, T90Ms: 22, T100Ms: 40, BoundMs: 35},
	}, Heights: []HeightSample{{T: 0, Heights: []uint64{0, 0}}, {T: 1, Heights: []uint64{1, 2}}}}
	dir := t.TempDir()
	svg, png := filepath.Join(dir, "p.svg"), filepath.Join(dir, "p.png")
	for _, f := range []string{svg, png} {
		if err := res.WritePlot(f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	b, err := os.ReadFile(svg)
	if err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.Contains(b, []byte("shortest-path bound")) {
		t.Errorf("svg: %v, %d bytes, no <svg> with the legend", err, len(b))
	}
	b, err = os.ReadFile(png)
	if err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Errorf("png: %v, %d bytes, no PNG header", err, len(b))
	}
	if err := res.WritePlot(filepath.Join(dir, "p.gif")); err == nil || !strings.Contains(err.Error(), ".svg or .png") {
		t.Errorf("gif: %v, want refused", err)
	}
}
