package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// Gateway is the data plane. Create it with New, give it routes with SetRoutes, and run it
// with Serve. All methods are safe for concurrent use.
type Gateway struct {
	cfg       Config
	log       *slog.Logger
	clock     Clock
	wallClock bool // no clock was injected: the hot path may reuse its own time.Now

	table atomic.Pointer[compiledTable]

	// mu serialises route changes and guards the long-lived per-address and
	// per-revision state below, which compiled tables point into.
	mu         sync.Mutex
	endpoints  map[string]*endpoint
	limiters   map[string]*limiterEntry
	revMetrics map[revisionKey]*revisionMetrics
	closed     bool

	fwd forwardedMode

	rec       *Recorder
	preds     *predictionStore
	met       *metrics
	mirrorSem chan struct{}

	admin     http.Handler
	adminFast fasthttp.RequestHandler

	// dial replaces the upstream dialer (benchmarks use in-memory connections).
	dial fasthttp.DialFunc
}

type limiterEntry struct {
	cfg RateLimit
	tb  *tokenBucket
}

// New creates a gateway with an empty route table (every request gets 404 until
// SetRoutes). logger may be nil.
func New(cfg Config, logger *slog.Logger) *Gateway {
	wallClock := cfg.Clock == nil
	cfg = cfg.withDefaults()
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	g := &Gateway{
		cfg: cfg, log: logger, clock: cfg.Clock, wallClock: wallClock,
		endpoints:  map[string]*endpoint{},
		limiters:   map[string]*limiterEntry{},
		revMetrics: map[revisionKey]*revisionMetrics{},
		rec:        newRecorder(cfg.Clock, cfg.RecordBucket, cfg.RecordBuckets),
		preds:      newPredictionStore(cfg.Clock, cfg.PredictionTTL, cfg.MaxPredictions),
		met:        newMetrics(),
		mirrorSem:  make(chan struct{}, cfg.MaxConcurrentMirrors),
	}
	fwd, err := parseForwarded(cfg.Forwarded)
	if err != nil {
		logger.Warn("using X-Forwarded-For", "err", err)
		fwd = forwardXFF
	}
	g.fwd = fwd
	g.table.Store(&compiledTable{byHost: map[string]*serviceRoute{}})
	g.admin = g.newAdminHandler()
	g.adminFast = fasthttpadaptor.NewFastHTTPHandler(g.admin)
	return g
}

// SetRoutes validates t and, if valid, atomically replaces the whole route table.
// Requests already in flight finish on the old table; none fail because of the swap.
// An invalid table is refused with FieldErrors and changes nothing.
func (g *Gateway) SetRoutes(t RouteTable) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.setRoutesLocked(t)
}

func (g *Gateway) setRoutesLocked(t RouteTable) error {
	if err := t.Validate(); err != nil {
		g.met.routeUpdates.WithLabelValues("rejected").Inc()
		return fmt.Errorf("invalid route table: %w", err)
	}
	if g.closed {
		return errors.New("gateway is closed")
	}
	t = t.Clone()
	ct := compile(t, g)
	ct.feedback = newFeedbackTokens(g.cfg.FeedbackKey, t)
	g.table.Store(ct)
	g.syncEndpointsLocked(t)
	g.pruneRevisionsLocked(t)
	g.met.routeUpdates.WithLabelValues("applied").Inc()
	return nil
}

// UpdateService replaces (or adds) one service in the current table, atomically with
// respect to other route changes.
func (g *Gateway) UpdateService(name string, s Service) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	t := g.table.Load().src.Clone()
	if t.Services == nil {
		t.Services = map[string]Service{}
	}
	t.Services[name] = s
	return g.setRoutesLocked(t)
}

// pruneRevisionsLocked forgets the recorder ring and metric series of revisions that are
// no longer routed and whose recorded history has aged out, so memory and series do not
// grow with every revision ever deployed.
func (g *Gateway) pruneRevisionsLocked(t RouteTable) {
	routed := map[revisionKey]bool{}
	for name, s := range t.Services {
		for _, r := range s.Revisions {
			routed[revisionKey{name, r.Name}] = true
		}
	}
	for _, k := range g.rec.pruneIdle(routed) {
		delete(g.revMetrics, k)
		labels := prometheus.Labels{"service": k.service, "revision": k.revision}
		for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
			g.met.requests, g.met.duration, g.met.inFlight, g.met.upstreamErrs, g.met.retries, g.met.freshRetries,
			g.met.predictions, g.met.labels, g.met.mirrors,
		} {
			v.DeletePartialMatch(labels)
		}
	}
}

// Routes returns a copy of the table being served.
func (g *Gateway) Routes() RouteTable { return g.table.Load().src.Clone() }

// Recorder returns the per-revision recorder that the analysis reads windowed snapshots from.
func (g *Gateway) Recorder() *Recorder { return g.rec }

// Registry returns the gateway's own Prometheus registry (to expose or gather from).
func (g *Gateway) Registry() *prometheus.Registry { return g.met.registry }

// AdminHandler serves the gateway's own endpoints over net/http: POST /v1/feedback,
// GET /metrics, and GET/PUT /admin/routes (bearer token, when Config.AdminToken is set).
// Serve already answers these paths on the data-plane listener; use this to mount them
// elsewhere (e.g. in the control plane's API server).
func (g *Gateway) AdminHandler() http.Handler { return g.admin }

// Serve accepts connections on ln until ctx is cancelled, then stops accepting, lets
// requests in flight finish (up to Config.DrainTimeout) and returns nil. It stops the
// active health checks when it returns.
func (g *Gateway) Serve(ctx context.Context, ln net.Listener) error {
	srv := &fasthttp.Server{
		Handler:                      g.handle,
		ErrorHandler:                 g.serverError,
		Name:                         "shipsafe",
		ReadTimeout:                  g.cfg.ReadTimeout,
		IdleTimeout:                  g.cfg.IdleTimeout,
		LazyRequestTime:              true, // ctx.Time() is unused; saves a clock read per request
		MaxRequestBodySize:           g.cfg.MaxBodyBytes,
		NoDefaultServerHeader:        true,
		DisablePreParseMultipartForm: true, // header names stay normalised: routes look them up case-insensitively
		CloseOnShutdown:              true,
		Logger:                       slogPrinter{g.log},
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		g.Close()
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	g.log.Info("gateway draining", "addr", ln.Addr().String(), "timeout", g.cfg.DrainTimeout)
	dctx, cancel := context.WithTimeout(context.Background(), g.cfg.DrainTimeout)
	defer cancel()
	err := srv.ShutdownWithContext(dctx)
	<-errc
	g.Close()
	if err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("drain %s: %w", ln.Addr(), err)
	}
	return nil
}

// Close stops the active health checks and idle upstream connections. The route table
// stays readable; SetRoutes fails afterwards.
func (g *Gateway) Close() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return
	}
	g.closed = true
	for _, e := range g.endpoints {
		stopHealthCheck(e)
		e.closeIdle()
	}
}

// syncEndpointsLocked starts/stops active checks to match t and forgets endpoints no
// longer routed (their idle connections are closed; in-flight requests finish).
func (g *Gateway) syncEndpointsLocked(t RouteTable) {
	wanted := map[string]*HealthCheck{}
	for _, s := range t.Services {
		for _, r := range s.Revisions {
			for _, e := range r.Endpoints {
				if hc, seen := wanted[e.Address]; !seen || hc == nil {
					wanted[e.Address] = s.HealthCheck
				}
			}
		}
	}
	for addr, e := range g.endpoints {
		hc, keep := wanted[addr]
		if !keep {
			stopHealthCheck(e)
			e.closeIdle()
			delete(g.endpoints, addr)
			continue
		}
		switch {
		case hc == nil:
			stopHealthCheck(e)
			e.healthy.Store(true)
		case e.checkCancel == nil || e.check != *hc:
			stopHealthCheck(e)
			ctx, cancel := context.WithCancel(context.Background())
			e.check, e.checkCancel, e.checkDone = *hc, cancel, make(chan struct{})
			go runHealthCheck(ctx, e, *hc, e.checkDone)
		}
	}
}

func stopHealthCheck(e *endpoint) {
	if e.checkCancel != nil {
		e.checkCancel()
		<-e.checkDone
		e.checkCancel, e.checkDone, e.check = nil, nil, HealthCheck{}
	}
}

// tableBuilder implementation; called with g.mu held from SetRoutes.

func (g *Gateway) endpointFor(addr string) *endpoint {
	e := g.endpoints[addr]
	if e == nil {
		e = newEndpoint(addr, g.cfg.MaxConnsPerEndpoint, g.cfg.UpstreamIdleTimeout)
		if g.dial != nil {
			for _, c := range []*fasthttp.HostClient{e.client, e.fresh} {
				c.DialTimeout = nil
				c.Dial = g.dial
			}
		}
		g.endpoints[addr] = e
	}
	return e
}

func (g *Gateway) recorderFor(service, revision string) *revisionRecorder {
	return g.rec.revision(service, revision)
}

func (g *Gateway) metricsFor(service, revision string) *revisionMetrics {
	k := revisionKey{service, revision}
	m := g.revMetrics[k]
	if m == nil {
		m = g.met.forRevision(service, revision)
		g.revMetrics[k] = m
	}
	return m
}

func (g *Gateway) limiterFor(service string, rl *RateLimit) *tokenBucket {
	if rl == nil {
		delete(g.limiters, service)
		return nil
	}
	if le := g.limiters[service]; le != nil && le.cfg == *rl {
		return le.tb // keep the bucket's state across unrelated route changes
	}
	le := &limiterEntry{cfg: *rl, tb: newTokenBucket(g.clock, *rl)}
	g.limiters[service] = le
	return le.tb
}

func (g *Gateway) ejectHook() func(*endpoint, time.Duration) {
	return func(e *endpoint, d time.Duration) {
		g.met.ejections.WithLabelValues(e.addr).Inc()
		g.log.Warn("endpoint ejected", "endpoint", e.addr, "for", d)
	}
}

func (g *Gateway) clockNow() Clock { return g.clock }
func (g *Gateway) bodyLimits() (listener, serviceDefault int) {
	return g.cfg.MaxBodyBytes, g.cfg.ServiceMaxBodyBytes
}

// serverError answers what fasthttp could not read: 413 for a body over the listener's
// limit (fasthttp would say "400 Error when parsing request"), 408 for a read timeout,
// 400 otherwise.
func (g *Gateway) serverError(ctx *fasthttp.RequestCtx, err error) {
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		ctx.Error("shipsafe: request body too large", fasthttp.StatusRequestEntityTooLarge)
		g.met.requests.WithLabelValues("", "", "413").Inc()
	case isTimeout(err):
		ctx.Error("shipsafe: request read timeout", fasthttp.StatusRequestTimeout)
	default:
		ctx.Error("shipsafe: malformed request", fasthttp.StatusBadRequest)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// slogPrinter adapts slog to fasthttp's Logger.
type slogPrinter struct{ l *slog.Logger }

func (p slogPrinter) Printf(format string, args ...any) {
	p.l.Debug("fasthttp: " + fmt.Sprintf(format, args...))
}
