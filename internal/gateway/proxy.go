package gateway

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// handle is the hot path: match a service, apply limits, choose a revision, forward with
// retries, record, and (for a share of requests) mirror. The upstream response is read
// straight into the client's response object, so a proxied request costs no copy.
func (g *Gateway) handle(ctx *fasthttp.RequestCtx) {
	start := time.Now()
	path := ctx.Path()
	if g.isOwnPath(path) {
		g.adminFast(ctx)
		return
	}
	t := g.table.Load()
	svc, strip := t.match(ctx.Host(), path)
	if svc == nil {
		ctx.Error("shipsafe: no route for this host or path", fasthttp.StatusNotFound)
		return
	}
	req := &ctx.Request
	if len(req.Body()) > svc.maxBody {
		ctx.Error("shipsafe: request body too large", fasthttp.StatusRequestEntityTooLarge)
		g.met.requests.WithLabelValues(svc.name, "", "413").Inc()
		return
	}
	if svc.limiter != nil {
		if ok, wait := svc.limiter.allow(); !ok {
			ctx.Error("shipsafe: rate limit exceeded", fasthttp.StatusTooManyRequests)
			ctx.Response.Header.Set("Retry-After", strconv.Itoa(wait))
			g.met.requests.WithLabelValues(svc.name, "", "429").Inc()
			return
		}
	}

	// Inference requests: read the id (assigning one if absent) and any routing keys.
	infer := isInferPath(path) && string(req.Header.Method()) == fasthttp.MethodPost
	var id, param, target []byte
	var idBuf [40]byte
	if infer {
		id, param = oipRequestFields(req.Body(), svc.sticky.param)
		id = usableID(id, idBuf[:0])
		if svc.sel != nil && svc.sel.keyParam != "" {
			_, target = oipRequestFields(req.Body(), svc.sel.keyParam)
		}
		if len(id) == 0 {
			// Copied: it is written back into the same header below.
			id = usableID(append(idBuf[:0], req.Header.Peek(RequestIDHeader)...), nil)
		}
		if len(id) == 0 {
			id = appendRequestID(idBuf[:0])
		}
	}
	in := routeInput{}
	switch {
	case svc.sticky.header != "":
		in.stickyKey = req.Header.Peek(svc.sticky.header)
	case svc.sticky.cookie != "":
		in.stickyKey = req.Header.Cookie(svc.sticky.cookie)
	case svc.sticky.param != "":
		in.stickyKey = param
	}
	if svc.sel != nil {
		if svc.sel.keyHeader != "" {
			target = req.Header.Peek(svc.sel.keyHeader)
		}
		in.targetingKey = target
	}
	nowNanos := start.UnixNano()
	rev, fallbacks := svc.choose(&req.Header, in, g.cfg.Selector, nowNanos)
	for _, f := range fallbacks {
		f.from.rec.recordFallback(g.clock.Now())
		g.met.fallbacks.WithLabelValues(svc.name, f.from.name, f.to.name).Inc()
	}
	if rev == nil {
		ctx.Error("shipsafe: no revision can serve this request", fasthttp.StatusServiceUnavailable)
		g.met.requests.WithLabelValues(svc.name, "", "503").Inc()
		return
	}

	inFlight := rev.rec.inFlight.Add(1)
	defer rev.rec.inFlight.Add(-1)
	if rev.maxInFlight > 0 && inFlight > rev.maxInFlight {
		ctx.Error("shipsafe: circuit open (too many requests in flight)", fasthttp.StatusServiceUnavailable)
		rev.rec.recordRequest(g.clock.Now(), fasthttp.StatusServiceUnavailable, 0, outcomeCircuitOpen, 0)
		rev.met.request(fasthttp.StatusServiceUnavailable)
		g.met.upstreamErrs.WithLabelValues(svc.name, rev.name, "circuit_open").Inc()
		return
	}
	rev.met.inFlight.Inc()
	defer rev.met.inFlight.Dec()

	if strip > 0 {
		rest := path[strip:]
		if len(rest) == 0 {
			rest = slash
		}
		req.URI().SetPathBytes(rest)
	}
	// Keep the upstream connection alive whatever the client asked; honour the client's
	// "Connection: close" on the way back.
	clientClose := req.Header.ConnectionClose()
	req.Header.ResetConnectionClose()
	if infer {
		req.Header.SetBytesV(RequestIDHeader, id)
	}
	setForwarded(g.fwd, ctx, req)

	how, retries := g.forward(svc, rev, req, &ctx.Response, start)
	resp := &ctx.Response
	latency := time.Since(start) // one monotonic clock read (clock reads are slow on some VMs)
	status := resp.StatusCode()
	switch how {
	case outcomeAnswered:
		resp.Header.ResetConnectionClose()
		if clientClose {
			ctx.SetConnectionClose()
		}
		rev.met.duration.Observe(latency.Seconds())
	case outcomeTimeout:
		status = fasthttp.StatusGatewayTimeout
		ctx.Error("shipsafe: upstream timeout", status)
		g.met.upstreamErrs.WithLabelValues(svc.name, rev.name, "timeout").Inc()
	default:
		status = fasthttp.StatusBadGateway
		ctx.Error("shipsafe: upstream connection failed", status)
		g.met.upstreamErrs.WithLabelValues(svc.name, rev.name, "connection").Inc()
	}
	recordAt := start // 1s buckets: the start time is precise enough and costs no clock read
	if !g.wallClock {
		recordAt = g.clock.Now() // tests inject a clock; latency still uses the monotonic one
	}
	rev.rec.recordRequest(recordAt, status, latency, how, retries)
	rev.met.request(status)
	if retries > 0 {
		g.met.retries.WithLabelValues(svc.name, rev.name).Add(float64(retries))
	}

	if infer {
		resp.Header.SetBytesV(RequestIDHeader, id)
		if how == outcomeAnswered && status/100 == 2 {
			g.recordPredictions(rev, id, resp.Body(), recordAt)
		}
	}
	if m := svc.mirror; m != nil && m != rev && mrand.Uint64() < svc.mirrorCut {
		g.startMirror(svc, m, req, id)
	}
}

var slash = []byte("/")

// recordPredictions records every item of a (possibly batched) answer: its prediction
// counts and probability histogram, and the id store entry a label joins (item i of id).
func (g *Gateway) recordPredictions(rev *revisionRoute, id, body []byte, at time.Time) {
	it := newPredictionItems(body)
	for item := 0; item < maxBatchItems; item++ {
		p, ok := it.next()
		if !ok {
			return
		}
		rev.rec.recordPrediction(at, p)
		rev.met.prediction(p)
		g.preds.put(id, item, rev.rec, p, at)
	}
}

// forward sends req to an endpoint of rev, retrying on another endpoint after a
// connection failure when the service is idempotent (or when the dial itself failed, so
// the request was never sent). A pooled connection the peer closed before any byte of the
// answer (a backend's idle timeout) is retried once on a fresh connection to the same
// endpoint first. The whole exchange is bounded by the service timeout. Answers of any
// status, 4xx included, are the backend's answer: never retried, never a failure.
func (g *Gateway) forward(svc *serviceRoute, rev *revisionRoute, req *fasthttp.Request, resp *fasthttp.Response, start time.Time) (outcome, int) {
	deadline := start.Add(svc.timeout)
	var failed *endpoint
	retries := 0
	freshTried := false
	now := start.UnixNano()
	for attempt := 0; ; attempt++ {
		ep := rev.pool.pick(now, failed)
		if ep == nil {
			return outcomeConnError, retries
		}
		ep.outstanding.Add(1)
		err := ep.client.DoDeadline(req, resp, deadline)
		reached := false // the request may have reached the backend before a failure
		if err != nil && !freshTried && closedBeforeAnswer(err) {
			freshTried, reached = true, true
			g.met.freshRetries.WithLabelValues(svc.name, rev.name).Inc()
			resp.Reset()
			req.Header.SetConnectionClose() // a one-off connection, never pooled
			err = ep.fresh.DoDeadline(req, resp, deadline)
			req.Header.ResetConnectionClose()
		}
		ep.outstanding.Add(-1)
		if err == nil {
			if resp.StatusCode() >= 500 {
				rev.pool.report(ep, now, attempt5xx)
			} else {
				rev.pool.report(ep, now, attemptOK)
			}
			return outcomeAnswered, retries
		}
		timeout, dialFailed := classifyErr(err)
		if timeout {
			return outcomeTimeout, retries
		}
		dialFailed = dialFailed && !reached
		now = time.Now().UnixNano()
		rev.pool.report(ep, now, attemptConnFailure)
		if attempt >= svc.maxRetries || !(svc.idempotent || dialFailed) || now >= deadline.UnixNano() {
			return outcomeConnError, retries
		}
		g.log.Debug("retrying on another endpoint", "service", svc.name, "revision", rev.name, "endpoint", ep.addr, "err", err)
		failed = ep
		retries++
		resp.Reset()
	}
}

// usableID returns id (the raw contents of a JSON string) unescaped, or nil when it is
// unfit to echo in a header or join on: control characters or longer than 1 KiB. JSON
// escapes are rare in ids, so only they pay for unquoting (into buf).
func usableID(id, buf []byte) []byte {
	if len(id) > 1024 {
		return nil
	}
	if bytes.IndexByte(id, '\\') >= 0 {
		s, err := strconv.Unquote(`"` + string(id) + `"`)
		if err != nil {
			return nil
		}
		id = append(buf, s...)
	}
	for _, c := range id {
		if c < 0x20 || c == 0x7f {
			return nil
		}
	}
	return id
}

// appendRequestID appends a fresh request id to b: 128 random bits (crypto/rand), hex.
// Ids the gateway assigns cannot be guessed from earlier ones, so nobody can label a
// request before its client does.
func appendRequestID(b []byte) []byte {
	var r [16]byte
	_, _ = rand.Read(r[:]) // never fails on Linux (getrandom)
	return hex.AppendEncode(b, r[:])
}

func (g *Gateway) isOwnPath(path []byte) bool {
	p := bytesToString(path)
	return p == g.cfg.FeedbackPath || p == g.cfg.MetricsPath || p == g.cfg.AdminPath
}
