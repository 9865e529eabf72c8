package gateway

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// endpoint is one upstream replica. It outlives route tables: a swap that keeps an address
// keeps its connection pool, outstanding count, health and ejection state.
type endpoint struct {
	addr   string
	client *fasthttp.HostClient
	// fresh sends the one retry after a pooled connection turned out closed by the peer:
	// each of its requests dials a new connection and closes it after the answer.
	fresh *fasthttp.HostClient

	outstanding  atomic.Int64
	healthy      atomic.Bool  // active readiness result; true when no check runs
	ejectedUntil atomic.Int64 // unix nanos; passive outlier ejection
	consecConn   atomic.Int32
	consec5xx    atomic.Int32
	ejections    atomic.Int32 // consecutive ejections, for the backoff
	lastEjected  atomic.Int64

	// Guarded by Gateway.mu: the running active check, if any.
	check       HealthCheck
	checkCancel context.CancelFunc
	checkDone   chan struct{}
}

func newEndpoint(addr string, maxConns int, idle time.Duration) *endpoint {
	e := &endpoint{addr: addr, client: newHostClient(addr, maxConns, idle), fresh: newHostClient(addr, maxConns, idle)}
	e.healthy.Store(true)
	return e
}

func newHostClient(addr string, maxConns int, idle time.Duration) *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                          addr,
		MaxConns:                      maxConns,
		MaxIdleConnDuration:           idle,
		MaxIdemponentCallAttempts:     1, // the gateway retries itself
		NoDefaultUserAgentHeader:      true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		ReadBufferSize:                8 << 10,
		WriteBufferSize:               8 << 10,
		DialTimeout: func(addr string, timeout time.Duration) (net.Conn, error) {
			if timeout > 2*time.Second {
				timeout = 2 * time.Second
			}
			return fasthttp.DialTimeout(addr, timeout)
		},
	}
}

// closeIdle closes both clients' idle connections.
func (e *endpoint) closeIdle() {
	e.client.CloseIdleConnections()
	e.fresh.CloseIdleConnections()
}

// usable reports whether the endpoint may receive a request now.
func (e *endpoint) usable(now int64) bool {
	return e.healthy.Load() && e.ejectedUntil.Load() <= now
}

// outlierConfig is OutlierDetection with defaults applied.
type outlierConfig struct {
	connFailures, fiveXX int32
	base, max            time.Duration
	maxPercent           int
}

func resolveOutlier(od *OutlierDetection) outlierConfig {
	c := outlierConfig{connFailures: defaultConnFailures, fiveXX: defaultConsecutive5xx,
		base: defaultBaseEjection, max: defaultMaxEjection, maxPercent: defaultMaxEjectionPercent}
	if od == nil {
		return c
	}
	if od.ConsecutiveConnectionFailures > 0 {
		c.connFailures = int32(od.ConsecutiveConnectionFailures)
	}
	if od.Consecutive5xx > 0 {
		c.fiveXX = int32(od.Consecutive5xx)
	}
	if od.BaseEjection > 0 {
		c.base = od.BaseEjection.Std()
	}
	if od.MaxEjection > 0 {
		c.max = od.MaxEjection.Std()
	}
	if od.MaxEjectionPercent > 0 {
		c.maxPercent = od.MaxEjectionPercent
	}
	return c
}

// pool is one revision's endpoints (those the control plane declared ready) with
// power-of-two-choices least-outstanding balancing and passive outlier ejection.
type pool struct {
	members []*endpoint
	od      outlierConfig
	clock   Clock
	onEject func(e *endpoint, d time.Duration)
	ejectMu sync.Mutex
}

// ready reports whether any member may receive a request now.
func (p *pool) ready(now int64) bool {
	for _, e := range p.members {
		if e.usable(now) {
			return true
		}
	}
	return false
}

// pick chooses an endpoint by power of two choices on outstanding requests, skipping
// exclude (the endpoint that just failed). nil means none is usable.
func (p *pool) pick(now int64, exclude *endpoint) *endpoint {
	n := len(p.members)
	switch n {
	case 0:
		return nil
	case 1:
		if e := p.members[0]; e != exclude && e.usable(now) {
			return e
		}
		return nil
	}
	r := rand.Uint64()
	i := int(r % uint64(n))
	j := int((r >> 32) % uint64(n-1))
	if j >= i {
		j++
	}
	a, b := p.members[i], p.members[j]
	aOK := a != exclude && a.usable(now)
	bOK := b != exclude && b.usable(now)
	switch {
	case aOK && bOK:
		if b.outstanding.Load() < a.outstanding.Load() {
			return b
		}
		return a
	case aOK:
		return a
	case bOK:
		return b
	}
	// Both sampled endpoints are out: scan from a random start for any usable one.
	for k := 0; k < n; k++ {
		e := p.members[(i+k)%n]
		if e != exclude && e.usable(now) {
			return e
		}
	}
	return nil
}

// failure kinds reported to the pool after an attempt.
type attemptResult uint8

const (
	attemptOK attemptResult = iota
	attempt5xx
	attemptConnFailure
)

// report updates e's consecutive-failure counts and ejects it when a threshold is hit.
func (p *pool) report(e *endpoint, now int64, r attemptResult) {
	switch r {
	case attemptOK:
		if e.consecConn.Load() != 0 {
			e.consecConn.Store(0)
		}
		if e.consec5xx.Load() != 0 {
			e.consec5xx.Store(0)
		}
		if e.ejections.Load() != 0 && now-e.lastEjected.Load() > int64(p.od.max) {
			e.ejections.Store(0)
		}
	case attempt5xx:
		e.consecConn.Store(0)
		if e.consec5xx.Add(1) >= p.od.fiveXX {
			p.eject(e, now)
		}
	case attemptConnFailure:
		if e.consecConn.Add(1) >= p.od.connFailures {
			p.eject(e, now)
		}
	}
}

// eject takes e out of rotation for base×2^k (capped), unless that would eject more than
// the allowed share of the pool.
func (p *pool) eject(e *endpoint, now int64) {
	p.ejectMu.Lock()
	defer p.ejectMu.Unlock()
	if e.ejectedUntil.Load() > now {
		return
	}
	ejected := 0
	for _, m := range p.members {
		if m.ejectedUntil.Load() > now {
			ejected++
		}
	}
	allowed := len(p.members) * p.od.maxPercent / 100
	if allowed < 1 && len(p.members) > 1 {
		allowed = 1
	}
	if ejected >= allowed {
		return
	}
	k := e.ejections.Add(1) - 1
	d := p.od.base
	for i := int32(0); i < k && d < p.od.max; i++ {
		d *= 2
	}
	if d > p.od.max {
		d = p.od.max
	}
	e.ejectedUntil.Store(now + int64(d))
	e.lastEjected.Store(now)
	e.consecConn.Store(0)
	e.consec5xx.Store(0)
	if p.onEject != nil {
		p.onEject(e, d)
	}
}

// closedBeforeAnswer reports whether err means the peer closed the connection before any
// byte of the response: fasthttp turns every error on the first response byte into
// ErrConnectionClosed (io.EOF), and writing the request into the peer's reset fails with
// a bare write error (EPIPE/ECONNRESET). Errors after a partial answer are wrapped ("error
// when reading response ...") and do not qualify. On a pooled connection this is what a
// backend's idle timeout looks like.
func closedBeforeAnswer(err error) bool {
	if errors.Is(err, fasthttp.ErrConnectionClosed) || err == io.EOF {
		return true
	}
	op, ok := err.(*net.OpError)
	return ok && op.Op == "write" && (errors.Is(op.Err, syscall.EPIPE) || errors.Is(op.Err, syscall.ECONNRESET))
}

// classifyErr tells a timeout from a connection failure, and whether the request may have
// reached the backend (only a failed dial is certain not to have).
func classifyErr(err error) (timeout, dialFailed bool) {
	if errors.Is(err, fasthttp.ErrTimeout) {
		return true, false
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false, true
	}
	if errors.Is(err, fasthttp.ErrDialTimeout) || errors.Is(err, fasthttp.ErrNoFreeConns) {
		return false, true
	}
	return false, false
}

// runHealthCheck probes e until ctx ends, flipping e.healthy after the thresholds.
func runHealthCheck(ctx context.Context, e *endpoint, hc HealthCheck, done chan struct{}) {
	defer close(done)
	path, interval, timeout := hc.Path, hc.Interval.Std(), hc.Timeout.Std()
	if path == "" {
		path = defaultHealthPath
	}
	if interval <= 0 {
		interval = defaultHealthInterval
	}
	if timeout <= 0 {
		timeout = defaultHealthTimeout
	}
	unhealthyAfter, healthyAfter := hc.UnhealthyThreshold, hc.HealthyThreshold
	if unhealthyAfter <= 0 {
		unhealthyAfter = defaultUnhealthyThreshold
	}
	if healthyAfter <= 0 {
		healthyAfter = defaultHealthyThreshold
	}
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	fails, oks := 0, 0
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		req.Reset()
		resp.Reset()
		req.SetRequestURI("http://" + e.addr + path)
		req.Header.SetMethod(fasthttp.MethodGet)
		err := e.client.DoTimeout(req, resp, timeout)
		if err == nil && resp.StatusCode() >= 200 && resp.StatusCode() < 400 {
			fails, oks = 0, oks+1
			if oks >= healthyAfter {
				e.healthy.Store(true)
			}
		} else {
			oks, fails = 0, fails+1
			if fails >= unhealthyAfter {
				e.healthy.Store(false)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
