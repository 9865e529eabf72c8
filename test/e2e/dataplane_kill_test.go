package e2e

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/dataplane"
)

// TestDataplaneKillUnderLoad SIGKILLs the data plane (the gateway process) under 320 req/s
// of inference through it, from two clients of 160 req/s each: one never retries, the
// other retries a refused connection once after 100ms and marks its requests idempotent
// (inference is). The supervisor must restart it on the same traffic address with the
// rollout's routes, so traffic is back within 1s of the kill and no connection is
// refused; /readyz fails while it is down and says why, the rollout gets the events, and
// the control plane does not log a warning per pass. Twice: a data plane this control
// plane started, then one a restarted control plane adopted.
func TestDataplaneKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const name = "dpkill"
	m := detectorRollout(name, 3, "v1", "", canaryStrategy)
	c.apply(m)
	c.waitFor(ctx, name, "healthy on v1", stableIs(hashOf(t, m)))
	firstKill := c.killDataplaneUnderLoad(ctx, name, 1, "started by this control plane")
	c.waitFor(ctx, name, "still healthy on v1", stableIs(hashOf(t, m)))

	c.kill9()
	c.start()
	adopted, err := dataplane.ReadState(c.dir)
	if err != nil || !alive(adopted.PID) {
		t.Fatalf("after the control plane's restart: data plane %+v, %v", adopted, err)
	}
	c.killDataplaneUnderLoad(ctx, name, 2, "adopted by a restarted control plane")
	c.waitFor(ctx, name, "still healthy on v1", stableIs(hashOf(t, m)))

	// The control plane's and the data planes' logs since the first kill: the
	// supervisor's restarts, and a few warnings, not two a second per rollout.
	c.stop()
	var warns int
	for _, file := range []string{"shipsafe.log", "dataplane.log"} {
		for _, line := range c.logSince(file, firstKill) {
			t.Logf("%s: %s", file, line)
			if file == "shipsafe.log" && strings.Contains(line, "level=WARN") {
				warns++
			}
		}
	}
	if warns > 10 {
		t.Errorf("%d warnings after the kills", warns)
	}
}

// killDataplaneUnderLoad runs the two clients, SIGKILLs the data plane 3s in, keeps the
// load 4s more, and checks the outage; the kill is the n-th of the test.
func (c *cluster) killDataplaneUnderLoad(ctx context.Context, name string, n int, what string) time.Time {
	t := c.t
	t.Helper()
	if code, body := c.readyz(); code != http.StatusOK {
		t.Fatalf("/readyz before kill %d: %d %s", n, code, body)
	}
	before, err := dataplane.ReadState(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	const rate, warm, after = 160.0, 3 * time.Second, 4 * time.Second
	url := "http://" + c.gateway + "/svc/" + name + "/v2/models/pneumonia-detector/infer"
	plain := newKillLoad("no retry", url, 0)
	retry := newKillLoad("retry once after 100ms", url, 100*time.Millisecond)
	retry.idempotent = true
	var wg sync.WaitGroup
	for _, l := range []*killLoad{plain, retry} {
		wg.Add(1)
		go func() { defer wg.Done(); l.run(ctx, rate, warm+after) }()
	}
	time.Sleep(warm)
	killedAt := time.Now()
	if err := syscall.Kill(before.PID, syscall.SIGKILL); err != nil {
		t.Fatalf("kill the data plane %d: %v", before.PID, err)
	}
	// /readyz while it is down: 503 with the reason, then 200 again.
	var sawDown string
	readyAgain := time.Duration(0)
	for time.Since(killedAt) < 5*time.Second {
		code, body := c.readyz()
		if code == http.StatusServiceUnavailable && sawDown == "" {
			sawDown = body
		}
		if code == http.StatusOK && sawDown != "" {
			readyAgain = time.Since(killedAt)
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()

	now, err := dataplane.ReadState(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("kill %d, data plane %s: pid %d killed; pid %d serves %s (was %s); /readyz 200 again %v after the kill",
		n, what, before.PID, now.PID, now.Listen, before.Listen, readyAgain.Round(time.Millisecond))
	if now.PID == before.PID || now.Listen != before.Listen {
		t.Errorf("kill %d: not restarted on the same address: before %+v, after %+v", n, before, now)
	}
	if !strings.Contains(sawDown, "dataplane") || !strings.Contains(sawDown, "exited") {
		t.Errorf("kill %d: /readyz while the data plane was down: %q, want 503 with the reason", n, sawDown)
	}
	for _, l := range []*killLoad{plain, retry} {
		s := l.summary(killedAt)
		t.Logf("kill %d, %-24s %s", n, l.name+":", s)
		if s.refused != 0 {
			t.Errorf("kill %d, %s: %d requests refused", n, l.name, s.refused)
		}
		if s.back <= 0 || s.back > time.Second {
			t.Errorf("kill %d, %s: traffic back %v after the kill, want within 1s", n, l.name, s.back)
		}
		if s.requests < int(0.8*rate*(warm+after).Seconds()) {
			t.Errorf("kill %d, %s: only %d requests: the test needs steady load", n, l.name, s.requests)
		}
		// Only requests in flight at the kill may fail (their connection died with it).
		if s.failed > 64 {
			t.Errorf("kill %d, %s: %d requests failed, more than were in flight: %v", n, l.name, s.failed, s.firstErrs)
		}
	}
	evs := c.eventReasons(name)
	down, back := countOf(evs, "DataPlaneDown"), countOf(evs, "DataPlaneRestarted")
	if down < n || back < n {
		t.Errorf("after kill %d: rollout events %v: want DataPlaneDown and DataPlaneRestarted for each kill", n, evs)
	}
	if alive(before.PID) {
		t.Errorf("kill %d: the killed data plane %d is still there", n, before.PID)
	}
	return killedAt
}

func countOf(xs []string, x string) int {
	n := 0
	for _, v := range xs {
		if v == x {
			n++
		}
	}
	return n
}

// readyz returns the API's /readyz status and body.
func (c *cluster) readyz() (int, string) {
	resp, err := http.Get("http://" + c.api + "/readyz")
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(bytes.TrimSpace(b))
}

// eventReasons reads the rollout's event reasons from the event stream (for 1s).
func (c *cluster) eventReasons(rollout string) []string {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.api+"/api/v1/events?rollout="+rollout, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var reasons []string
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			if i := strings.Index(d, `"reason":"`); i >= 0 {
				r := d[i+len(`"reason":"`):]
				reasons = append(reasons, r[:strings.IndexByte(r, '"')])
			}
		}
	}
	return reasons
}

// killLoad is an open-loop client: rate requests a second, each on its own goroutine, so
// an outage shows as refused or slow requests, not as fewer requests sent.
type killLoad struct {
	name  string
	url   string
	retry time.Duration // 0: never retry
	// idempotent marks requests (Idempotency-Key) so net/http replays one whose
	// keep-alive connection died before any answer, as it does for a GET.
	idempotent bool
	client     *http.Client
	body       []byte

	mu      sync.Mutex
	results []killResult
}

type killResult struct {
	sent, done time.Time
	ok         bool
	refused    bool // the final attempt's connection was refused
	retried    bool
	err        string
}

func newKillLoad(name, url string, retry time.Duration) *killLoad {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &killLoad{name: name, url: url, retry: retry, client: &http.Client{Transport: tr, Timeout: 10 * time.Second},
		body: oipImage(make([]uint8, 28*28))}
}

func (l *killLoad) run(ctx context.Context, rate float64, d time.Duration) {
	defer l.client.CloseIdleConnections()
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; ; i++ {
		due := start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
		if due.Sub(start) >= d {
			break
		}
		select {
		case <-ctx.Done():
			wg.Wait()
			return
		case <-time.After(time.Until(due)):
		}
		wg.Add(1)
		go func() { defer wg.Done(); l.one(ctx) }()
	}
	wg.Wait()
}

func (l *killLoad) one(ctx context.Context) {
	r := killResult{sent: time.Now()}
	err := l.send(ctx)
	if errors.Is(err, syscall.ECONNREFUSED) && l.retry > 0 {
		r.retried = true
		select {
		case <-ctx.Done():
		case <-time.After(l.retry):
		}
		err = l.send(ctx)
	}
	r.done, r.ok, r.refused = time.Now(), err == nil, errors.Is(err, syscall.ECONNREFUSED)
	if err != nil {
		r.err = err.Error()
	}
	l.mu.Lock()
	l.results = append(l.results, r)
	l.mu.Unlock()
}

func (l *killLoad) send(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.url, bytes.NewReader(l.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if l.idempotent {
		req.Header.Set("Idempotency-Key", fmt.Sprintf("%p-%d", req, time.Now().UnixNano()))
	}
	resp, err := l.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

type killSummary struct {
	requests, failed, refused, retried int
	// back is from the kill to the first answer to a request sent after it.
	back time.Duration
	// maxGap is the longest time without a successful answer; slowest is the longest
	// request sent within 1s after the kill.
	maxGap, slowest time.Duration
	firstErrs       []string
}

func (s killSummary) String() string {
	return fmt.Sprintf("%d requests, %d failed (%d refused), %d retried; traffic back %v after the kill; longest gap between answers %v; slowest request sent in the first second %v; errors %v",
		s.requests, s.failed, s.refused, s.retried, s.back.Round(time.Millisecond), s.maxGap.Round(time.Millisecond), s.slowest.Round(time.Millisecond), s.firstErrs)
}

func (l *killLoad) summary(killedAt time.Time) killSummary {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := killSummary{requests: len(l.results)}
	var oks []time.Time
	for _, r := range l.results {
		if r.retried {
			s.retried++
		}
		if !r.ok {
			s.failed++
			if r.refused {
				s.refused++
			}
			if len(s.firstErrs) < 3 {
				s.firstErrs = append(s.firstErrs, r.err)
			}
			continue
		}
		oks = append(oks, r.done)
		if !r.sent.Before(killedAt) {
			if d := r.done.Sub(killedAt); s.back == 0 || d < s.back {
				s.back = d
			}
			if r.sent.Sub(killedAt) < time.Second {
				s.slowest = max(s.slowest, r.done.Sub(r.sent))
			}
		}
	}
	slices.SortFunc(oks, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(oks); i++ {
		s.maxGap = max(s.maxGap, oks[i].Sub(oks[i-1]))
	}
	return s
}

// logSince returns the lines of a log in the data dir (or, for the control plane's when
// it logs to stderr, its output) stamped at or after since. Call it after stop: the
// processes no longer write.
func (c *cluster) logSince(file string, since time.Time) []string {
	b, err := os.ReadFile(filepath.Join(c.dir, file))
	if err != nil && file == "shipsafe.log" {
		b = []byte(c.log.String())
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		ts, ok := strings.CutPrefix(line, "time=")
		if !ok {
			continue
		}
		ts, _, _ = strings.Cut(ts, " ")
		if at, err := time.Parse(time.RFC3339Nano, ts); err == nil && !at.Before(since.Truncate(time.Millisecond)) {
			out = append(out, line)
		}
	}
	return out
}
