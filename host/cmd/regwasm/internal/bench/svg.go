package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/regwasm/regwasm/host/cmd/regwasm/internal/human"
)

// chartSeries is one host's request rate per phase.
type chartSeries struct {
	Name   string
	Color  string
	Scale  string    // shown after the name when hosts ran at different scales
	Values []float64 // one per phase; 0 = not measured
}

// writeBarChart writes a grouped bar chart of req/s per phase, one bar per series, as a
// self-contained SVG (no fonts or scripts to load), so it can sit next to BENCHMARKS.md.
func writeBarChart(w io.Writer, title string, phases []string, series []chartSeries) error {
	const (
		left, right, top, bottom = 70.0, 20.0, 40.0, 110.0
		groupWidth               = 56.0
		height                   = 300.0
	)
	// The legend is one row, its entries wider when they carry a scale.
	step := 120.0
	for _, s := range series {
		if s.Scale != "" {
			step = 260
		}
	}
	width := max(left+right+groupWidth*float64(max(len(phases), 1)), left+right+step*float64(len(series)))
	maxV := 0.0
	for _, s := range series {
		for _, v := range s.Values {
			maxV = math.Max(maxV, v)
		}
	}
	scaleTop := niceCeil(maxV)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="11">`+"\n",
		width, height+top+bottom, width, height+top+bottom)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="22" font-size="14" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// Grid lines and the y axis labels: five steps of the rounded maximum.
	for i := 0; i <= 5; i++ {
		v := scaleTop * float64(i) / 5
		y := top + height - height*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`+"\n", left, y, width-right, y)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-6, y+4, human.Count(uint64(v)))
	}
	fmt.Fprintf(&b, `<text x="14" y="%.0f" transform="rotate(-90 14 %.0f)" text-anchor="middle">requests / s</text>`+"\n", top+height/2, top+height/2)
	barWidth := (groupWidth - 12) / float64(max(len(series), 1))
	for i, name := range phases {
		x0 := left + groupWidth*float64(i) + 6
		for j, s := range series {
			if i >= len(s.Values) || s.Values[i] <= 0 || scaleTop == 0 {
				continue
			}
			h := height * s.Values[i] / scaleTop
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %.0f req/s</title></rect>`+"\n",
				x0+barWidth*float64(j), top+height-h, barWidth-1, h, s.Color, html.EscapeString(s.Name), html.EscapeString(name), s.Values[i])
		}
		lx := x0 + (groupWidth-12)/2
		ly := top + height + 12
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" transform="rotate(45 %.1f %.1f)">%s</text>`+"\n", lx, ly, lx, ly, html.EscapeString(name))
	}
	for j, s := range series {
		x := left + step*float64(j)
		y := height + top + bottom - 14
		label := s.Name
		if s.Scale != "" {
			label += " (" + s.Scale + ")"
		}
		fmt.Fprintf(&b, `<rect x="%.0f" y="%.0f" width="12" height="12" fill="%s"/><text x="%.0f" y="%.0f">%s</text>`+"\n",
			x, y-10, s.Color, x+16, y, html.EscapeString(label))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceCeil rounds v up to 1, 2, 2.5 or 5 times a power of ten, so that the axis's five steps
// have round labels.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}
