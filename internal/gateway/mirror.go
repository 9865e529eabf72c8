package gateway

import (
	"time"

	"github.com/valyala/fasthttp"
)

// startMirror sends a copy of req to the mirror revision in the background. The mirror's
// answer is recorded (as that revision's traffic, plus agreement with the served answer)
// and then discarded: it never reaches the client, whose response is already decided.
func (g *Gateway) startMirror(svc *serviceRoute, m *revisionRoute, req *fasthttp.Request, id []byte) {
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
		g.mirror(svc, m, mreq, idCopy)
	}()
}

func (g *Gateway) mirror(svc *serviceRoute, m *revisionRoute, req *fasthttp.Request, id []byte) {
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

	failed := how != outcomeAnswered || status/100 != 2
	var compared, agreed uint64
	if !failed && len(id) > 0 {
		// Each item of the mirror's answer is paired with the served answer's same item
		// (kept in the id store), for agreement now and McNemar once labels arrive.
		it := newPredictionItems(resp.Body())
		for item := 0; item < maxBatchItems; item++ {
			mp, ok := it.next()
			if !ok {
				break
			}
			m.rec.recordPrediction(now, mp)
			m.met.prediction(mp)
			if served, ok := g.preds.setMirror(id, item, m.rec, mp); ok && served.hasLabel && mp.hasLabel {
				compared++
				if served.label == mp.label {
					agreed++
				}
			}
		}
	}
	m.rec.recordMirror(now, func(ms *MirrorStats) {
		ms.Sent++
		if failed {
			ms.Failed++
		}
		ms.Compared += compared
		ms.Agreed += agreed
		ms.Disagreed += compared - agreed
	})
	result := "uncompared"
	switch {
	case failed:
		result = "failed"
	case compared > 0 && agreed == compared:
		result = "agree"
	case compared > 0:
		result = "disagree"
	}
	g.met.mirrors.WithLabelValues(svc.name, m.name, result).Inc()
}
