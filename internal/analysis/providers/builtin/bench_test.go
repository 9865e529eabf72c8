package builtin

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// fullRecorder returns a real gateway whose recorder holds its whole default history
// (900 one-second buckets) for a canary and a stable revision, filled by real requests
// through the gateway to loopback backends.
func fullRecorder(b *testing.B) (*gateway.Gateway, *settableClock) {
	b.Helper()
	clk := &settableClock{t: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	stable, canary := startModel(b, 1, 0.9, 0, 0), startModel(b, 0, 0.2, 10, 0)
	eps := func(a string) []gateway.Endpoint { return []gateway.Endpoint{{Address: a}} }
	g := gateway.New(gateway.Config{Clock: clk}, nil)
	if err := g.SetRoutes(gateway.RouteTable{Services: map[string]gateway.Service{
		"detector": {Revisions: []gateway.Revision{{Name: "stable", Weight: 1, Endpoints: eps(stable.addr)}, {Name: "canary", Weight: 1, Endpoints: eps(canary.addr)}}},
	}}); err != nil {
		b.Fatal(err)
	}
	base := serveGateway(b, g)
	c := &http.Client{Timeout: 10 * time.Second}
	for sec := 0; sec < 900; sec++ {
		for i := 0; i < 4; i++ {
			if _, err := post(context.Background(), c, base+"/svc/detector/v2/models/detector/infer", fmt.Sprintf(`{"id":"b%d-%d","inputs":[]}`, sec, i)); err != nil {
				b.Fatal(err)
			}
		}
		clk.advance(time.Second)
	}
	return g, clk
}

// BenchmarkMeasureRealRecorder measures the cost of one measurement against a real
// recorder holding 15 minutes of history: a window measure reads one snapshot per revision;
// a judge replays the whole history in 5s slices. "-cold" is a first verdict (181
// snapshots per revision); the others are repeated verdicts, where completed slices come
// from the provider's cache and only the current slice is read.
func BenchmarkMeasureRealRecorder(b *testing.B) {
	g, clk := fullRecorder(b)
	p, err := New(Options{Source: g.Recorder(), Now: clk.Now})
	if err != nil {
		b.Fatal(err)
	}
	ctx := analysis.WithRunInfo(context.Background(), analysis.RunInfo{Name: "bench", StartedAt: clk.Now().Add(-15 * time.Minute),
		Labels: map[string]string{analysis.LabelService: "detector", analysis.LabelRevision: "canary", analysis.LabelStableRevision: "stable"}})
	for _, name := range []string{"error-rate", "latency-p99", "judge-errors", "judge-latency"} {
		m := builtinMetric(name, v1alpha1.BuiltinMetric{Metric: name, Params: map[string]string{"warmup": "50"}})
		if name == "error-rate" || name == "latency-p99" {
			m.Provider.Builtin.Window = "15m"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := p.Measure(ctx, m, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
		if name == "judge-errors" {
			b.Run(name+"-cold", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					cold, err := New(Options{Source: g.Recorder(), Now: clk.Now})
					if err != nil {
						b.Fatal(err)
					}
					if _, err := cold.Measure(ctx, m, nil); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
