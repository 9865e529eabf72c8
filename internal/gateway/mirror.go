package gateway

import (
	"time"

	"github.com/valyala/fasthttp"
)

// startMirror sends a copy of req to the mirror revision in the background. The mirror's
// answer is recorded (as that revision's traffic, plus agreement with the served answer)
// and then discarded: it never reaches the client, whose response is already decided.
func (g *Gateway) startMirror(svc *serviceRoute, m *revisionRoute, req *fasthttp.Request, id []byte, served prediction) {
	select {
	case g.mirrorSem <- struct{}{}:
	default:
		now := g.clock.Now()
		m.rec.recordMirror(now, func(ms *MirrorStats) { ms.Dropped++ })
		g.met.mirrors.WithLabelValues(svc.name, m.name, "dropped").Inc()
		return
	}
	mreq := fasthttp.AcquireRequest()
	req.CopyTo(mreq)
	var idCopy []byte
	if len(id) > 0 {
		idCopy = append([]byte(nil), id...)
	}
	go func() {
		defer func() { <-g.mirrorSem }()
		defer fasthttp.ReleaseRequest(mreq)
		g.mirror(svc, m, mreq, idCopy, served)
	}()
}

func (g *Gateway) mirror(svc *serviceRoute, m *revisionRoute, req *fasthttp.Request, id []byte, served prediction) {
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseResponse(resp)
	start := time.Now()
	m.rec.inFlight.Add(1)
	how, retries := g.forward(svc, m, req, resp, start)
	m.rec.inFlight.Add(-1)
	latency := time.Since(start)
	status := resp.StatusCode()
	if how != outcomeAnswered {
		status = 0
	}
	now := g.clock.Now()
	m.rec.recordRequest(now, status, latency, how, retries)
	m.met.request(status)
	if how == outcomeAnswered {
		m.met.duration.Observe(latency.Seconds())
	}

	result := "uncompared"
	var mp prediction
	if how == outcomeAnswered && status/100 == 2 {
		if len(id) > 0 {
			mp = oipPrediction(resp.Body())
			if mp.ok() {
				m.rec.recordPrediction(now, mp)
				m.met.prediction(mp)
				g.preds.setMirror(id, m.rec, mp)
			}
		}
	} else {
		result = "failed"
	}
	compared := served.hasLabel && mp.hasLabel
	agreed := compared && served.label == mp.label
	m.rec.recordMirror(now, func(ms *MirrorStats) {
		ms.Sent++
		switch {
		case result == "failed":
			ms.Failed++
		case agreed:
			ms.Compared++
			ms.Agreed++
		case compared:
			ms.Compared++
			ms.Disagreed++
		}
	})
	switch {
	case agreed:
		result = "agree"
	case compared:
		result = "disagree"
	}
	g.met.mirrors.WithLabelValues(svc.name, m.name, result).Inc()
}
