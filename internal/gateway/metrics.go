package gateway

import (
	"strconv"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the gateway's Prometheus series, on the gateway's own registry.
type metrics struct {
	registry     *prometheus.Registry
	requests     *prometheus.CounterVec   // service, revision, code
	duration     *prometheus.HistogramVec // service, revision
	inFlight     *prometheus.GaugeVec     // service, revision
	upstreamErrs *prometheus.CounterVec   // service, revision, kind
	retries      *prometheus.CounterVec   // service, revision
	freshRetries *prometheus.CounterVec   // service, revision
	predictions  *prometheus.CounterVec   // service, revision, label
	labels       *prometheus.CounterVec   // service, revision, actual, predicted
	feedback     *prometheus.CounterVec   // result
	fallbacks    *prometheus.CounterVec   // service, from, to
	mirrors      *prometheus.CounterVec   // service, revision, result
	ejections    *prometheus.CounterVec   // endpoint
	routeUpdates *prometheus.CounterVec   // result
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_requests_total",
			Help: "Requests handled by the gateway, by service, revision and HTTP status code sent to the client.",
		}, []string{"service", "revision", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "shipsafe_request_duration_seconds",
			Help:    "Time from receiving a request to having the upstream answer, by service and revision.",
			Buckets: LatencyBounds(),
		}, []string{"service", "revision"}),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "shipsafe_in_flight_requests",
			Help: "Requests in progress per service and revision.",
		}, []string{"service", "revision"}),
		upstreamErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_upstream_errors_total",
			Help: "Requests that got no upstream answer, by kind (timeout, connection, circuit_open).",
		}, []string{"service", "revision", "kind"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_upstream_retries_total",
			Help: "Retries on another endpoint after a connection failure.",
		}, []string{"service", "revision"}),
		freshRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_upstream_fresh_connection_retries_total",
			Help: "Requests resent once on a new connection because the pooled one was closed by the backend before any answer byte.",
		}, []string{"service", "revision"}),
		predictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_predictions_total",
			Help: "Inference answers by predicted label (other = unreadable or not 0/1).",
		}, []string{"service", "revision", "label"}),
		labels: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_feedback_labels_total",
			Help: "Ground-truth labels joined to predictions, by actual and predicted label.",
		}, []string{"service", "revision", "actual", "predicted"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_feedback_total",
			Help: "Feedback requests by result (joined, unknown, expired, duplicate, invalid).",
		}, []string{"result"}),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_route_fallbacks_total",
			Help: "Requests routed to a fallback revision because the selected one had no ready endpoint.",
		}, []string{"service", "from", "to"}),
		mirrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_mirror_requests_total",
			Help: "Mirrored (shadow) requests by result (agree, disagree, uncompared, failed, dropped).",
		}, []string{"service", "revision", "result"}),
		ejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_endpoint_ejections_total",
			Help: "Passive outlier ejections per endpoint.",
		}, []string{"endpoint"}),
		routeUpdates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "shipsafe_route_updates_total",
			Help: "Route table replacements by result (applied, rejected).",
		}, []string{"result"}),
	}
	m.registry.MustRegister(m.requests, m.duration, m.inFlight, m.upstreamErrs, m.retries, m.freshRetries, m.predictions,
		m.labels, m.feedback, m.fallbacks, m.mirrors, m.ejections, m.routeUpdates)
	return m
}

// revisionMetrics are one revision's series, resolved once per route table so the hot
// path does no label hashing: request counters per status code are cached lazily.
type revisionMetrics struct {
	service, revision string
	m                 *metrics
	codes             [600]atomic.Pointer[prometheus.Counter]
	duration          prometheus.Observer
	inFlight          prometheus.Gauge
	predictions       [3]prometheus.Counter // label 0, 1, other
}

func (m *metrics) forRevision(service, revision string) *revisionMetrics {
	return &revisionMetrics{
		service: service, revision: revision, m: m,
		duration: m.duration.WithLabelValues(service, revision),
		inFlight: m.inFlight.WithLabelValues(service, revision),
		predictions: [3]prometheus.Counter{
			m.predictions.WithLabelValues(service, revision, "0"),
			m.predictions.WithLabelValues(service, revision, "1"),
			m.predictions.WithLabelValues(service, revision, "other"),
		},
	}
}

func (rm *revisionMetrics) request(code int) {
	if code < 0 || code >= len(rm.codes) {
		rm.m.requests.WithLabelValues(rm.service, rm.revision, strconv.Itoa(code)).Inc()
		return
	}
	if c := rm.codes[code].Load(); c != nil {
		(*c).Inc()
		return
	}
	c := rm.m.requests.WithLabelValues(rm.service, rm.revision, strconv.Itoa(code))
	rm.codes[code].Store(&c)
	c.Inc()
}

func (rm *revisionMetrics) prediction(p prediction) {
	switch {
	case p.hasLabel && (p.label == 0 || p.label == 1):
		rm.predictions[p.label].Inc()
	default:
		rm.predictions[2].Inc()
	}
}
