// Package prometheus is the metric provider that asks a Prometheus server's
// HTTP API (/api/v1/query) for an instant value.
package prometheus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Result is one instant-query answer, decoded the way conditions see it.
type Result struct {
	// Type is Prometheus' resultType: "scalar", "vector" or "string".
	Type string
	// Scalar holds the value of a scalar result.
	Scalar float64
	// Vector holds the sample values of a vector result, in the order Prometheus sent them.
	Vector []float64
	// Labels holds each vector sample's label set, parallel to Vector.
	Labels []map[string]string
	// String holds the value of a string result.
	String string
}

// apiResponse is the envelope every /api/v1 endpoint answers with.
type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

type queryData struct {
	ResultType string          `json:"resultType"`
	Result     json.RawMessage `json:"result"`
}

type vectorSample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

// maxBody bounds how much of an answer is read, so a runaway query cannot exhaust memory.
const maxBody = 16 << 20

// Query runs an instant query against the Prometheus at address (e.g. "http://127.0.0.1:9090").
// timeout, when positive, bounds the whole call and is also passed to Prometheus.
func Query(ctx context.Context, client *http.Client, address, query string, timeout time.Duration, headers http.Header) (Result, error) {
	if strings.TrimSpace(query) == "" {
		return Result{}, errors.New("prometheus: query is empty")
	}
	base, err := url.Parse(strings.TrimRight(address, "/"))
	if err != nil || base.Scheme == "" || base.Host == "" {
		return Result{}, fmt.Errorf("prometheus: address %q: must be an absolute http(s) URL", address)
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	form := url.Values{"query": {query}}
	if timeout > 0 {
		form.Set("timeout", timeout.String())
	}
	endpoint := base.JoinPath("api", "v1", "query")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint.String(), strings.NewReader(form.Encode()))
	if err != nil {
		return Result{}, fmt.Errorf("prometheus: build request to %s: %w", endpoint, err)
	}
	for k, vs := range headers {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return Result{}, fmt.Errorf("prometheus: query %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return Result{}, fmt.Errorf("prometheus: read answer from %s: %w", endpoint, err)
	}
	var env apiResponse
	if err := json.Unmarshal(body, &env); err != nil {
		return Result{}, fmt.Errorf("prometheus: %s answered HTTP %d with a body that is not the API's JSON: %w", endpoint, resp.StatusCode, err)
	}
	if env.Status != "success" {
		return Result{}, fmt.Errorf("prometheus: query %q failed (HTTP %d, %s): %s", query, resp.StatusCode, env.ErrorType, env.Error)
	}
	return decodeData(env.Data)
}

func decodeData(raw json.RawMessage) (Result, error) {
	var d queryData
	if err := json.Unmarshal(raw, &d); err != nil {
		return Result{}, fmt.Errorf("prometheus: decode data: %w", err)
	}
	switch d.ResultType {
	case "scalar":
		var pair [2]any
		if err := json.Unmarshal(d.Result, &pair); err != nil {
			return Result{}, fmt.Errorf("prometheus: decode scalar: %w", err)
		}
		v, err := sampleValue(pair[1])
		if err != nil {
			return Result{}, err
		}
		return Result{Type: "scalar", Scalar: v}, nil
	case "vector":
		var samples []vectorSample
		if err := json.Unmarshal(d.Result, &samples); err != nil {
			return Result{}, fmt.Errorf("prometheus: decode vector: %w", err)
		}
		res := Result{Type: "vector", Vector: make([]float64, 0, len(samples)), Labels: make([]map[string]string, 0, len(samples))}
		for i, s := range samples {
			v, err := sampleValue(s.Value[1])
			if err != nil {
				return Result{}, fmt.Errorf("prometheus: vector sample %d: %w", i, err)
			}
			res.Vector = append(res.Vector, v)
			res.Labels = append(res.Labels, s.Metric)
		}
		return res, nil
	case "string":
		var pair [2]any
		if err := json.Unmarshal(d.Result, &pair); err != nil {
			return Result{}, fmt.Errorf("prometheus: decode string: %w", err)
		}
		s, _ := pair[1].(string)
		return Result{Type: "string", String: s}, nil
	default:
		return Result{}, fmt.Errorf("prometheus: result type %q is not supported (use an instant query that returns a scalar or a vector)", d.ResultType)
	}
}

// sampleValue parses a sample value, which Prometheus always sends as a string
// ("0.5", "NaN", "+Inf", "-Inf").
func sampleValue(v any) (float64, error) {
	s, ok := v.(string)
	if !ok {
		return math.NaN(), fmt.Errorf("prometheus: sample value %v is not a string", v)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return math.NaN(), fmt.Errorf("prometheus: sample value %q: %w", s, err)
	}
	return f, nil
}
