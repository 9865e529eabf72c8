package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/controlplane"
	"github.com/shipsafe/shipsafe/internal/dataplane"
	"github.com/shipsafe/shipsafe/internal/server"
	"github.com/shipsafe/shipsafe/internal/store"
)

// readyAPI is the API backend with the data plane's readiness: GET /readyz fails while
// the data plane is down.
type readyAPI struct {
	*apiservice.Service
	dp *dataplane.Handle
}

var _ server.ReadinessChecker = readyAPI{}

func (r readyAPI) Readiness(context.Context) []server.Check {
	s := r.dp.Status()
	return []server.Check{{Name: "dataplane", OK: s.Up, Reason: s.Reason, Since: s.Since}}
}

// waker is the control plane's WakeAll.
type waker interface{ WakeAll() }

var _ waker = (*controlplane.ControlPlane)(nil)

// dataplaneEvents tells every rollout when the data plane goes down and comes back (a
// rollout's traffic depends on it), and wakes every rollout when it is back so that each
// checks its traffic at once.
type dataplaneEvents struct {
	store   store.Store
	control waker
	log     *slog.Logger
	// up is the last Up reported, so events are written on changes of Up only (a reason
	// that changes while down is logged, not written to every rollout).
	up bool
}

// run records the changes sent on ch, in order, until ctx ends. It runs on its own
// goroutine so that store writes never delay a restart.
func (d *dataplaneEvents) run(ctx context.Context, ch <-chan dataplane.Status) {
	for {
		select {
		case <-ctx.Done():
			return
		case s := <-ch:
			d.changed(ctx, s)
		}
	}
}

func (d *dataplaneEvents) changed(ctx context.Context, s dataplane.Status) {
	if s.Up == d.up {
		return
	}
	d.up = s.Up
	e := store.Event{Type: "Warning", Reason: "DataPlaneDown", Message: s.Reason}
	if s.Up {
		e = store.Event{Type: "Normal", Reason: "DataPlaneRestarted",
			Message: fmt.Sprintf("data plane restarted (pid %d) after %v down, serving the stored route table", s.PID, s.Down.Round(time.Millisecond))}
		d.control.WakeAll()
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	rows, err := d.store.ListRollouts(wctx)
	if err != nil {
		d.log.Warn("list rollouts to record a data plane event", "reason", e.Reason, "err", err)
		return
	}
	evs := make([]store.Event, 0, len(rows))
	for _, r := range rows {
		ev := e
		// Named by the transition, so a repeated write stores nothing twice.
		ev.Name = fmt.Sprintf("%s.dataplane.%d.%s", r.Name, s.Since.UnixNano(), e.Reason)
		ev.Rollout, ev.Time = r.Name, s.Since
		evs = append(evs, ev)
	}
	if len(evs) == 0 {
		return
	}
	if _, err := d.store.AppendEvents(wctx, evs); err != nil {
		d.log.Warn("record the data plane event", "reason", e.Reason, "err", err)
	}
}
