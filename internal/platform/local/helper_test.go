package local

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// helperEnv switches the test binary into a tiny model-server stand-in, so e2e tests
// run real processes without building anything.
const helperEnv = "SHIPSAFE_LOCAL_TEST_HELPER"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) != "" {
		os.Exit(helperMain(os.Args[1:]))
	}
	if dir := os.Getenv(hostEnv); dir != "" {
		os.Exit(hostMain(dir))
	}
	os.Exit(m.Run())
}

// hostEnv switches the test binary into a stand-in control plane: it opens a platform
// on the given dir, runs 2 replicas, prints "ready" and waits to be killed.
const hostEnv = "SHIPSAFE_LOCAL_TEST_HOST"

func hostMain(dir string) int {
	p, err := Open(dir, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Fprintln(os.Stderr, "host:", err)
		return 1
	}
	ctx := context.Background()
	if err := p.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 2}}); err != nil {
		fmt.Fprintln(os.Stderr, "host:", err)
		return 1
	}
	for {
		states, err := p.Observe(ctx, "svc")
		if err == nil && len(states) == 1 && states[0].Ready == 2 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("ready")
	select {} // until SIGKILL
}

// helperMain serves /ready, /healthz and /pid on --addr with configurable misbehaviour.
func helperMain(args []string) int {
	if len(args) > 0 && args[0] == "sleep" {
		time.Sleep(5 * time.Minute)
		return 0
	}
	fs := flag.NewFlagSet("helper", flag.ContinueOnError)
	addr := fs.String("addr", "", "listen address")
	readyAfter := fs.Duration("ready-after", 0, "answer /ready 503 until this much time passed")
	crashAfter := fs.Duration("crash-after", -1, "exit 3 after this long (negative: never)")
	liveFailAfter := fs.Duration("live-fail-after", -1, "answer /healthz 500 after this long")
	ignoreTerm := fs.Bool("ignore-term", false, "ignore SIGTERM")
	child := fs.Bool("child", false, "fork a sleeping child into the same process group")
	burn := fs.Duration("burn", 0, "spin the CPU this long at start")
	allocMB := fs.Int("alloc-mb", 0, "allocate and touch this many MiB")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	start := time.Now()
	if *ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
	}
	if *child {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
		c := exec.Command(exe, "sleep")
		c.Env = os.Environ()
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			return 2
		}
	}
	var keep []byte
	if *allocMB > 0 {
		keep = make([]byte, *allocMB<<20)
		for i := 0; i < len(keep); i += 4096 { // touch every page so it is resident
			keep[i] = 1
		}
	}
	for end := time.Now().Add(*burn); time.Now().Before(end); {
	}
	if *crashAfter >= 0 {
		go func() {
			time.Sleep(*crashAfter)
			fmt.Fprintln(os.Stderr, "helper: crashing on purpose")
			os.Exit(3)
		}()
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/ready", func(w http.ResponseWriter, _ *http.Request) {
		if time.Since(start) < *readyAfter {
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if *liveFailAfter >= 0 && time.Since(start) > *liveFailAfter {
			http.Error(w, "wedged", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/pid", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%d %s %d", os.Getpid(), os.Getenv("GREETING"), len(keep))
	})
	srv := &http.Server{Addr: *addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	fmt.Println("helper: listening on", *addr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		_ = srv.Shutdown(context.Background())
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "helper:", err)
		return 1
	}
	return 0
}

// helperTemplate is a pod template running the helper with args, declaring container
// port 8080 and probing /ready (readiness) on it, as the seed manifests do.
func helperTemplate(args ...string) corev1.PodTemplateSpec {
	grace := int64(5)
	return corev1.PodTemplateSpec{Spec: corev1.PodSpec{
		TerminationGracePeriodSeconds: &grace,
		Containers: []corev1.Container{{
			Name:    "model",
			Command: []string{"shipsafe"},
			Args:    append([]string{"--addr", "127.0.0.1:$(PORT)"}, args...),
			Env: []corev1.EnvVar{
				{Name: helperEnv, Value: "1"},
				{Name: "GREETING", Value: "hello-$(PORT)-$$(PORT)"},
			},
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{
				ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}},
				PeriodSeconds: 1,
			},
		}},
	}}
}

// openTest opens a platform on a fresh dir whose "shipsafe" is this test binary, and
// registers a cleanup that shuts it down and fails if any marked process survives.
func openTest(t *testing.T, opts Options) (*Platform, string) {
	t.Helper()
	dir := t.TempDir()
	return openAt(t, dir, opts), dir
}

func openAt(t *testing.T, dir string, opts Options) *Platform {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	opts.Executable = exe
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
		abs, _ := filepath.Abs(dir)
		if left := markedProcesses(t, abs); len(left) > 0 {
			for _, pid := range left {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Errorf("processes left running after Shutdown: %v", left)
		}
	})
	return p
}

// markedProcesses lists live processes carrying the data-dir marker of dir.
func markedProcesses(t *testing.T, dir string) []int {
	t.Helper()
	pids, err := listPIDs("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	for _, pid := range pids {
		if readEnviron("/proc", pid)[EnvDataDir] != dir {
			continue
		}
		if st, err := readProcStat("/proc", pid); err == nil && !st.dead() {
			out = append(out, pid)
		}
	}
	return out
}

// eventually polls cond (real time: these are end-to-end tests of real processes)
// until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// observeRev returns the state of one revision (zero value when absent).
func observeRev(t *testing.T, p *Platform, svc, rev string) platform.RevisionState {
	t.Helper()
	states, err := p.Observe(context.Background(), svc)
	if err != nil {
		t.Fatalf("Observe: %v", err)
	}
	for _, s := range states {
		if s.Name == rev {
			return s
		}
	}
	return platform.RevisionState{}
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	b.Write(buf[:n])
	return b.String()
}

func pidAlive(pid int) bool {
	st, err := readProcStat("/proc", pid)
	return err == nil && !st.dead()
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
