// Package kubecontroller is `shipsafe controller`: the shared control plane
// (internal/controlplane) wired to one Kubernetes namespace. It assembles the Kubernetes store
// (Argo's kubectl plugin edits become commands), the ReplicaSet platform, the no-router traffic
// policy (traffic follows replicas) and the analysis executor; informers on Rollouts,
// ReplicaSets and Pods wake the rollout they concern, so the loop reacts at once rather than on
// its tick; a Lease elects the one replica that runs the loop; probes, metrics and the REST API
// are served beside it.
package kubecontroller

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	k8s "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/prometheus"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/web"
	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/controlplane"
	kplatform "github.com/shipsafe/shipsafe/internal/platform/kubernetes"
	"github.com/shipsafe/shipsafe/internal/server"
	kstore "github.com/shipsafe/shipsafe/internal/store/kubernetes"
	"github.com/shipsafe/shipsafe/internal/traffic/none"
)

// Options configure a Controller.
type Options struct {
	// Config reaches the API server (required).
	Config *rest.Config
	// Namespace is the one namespace the controller manages (required).
	Namespace string
	// API is the REST API's listen address ("" serves no API).
	API string
	// ProbeAddr serves /healthz, /readyz and /metrics ("" serves none).
	ProbeAddr string
	// Token guards the API's mutating routes (required when API is set).
	Token string
	// LeaseName names the coordination.k8s.io Lease in Namespace (default "shipsafe-controller").
	LeaseName string
	// LeaseDuration is how long a leader's lease lasts without renewal, so the most a stand-by
	// waits after the leader dies (default 15s).
	LeaseDuration time.Duration
	// Identity is this replica's name in the Lease (default hostname plus a random suffix).
	Identity string
	// PrometheusAddress is the prometheus provider's default server (optional).
	PrometheusAddress string
	// Tick is the control loop's longest wait between reconciles (default: the control
	// plane's).
	Tick time.Duration
	// Resync re-lists the informers' objects this often, waking every rollout (default 5m).
	Resync time.Duration
	Log    *slog.Logger
}

// Controller is a configured, not yet running, controller.
type Controller struct {
	opts     Options
	log      *slog.Logger
	client   k8s.Interface
	dyn      dynamic.Interface
	Store    *kstore.Store
	Platform *kplatform.Platform
	exec     *analysis.Executor
	metrics  *metrics
	waker    *leaderWaker
	api      *apiservice.Service

	mu       sync.Mutex
	leading  bool
	leader   string // identity of the current leader as last observed
	synced   bool
	apiAddr  string
	probAddr string
}

// New checks opts and builds the parts; nothing talks to the cluster until Run.
func New(opts Options) (*Controller, error) {
	if opts.Config == nil {
		return nil, errors.New("kubecontroller: Options.Config is required")
	}
	if opts.Namespace == "" {
		return nil, errors.New("kubecontroller: Options.Namespace is required")
	}
	if opts.API != "" && opts.Token == "" {
		return nil, errors.New("kubecontroller: the API needs a token (Options.Token) for its mutating routes")
	}
	if opts.LeaseName == "" {
		opts.LeaseName = "shipsafe-controller"
	}
	if opts.LeaseDuration <= 0 {
		opts.LeaseDuration = 15 * time.Second
	}
	if opts.Resync <= 0 {
		opts.Resync = 5 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Identity == "" {
		host, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("kubecontroller: identity from hostname: %w", err)
		}
		opts.Identity = host + "-" + randomSuffix()
	}
	c := &Controller{opts: opts, log: opts.Log.With("namespace", opts.Namespace, "identity", opts.Identity)}
	var err error
	if c.client, err = k8s.NewForConfig(opts.Config); err != nil {
		return nil, fmt.Errorf("kubecontroller: clientset: %w", err)
	}
	if c.dyn, err = dynamic.NewForConfig(opts.Config); err != nil {
		return nil, fmt.Errorf("kubecontroller: dynamic client: %w", err)
	}
	if c.Store, err = kstore.New(kstore.Options{Dynamic: c.dyn, Client: c.client, Namespace: opts.Namespace,
		Logger: c.log, ArgoCommands: true}); err != nil {
		return nil, fmt.Errorf("kubecontroller: %w", err)
	}
	if c.Platform, err = kplatform.New(kplatform.Options{Client: c.client, Namespace: opts.Namespace,
		Owner: c.rolloutOwner, Logger: c.log}); err != nil {
		return nil, fmt.Errorf("kubecontroller: %w", err)
	}
	// The builtin provider reads the shipsafe gateway, which does not run on the cluster yet:
	// only the providers that need nothing but the network are registered.
	reg, err := analysis.NewRegistry(prometheus.New(nil, opts.PrometheusAddress), web.New(nil))
	if err != nil {
		return nil, fmt.Errorf("kubecontroller: analysis providers: %w", err)
	}
	if c.exec, err = analysis.NewExecutor(analysis.Options{Providers: reg, Logger: c.log}); err != nil {
		return nil, fmt.Errorf("kubecontroller: analysis executor: %w", err)
	}
	c.metrics = newMetrics()
	c.waker = &leaderWaker{}
	if c.api, err = apiservice.New(apiservice.Options{Store: c.Store, Waker: c.waker, Log: c.log}); err != nil {
		return nil, fmt.Errorf("kubecontroller: %w", err)
	}
	return c, nil
}

// rolloutOwner makes every ReplicaSet owned by its Rollout, as Argo's are (garbage collection,
// and the kubectl plugin finds them by the owner's UID).
func (c *Controller) rolloutOwner(ctx context.Context, svc string) (metav1.OwnerReference, error) {
	u, err := c.dyn.Resource(v1alpha1.SchemeGroupVersion.WithResource("rollouts")).Namespace(c.opts.Namespace).Get(ctx, svc, metav1.GetOptions{})
	if err != nil {
		return metav1.OwnerReference{}, fmt.Errorf("owner of %s's replicasets: %w", svc, err)
	}
	return kplatform.RolloutOwner(u.GetName(), types.UID(u.GetUID())), nil
}

// newControlPlane is one leadership term's control loop: a fresh one per term, so nothing of
// an earlier term (workers, timers) survives into the next.
func (c *Controller) newControlPlane() (*controlplane.ControlPlane, error) {
	return controlplane.New(controlplane.Options{Store: c.Store, Platform: c.Platform, Router: none.Router{},
		Analysis: c.exec, Tick: c.opts.Tick, Log: c.log})
}

// Run serves the probes and the API, runs the informers, and campaigns for the Lease, running
// the control loop while it leads, until ctx is cancelled. It returns after everything it
// started has stopped and the Lease (if held) is released.
func (c *Controller) Run(ctx context.Context) error {
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()

	var servers []*http.Server
	defer func() {
		for _, s := range servers {
			sctx, scancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			_ = s.Shutdown(sctx)
			scancel()
		}
	}()
	if c.opts.ProbeAddr != "" {
		s, addr, err := serve(runCtx, c.opts.ProbeAddr, c.probeHandler(), &wg, c.log)
		if err != nil {
			return fmt.Errorf("probes: %w", err)
		}
		servers = append(servers, s)
		c.mu.Lock()
		c.probAddr = addr
		c.mu.Unlock()
	}
	if c.opts.API != "" {
		api := server.New(readyAPI{Service: c.api, c: c}, c.opts.Token, c.log)
		s, addr, err := serve(runCtx, c.opts.API, api.Handler(), &wg, c.log)
		if err != nil {
			return fmt.Errorf("API: %w", err)
		}
		servers = append(servers, s)
		c.mu.Lock()
		c.apiAddr = addr
		c.mu.Unlock()
	}

	if err := c.startInformers(runCtx, &wg); err != nil {
		return err
	}
	c.log.Info("controller started", "lease", c.opts.LeaseName, "leaseDuration", c.opts.LeaseDuration)
	err := c.campaign(runCtx)
	cancel()
	c.log.Info("controller stopped")
	return err
}

// serve listens on addr and serves h until ctx ends (the caller shuts the server down).
func serve(ctx context.Context, addr string, h http.Handler, wg *sync.WaitGroup, log *slog.Logger) (*http.Server, string, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen %s: %w", addr, err)
	}
	s := server.HTTPServer(h)
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "addr", ln.Addr().String(), "err", err)
		}
	}()
	return s, ln.Addr().String(), nil
}

// APIAddr is where the API listens once Run has started it ("" before).
func (c *Controller) APIAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apiAddr
}

// ProbeAddr is where the probes listen once Run has started them ("" before).
func (c *Controller) ProbeAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.probAddr
}

// Leading reports whether this replica holds the Lease and runs the control loop.
func (c *Controller) Leading() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leading
}

// Identity is this replica's name in the Lease.
func (c *Controller) Identity() string { return c.opts.Identity }

// leaderWaker forwards wakes to the current term's control plane, and drops them on a
// stand-by: only the leader may start a worker.
type leaderWaker struct {
	mu  sync.Mutex
	cp  *controlplane.ControlPlane
	ctx context.Context // the term's context, which bounds every worker a wake starts
}

func (w *leaderWaker) set(ctx context.Context, cp *controlplane.ControlPlane) {
	w.mu.Lock()
	w.cp, w.ctx = cp, ctx
	w.mu.Unlock()
}

// Wake makes the leader reconcile name now; the caller's context is not used for the
// worker's lifetime, which is the term's.
func (w *leaderWaker) Wake(_ context.Context, name string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cp == nil || w.ctx.Err() != nil {
		return
	}
	w.cp.Wake(w.ctx, name)
}

// readyAPI adds the controller's state to the API's /readyz.
type readyAPI struct {
	*apiservice.Service
	c *Controller
}

func (r readyAPI) Readiness(context.Context) []server.Check {
	return r.c.checks()
}
