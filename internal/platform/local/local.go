// Package local is the platform that runs replicas as local processes: one process
// group per replica, a free 127.0.0.1 port each, Kubernetes-style probes and restart
// backoff, log files and a state file in a data dir. Replicas outlive the platform
// object (Detach, or a killed control plane) and a later Open adopts them.
package local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"time"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// TypeName is what Type returns.
const TypeName = "local"

var _ platform.Platform = (*Platform)(nil)

// ErrClosed is returned by calls on a platform after Shutdown or Detach.
var ErrClosed = errors.New("local platform: closed")

// Options tune a Platform; the zero value gives the defaults documented per field.
type Options struct {
	// Logger receives lifecycle logs (default slog.Default()).
	Logger *slog.Logger
	// Clock drives probes and backoff (default: real time).
	Clock Clock
	// Executable is what command[0] "shipsafe" runs (default os.Executable()). A binary
	// of `go run` (in a go-build temp dir) is copied to <dataDir>/bin first, so replicas
	// can still be restarted after `go run` has exited and deleted it.
	Executable string
	// ImageCommands maps a container image (exact, or repository without tag) to the
	// entrypoint used when containers[0].command is empty.
	ImageCommands map[string][]string
	// BackoffInitial is the first restart delay after a crash (default 1s); it doubles
	// per consecutive crash up to BackoffMax (default 30s). A process that ran for
	// BackoffReset (default 60s) before exiting starts a new streak.
	BackoffInitial, BackoffMax, BackoffReset time.Duration
	// MaxGracePeriod caps the pod's terminationGracePeriodSeconds (default 30s).
	MaxGracePeriod time.Duration
	// DrainDelay is waited between taking a replica out of the endpoints and sending
	// SIGTERM, so routers polling Observe stop sending to it first (default 0;
	// lifecycle.preStop.sleep in the template adds to it, as in Kubernetes).
	DrainDelay time.Duration
	// PollInterval is how often adopted processes (not children of this process) are
	// checked for exit (default 200ms).
	PollInterval time.Duration
	// Namespace is what fieldRef metadata.namespace yields (default "default").
	Namespace string
	// MaxLogBytes rotates a replica's log to <log>.1 at process start when larger
	// (default 10 MiB).
	MaxLogBytes int64
	// ProcRoot is the proc filesystem (default "/proc"; tests only).
	ProcRoot string
}

func (o Options) withDefaults() (Options, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return o, fmt.Errorf("find the running binary for command \"shipsafe\": %w", err)
		}
		o.Executable = exe
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	setDur(&o.BackoffInitial, time.Second)
	setDur(&o.BackoffMax, 30*time.Second)
	setDur(&o.BackoffReset, time.Minute)
	setDur(&o.MaxGracePeriod, 30*time.Second)
	setDur(&o.PollInterval, 200*time.Millisecond)
	if o.Namespace == "" {
		o.Namespace = "default"
	}
	if o.MaxLogBytes <= 0 {
		o.MaxLogBytes = 10 << 20
	}
	if o.ProcRoot == "" {
		o.ProcRoot = "/proc"
	}
	return o, nil
}

// Platform runs replicas as local processes. It is safe for concurrent use.
type Platform struct {
	dataDir  string
	opts     Options
	log      *slog.Logger
	clock    Clock
	backoff  backoffPolicy
	resolver commandResolver
	prober   *prober
	lockFile *os.File

	// base is cancelled by Detach: supervisors stop watching and leave processes alone.
	base       context.Context
	cancelBase context.CancelFunc
	wg         sync.WaitGroup // one per replica supervisor

	saveMu    sync.Mutex // serializes state-file writes; taken before mu
	lastSaved []byte     // state file content last written; guarded by saveMu

	mu       sync.Mutex
	services map[string]*service
	closed   bool

	usage usageSampler

	changes chan struct{} // capacity 1: "something changed since you last looked"
}

type service struct {
	revisions map[string]*revision
}

// revision is the platform's record of one revision; guarded by Platform.mu.
type revision struct {
	svc, name string
	spec      platform.Revision // Template and MinReadySeconds; Replicas is desired
	listed    bool              // named by the last Apply; unlisted revisions are removed once empty
	workDir   string
	nextSeq   int
	replicas  map[string]*replica
}

// Type returns "local".
func (p *Platform) Type() string { return TypeName }

// DataDir returns the absolute data dir.
func (p *Platform) DataDir() string { return p.dataDir }

// Open starts a platform on dataDir (created if missing). It takes an exclusive lock on
// the dir, adopts every live replica recorded in its state file (checking pid and
// start time in /proc), restarts recorded replicas whose process died while nobody
// watched, and kills processes marked with this data dir that the state file does not
// know (a control plane killed between starting a process and recording it).
func Open(dataDir string, opts Options) (*Platform, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, fmt.Errorf("local platform data dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(filepath.Join(abs, "logs"), 0o700); err != nil {
		return nil, fmt.Errorf("local platform data dir %q: %w", abs, err)
	}
	lock, err := lockDir(abs)
	if err != nil {
		return nil, err
	}
	if opts.Executable, err = stableExecutable(abs, opts.Executable); err != nil {
		_ = lock.Close()
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	p := &Platform{
		dataDir: abs,
		opts:    opts,
		log:     opts.Logger.With("platform", TypeName),
		clock:   opts.Clock,
		backoff: backoffPolicy{Initial: opts.BackoffInitial, Max: opts.BackoffMax, Reset: opts.BackoffReset},
		resolver: commandResolver{
			self:          opts.Executable,
			imageCommands: opts.ImageCommands,
			lookPath:      defaultLookPath,
		},
		prober:     newProber(),
		lockFile:   lock,
		base:       base,
		cancelBase: cancel,
		services:   map[string]*service{},
		usage:      usageSampler{samples: map[string]cpuSample{}},
		changes:    make(chan struct{}, 1),
	}
	if err := p.restore(); err != nil {
		cancel()
		_ = lock.Close()
		return nil, err
	}
	return p, nil
}

func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "platform.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("lock %s: another local platform manages this data dir: %w", path, err)
	}
	return f, nil
}

// Apply sets the desired replicas of each listed revision of svc; revisions of svc not
// listed are scaled to zero. It validates every revision before changing anything and
// returns without waiting for processes to start or stop.
func (p *Platform) Apply(ctx context.Context, svc string, revisions []platform.Revision) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := checkName(svc, 253); err != nil { // a Kubernetes object name
		return fmt.Errorf("apply: service name: %w", err)
	}
	seen := map[string]bool{}
	for i := range revisions {
		if err := p.validate(&revisions[i]); err != nil {
			return &platform.UnrunnableError{Revision: revisions[i].Name, Err: fmt.Errorf("local platform: %w", err)}
		}
		if seen[revisions[i].Name] {
			return fmt.Errorf("apply %s: revisions[%d].name: duplicate %q", svc, i, revisions[i].Name)
		}
		seen[revisions[i].Name] = true
	}
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("apply %s: working directory: %w", svc, err)
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	s := p.services[svc]
	if s == nil {
		s = &service{revisions: map[string]*revision{}}
		p.services[svc] = s
	}
	for _, rv := range s.revisions {
		if !seen[rv.name] {
			rv.listed = false
			rv.spec.Replicas = 0
		}
	}
	for _, want := range revisions {
		rv := s.revisions[want.Name]
		if rv == nil {
			rv = &revision{svc: svc, name: want.Name, workDir: wd, replicas: map[string]*replica{}}
			s.revisions[want.Name] = rv
		}
		rv.spec = *want.DeepCopy()
		rv.listed = true
	}
	for _, rv := range s.revisions {
		p.reconcileLocked(rv)
	}
	p.dropEmptyLocked(svc)
	p.mu.Unlock()
	return p.saveState()
}

// validate checks what the local platform needs from a revision, naming the field.
func (p *Platform) validate(r *platform.Revision) error {
	if err := checkName(r.Name, 63); err != nil {
		return fmt.Errorf("name: %w", err)
	}
	if r.Replicas < 0 {
		return fmt.Errorf("replicas: must be >= 0, got %d", r.Replicas)
	}
	if len(r.Template.Spec.Containers) == 0 {
		return fmt.Errorf("template.spec.containers: must have at least one container")
	}
	c := &r.Template.Spec.Containers[0]
	if err := checkProbeSupported("template.spec.containers[0].readinessProbe", c.ReadinessProbe); err != nil {
		return err
	}
	if err := checkProbeSupported("template.spec.containers[0].livenessProbe", c.LivenessProbe); err != nil {
		return err
	}
	// Resolve the command once now so a typo fails the Apply, not every restart.
	ports := replicaPorts{Main: 1}
	if _, err := p.resolver.buildLaunch(&r.Template, ports, podContext{ID: "validate"}, p.dataDir, "."); err != nil {
		return err
	}
	return nil
}

// checkName accepts service and revision names, which become path components of the
// log dir: 1-max letters, digits, '-', '.', '_', and not "." or "..".
func checkName(name string, max int) error {
	if name == "" || len(name) > max {
		return fmt.Errorf("must be 1-%d characters, got %d", max, len(name))
	}
	if name == "." || name == ".." {
		return fmt.Errorf("must not be %q", name)
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c >= 'A' && c <= 'Z') {
			return fmt.Errorf("must contain only letters, digits, '-', '.', '_', got %q", name)
		}
	}
	return nil
}

// reconcileLocked starts or stops replicas of rv to match its desired count.
func (p *Platform) reconcileLocked(rv *revision) {
	var active []*replica
	for _, r := range rv.replicas {
		if !r.stopRequested() {
			active = append(active, r)
		}
	}
	for n := len(active); n < rv.spec.Replicas; n++ {
		r := p.newReplicaLocked(rv)
		p.startSupervisor(r, nil)
	}
	if excess := len(active) - rv.spec.Replicas; excess > 0 {
		// Stop the least useful first: not ready, then crash-looping, then the newest.
		sort.Slice(active, func(i, j int) bool {
			a, b := active[i].snapshot(), active[j].snapshot()
			if a.Ready != b.Ready {
				return !a.Ready
			}
			if ac, bc := a.Phase == platform.PhaseCrashLoopBackOff, b.Phase == platform.PhaseCrashLoopBackOff; ac != bc {
				return ac
			}
			return active[i].seq > active[j].seq
		})
		for _, r := range active[:excess] {
			r.requestStop()
		}
	}
}

// dropEmptyLocked forgets revisions that are unlisted and have no replicas left, and
// the service when it has no revisions.
func (p *Platform) dropEmptyLocked(svc string) {
	s := p.services[svc]
	if s == nil {
		return
	}
	for name, rv := range s.revisions {
		if !rv.listed && len(rv.replicas) == 0 {
			delete(s.revisions, name)
		}
	}
	if len(s.revisions) == 0 {
		delete(p.services, svc)
	}
}

// Changes is signalled (coalesced, never blocking the platform) whenever a replica
// becomes ready or unready, crashes, starts terminating or is removed. A control plane
// can select on it to reconcile at once, e.g. to route around a replica that just died,
// instead of waiting for its next tick; it still has to Observe to learn what changed.
func (p *Platform) Changes() <-chan struct{} { return p.changes }

func (p *Platform) notify() {
	select {
	case p.changes <- struct{}{}:
	default:
	}
}

// Observe reports every revision of svc that is desired or still has replicas.
func (p *Platform) Observe(ctx context.Context, svc string) ([]platform.RevisionState, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	s := p.services[svc]
	if s == nil {
		return nil, nil
	}
	out := make([]platform.RevisionState, 0, len(s.revisions))
	for _, rv := range s.revisions {
		st := platform.RevisionState{Name: rv.name, Desired: rv.spec.Replicas, Endpoints: []string{}}
		minReady := time.Duration(rv.spec.MinReadySeconds) * time.Second
		for _, r := range rv.replicas {
			rs := r.snapshot()
			rs.Available = rs.Ready && !now.Before(rs.ReadySince.Add(minReady))
			st.Add(rs)
		}
		sort.Strings(st.Endpoints)
		// IDs of one revision differ only in the trailing sequence number: shorter first
		// gives numeric order (…-2 before …-10).
		sort.Slice(st.Pods, func(i, j int) bool {
			a, b := st.Pods[i].ID, st.Pods[j].ID
			return len(a) < len(b) || len(a) == len(b) && a < b
		})
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Shutdown stops every replica (SIGTERM, then SIGKILL after the grace period) and waits
// for them; when ctx ends first, the remaining process groups are killed at once. The
// state file is left empty and the data dir unlocked.
func (p *Platform) Shutdown(ctx context.Context) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closed = true
	var all []*replica
	for _, s := range p.services {
		for _, rv := range s.revisions {
			rv.listed = false
			rv.spec.Replicas = 0
			for _, r := range rv.replicas {
				all = append(all, r)
				r.requestStop()
			}
		}
	}
	p.mu.Unlock()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("local platform shutdown: %w; killing remaining replicas", ctx.Err())
		for _, r := range all {
			r.killNow()
		}
		<-done
	}
	if serr := p.saveState(); serr != nil && err == nil {
		err = serr
	}
	p.cancelBase()
	return errors.Join(err, p.lockFile.Close())
}

// Detach stops supervising and leaves every replica running, recorded in the state
// file for a later Open to adopt. Use it when the control plane exits but the data
// plane must keep serving.
func (p *Platform) Detach() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	p.closed = true
	p.mu.Unlock()
	p.cancelBase()
	p.wg.Wait()
	err := p.saveState()
	return errors.Join(err, p.lockFile.Close())
}
