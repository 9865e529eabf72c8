// Package server serves a detector model over the Open Inference Protocol v2 (the KServe / Triton
// / MLServer REST API), with health probes and Prometheus metrics.
package server

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/shipsafe/shipsafe/internal/detector/model"
)

// Options configure a Server. Zero values take the defaults noted.
type Options struct {
	// MaxBodyBytes bounds an inference request body (default 8 MiB).
	MaxBodyBytes int64
	// MaxBatch bounds the images in one request (default 1024).
	MaxBatch int
	// InjectLatency delays every inference response (fault injection; off when 0).
	InjectLatency time.Duration
	// InjectErrorRate answers this fraction of inference requests with HTTP 500 (off when 0).
	InjectErrorRate float64
	// Seed seeds the error-injection draw so a test run is repeatable.
	Seed   uint64
	Logger *slog.Logger
}

// Server is one detector replica's HTTP surface. The model is loaded separately (SetModel /
// SetLoadError) so a replica whose artifact fails to load still answers liveness and explains
// why it is not ready.
type Server struct {
	opts     Options
	log      *slog.Logger
	metrics  *serverMetrics
	model    atomic.Pointer[model.Model]
	loadErr  atomic.Pointer[string]
	draining atomic.Bool
	bufs     sync.Pool // *[]float32 scratch for parsed pixels

	rngMu sync.Mutex
	rng   *rand.Rand
}

// New returns a server with no model loaded (not ready).
func New(opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 8 << 20
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = 1024
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, log: opts.Logger, metrics: newServerMetrics(), rng: rand.New(rand.NewPCG(opts.Seed, 0xfa17))}
	s.bufs.New = func() any { b := make([]float32, 0, model.ImageSize); return &b }
	return s
}

// SetModel installs a loaded model; the server becomes ready unless draining.
func (s *Server) SetModel(m *model.Model) {
	s.model.Store(m)
	s.loadErr.Store(nil)
	s.metrics.modelInfo.Reset()
	s.metrics.modelInfo.WithLabelValues(m.Meta.Name, m.Meta.Version, m.Meta.Architecture, m.SHA256,
		strconv.FormatFloat(m.Meta.Threshold, 'g', 6, 64)).Set(1)
	s.updateReady()
}

// SetLoadError records why no model could be loaded; the server stays not ready.
func (s *Server) SetLoadError(err error) {
	msg := err.Error()
	s.loadErr.Store(&msg)
	s.metrics.loadErrors.Inc()
	s.updateReady()
}

// Drain marks the server not ready (SIGTERM): load balancers stop sending new requests while
// in-flight ones finish.
func (s *Server) Drain() {
	s.draining.Store(true)
	s.updateReady()
}

// Ready reports whether the server has a model and is not draining.
func (s *Server) Ready() bool { return s.model.Load() != nil && !s.draining.Load() }

func (s *Server) updateReady() {
	if s.Ready() {
		s.metrics.ready.Set(1)
	} else {
		s.metrics.ready.Set(0)
	}
}

// notReadyReason explains a false readiness.
func (s *Server) notReadyReason() string {
	switch {
	case s.draining.Load():
		return "draining: shutting down"
	case s.loadErr.Load() != nil:
		return "model failed to load: " + *s.loadErr.Load()
	default:
		return "model not loaded yet"
	}
}

// Handler returns the HTTP routes.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/health/live", s.live)
	mux.HandleFunc("GET /health/live", s.live)
	mux.HandleFunc("GET /v2/health/ready", s.ready)
	mux.HandleFunc("GET /health/ready", s.ready)
	mux.HandleFunc("GET /v2", s.serverMetadata)
	mux.HandleFunc("GET /v2/models/{name}", s.modelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}", s.modelMetadata)
	mux.HandleFunc("GET /v2/models/{name}/ready", s.modelReady)
	mux.HandleFunc("GET /v2/models/{name}/versions/{version}/ready", s.modelReady)
	mux.HandleFunc("POST /v2/models/{name}/infer", s.infer)
	mux.HandleFunc("POST /v2/models/{name}/versions/{version}/infer", s.infer)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func (s *Server) live(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"live": true})
}

func (s *Server) ready(w http.ResponseWriter, _ *http.Request) {
	if s.Ready() {
		writeJSON(w, http.StatusOK, map[string]any{"ready": true})
		return
	}
	writeJSON(w, http.StatusServiceUnavailable, map[string]any{"ready": false, "reason": s.notReadyReason()})
}

// faultInjection describes the active fault knobs, or nil when all are off.
func (s *Server) faultInjection() map[string]any {
	if s.opts.InjectLatency <= 0 && s.opts.InjectErrorRate <= 0 {
		return nil
	}
	return map[string]any{"latency": s.opts.InjectLatency.String(), "error_rate": s.opts.InjectErrorRate}
}

func (s *Server) serverMetadata(w http.ResponseWriter, _ *http.Request) {
	md := map[string]any{"name": "shipsafe-detector", "version": "1", "extensions": []string{}}
	if m := s.model.Load(); m != nil {
		md["model"] = map[string]string{"name": m.Meta.Name, "version": m.Meta.Version}
	}
	if f := s.faultInjection(); f != nil {
		md["fault_injection"] = f
	}
	writeJSON(w, http.StatusOK, md)
}

// resolve finds the loaded model addressed by the request path, writing the error if none.
func (s *Server) resolve(w http.ResponseWriter, r *http.Request) *model.Model {
	m := s.model.Load()
	if m == nil {
		writeError(w, http.StatusServiceUnavailable, s.notReadyReason())
		return nil
	}
	if name := r.PathValue("name"); name != m.Meta.Name {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q not found; this server serves %q", name, m.Meta.Name))
		return nil
	}
	if v := r.PathValue("version"); v != "" && v != m.Meta.Version {
		writeError(w, http.StatusNotFound, fmt.Sprintf("model %q version %q not found; loaded version is %q", m.Meta.Name, v, m.Meta.Version))
		return nil
	}
	return m
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	m := s.resolve(w, r)
	if m == nil {
		return
	}
	meta := m.Meta
	writeJSON(w, http.StatusOK, map[string]any{
		"name":     meta.Name,
		"versions": []string{meta.Version},
		"platform": "shipsafe-go",
		// One input; FP32 and the flat [N,784] shape are accepted too (see parameters).
		"inputs": []map[string]any{
			{"name": meta.Input.Name, "datatype": "UINT8", "shape": []int{-1, model.ImageSide, model.ImageSide}},
		},
		"outputs": []map[string]any{
			{"name": "probability", "datatype": "FP32", "shape": []int{-1, 1}},
			{"name": "label", "datatype": "INT32", "shape": []int{-1, 1}},
		},
		"parameters": map[string]any{
			"version": meta.Version, "architecture": meta.Architecture, "description": meta.Description,
			"threshold": meta.Threshold, "labels": meta.Labels, "preprocess": meta.Preprocess,
			"sha256": m.SHA256, "training": meta.Training, "val_metrics": meta.ValMetrics,
			"input_range": meta.Input.Range, "param_count": meta.ParamCount,
			"accepted_datatypes": []string{"UINT8", "FP32"},
			"accepted_shapes":    [][]int{{-1, model.ImageSide, model.ImageSide}, {-1, model.ImageSize}},
		},
	})
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	m := s.resolve(w, r)
	if m == nil {
		return
	}
	if !s.Ready() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"name": m.Meta.Name, "ready": false, "reason": s.notReadyReason()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": m.Meta.Name, "ready": true})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
