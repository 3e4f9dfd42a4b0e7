package bench

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// checkSVG parses the chart as XML and counts its bars.
func checkSVG(t *testing.T, path string, bars int) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	rects := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			break
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "rect" {
			for _, a := range se.Attr {
				if a.Name.Local == "height" && a.Value != "100%" && a.Value != "12" {
					rects++
				}
			}
		}
	}
	if rects != bars {
		t.Fatalf("%d bars in the chart, want %d", rects, bars)
	}
}

func TestBarChart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.svg")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	err = writeBarChart(f, "a <title> & more", []string{"p1", "p<2>", "p3"}, []chartSeries{
		{Name: "native", Color: "#000", Values: []float64{10, 20, 30}},
		{Name: "wazero", Color: "#f00", Scale: "1K persons", Values: []float64{5, 0, 15}}, // 0: not measured, no bar
	})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	checkSVG(t, path, 5)
	b, _ := os.ReadFile(path)
	if !strings.Contains(string(b), "wazero (1K persons)") {
		t.Error("the legend lacks the series' scale")
	}
	for v, want := range map[float64]float64{0: 1, 7: 10, 30: 50, 101: 200, 2400: 2500, 5.25e6: 1e7} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
}
