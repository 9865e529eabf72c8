package builtin

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/analysis/triggers"
	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/rollout"
)

// TestRollbackTriggerOnRealGateway: a canary failing one request in five behind a real
// gateway fires the "error rate > 0.1 for 2m → immediate" trigger exactly when the breach
// has lasted 2 minutes of (settable) recorder time, and not before.
func TestRollbackTriggerOnRealGateway(t *testing.T) {
	clk := &settableClock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	stable, canary := startModel(t, 1, 0.9, 0, 0), startModel(t, 1, 0.9, 5, 0)
	eps := func(a string) []gateway.Endpoint { return []gateway.Endpoint{{Address: a}} }
	g := gateway.New(gateway.Config{Clock: clk}, nil)
	if err := g.SetRoutes(gateway.RouteTable{Services: map[string]gateway.Service{
		"detector": {Revisions: []gateway.Revision{{Name: "stable", Weight: 1, Endpoints: eps(stable.addr)}, {Name: "canary", Weight: 1, Endpoints: eps(canary.addr)}}},
	}}); err != nil {
		t.Fatal(err)
	}
	base := serveGateway(t, g)
	c := &http.Client{Timeout: 10 * time.Second}
	p, err := New(Options{Source: g.Recorder(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := triggers.New([]v1alpha1.RollbackTrigger{
		{Name: "error-spike", Metric: "error-rate", Threshold: 0.1, For: "2m", Action: v1alpha1.RollbackImmediate},
	}, triggers.Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	info := analysis.RunInfo{Name: "detector", Labels: map[string]string{analysis.LabelService: "detector", analysis.LabelRevision: "canary", analysis.LabelStableRevision: "stable"}}

	var firedAt time.Time
	for round := 0; round < 18 && firedAt.IsZero(); round++ {
		infer(t, c, base, "detector", fmt.Sprintf("r%d", round), 20)
		if err := ev.Poll(context.Background(), p, info, clk.Now()); err != nil {
			t.Fatal(err)
		}
		if r := ev.Evaluate(clk.Now()); r != nil {
			if r.Action != rollout.RollbackImmediate || r.Trigger != "error-spike" {
				t.Fatalf("request %+v", r)
			}
			firedAt = clk.Now()
		}
		clk.advance(10 * time.Second)
	}
	// The breach begins with the first sample above 10% (normally the first round; the
	// weighted split decides how many requests the canary got by then).
	since := ev.State().Triggers[0].BreachSince
	if firedAt.IsZero() || since == nil || firedAt.Sub(*since) != 2*time.Minute {
		t.Fatalf("fired at %v, breach since %v: want exactly 2m of breach", firedAt, since)
	}
}
