package local

import (
	"bufio"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shipsafe/shipsafe/internal/platform"
)

func TestReplicasStartAndBecomeReadyOnMappedPorts(t *testing.T) {
	t.Parallel()
	p, dir := openTest(t, Options{})
	ctx := context.Background()
	tpl := helperTemplate("--ready-after", "300ms")
	if err := p.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: tpl, Replicas: 3}}); err != nil {
		t.Fatal(err)
	}
	var st platform.RevisionState
	eventually(t, 15*time.Second, "3 ready replicas", func() bool {
		st = observeRev(t, p, "svc", "v1")
		return st.Ready == 3
	})
	if st.Desired != 3 || st.Replicas != 3 || st.Available != 3 || len(st.Endpoints) != 3 {
		t.Fatalf("state = %+v", st)
	}
	seen := map[string]bool{}
	for _, ep := range st.Endpoints {
		if seen[ep] || !strings.HasPrefix(ep, "127.0.0.1:") || strings.HasSuffix(ep, ":8080") {
			t.Fatalf("endpoints %v: want distinct 127.0.0.1 ports, not the container port", st.Endpoints)
		}
		seen[ep] = true
		port := strings.TrimPrefix(ep, "127.0.0.1:")
		body := httpGet(t, "http://"+ep+"/pid")
		// $(PORT) expands in env; $$(PORT) is the escaped literal.
		if want := "hello-" + port + "-$(PORT)"; !strings.Contains(body, want) {
			t.Fatalf("GET /pid on %s = %q, want it to contain %q", ep, body, want)
		}
	}
	for _, pod := range st.Pods {
		if pod.Phase != platform.PhaseRunning || pod.PID == 0 || pod.Restarts != 0 {
			t.Fatalf("pod %+v", pod)
		}
		if !strings.HasPrefix(pod.LogPath, filepath.Join(p.DataDir(), "logs", "svc", "v1")) {
			t.Fatalf("log path %q not under the data dir %q", pod.LogPath, dir)
		}
		logData, err := os.ReadFile(pod.LogPath)
		if err != nil || !strings.Contains(string(logData), "helper: listening on") {
			t.Fatalf("log %s = %q, %v", pod.LogPath, logData, err)
		}
	}
}

func TestKilledReplicaIsRestartedAndReported(t *testing.T) {
	t.Parallel()
	p, _ := openTest(t, Options{BackoffInitial: 100 * time.Millisecond})
	old := startOneAndKill(t, p)
	select {
	case <-p.Changes():
	case <-time.After(10 * time.Second):
		t.Fatal("no change notification after the replica died")
	}
	if st := observeRev(t, p, "svc", "v1"); st.Ready != 0 || len(st.Endpoints) != 0 {
		t.Fatalf("after the death notification the replica still routes: %+v", st)
	}
	var st platform.RevisionState
	eventually(t, 15*time.Second, "restart reported", func() bool {
		st = observeRev(t, p, "svc", "v1")
		return st.Restarts == 1
	})
	eventually(t, 15*time.Second, "ready again", func() bool {
		st = observeRev(t, p, "svc", "v1")
		return st.Ready == 1 && st.Pods[0].PID != old.PID
	})
	pod := st.Pods[0]
	if pod.ID != old.ID || pod.Endpoint != old.Endpoint || pod.Restarts != 1 || pod.LastTermination != "signal: killed" {
		t.Fatalf("after kill: %+v (before: %+v)", pod, old)
	}
}

func TestCrashLoopBacksOffExponentially(t *testing.T) {
	t.Parallel()
	p, _ := openTest(t, Options{BackoffInitial: 50 * time.Millisecond, BackoffMax: 400 * time.Millisecond})
	ctx := context.Background()
	tpl := helperTemplate("--crash-after", "0s")
	if err := p.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: tpl, Replicas: 1}}); err != nil {
		t.Fatal(err)
	}
	messages := map[string]bool{}
	var st platform.RevisionState
	eventually(t, 20*time.Second, "5 restarts", func() bool {
		st = observeRev(t, p, "svc", "v1")
		if len(st.Pods) == 1 && st.Pods[0].Phase == platform.PhaseCrashLoopBackOff {
			messages[st.Pods[0].Message] = true
		}
		return st.Restarts >= 5
	})
	eventually(t, 5*time.Second, "a CrashLoopBackOff observation", func() bool {
		st = observeRev(t, p, "svc", "v1")
		return st.Failed == 1 && st.Pods[0].Phase == platform.PhaseCrashLoopBackOff
	})
	if st.Ready != 0 || len(st.Endpoints) != 0 {
		t.Fatalf("crash-looping revision reports ready endpoints: %+v", st)
	}
	if got := st.Pods[0].LastTermination; got != "exit status 3" {
		t.Fatalf("last termination %q, want exit status 3", got)
	}
	// The delay doubles and is capped: the maximum must have been reached.
	if !messages["back-off 400ms restarting failed container"] {
		t.Fatalf("never saw the capped backoff; messages: %v", messages)
	}
}

func TestLivenessFailureRestartsReplica(t *testing.T) {
	t.Parallel()
	p, _ := openTest(t, Options{BackoffInitial: 50 * time.Millisecond})
	// The initial delay leaves a loaded machine time to start the helper: a refused
	// connection would also restart it, but this test wants the 500 from the handler.
	tpl := helperTemplate("--live-fail-after", "3500ms")
	// The named port "http" resolves to container port 8080, mapped to the replica's port.
	tpl.Spec.Containers[0].LivenessProbe = &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http")}},
		InitialDelaySeconds: 3,
		PeriodSeconds:       1,
		FailureThreshold:    1,
	}
	if err := p.Apply(context.Background(), "svc", []platform.Revision{{Name: "v1", Template: tpl, Replicas: 1}}); err != nil {
		t.Fatal(err)
	}
	var st platform.RevisionState
	eventually(t, 20*time.Second, "a liveness restart", func() bool {
		st = observeRev(t, p, "svc", "v1")
		return st.Restarts >= 1
	})
	if got := st.Pods[0].LastTermination; !strings.HasPrefix(got, "liveness probe failed: ") || !strings.Contains(got, "status 500") {
		t.Fatalf("last termination %q", got)
	}
}

func TestScaleDownLeavesNoProcess(t *testing.T) {
	t.Parallel()
	p, dir := openTest(t, Options{MaxGracePeriod: time.Second})
	abs, _ := filepath.Abs(dir)
	ctx := context.Background()
	// One revision whose replicas fork a child, one that ignores SIGTERM.
	forking := helperTemplate("--child")
	stubborn := helperTemplate("--ignore-term")
	err := p.Apply(ctx, "svc", []platform.Revision{
		{Name: "forking", Template: forking, Replicas: 2},
		{Name: "stubborn", Template: stubborn, Replicas: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "all ready", func() bool {
		return observeRev(t, p, "svc", "forking").Ready == 2 && observeRev(t, p, "svc", "stubborn").Ready == 1
	})
	if n := len(markedProcesses(t, abs)); n != 5 {
		t.Fatalf("%d marked processes, want 5 (2 replicas + 2 children + 1)", n)
	}
	// Scale forking to 1: the stopped replica's endpoint leaves at once.
	if err := p.Apply(ctx, "svc", []platform.Revision{
		{Name: "forking", Template: forking, Replicas: 1},
		{Name: "stubborn", Template: stubborn, Replicas: 1},
	}); err != nil {
		t.Fatal(err)
	}
	if st := observeRev(t, p, "svc", "forking"); len(st.Endpoints) != 1 || st.Replicas != 1 {
		t.Fatalf("right after scale-down: %+v", st)
	}
	eventually(t, 10*time.Second, "one forking replica gone with its child", func() bool {
		return len(markedProcesses(t, abs)) == 3
	})
	// Drop everything: unlisted revisions are scaled to zero, SIGKILL after the grace.
	if err := p.Apply(ctx, "svc", nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "service gone", func() bool {
		states, err := p.Observe(ctx, "svc")
		return err == nil && len(states) == 0
	})
	if left := markedProcesses(t, abs); len(left) != 0 {
		t.Fatalf("processes left after scale to zero: %v", left)
	}
}

func TestDetachThenOpenAdoptsRunningReplicas(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs, _ := filepath.Abs(dir)
	ctx := context.Background()
	p1 := openAt(t, dir, Options{})
	if err := p1.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 2, MinReadySeconds: 1}}); err != nil {
		t.Fatal(err)
	}
	var before platform.RevisionState
	eventually(t, 15*time.Second, "2 available", func() bool { before = observeRev(t, p1, "svc", "v1"); return before.Available == 2 })
	if err := p1.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := p1.Observe(ctx, "svc"); err != ErrClosed {
		t.Fatalf("Observe after Detach: %v, want ErrClosed", err)
	}
	for _, pod := range before.Pods {
		if !pidAlive(pod.PID) {
			t.Fatalf("replica %s (pid %d) died on Detach", pod.ID, pod.PID)
		}
		httpGet(t, "http://"+pod.Endpoint+"/pid") // still serving without a platform
	}

	p2 := openAt(t, dir, Options{BackoffInitial: 50 * time.Millisecond, PollInterval: 50 * time.Millisecond})
	// Ready as soon as Open returns: a restarted control plane must not see its serving
	// replicas as unready.
	after := observeRev(t, p2, "svc", "v1")
	if after.Ready != 2 || after.Available != 2 || len(after.Endpoints) != 2 {
		t.Fatalf("right after re-Open: %+v", after)
	}
	for i, pod := range after.Pods {
		if pod.PID != before.Pods[i].PID || pod.Endpoint != before.Pods[i].Endpoint || pod.Restarts != 0 {
			t.Fatalf("adopted pod %+v differs from %+v", pod, before.Pods[i])
		}
	}
	if after.Desired != 2 {
		t.Fatalf("desired after adoption = %d", after.Desired)
	}
	// An adopted replica is not our child: its death is seen through /proc.
	victim := after.Pods[0]
	if err := syscall.Kill(victim.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "adopted replica restarted", func() bool {
		st := observeRev(t, p2, "svc", "v1")
		return st.Ready == 2 && st.Restarts == 1
	})
	if err := p2.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if left := markedProcesses(t, abs); len(left) != 0 {
		t.Fatalf("processes left after Shutdown: %v", left)
	}
}

func TestOpenKillsUnrecordedReplicas(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs, _ := filepath.Abs(dir)
	ctx := context.Background()
	p1 := openAt(t, dir, Options{})
	if err := p1.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 1}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "process running", func() bool { return len(markedProcesses(t, abs)) == 1 })
	if err := p1.Detach(); err != nil {
		t.Fatal(err)
	}
	// Simulate a control plane killed after starting a process but before recording it.
	if err := os.Remove(filepath.Join(dir, stateFileName)); err != nil {
		t.Fatal(err)
	}
	p2 := openAt(t, dir, Options{})
	eventually(t, 5*time.Second, "orphan killed", func() bool { return len(markedProcesses(t, abs)) == 0 })
	if states, _ := p2.Observe(ctx, "svc"); len(states) != 0 {
		t.Fatalf("unrecorded service reappeared: %+v", states)
	}
}

func TestUsageFromProc(t *testing.T) {
	t.Parallel()
	p, _ := openTest(t, Options{})
	ctx := context.Background()
	// Each replica forks a child: usage covers the whole process group.
	tpl := helperTemplate("--burn", "300ms", "--alloc-mb", "32", "--child")
	if err := p.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: tpl, Replicas: 2}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "2 ready", func() bool { return observeRev(t, p, "svc", "v1").Ready == 2 })
	u, err := p.Usage(ctx, "svc", "v1")
	if err != nil {
		t.Fatal(err)
	}
	if u.Processes != 4 || u.CPUCores <= 0 || u.RSSBytes < 2*32<<20 {
		t.Fatalf("usage = %+v, want 4 processes, CPU > 0, RSS >= 64 MiB", u)
	}
	// A second sample reports the rate over the interval since the first.
	time.Sleep(300 * time.Millisecond)
	u2, err := p.Usage(ctx, "svc", "v1")
	if err != nil || u2.Processes != 4 || u2.CPUCores >= u.CPUCores {
		t.Fatalf("second sample %+v (%v): want the idle rate, below the start-up average %f", u2, err, u.CPUCores)
	}
	if _, err := p.Usage(ctx, "svc", "nope"); err == nil {
		t.Fatal("Usage of an unknown revision succeeded")
	}
}

func TestSecondOpenOnSameDirFails(t *testing.T) {
	t.Parallel()
	_, dir := openTest(t, Options{})
	if _, err := Open(dir, Options{}); err == nil || !strings.Contains(err.Error(), "another local platform") {
		t.Fatalf("second Open: %v", err)
	}
}

func TestApplyRejectsBadRevisionsAndChangesNothing(t *testing.T) {
	t.Parallel()
	p, _ := openTest(t, Options{})
	ctx := context.Background()
	missing := helperTemplate()
	missing.Spec.Containers[0].Command = []string{"no-such-binary-shipsafe-test"}
	grpc := helperTemplate()
	grpc.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 8080}}}
	cases := map[string]struct {
		revs []platform.Revision
		want string
	}{
		"missing command": {[]platform.Revision{{Name: "v1", Template: missing, Replicas: 1}}, `containers[0].command[0]: "no-such-binary-shipsafe-test" not found in PATH`},
		"grpc probe":      {[]platform.Revision{{Name: "v1", Template: grpc, Replicas: 1}}, "readinessProbe: only httpGet, tcpSocket and exec"},
		"negative":        {[]platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: -1}}, "replicas: must be >= 0, got -1"},
		"bad name":        {[]platform.Revision{{Name: "a/b", Template: helperTemplate(), Replicas: 1}}, "name: must contain only"},
		"duplicate": {[]platform.Revision{
			{Name: "v1", Template: helperTemplate(), Replicas: 1}, {Name: "v1", Template: helperTemplate(), Replicas: 1},
		}, `revisions[1].name: duplicate "v1"`},
	}
	cases["dot-dot revision"] = struct {
		revs []platform.Revision
		want string
	}{[]platform.Revision{{Name: "..", Template: helperTemplate(), Replicas: 1}}, `name: must not be ".."`}
	for name, c := range cases {
		err := p.Apply(ctx, "svc", c.revs)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want it to contain %q", name, err, c.want)
		}
	}
	if err := p.Apply(ctx, "../etc", []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 1}}); err == nil ||
		!strings.Contains(err.Error(), "service name: must contain only") {
		t.Errorf("service name with a slash: %v", err)
	}
	if states, _ := p.Observe(ctx, "svc"); len(states) != 0 {
		t.Fatalf("a rejected Apply changed state: %+v", states)
	}
}

// TestReplicasSurviveKilledControlPlaneAndAreAdopted SIGKILLs a process that runs a
// platform (no Detach, no cleanup) and checks its replicas keep serving and a new
// platform adopts them.
func TestReplicasSurviveKilledControlPlaneAndAreAdopted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs, _ := filepath.Abs(dir)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	host := exec.Command(exe, "-test.run=^$")
	host.Env = append(os.Environ(), hostEnv+"="+abs)
	host.Stderr = os.Stderr
	out, err := host.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := host.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = host.Process.Kill(); _ = host.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("host said %q, %v", line, err)
	}
	running := markedProcesses(t, abs)
	if len(running) != 2 {
		t.Fatalf("%d replica processes, want 2", len(running))
	}
	if err := host.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = host.Wait()
	for _, pid := range running {
		if !pidAlive(pid) {
			t.Fatalf("replica pid %d died with its control plane", pid)
		}
	}
	p := openAt(t, dir, Options{})
	st := observeRev(t, p, "svc", "v1")
	if st.Ready != 2 || st.Available != 2 {
		t.Fatalf("right after Open: %+v", st)
	}
	var adopted []int
	for _, pod := range st.Pods {
		adopted = append(adopted, pod.PID)
		if pod.Restarts != 0 {
			t.Fatalf("adopted pod restarted: %+v", pod)
		}
		httpGet(t, "http://"+pod.Endpoint+"/pid")
	}
	slices.Sort(adopted)
	slices.Sort(running)
	if !slices.Equal(adopted, running) {
		t.Fatalf("adopted pids %v, running before %v", adopted, running)
	}
}

func TestRestartMovesOffAPortTakenMeanwhile(t *testing.T) {
	t.Parallel()
	p, _ := openTest(t, Options{BackoffInitial: 300 * time.Millisecond})
	old := startOneAndKill(t, p)
	var st platform.RevisionState
	// Squat on the port during the backoff.
	var squat net.Listener
	eventually(t, 5*time.Second, "the port to be free to squat", func() bool {
		l, err := net.Listen("tcp", old.Endpoint)
		squat = l
		return err == nil
	})
	defer squat.Close()
	eventually(t, 15*time.Second, "ready on a new port", func() bool {
		st = observeRev(t, p, "svc", "v1")
		return st.Ready == 1 && st.Pods[0].Endpoint != old.Endpoint
	})
	if st.Restarts != 1 || st.Pods[0].ID != old.ID {
		t.Fatalf("after move: %+v", st.Pods[0])
	}
}

// startOneAndKill runs one ready helper replica of svc/v1 and SIGKILLs its process.
func startOneAndKill(t *testing.T, p *Platform) platform.ReplicaState {
	t.Helper()
	if err := p.Apply(context.Background(), "svc", []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 1}}); err != nil {
		t.Fatal(err)
	}
	var st platform.RevisionState
	eventually(t, 15*time.Second, "ready", func() bool { st = observeRev(t, p, "svc", "v1"); return st.Ready == 1 })
	select {
	case <-p.Changes(): // the notification of becoming ready
	default:
	}
	if err := syscall.Kill(st.Pods[0].PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	return st.Pods[0]
}

// TestDetachDuringTerminationLeavesItToTheNextOpen: Detach must not wait out a drain or
// grace period; the scaled-down replica stays recorded as terminating and the next Open
// stops it.
func TestDetachDuringTerminationLeavesItToTheNextOpen(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	abs, _ := filepath.Abs(dir)
	ctx := context.Background()
	p1 := openAt(t, dir, Options{DrainDelay: time.Hour})
	if err := p1.Apply(ctx, "svc", []platform.Revision{{Name: "v1", Template: helperTemplate(), Replicas: 1}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 15*time.Second, "ready", func() bool { return observeRev(t, p1, "svc", "v1").Ready == 1 })
	if err := p1.Apply(ctx, "svc", nil); err != nil {
		t.Fatal(err)
	}
	if st := observeRev(t, p1, "svc", "v1"); st.Terminating != 1 || len(st.Endpoints) != 0 {
		t.Fatalf("after scale to zero: %+v", st)
	}
	if err := p1.Detach(); err != nil { // returns although the drain has an hour to go
		t.Fatal(err)
	}
	if n := len(markedProcesses(t, abs)); n != 1 {
		t.Fatalf("%d processes after Detach, want the draining replica still running", n)
	}
	p2 := openAt(t, dir, Options{})
	eventually(t, 15*time.Second, "the next Open to finish the scale-down", func() bool {
		states, err := p2.Observe(ctx, "svc")
		return err == nil && len(states) == 0 && len(markedProcesses(t, abs)) == 0
	})
}
