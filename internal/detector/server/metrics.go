package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// serverMetrics are the Prometheus series the detector exports, on a registry of its own so
// several servers can live in one process (tests) without colliding.
type serverMetrics struct {
	registry    *prometheus.Registry
	requests    *prometheus.CounterVec // by code
	latency     prometheus.Histogram   // infer request duration
	images      prometheus.Counter     // images classified
	predictions *prometheus.CounterVec // by class
	modelInfo   *prometheus.GaugeVec   // 1 for the loaded model
	ready       prometheus.Gauge       // 1 when ready
	inflight    prometheus.Gauge       // infer requests being served
	faults      *prometheus.CounterVec // injected faults by kind
	loadErrors  prometheus.Counter     // artifact load failures
	batchSize   prometheus.Histogram   // images per request
}

func newServerMetrics() *serverMetrics {
	m := &serverMetrics{registry: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "detector_infer_requests_total", Help: "Inference requests by HTTP status code.",
	}, []string{"code"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "detector_infer_duration_seconds", Help: "Inference request duration, parse to response.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	})
	m.batchSize = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "detector_infer_batch_size", Help: "Images per inference request.",
		Buckets: []float64{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024},
	})
	m.images = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "detector_images_total", Help: "Images classified.",
	})
	m.predictions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "detector_predictions_total", Help: "Predicted labels by class.",
	}, []string{"class"})
	m.modelInfo = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "detector_model_info", Help: "The loaded model (value 1).",
	}, []string{"name", "version", "architecture", "sha256", "threshold"})
	m.ready = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "detector_ready", Help: "1 when the server is ready to serve inference.",
	})
	m.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "detector_infer_inflight", Help: "Inference requests in progress.",
	})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "detector_injected_faults_total", Help: "Faults injected by --inject-latency / --inject-error-rate.",
	}, []string{"kind"})
	m.loadErrors = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "detector_model_load_errors_total", Help: "Model artifact load failures.",
	})
	m.registry.MustRegister(m.requests, m.latency, m.batchSize, m.images, m.predictions, m.modelInfo,
		m.ready, m.inflight, m.faults, m.loadErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
