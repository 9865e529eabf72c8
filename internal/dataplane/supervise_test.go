package dataplane

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ensureChild starts a data plane (this test binary in child mode) in a fresh data dir.
func ensureChild(t *testing.T, ctx context.Context) *Handle {
	t.Helper()
	t.Setenv(childEnv, "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	h, err := Ensure(ctx, t.TempDir(), exe, "127.0.0.1:0", "tok")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = h.Stop(context.Background(), 5*time.Second)
		if pid := h.Current().PID; processAlive(pid) {
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	})
	return h
}

// prober sends GET /svc/m on a new connection every 2ms and counts the outcomes.
type prober struct {
	ok, refused, other atomic.Int64
	mu                 sync.Mutex
	errs               []string
}

func (p *prober) run(ctx context.Context, url string) {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, syscall.ECONNREFUSED):
			p.refused.Add(1)
		case err != nil:
			p.note(err.Error())
		default:
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && string(b) == "ok" {
				p.ok.Add(1)
			} else {
				p.note(resp.Status + " " + string(b))
			}
		}
	}
}

func (p *prober) note(e string) {
	p.other.Add(1)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.errs) < 5 {
		p.errs = append(p.errs, e)
	}
}

func waitStatus(t *testing.T, h *Handle, what string, cond func(Status) bool) Status {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if s := h.Status(); cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("data plane not %s in 10s: %+v", what, h.Status())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// TestKilledDataPlaneIsRestartedWithItsRoutes: SIGKILL of the data plane under traffic
// restarts it at once on the same socket, serving the same routes, with no connection
// refused; repeated crashes back off (the fake After records the waits, never sleeps).
func TestKilledDataPlaneIsRestartedWithItsRoutes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := ensureChild(t, ctx)
	be := backend(t)
	if err := h.Client.SetRoutes(ctx, oneService(be.Listener.Addr().String())); err != nil {
		t.Fatal(err)
	}
	const probe = 250 * time.Millisecond
	var mu sync.Mutex
	var waits []time.Duration
	var changes []Status
	sctx, stop := context.WithCancel(ctx)
	supervised := make(chan struct{})
	go func() {
		defer close(supervised)
		h.Supervise(sctx, SuperviseOptions{
			Log: slog.New(slog.DiscardHandler), ProbeInterval: probe,
			OnChange: func(s Status) { mu.Lock(); changes = append(changes, s); mu.Unlock() },
			After: func(d time.Duration) <-chan time.Time {
				if d == probe {
					return time.After(d)
				}
				mu.Lock()
				waits = append(waits, d)
				mu.Unlock()
				c := make(chan time.Time, 1)
				c <- time.Now() // a fake clock: the backoff wait passes at once
				return c
			},
		})
	}()
	defer func() { stop(); <-supervised }()

	var p prober
	pctx, pstop := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() { defer close(probed); p.run(pctx, "http://"+h.State.Listen+"/svc/m/x") }()
	time.Sleep(100 * time.Millisecond)

	first := h.Current()
	killed := time.Now()
	if err := syscall.Kill(first.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	s := waitStatus(t, h, "restarted", func(s Status) bool { return s.Up && s.Restarts == 1 })
	t.Logf("restarted in %v (supervisor saw %v down)", time.Since(killed).Round(time.Millisecond), s.Down.Round(time.Millisecond))
	cur := h.Current()
	if cur.PID == first.PID || cur.Listen != first.Listen {
		t.Fatalf("after the kill: %+v, want a new pid on the same listen address as %+v", cur, first)
	}
	time.Sleep(100 * time.Millisecond)
	pstop()
	<-probed
	t.Logf("probe: %d ok, %d refused, %d other %v", p.ok.Load(), p.refused.Load(), p.other.Load(), p.errs)
	if p.refused.Load() != 0 {
		t.Errorf("%d connections refused: the traffic socket must outlive the process", p.refused.Load())
	}
	// A request in flight when the process died fails; none may fail for want of routes.
	for _, e := range p.errs {
		if strings.Contains(e, "404") || strings.Contains(e, "503") {
			t.Errorf("a request got %q: the restarted data plane did not start with the routes", e)
		}
	}
	mu.Lock()
	sawDown := slices.ContainsFunc(changes, func(s Status) bool { return !s.Up && strings.Contains(s.Reason, "exited") })
	mu.Unlock()
	if !sawDown {
		t.Errorf("no down status reported: %+v", changes)
	}

	// Two more quick crashes (each ran less than StableAfter): they wait Base, then 2×Base.
	for i := 2; i <= 3; i++ {
		if err := syscall.Kill(h.Current().PID, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, h, "restarted again", func(s Status) bool { return s.Up && s.Restarts == i })
	}
	mu.Lock()
	got := slices.Clone(waits)
	mu.Unlock()
	if want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond}; !slices.Equal(got, want) {
		t.Errorf("backoff waits %v, want %v", got, want)
	}
	resp, err := http.Get("http://" + h.State.Listen + "/svc/m/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("after three restarts: %s", resp.Status)
	}
}

// TestStoppedDataPlaneStaysStopped: Stop is not a crash; nothing restarts it and the
// traffic socket is released.
func TestStoppedDataPlaneStaysStopped(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := ensureChild(t, ctx)
	supervised := make(chan struct{})
	go func() {
		defer close(supervised)
		h.Supervise(ctx, SuperviseOptions{Log: slog.New(slog.DiscardHandler)})
	}()
	if err := h.Stop(ctx, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-supervised:
	case <-time.After(5 * time.Second):
		t.Fatal("the supervisor did not return after Stop")
	}
	if s := h.Status(); s.Restarts != 0 {
		t.Fatalf("restarted after Stop: %+v", s)
	}
	ln, err := net.Listen("tcp", h.State.Listen)
	if err != nil {
		t.Fatalf("the traffic address is still held after Stop: %v", err)
	}
	ln.Close()
}

// TestAdoptedDataPlaneIsSupervisedOnItsSocket: a second control plane adopts the running
// data plane, takes a copy of its socket, and restarts it after a SIGKILL with nothing
// refused, though it is not its child.
func TestAdoptedDataPlaneIsSupervisedOnItsSocket(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	first := ensureChild(t, ctx)
	be := backend(t)
	if err := first.Client.SetRoutes(ctx, oneService(be.Listener.Addr().String())); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	h, err := Ensure(ctx, first.dataDir, exe, "127.0.0.1:0", "tok")
	if err != nil {
		t.Fatal(err)
	}
	first.Release() // the first control plane is gone
	if !h.Adopted || h.ln == nil {
		t.Fatalf("adopted %v, socket taken %v (%v)", h.Adopted, h.ln != nil, h.adoptErr)
	}
	t.Cleanup(func() { _ = h.Stop(context.Background(), 5*time.Second) })
	sctx, stop := context.WithCancel(ctx)
	supervised := make(chan struct{})
	go func() {
		defer close(supervised)
		h.Supervise(sctx, SuperviseOptions{Log: slog.New(slog.DiscardHandler)})
	}()
	defer func() { stop(); <-supervised }()

	var p prober
	pctx, pstop := context.WithCancel(ctx)
	probed := make(chan struct{})
	go func() { defer close(probed); p.run(pctx, "http://"+h.State.Listen+"/svc/m/x") }()
	time.Sleep(300 * time.Millisecond)
	old := h.Current().PID
	if err := syscall.Kill(old, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, h, "restarted", func(s Status) bool { return s.Up && s.Restarts == 1 })
	time.Sleep(100 * time.Millisecond)
	pstop()
	<-probed
	t.Logf("probe: %d ok, %d refused, %d other %v", p.ok.Load(), p.refused.Load(), p.other.Load(), p.errs)
	if p.refused.Load() != 0 {
		t.Errorf("%d connections refused after the adopted data plane was killed", p.refused.Load())
	}
	if cur := h.Current(); cur.PID == old || cur.Listen != first.State.Listen {
		t.Fatalf("after the kill %+v, want a new pid on %s", cur, first.State.Listen)
	}
}

// TestHungDataPlaneIsReportedAndRestarted: a data plane that stops answering (SIGSTOP) is
// reported down after UnreadyAfter failed probes and killed and restarted after KillAfter.
func TestHungDataPlaneIsReportedAndRestarted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h := ensureChild(t, ctx)
	sctx, stop := context.WithCancel(ctx)
	supervised := make(chan struct{})
	go func() {
		defer close(supervised)
		h.Supervise(sctx, SuperviseOptions{Log: slog.New(slog.DiscardHandler), ProbeInterval: 50 * time.Millisecond, UnreadyAfter: 3, KillAfter: 6})
	}()
	defer func() { stop(); <-supervised }()
	old := h.Current().PID
	if err := syscall.Kill(old, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	s := waitStatus(t, h, "reported down", func(s Status) bool { return !s.Up })
	if !strings.Contains(s.Reason, "does not answer its health check") {
		t.Fatalf("reason %q", s.Reason)
	}
	waitStatus(t, h, "restarted", func(s Status) bool { return s.Up && s.Restarts == 1 })
	if cur := h.Current().PID; cur == old || processAlive(old) {
		t.Fatalf("the hung data plane %d was not replaced (now %d)", old, cur)
	}
}
