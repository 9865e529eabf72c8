package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/shipsafe/shipsafe/internal/detector/model"
)

// inferRequest is the OIP v2 inference request body.
type inferRequest struct {
	ID         string            `json:"id,omitempty"`
	Parameters json.RawMessage   `json:"parameters,omitempty"`
	Inputs     []inputTensor     `json:"inputs"`
	Outputs    []requestedOutput `json:"outputs,omitempty"`
}

type inputTensor struct {
	Name     string          `json:"name"`
	Shape    []int           `json:"shape"`
	Datatype string          `json:"datatype"`
	Data     json.RawMessage `json:"data"`
}

type requestedOutput struct {
	Name string `json:"name"`
}

type inferResponse struct {
	ModelName    string         `json:"model_name"`
	ModelVersion string         `json:"model_version"`
	ID           string         `json:"id,omitempty"`
	Outputs      []outputTensor `json:"outputs"`
}

type outputTensor struct {
	Name     string `json:"name"`
	Datatype string `json:"datatype"`
	Shape    []int  `json:"shape"`
	Data     any    `json:"data"`
}

// badRequest is an input error answered with HTTP 400.
type badRequest struct{ msg string }

func (e *badRequest) Error() string { return e.msg }

func badf(format string, args ...any) error { return &badRequest{fmt.Sprintf(format, args...)} }

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.metrics.inflight.Inc()
	defer s.metrics.inflight.Dec()
	code := s.serveInfer(w, r)
	s.metrics.requests.WithLabelValues(strconv.Itoa(code)).Inc()
	s.metrics.latency.Observe(time.Since(start).Seconds())
}

// serveInfer answers one inference request and returns the HTTP status it sent.
func (s *Server) serveInfer(w http.ResponseWriter, r *http.Request) int {
	m := s.resolve(w, r)
	if m == nil {
		if s.model.Load() == nil {
			return http.StatusServiceUnavailable
		}
		return http.StatusNotFound
	}
	if s.draining.Load() {
		// Requests that reach a draining server are still answered: it finishes what it gets.
		s.log.Debug("inference while draining")
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("request body exceeds the %d-byte limit", s.opts.MaxBodyBytes))
			return http.StatusBadRequest
		}
		writeError(w, http.StatusBadRequest, "read request body: "+err.Error())
		return http.StatusBadRequest
	}
	resp, err := s.predict(m, body)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return http.StatusBadRequest
	}
	if d := s.opts.InjectLatency; d > 0 {
		s.metrics.faults.WithLabelValues("latency").Inc()
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return 499
		}
	}
	if p := s.opts.InjectErrorRate; p > 0 && s.draw() < p {
		s.metrics.faults.WithLabelValues("error").Inc()
		writeError(w, http.StatusInternalServerError, fmt.Sprintf("injected error (--inject-error-rate %g)", p))
		return http.StatusInternalServerError
	}
	writeJSON(w, http.StatusOK, resp)
	return http.StatusOK
}

func (s *Server) draw() float64 {
	s.rngMu.Lock()
	defer s.rngMu.Unlock()
	return s.rng.Float64()
}

// predict validates and runs one request body.
func (s *Server) predict(m *model.Model, body []byte) (*inferResponse, error) {
	var req inferRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, malformed(body, err)
	}
	if len(req.Inputs) == 0 {
		return nil, badf("inputs: missing; want one tensor of shape [N,28,28] or [N,784]")
	}
	if len(req.Inputs) > 1 {
		return nil, badf("inputs: got %d tensors, want exactly 1", len(req.Inputs))
	}
	in := req.Inputs[0]
	if in.Name == "" {
		return nil, badf("inputs[0].name: missing")
	}
	if in.Datatype != "UINT8" && in.Datatype != "FP32" {
		return nil, badf("inputs[0].datatype %q: must be UINT8 or FP32", in.Datatype)
	}
	n, err := s.batchSize(in.Shape)
	if err != nil {
		return nil, err
	}
	if len(in.Data) == 0 || bytes.Equal(in.Data, []byte("null")) {
		return nil, badf("inputs[0].data: missing")
	}
	wantProb, wantLabel := true, true
	if len(req.Outputs) > 0 {
		wantProb, wantLabel = false, false
		for i, o := range req.Outputs {
			switch o.Name {
			case "probability":
				wantProb = true
			case "label":
				wantLabel = true
			default:
				return nil, badf("outputs[%d].name %q: must be probability or label", i, o.Name)
			}
		}
	}

	bufp := s.bufs.Get().(*[]float32)
	defer s.bufs.Put(bufp)
	pixels, err := parseTensorData(in.Data, in.Datatype, n*model.ImageSize, (*bufp)[:0])
	if cap(pixels) > cap(*bufp) {
		*bufp = pixels[:0]
	}
	if err != nil {
		return nil, &badRequest{err.Error()}
	}
	probs := make([]float32, n)
	labels := make([]int32, n)
	scratch := make([]float32, model.ImageSize)
	var positives int
	for i := range n {
		p := m.PredictFloat32(pixels[i*model.ImageSize:(i+1)*model.ImageSize], scratch)
		probs[i] = float32(p.Probability)
		labels[i] = int32(p.Label)
		positives += p.Label
	}
	s.metrics.images.Add(float64(n))
	s.metrics.batchSize.Observe(float64(n))
	s.metrics.predictions.WithLabelValues("pneumonia").Add(float64(positives))
	s.metrics.predictions.WithLabelValues("normal").Add(float64(n - positives))

	resp := &inferResponse{ModelName: m.Meta.Name, ModelVersion: m.Meta.Version, ID: req.ID}
	if wantProb {
		resp.Outputs = append(resp.Outputs, outputTensor{Name: "probability", Datatype: "FP32", Shape: []int{n, 1}, Data: probs})
	}
	if wantLabel {
		resp.Outputs = append(resp.Outputs, outputTensor{Name: "label", Datatype: "INT32", Shape: []int{n, 1}, Data: labels})
	}
	return resp, nil
}

// batchSize checks the input shape and returns N.
func (s *Server) batchSize(shape []int) (int, error) {
	ok := (len(shape) == 3 && shape[1] == model.ImageSide && shape[2] == model.ImageSide) ||
		(len(shape) == 2 && shape[1] == model.ImageSize)
	if !ok {
		return 0, badf("inputs[0].shape %v: must be [N,28,28] or [N,784]", shape)
	}
	n := shape[0]
	if n < 1 {
		return 0, badf("inputs[0].shape %v: batch size N must be >= 1", shape)
	}
	if n > s.opts.MaxBatch {
		return 0, badf("inputs[0].shape %v: batch size %d exceeds the limit of %d images", shape, n, s.opts.MaxBatch)
	}
	return n, nil
}

// malformed turns a JSON decoding error into a message that says where and what.
func malformed(body []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		off := int(syn.Offset) - 1
		if off >= 0 && off < len(body) && (body[off] == 'N' || body[off] == 'I' || (body[off] == '-' && off+1 < len(body) && body[off+1] == 'I')) {
			return badf("malformed JSON at byte %d: %v (NaN and Infinity are not numbers; pixel values must be finite numbers in [0, 255])", syn.Offset, err)
		}
		return badf("malformed JSON at byte %d: %v", syn.Offset, err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return badf("malformed request: field %q must be %s, got JSON %s", typ.Field, typ.Type, typ.Value)
	}
	return badf("malformed JSON: %v", err)
}
