package local

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// probeTracker applies Kubernetes' threshold rules to a stream of probe results: the
// state flips to passing after successThreshold consecutive successes and to failing
// after failureThreshold consecutive failures.
type probeTracker struct {
	successThreshold int
	failureThreshold int
	passing          bool
	successes        int
	failures         int
	lastError        string
}

// newProbeTracker starts in the given state: readiness starts failing, liveness passing.
func newProbeTracker(p *corev1.Probe, initiallyPassing bool) *probeTracker {
	t := &probeTracker{successThreshold: 1, failureThreshold: 3, passing: initiallyPassing}
	if p != nil && p.SuccessThreshold > 0 {
		t.successThreshold = int(p.SuccessThreshold)
	}
	if p != nil && p.FailureThreshold > 0 {
		t.failureThreshold = int(p.FailureThreshold)
	}
	return t
}

// record adds one probe result (err == nil is a success) and returns the state.
func (t *probeTracker) record(err error) bool {
	if err == nil {
		t.failures = 0
		t.successes++
		t.lastError = ""
		if t.successes >= t.successThreshold {
			t.passing = true
		}
		return t.passing
	}
	t.successes = 0
	t.failures++
	t.lastError = err.Error()
	if t.failures >= t.failureThreshold {
		t.passing = false
	}
	return t.passing
}

// probeTiming is a probe's schedule with Kubernetes defaults filled in.
type probeTiming struct {
	initialDelay time.Duration
	period       time.Duration
	timeout      time.Duration
}

func timingOf(p *corev1.Probe) probeTiming {
	t := probeTiming{period: 10 * time.Second, timeout: time.Second}
	if p == nil {
		return t
	}
	t.initialDelay = time.Duration(p.InitialDelaySeconds) * time.Second
	if p.PeriodSeconds > 0 {
		t.period = time.Duration(p.PeriodSeconds) * time.Second
	}
	if p.TimeoutSeconds > 0 {
		t.timeout = time.Duration(p.TimeoutSeconds) * time.Second
	}
	return t
}

// checkProbeSupported rejects probe kinds the local platform cannot run, naming the field.
func checkProbeSupported(field string, p *corev1.Probe) error {
	if p == nil {
		return nil
	}
	switch {
	case p.HTTPGet != nil:
		if p.HTTPGet.Host != "" && p.HTTPGet.Host != "127.0.0.1" && p.HTTPGet.Host != "localhost" {
			return fmt.Errorf("%s.httpGet.host: must be empty or loopback on the local platform, got %q", field, p.HTTPGet.Host)
		}
		return nil
	case p.TCPSocket != nil, p.Exec != nil:
		return nil
	default:
		return fmt.Errorf("%s: only httpGet, tcpSocket and exec probes are supported by the local platform", field)
	}
}

// prober runs one probe against one replica.
type prober struct {
	client *http.Client
}

func newProber() *prober {
	tr := &http.Transport{
		// A probe is a fresh connection, like the kubelet's, so a restarted replica on the
		// same port is never judged by a stale keep-alive connection.
		DisableKeepAlives: true,
		// The kubelet does not verify certificates of HTTPS probes.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback probe, as the kubelet
		Proxy:           nil,
	}
	return &prober{client: &http.Client{
		Transport: tr,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 || req.URL.Hostname() != "127.0.0.1" {
				return http.ErrUseLastResponse
			}
			return nil
		},
	}}
}

// run executes p for the replica; nil means success.
func (pr *prober) run(ctx context.Context, p *corev1.Probe, c *corev1.Container, ports replicaPorts, launch launchSpec) error {
	t := timingOf(p)
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	switch {
	case p.HTTPGet != nil:
		port, err := ports.resolve(c, p.HTTPGet.Port)
		if err != nil {
			return err
		}
		scheme := "http"
		if p.HTTPGet.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		path := p.HTTPGet.Path
		if path == "" || path[0] != '/' {
			path = "/" + path
		}
		url := scheme + "://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) + path
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return fmt.Errorf("probe request %s: %w", url, err)
		}
		req.Header.Set("User-Agent", "shipsafe-probe/1")
		for _, h := range p.HTTPGet.HTTPHeaders {
			req.Header.Set(h.Name, h.Value)
		}
		resp, err := pr.client.Do(req)
		if err != nil {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode >= 400 {
			return fmt.Errorf("GET %s: status %d", url, resp.StatusCode)
		}
		return nil
	case p.TCPSocket != nil:
		port, err := ports.resolve(c, p.TCPSocket.Port)
		if err != nil {
			return err
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		var d net.Dialer
		conn, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return fmt.Errorf("dial %s: %w", addr, err)
		}
		return conn.Close()
	case p.Exec != nil:
		if len(p.Exec.Command) == 0 {
			return fmt.Errorf("exec probe: empty command")
		}
		cmd := exec.CommandContext(ctx, p.Exec.Command[0], p.Exec.Command[1:]...)
		cmd.Env = launch.Env
		cmd.Dir = launch.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("exec probe %q: %w: %.200s", p.Exec.Command[0], err, out)
		}
		return nil
	default:
		return fmt.Errorf("unsupported probe")
	}
}
