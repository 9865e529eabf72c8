package local

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestExpandVarsFollowsKubernetesRules(t *testing.T) {
	vars := map[string]string{"PORT": "4711", "NAME": "det", "EMPTY": ""}
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	cases := map[string]string{
		"--addr=127.0.0.1:$(PORT)": "--addr=127.0.0.1:4711",
		"$(NAME)-$(PORT)":          "det-4711",
		"$(UNDEFINED)":             "$(UNDEFINED)",
		"$$(PORT)":                 "$(PORT)",
		"$$$(PORT)":                "$4711",
		"a$$b":                     "a$b",
		"$PORT":                    "$PORT",
		"$(PORT":                   "$(PORT",
		"x$":                       "x$",
		"$(EMPTY)y":                "y",
		"no vars":                  "no vars",
	}
	for in, want := range cases {
		if got := expandVars(in, lookup); got != want {
			t.Errorf("expandVars(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestBackoffDoublesCapsAndResets(t *testing.T) {
	b := backoffPolicy{Initial: time.Second, Max: 10 * time.Second, Reset: time.Minute}
	streak := 0
	var delays []time.Duration
	for range 6 {
		var d time.Duration
		streak, d = b.next(streak, time.Second)
		delays = append(delays, d)
	}
	want := []time.Duration{1 * time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 10 * time.Second, 10 * time.Second}
	if !slices.Equal(delays, want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	if s, d := b.next(streak, 2*time.Minute); s != 1 || d != time.Second {
		t.Fatalf("after a long run: streak %d delay %s, want 1 and 1s", s, d)
	}
}

func TestProbeTrackerThresholds(t *testing.T) {
	fail := errors.New("boom")
	ready := newProbeTracker(&corev1.Probe{SuccessThreshold: 2, FailureThreshold: 3}, false)
	steps := []struct {
		err  error
		want bool
	}{{nil, false}, {nil, true}, {fail, true}, {fail, true}, {nil, true}, {fail, true}, {fail, true}, {fail, false}, {nil, false}, {nil, true}}
	for i, s := range steps {
		if got := ready.record(s.err); got != s.want {
			t.Fatalf("step %d: passing = %v, want %v", i, got, s.want)
		}
	}
	live := newProbeTracker(nil, true) // defaults: success 1, failure 3
	if !live.record(fail) || !live.record(fail) || live.record(fail) {
		t.Fatal("liveness with default threshold 3 must fail on the third consecutive failure")
	}
	if live.lastError != "boom" {
		t.Fatalf("lastError %q", live.lastError)
	}
}

func TestParseProcStatHandlesSpacesInCommand(t *testing.T) {
	line := "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 100 0 0 0 17 5 0 0 20 0 3 0 987654 1000000 250 18446744073709551615"
	st, err := parseProcStat([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if st.State != 'S' || st.PPID != 1 || st.PGID != 4242 || st.SID != 4242 || st.UTime != 17 || st.STime != 5 || st.StartTicks != 987654 {
		t.Fatalf("parsed %+v", st)
	}
	if _, err := parseProcStat([]byte("12 (x) S 1")); err == nil {
		t.Fatal("short stat parsed without error")
	}
}

func TestPortsResolveByNumberAndName(t *testing.T) {
	c := &corev1.Container{Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}, {Name: "metrics", ContainerPort: 9090}}}
	if got := extraContainerPorts(c); !slices.Equal(got, []int32{9090}) {
		t.Fatalf("extra ports %v", got)
	}
	p := replicaPorts{Main: 40001, Extra: map[int32]int{9090: 40002}}
	cases := []struct {
		port intstr.IntOrString
		want int
	}{{intstr.FromInt32(8080), 40001}, {intstr.FromString("http"), 40001}, {intstr.FromString("metrics"), 40002}, {intstr.FromInt32(9090), 40002}, {intstr.FromInt32(1234), 40001}}
	for _, cs := range cases {
		got, err := p.resolve(c, cs.port)
		if err != nil || got != cs.want {
			t.Errorf("resolve(%v) = %d, %v; want %d", cs.port.String(), got, err, cs.want)
		}
	}
	if _, err := p.resolve(c, intstr.FromString("grpc")); err == nil {
		t.Error("unknown port name resolved")
	}
}

func TestBuildLaunchEnvOrderCommandAndImageMapping(t *testing.T) {
	r := commandResolver{
		self:          "/opt/shipsafe",
		imageCommands: map[string][]string{"shipsafe/detector": {"shipsafe", "detector", "serve"}},
		lookPath:      func(f string) (string, error) { return "/usr/bin/" + f, nil },
	}
	tpl := &corev1.PodTemplateSpec{}
	tpl.Labels = map[string]string{"app": "det"}
	tpl.Spec.Containers = []corev1.Container{{
		Image: "shipsafe/detector:v2",
		Args:  []string{"--addr", "127.0.0.1:$(PORT)", "--model", "$(MODEL)"},
		Env: []corev1.EnvVar{
			{Name: "MODEL", Value: "v2-$(APP)"}, // APP is defined later: stays literal
			{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}},
			{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
	}}
	ls, err := r.buildLaunch(tpl, replicaPorts{Main: 4711}, podContext{ID: "svc-v2-0", Labels: tpl.Labels}, "/data", "/work")
	if err != nil {
		t.Fatal(err)
	}
	if ls.Path != "/opt/shipsafe" || strings.Join(ls.Args, " ") != "shipsafe detector serve --addr 127.0.0.1:4711 --model v2-$(APP)" || ls.Dir != "/work" {
		t.Fatalf("launch %+v", ls)
	}
	for _, kv := range []string{"PORT=4711", "MODEL=v2-$(APP)", "APP=det", "POD=svc-v2-0", EnvDataDir + "=/data", EnvReplica + "=svc-v2-0"} {
		if !slices.Contains(ls.Env, kv) {
			t.Errorf("env %v lacks %s", ls.Env, kv)
		}
	}
	tpl.Spec.Containers[0].Image = "unknown:1"
	if _, err := r.buildLaunch(tpl, replicaPorts{Main: 1}, podContext{}, "/d", "/w"); err == nil || !strings.Contains(err.Error(), "containers[0].command: required") {
		t.Fatalf("unknown image without command: %v", err)
	}
}

func TestStableExecutableCopiesGoRunBinaries(t *testing.T) {
	dataDir := t.TempDir()
	buildDir := filepath.Join(t.TempDir(), "go-build123", "exe")
	if err := os.MkdirAll(buildDir, 0o755); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(buildDir, "shipsafe")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho one\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := stableExecutable(dataDir, exe)
	if err != nil || got != filepath.Join(dataDir, "bin", "shipsafe") {
		t.Fatalf("got %q, %v", got, err)
	}
	if data, _ := os.ReadFile(got); string(data) != "#!/bin/sh\necho one\n" {
		t.Fatalf("copy holds %q", data)
	}
	if fi, _ := os.Stat(got); fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("copy not executable: %v", fi.Mode())
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\necho two, longer\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err = stableExecutable(dataDir, exe); err != nil {
		t.Fatal(err)
	}
	if data, _ := os.ReadFile(got); !strings.Contains(string(data), "two") {
		t.Fatalf("changed binary not recopied: %q", data)
	}
	if other, _ := stableExecutable(dataDir, "/usr/local/bin/shipsafe"); other != "/usr/local/bin/shipsafe" {
		t.Fatalf("installed binary rewritten to %q", other)
	}
}

// Replica logs hold request details: only the data dir's owner may read them, including a
// log an older version created 0644.
func TestReplicaLogIsPrivate(t *testing.T) {
	dir := t.TempDir()
	old := filepath.Join(dir, "logs", "old.log")
	if err := os.MkdirAll(filepath.Dir(old), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(old, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p := &Platform{opts: Options{MaxLogBytes: 1 << 20}}
	for _, path := range []string{old, filepath.Join(dir, "logs", "new", "r.log")} {
		f, err := (&replica{p: p, logPath: path}).openLog()
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %04o, want 0600", path, fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(filepath.Join(dir, "logs", "new")); fi.Mode().Perm() != 0o700 {
		t.Errorf("new log dir mode %04o, want 0700", fi.Mode().Perm())
	}
}
