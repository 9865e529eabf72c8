package kubecontroller

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shipsafe/shipsafe/internal/server"
)

// Roles /readyz reports.
const (
	RoleLeader  = "leader"
	RoleStandby = "standby"
)

// Readiness is the body of the probe listener's /readyz.
type Readiness struct {
	Ready bool `json:"ready"`
	// Role is "leader" (runs the control loop) or "standby" (waits for the Lease).
	Role string `json:"role"`
	// Leader is the identity holding the Lease as last observed ("" before the first).
	Leader   string `json:"leader"`
	Identity string `json:"identity"`
	// Synced is true once the informers' caches have synced.
	Synced bool `json:"synced"`
}

// readiness is the controller's state. A stand-by with synced caches is ready: it is healthy
// and able to take over, which is what a readiness probe of a controller should say.
func (c *Controller) readiness() Readiness {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := Readiness{Ready: c.synced, Role: RoleStandby, Leader: c.leader, Identity: c.opts.Identity, Synced: c.synced}
	if c.leading {
		r.Role = RoleLeader
	}
	return r
}

// checks are the API's /readyz checks.
func (c *Controller) checks() []server.Check {
	r := c.readiness()
	reason := ""
	if !r.Synced {
		reason = "informers not synced yet"
	}
	return []server.Check{{Name: "informers", OK: r.Synced, Reason: reason}}
}

// probeHandler serves /healthz (the process answers), /readyz (caches synced; the role) and
// /metrics (the controller's registry, not the global one).
func (c *Controller) probeHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		r := c.readiness()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		if !r.Ready {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		_ = json.NewEncoder(w).Encode(r)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(c.metrics.reg, promhttp.HandlerOpts{}))
	return mux
}

// metrics are the controller's Prometheus metrics, on a registry of its own so two
// controllers in one process (tests) never share state.
type metrics struct {
	reg     *prometheus.Registry
	leader  prometheus.Gauge
	changes *prometheus.CounterVec
	terms   prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "shipsafe_controller_leader",
			Help: "1 while this replica holds the Lease and runs the control loop."}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "shipsafe_controller_watch_events_total",
			Help: "Changes the informers saw that concern a rollout, by kind of object."}, []string{"kind"}),
		terms: prometheus.NewCounter(prometheus.CounterOpts{Name: "shipsafe_controller_leader_terms_total",
			Help: "Leadership terms this replica has started."}),
	}
	m.reg.MustRegister(m.leader, m.changes, m.terms,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) setLeader(v bool) {
	if v {
		m.leader.Set(1)
		m.terms.Inc()
		return
	}
	m.leader.Set(0)
}

func (m *metrics) observed(kind string) { m.changes.WithLabelValues(kind).Inc() }
