package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

func printTable(w io.Writer, rs []result, chain *chainResult) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "N\tdeploy s\tdestroy s\tms/node\texec ms\tPSS KiB/node\tRSS KiB/node\t"+
		"raw up s\traw down s\traw ms/node\tleolab/raw\tmininet up s\tmininet down s\tmininet ms/node\tmininet/leolab\t")
	for _, r := range rs {
		total := r.Deploy + r.Destroy
		raw := r.RawUp + r.RawDown
		mn, mnRatio := "-", "-"
		mnUp, mnDown := "-", "-"
		if r.MnUp > 0 {
			mnUp, mnDown = f2(r.MnUp), f2(r.MnDown)
			mn = f1(1000 * (r.MnUp + r.MnDown) / float64(r.N))
			mnRatio = f2((r.MnUp+r.MnDown)/total) + "×"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%s\t%s×\t%s\t%s\t%s\t%s\t\n",
			r.N, f2(r.Deploy), f2(r.Destroy), f1(1000*total/float64(r.N)), f1(r.ExecMedianMs),
			r.PSSKiB, r.RSSKiB, f2(r.RawUp), f2(r.RawDown), f1(1000*raw/float64(r.N)),
			f2(total/raw), mnUp, mnDown, mn, mnRatio)
	}
	tw.Flush()
	fmt.Fprintln(w, "ms/node = (deploy + destroy) / N; leolab/raw < 1 means leolab is faster than the ip -batch script;")
	fmt.Fprintln(w, "mininet/leolab > 1 means leolab is faster than Mininet; exec = median of `leolab exec n1 -- true`.")
	for _, r := range rs {
		if r.MnNote != "" {
			fmt.Fprintf(w, "mininet at N=%d: %s\n", r.N, r.MnNote)
		}
	}
	if small, big := perNode(rs, 100), perNode(rs, 1000); small > 0 && big > 0 {
		fmt.Fprintf(w, "linearity: time per node at N=1000 is %.2f× time per node at N=100\n", big/small)
	}
	if chain != nil {
		fmt.Fprintf(w, "ring lab: %d nodes, %d links: deploy %.2f s, destroy %.2f s, %.1f ms/node\n",
			chain.Nodes, chain.Links, chain.Deploy, chain.Destroy, 1000*(chain.Deploy+chain.Destroy)/float64(chain.Nodes))
	}
}

func perNode(rs []result, n int) float64 {
	for _, r := range rs {
		if r.N == n {
			return (r.Deploy + r.Destroy) / float64(n)
		}
	}
	return 0
}

func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }

// series is one line of the plot: seconds per node (up + down) against N.
type series struct {
	name, color string
	pts         [][2]float64
}

// plotSVG draws seconds per node against N (log x, linear y).
func plotSVG(rs []result) string {
	ss := []series{{name: "leolab (deploy+destroy)", color: "#d62728"},
		{name: "raw-baseline.sh (ip -batch)", color: "#1f77b4"},
		{name: "Mininet (LinuxBridge)", color: "#2ca02c"}}
	for _, r := range rs {
		n := float64(r.N)
		ss[0].pts = append(ss[0].pts, [2]float64{n, (r.Deploy + r.Destroy) / n})
		ss[1].pts = append(ss[1].pts, [2]float64{n, (r.RawUp + r.RawDown) / n})
		if r.MnUp > 0 {
			ss[2].pts = append(ss[2].pts, [2]float64{n, (r.MnUp + r.MnDown) / n})
		}
	}
	const W, H, L, R, T, B = 640.0, 400.0, 70.0, 20.0, 30.0, 50.0
	xmin, xmax, ymax := math.Inf(1), math.Inf(-1), 0.0
	for _, s := range ss {
		for _, p := range s.pts {
			xmin, xmax, ymax = math.Min(xmin, p[0]), math.Max(xmax, p[0]), math.Max(ymax, p[1])
		}
	}
	if xmin >= xmax {
		xmax = xmin * 10
	}
	ymax = niceCeil(ymax)
	x := func(v float64) float64 {
		return L + (W-L-R)*(math.Log10(v)-math.Log10(xmin))/(math.Log10(xmax)-math.Log10(xmin))
	}
	y := func(v float64) float64 { return H - B - (H-T-B)*v/ymax }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", W, H)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="%.0f" y="18" text-anchor="middle" font-size="14">seconds per node (up + down) against N</text>`+"\n", W/2)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", L, H-B, W-R, H-B)
	fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="black"/>`+"\n", L, T, L, H-B)
	for _, r := range rs {
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="middle">%d</text>`+"\n", x(float64(r.N)), H-B+16, r.N)
	}
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#ddd"/>`+"\n", L, y(v), W-R, y(v))
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" text-anchor="end">%.3g</text>`+"\n", L-6, y(v)+4, v)
	}
	fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle">N (nodes, log scale)</text>`+"\n", (L+W-R)/2, H-12)
	fmt.Fprintf(&b, `<text transform="translate(16 %.0f) rotate(-90)" text-anchor="middle">s / node</text>`+"\n", (T+H-B)/2)
	for i, s := range ss {
		if len(s.pts) == 0 {
			continue
		}
		var pts []string
		for _, p := range s.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p[0]), y(p[1])))
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", x(p[0]), y(p[1]), s.color)
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", s.color, strings.Join(pts, " "))
		ly := T + 14 + float64(i)*16
		fmt.Fprintf(&b, `<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="2"/>`+"\n", L+10, ly, L+30, ly, s.color)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f">%s</text>`+"\n", L+36, ly+4, s.name)
	}
	b.WriteString("</svg>\n")
	return b.String()
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
