// Package gateway is the traffic router of the embedded runtime: it keeps every rollout's
// services and pushes their union, as one route table, to shipsafe's own gateway (the data
// plane process) through its admin API.
package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"time"

	gw "github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/traffic"
)

// Client is the data plane's admin API.
type Client interface {
	SetRoutes(ctx context.Context, t gw.RouteTable) error
	Routes(ctx context.Context) (gw.RouteTable, error)
	Snapshot(ctx context.Context, service, revision string, since time.Time) (gw.RevisionSnapshot, error)
}

// Options configure a Router.
type Options struct {
	// Now is the clock (default time.Now).
	Now func() time.Time
	// AdoptFor is how long services found in the data plane at start are kept for the
	// rollouts that have not claimed theirs yet (default 30s).
	AdoptFor time.Duration
	Log      *slog.Logger
}

// Router is the gateway traffic router; safe for concurrent use by every rollout's worker.
type Router struct {
	client Client
	opts   Options

	// mu serialises table changes and pushes, so the data plane sees tables in order.
	mu sync.Mutex
	// byRollout holds each rollout's services; the route table is their union.
	byRollout map[traffic.Ref]map[string]gw.Service
	// adopted are the services the data plane served at start, until adoptedUntil: a
	// restart of the control plane changes nothing until each rollout has reconciled.
	adopted      map[string]gw.Service
	adoptedUntil time.Time
	// pushed is the table last accepted by the data plane (nil: push the next one).
	pushed *gw.RouteTable
}

var (
	_ traffic.Router  = (*Router)(nil)
	_ traffic.Counter = (*Router)(nil)
)

// New returns a Router that adopts the table the data plane is serving now (an unreachable
// data plane adopts nothing; the first push sets the whole table).
func New(ctx context.Context, c Client, opts Options) *Router {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AdoptFor <= 0 {
		opts.AdoptFor = 30 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	r := &Router{client: c, opts: opts, byRollout: map[traffic.Ref]map[string]gw.Service{}}
	if t, err := c.Routes(ctx); err == nil && len(t.Services) > 0 {
		r.adopted, r.adoptedUntil = t.Services, opts.Now().Add(opts.AdoptFor)
	} else if err != nil {
		opts.Log.Warn("read the data plane's routes to adopt them", "err", err)
	}
	return r
}

// Type is "gateway".
func (r *Router) Type() string { return "gateway" }

// HasTrafficRouting is true: the gateway splits traffic by weight.
func (r *Router) HasTrafficRouting() bool { return true }

// SetTraffic replaces the rollout's services and pushes the union when it changed.
func (r *Router) SetTraffic(ctx context.Context, ref traffic.Ref, d traffic.Desired) error {
	svcs := services(d)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.byRollout[ref] = svcs
	for name := range svcs {
		delete(r.adopted, name) // claimed
	}
	return r.pushLocked(ctx)
}

// Remove drops the rollout's services and pushes the union.
func (r *Router) Remove(ctx context.Context, ref traffic.Ref) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.byRollout, ref)
	return r.pushLocked(ctx)
}

// Verify compares the data plane's services for the rollout with d.
func (r *Router) Verify(ctx context.Context, ref traffic.Ref, d traffic.Desired) (bool, error) {
	t, err := r.client.Routes(ctx)
	if err != nil {
		return false, fmt.Errorf("read routes for %s: %w", ref, err)
	}
	for name, want := range services(d) {
		if !sameJSON(t.Services[name], want) {
			r.mu.Lock()
			r.pushed = nil // push again on the next SetTraffic
			r.mu.Unlock()
			return false, nil
		}
	}
	return true, nil
}

// Served counts what a revision answered since a time, from the gateway's records.
func (r *Router) Served(ctx context.Context, service, revision string, since time.Time) (traffic.Served, error) {
	s, err := r.client.Snapshot(ctx, service, revision, since)
	if err != nil {
		return traffic.Served{}, fmt.Errorf("snapshot %s/%s: %w", service, revision, err)
	}
	// The recorder counts mirrored (shadow) copies among a revision's requests; only the
	// live ones reached clients.
	live := int64(s.Requests) - int64(s.Mirror.Sent)
	return traffic.Served{Requests: max(live, 0), Errors: int64(s.StatusClass[5] + s.StatusClass[0])}, nil
}

func (r *Router) pushLocked(ctx context.Context) error {
	if r.adopted != nil && !r.opts.Now().Before(r.adoptedUntil) {
		r.adopted = nil
	}
	table := gw.RouteTable{Services: map[string]gw.Service{}}
	for n, s := range r.adopted {
		table.Services[n] = s
	}
	for _, m := range r.byRollout {
		for n, s := range m {
			table.Services[n] = s
		}
	}
	if len(table.Services) == 0 {
		// The gateway refuses an empty table; with nothing routable there is nothing to
		// change yet (a revision gets routes once it has a ready replica).
		return nil
	}
	if r.pushed != nil && reflect.DeepEqual(*r.pushed, table) {
		return nil // nothing changed: no write to the data plane
	}
	if err := r.client.SetRoutes(ctx, table); err != nil {
		r.pushed = nil
		return fmt.Errorf("set routes: %w", err)
	}
	r.pushed = &table
	return nil
}

// sameJSON compares two services as the data plane would see them on the wire.
func sameJSON(a, b gw.Service) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}
