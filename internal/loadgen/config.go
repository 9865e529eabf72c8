// Package loadgen replays labelled chest X-rays against an Open Inference Protocol endpoint at a
// set rate or concurrency, optionally posts each image's ground truth to a feedback URL after a
// delay (a radiologist's late reading), and reports per model_version: requests, errors, latency
// percentiles and accuracy.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Config is one load run. URL and one of Count or Duration are required.
type Config struct {
	// URL is the server base (http://127.0.0.1:8080); requests go to
	// URL/v2/models/<Model>/infer. A URL already ending in /infer is used as is.
	URL string
	// Model is the OIP model name (default "pneumonia-detector").
	Model string
	// Rate, when > 0, sends this many requests per second (open loop, spread evenly); otherwise
	// Concurrency workers send back to back (closed loop).
	Rate float64
	// Concurrency is the number of in-flight requests allowed (default 8).
	Concurrency int
	// Count stops after this many requests (0: no count bound).
	Count int
	// Duration stops sending after this long (0: no time bound).
	Duration time.Duration
	// Stop, when closed, stops sending early without failing the requests in flight
	// (cancelling the context aborts them instead).
	Stop <-chan struct{}
	// FeedbackURL, if set, receives POST {"id": ..., "label": 0|1} for every answered request,
	// FeedbackDelay after its answer.
	FeedbackURL   string
	FeedbackDelay time.Duration
	// FeedbackToken is sent as "Authorization: Bearer <token>" with each label: the
	// gateway takes labels only with the service's feedback token (gateway.FeedbackToken).
	FeedbackToken string
	// Header, if set, returns extra headers for request i (e.g. a sticky user key).
	Header func(i int) http.Header
	// IDPrefix prefixes request ids ("<prefix>-<i>"); default is unique per run.
	IDPrefix string
	// Images and Labels to replay in order (cycling); default: the embedded val split.
	Images [][]uint8
	Labels []uint8
	// AllowRemote permits targets that are not loopback addresses.
	AllowRemote bool
	// Timeout bounds each HTTP request (default 10s).
	Timeout time.Duration
	// Progress, if set, receives a status line every ProgressEvery (default 1s).
	Progress      io.Writer
	ProgressEvery time.Duration
	// Client overrides the HTTP client (default: keep-alive pool sized to Concurrency).
	Client *http.Client
}

func (c *Config) defaults() error {
	if c.URL == "" {
		return errors.New("loadgen: URL is required")
	}
	if c.Count <= 0 && c.Duration <= 0 {
		return errors.New("loadgen: set Count or Duration so the run ends by itself")
	}
	if c.Count < 0 || c.Duration < 0 || c.Rate < 0 || c.Concurrency < 0 || c.FeedbackDelay < 0 {
		return fmt.Errorf("loadgen: count %d, duration %v, rate %v, concurrency %d and feedback delay %v must not be negative",
			c.Count, c.Duration, c.Rate, c.Concurrency, c.FeedbackDelay)
	}
	if c.Model == "" {
		c.Model = "pneumonia-detector"
	}
	if c.Concurrency == 0 {
		c.Concurrency = 8
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.ProgressEvery <= 0 {
		c.ProgressEvery = time.Second
	}
	if c.IDPrefix == "" {
		c.IDPrefix = "lg" + strings.ToLower(fmt.Sprintf("%x", time.Now().UnixNano()))
	}
	if len(c.Images) != len(c.Labels) {
		return fmt.Errorf("loadgen: %d images but %d labels", len(c.Images), len(c.Labels))
	}
	if err := checkTarget("URL", c.URL, c.AllowRemote); err != nil {
		return err
	}
	if c.FeedbackURL != "" {
		if err := checkTarget("FeedbackURL", c.FeedbackURL, c.AllowRemote); err != nil {
			return err
		}
	}
	return nil
}

// checkTarget refuses URLs whose host is not loopback unless remote targets are allowed. Host
// names other than "localhost" are refused without resolving them.
func checkTarget(field, raw string, allowRemote bool) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("loadgen: %s %q: %w", field, raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("loadgen: %s %q: scheme must be http or https", field, raw)
	}
	if allowRemote {
		return nil
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("loadgen: %s %q: host %q is not a loopback address; load is only sent to 127.0.0.0/8, ::1 or localhost unless AllowRemote (--allow-remote) is set", field, raw, host)
}

// inferURL is the full inference URL for the config.
func (c *Config) inferURL() string {
	base := strings.TrimRight(c.URL, "/")
	if strings.HasSuffix(base, "/infer") {
		return base
	}
	return base + "/v2/models/" + url.PathEscape(c.Model) + "/infer"
}
