package gateway

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	gw "github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// fakeClient is the data plane's admin API in memory.
type fakeClient struct {
	mu      sync.Mutex
	table   gw.RouteTable
	sets    int
	failSet error
	snap    gw.RevisionSnapshot
}

func (c *fakeClient) SetRoutes(_ context.Context, t gw.RouteTable) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.failSet != nil {
		return c.failSet
	}
	c.table, c.sets = t, c.sets+1
	return nil
}

func (c *fakeClient) Routes(context.Context) (gw.RouteTable, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.table, nil
}

func (c *fakeClient) Snapshot(context.Context, string, string, time.Time) (gw.RevisionSnapshot, error) {
	return c.snap, nil
}

func canary(main string, stable, canary int32) traffic.Desired {
	return traffic.Desired{
		Services: traffic.Services{Main: main},
		Traffic:  rollout.Traffic{Weights: []rollout.RevisionWeight{{Hash: "old", Weight: stable}, {Hash: "new", Weight: canary}}},
		Backends: map[string][]string{"old": {"127.0.0.1:1"}, "new": {"127.0.0.1:2"}},
		Settings: traffic.Settings{Idempotent: true, Timeout: 30 * time.Second},
	}
}

func TestTableIsTheUnionAndPushedOnlyOnChange(t *testing.T) {
	ctx := t.Context()
	c := &fakeClient{}
	r := New(ctx, c, Options{})
	a, b := traffic.Ref{Rollout: "a"}, traffic.Ref{Rollout: "b"}
	if err := r.SetTraffic(ctx, a, canary("svc-a", 90, 10)); err != nil {
		t.Fatal(err)
	}
	if err := r.SetTraffic(ctx, b, canary("svc-b", 100, 0)); err != nil {
		t.Fatal(err)
	}
	if len(c.table.Services) != 2 || c.sets != 2 {
		t.Fatalf("table %v after %d sets: want both rollouts' services", c.table.Services, c.sets)
	}
	for range 5 {
		if err := r.SetTraffic(ctx, a, canary("svc-a", 90, 10)); err != nil {
			t.Fatal(err)
		}
	}
	if c.sets != 2 {
		t.Fatalf("unchanged traffic was pushed again (%d sets)", c.sets)
	}
	if err := r.SetTraffic(ctx, a, canary("svc-a", 50, 50)); err != nil || c.sets != 3 {
		t.Fatalf("a change must be pushed: %v, %d sets", err, c.sets)
	}
	if got := c.table.Services["svc-a"].Revisions; got[0].Weight != 50 || got[1].Weight != 50 {
		t.Fatalf("svc-a revisions %+v", got)
	}
	if err := r.Remove(ctx, a); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.table.Services["svc-a"]; ok || len(c.table.Services) != 1 {
		t.Fatalf("after Remove: %v", c.table.Services)
	}
}

func TestFailedPushIsRetried(t *testing.T) {
	ctx := t.Context()
	c := &fakeClient{failSet: errors.New("connection refused")}
	r := New(ctx, c, Options{})
	ref := traffic.Ref{Rollout: "a"}
	if err := r.SetTraffic(ctx, ref, canary("svc", 100, 0)); err == nil {
		t.Fatal("a failed push must be reported")
	}
	c.failSet = nil
	if err := r.SetTraffic(ctx, ref, canary("svc", 100, 0)); err != nil || c.sets != 1 {
		t.Fatalf("the same traffic after a failed push must be pushed: %v, %d sets", err, c.sets)
	}
}

func TestAdoptionKeepsServingUntilClaimedOrExpired(t *testing.T) {
	ctx := t.Context()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &fakeClient{table: gw.RouteTable{Services: map[string]gw.Service{
		"svc-a": {Revisions: []gw.Revision{{Name: "old", Weight: 100}}},
		"svc-z": {Revisions: []gw.Revision{{Name: "gone", Weight: 100}}},
	}}}
	r := New(ctx, c, Options{Now: func() time.Time { return now }, AdoptFor: 30 * time.Second})
	if err := r.SetTraffic(ctx, traffic.Ref{Rollout: "a"}, canary("svc-a", 100, 0)); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.table.Services["svc-z"]; !ok {
		t.Fatal("an adopted service nobody claimed yet was dropped before AdoptFor")
	}
	if c.table.Services["svc-a"].Revisions[0].Endpoints == nil {
		t.Fatal("the claimed service must be the rollout's own, not the adopted one")
	}
	now = now.Add(31 * time.Second)
	if err := r.SetTraffic(ctx, traffic.Ref{Rollout: "a"}, canary("svc-a", 100, 0)); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.table.Services["svc-z"]; ok {
		t.Fatal("an unclaimed adopted service outlived AdoptFor")
	}
}

func TestVerifyDetectsARestartedDataPlane(t *testing.T) {
	ctx := t.Context()
	c := &fakeClient{}
	r := New(ctx, c, Options{})
	ref, d := traffic.Ref{Rollout: "a"}, canary("svc", 90, 10)
	if err := r.SetTraffic(ctx, ref, d); err != nil {
		t.Fatal(err)
	}
	if ok, err := r.Verify(ctx, ref, d); !ok || err != nil {
		t.Fatalf("verify after set: %v %v", ok, err)
	}
	c.table = gw.RouteTable{} // the data plane restarted empty
	if ok, _ := r.Verify(ctx, ref, d); ok {
		t.Fatal("verify must see the routes are gone")
	}
	if err := r.SetTraffic(ctx, ref, d); err != nil || c.table.Services["svc"].Revisions == nil {
		t.Fatalf("after a failed verify the same traffic is pushed again: %v %v", err, c.table)
	}
}

func TestServedExcludesMirroredCopies(t *testing.T) {
	c := &fakeClient{snap: gw.RevisionSnapshot{Requests: 100}}
	c.snap.Mirror.Sent = 30
	c.snap.StatusClass[5], c.snap.StatusClass[0] = 2, 1
	r := New(t.Context(), c, Options{})
	s, err := r.Served(t.Context(), "svc", "new", time.Time{})
	if err != nil || s.Requests != 70 || s.Errors != 3 {
		t.Fatalf("served %+v %v: want 70 live requests, 3 errors", s, err)
	}
}

func TestServicesTranslation(t *testing.T) {
	d := canary("main", 100, 0)
	d.Services.Preview, d.Traffic.Preview = "main--preview", "new"
	d.StickyHeader = "x-study"
	d.Traffic.HeaderRoutes = []rollout.HeaderRouteTarget{{Revision: "new"}}
	d.Traffic.HeaderRoutes[0].Match = append(d.Traffic.HeaderRoutes[0].Match, rollout.HeaderMatch{HeaderName: "x-canary"})
	d.Traffic.HeaderRoutes[0].Match[0].HeaderValue.Exact = "yes"
	d.Traffic.Mirrors = []rollout.MirrorTarget{{Revision: "new"}}
	d.Traffic.Mirrors[0].Percentage = 25
	d.Select = &traffic.Selection{Flag: "model", Variants: map[string]string{"canary": "new", "stable": "old", "fallback": "gone"}, Fallback: []string{"old", "gone"}}
	svcs := services(d)
	m := svcs["main"]
	if len(svcs) != 2 || svcs["main--preview"].Revisions[0].Name != "new" {
		t.Fatalf("services %v: want main and the preview on new", svcs)
	}
	if m.Sticky == nil || m.Sticky.Header != "x-study" || !m.Idempotent || time.Duration(m.Limits.Timeout) != 30*time.Second {
		t.Fatalf("main settings %+v", m)
	}
	if len(m.HeaderRoutes) != 1 || m.HeaderRoutes[0].Exact != "yes" || m.Mirror == nil || m.Mirror.Percent != 25 {
		t.Fatalf("header route %+v mirror %+v", m.HeaderRoutes, m.Mirror)
	}
	// "fallback" names a revision without ready endpoints: dropped, as is its fallback step.
	if m.Select == nil || len(m.Select.Variants) != 2 || len(m.Select.Fallback) != 1 || m.Select.Fallback[0] != "old" {
		t.Fatalf("selection %+v", m.Select)
	}
	if len(services(traffic.Desired{Services: traffic.Services{Main: "x"}})) != 0 {
		t.Fatal("a rollout without ready endpoints has no services")
	}
}
