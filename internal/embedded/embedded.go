// Package embedded assembles shipsafe's one-machine runtime: the data plane process (the
// gateway) with its traffic router, the local process platform, the SQLite store, the
// analysis executor with its providers, the control plane loop, the API service and the API
// server. It is the one place these implementations are wired to the control plane's
// interfaces. `shipsafe up` and `shipsafe demo`
// both run it.
package embedded

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/builtin"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/prometheus"
	"github.com/shipsafe/shipsafe/internal/analysis/providers/web"
	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/controlplane"
	"github.com/shipsafe/shipsafe/internal/dataplane"
	"github.com/shipsafe/shipsafe/internal/flags"
	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/platform/local"
	"github.com/shipsafe/shipsafe/internal/server"
	"github.com/shipsafe/shipsafe/internal/store/sqlite"
	gatewayrouter "github.com/shipsafe/shipsafe/internal/traffic/gateway"
)

// Options configure the runtime.
type Options struct {
	// DataDir holds the database, token, replica logs and process records (default ./.shipsafe).
	DataDir string
	// API is the API listen address (default 127.0.0.1:7070).
	API string
	// Listen is the gateway's traffic address (default 127.0.0.1:8080).
	Listen string
	// Executable runs the data plane and "shipsafe" commands (default os.Executable()).
	Executable string
	// PrometheusAddress is the prometheus provider's default server (optional).
	PrometheusAddress string
	// Flags, when set, is a flag definitions file that replaces the data dir's flags.
	Flags string
	Log   *slog.Logger
}

// APIFile is the name, in the data dir, of the file telling the CLI where the API listens.
const APIFile = "api.json"

// Runtime is a running embedded shipsafe.
type Runtime struct {
	Opts      Options
	Token     string
	Dataplane *dataplane.Handle
	Store     *sqlite.Store
	Platform  *local.Platform
	Router    *gatewayrouter.Router
	Control   *controlplane.ControlPlane
	API       *apiservice.Service
	Flags     *flags.Store
	APIAddr   string

	cancel context.CancelFunc
	done   chan struct{}
	// dpDone is closed when the data plane's supervisor has returned.
	dpDone  chan struct{}
	apiSrv  *http.Server
	stopped bool
}

// Start brings everything up, adopting a data plane and replicas left running by an earlier
// control plane, and resumes every stored rollout.
func Start(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.DataDir == "" {
		opts.DataDir = ".shipsafe"
	}
	if opts.API == "" {
		opts.API = "127.0.0.1:7070"
	}
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:8080"
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the shipsafe binary: %w", err)
		}
		opts.Executable = exe
	}
	dir, err := filepath.Abs(opts.DataDir)
	if err != nil {
		return nil, err
	}
	opts.DataDir = dir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir %s: %w", dir, err)
	}
	if err := server.SecureDataDir(dir, opts.Log); err != nil {
		return nil, err
	}
	rt := &Runtime{Opts: opts}
	// Repeated warnings (a rollout's pass failing the same way twice a second) are logged
	// once per 10s per subject, with the count of those dropped.
	log := slog.New(newThrottle(opts.Log.Handler(), 10*time.Second, time.Now))
	ok := false
	defer func() {
		if !ok {
			rt.closeParts(context.Background(), true)
		}
	}()
	if rt.Token, err = server.LoadOrCreateToken(dir); err != nil {
		return nil, err
	}
	if rt.Store, err = sqlite.Open(ctx, filepath.Join(dir, "shipsafe.db")); err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	if rt.Platform, err = local.Open(filepath.Join(dir, "platform"), local.Options{Logger: opts.Log, Executable: opts.Executable, DrainDelay: time.Second}); err != nil {
		return nil, fmt.Errorf("open local platform: %w", err)
	}
	if rt.Flags, err = openFlags(ctx, dir, opts.Flags, rt.Store); err != nil {
		return nil, err
	}
	if rt.Dataplane, err = dataplane.Ensure(ctx, dir, opts.Executable, opts.Listen, rt.Token); err != nil {
		return nil, err
	}
	src := &snapshotSource{c: rt.Dataplane.Client}
	bp, err := builtin.New(builtin.Options{Source: src, Usage: rt.Platform})
	if err != nil {
		return nil, err
	}
	reg, err := analysis.NewRegistry(bp, prometheus.New(nil, opts.PrometheusAddress), web.New(nil))
	if err != nil {
		return nil, err
	}
	exec, err := analysis.NewExecutor(analysis.Options{Providers: reg, Logger: log})
	if err != nil {
		return nil, err
	}
	// The router adopts the table the data plane serves, so a restart changes nothing until
	// each rollout has reconciled.
	rt.Router = gatewayrouter.New(ctx, rt.Dataplane.Client, gatewayrouter.Options{Log: log})
	rt.Control, err = controlplane.New(controlplane.Options{Store: rt.Store, Platform: rt.Platform, Router: rt.Router, Analysis: exec,
		TriggerProvider: bp, Model: detectorModel, Log: log})
	if err != nil {
		return nil, err
	}
	if rt.API, err = apiservice.New(apiservice.Options{Store: rt.Store, Waker: rt.Control, Model: detectorModel, Log: opts.Log}); err != nil {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.API)
	if err != nil {
		return nil, fmt.Errorf("API listen %s: %w", opts.API, err)
	}
	rt.APIAddr = ln.Addr().String()
	if err := writeAPIFile(dir, rt.APIAddr); err != nil {
		ln.Close()
		return nil, err
	}
	// The backend also reports the data plane's readiness (GET /readyz).
	api := server.New(readyAPI{Service: rt.API, dp: rt.Dataplane}, rt.Token, opts.Log)
	mountFlags(api, rt.Flags, rt.Token)
	rt.apiSrv = server.HTTPServer(api.Handler()) // header, read and idle timeouts
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rt.cancel, rt.done, rt.dpDone = cancel, make(chan struct{}), make(chan struct{})
	// The data plane is supervised like a replica: restarted at once on the same traffic
	// socket with the route table, its outages reported on /readyz and to every rollout.
	dpEvents := &dataplaneEvents{store: rt.Store, control: rt.Control, log: log, up: true}
	dpChanges := make(chan dataplane.Status, 64)
	go dpEvents.run(runCtx, dpChanges)
	go func() {
		defer close(rt.dpDone)
		rt.Dataplane.Supervise(runCtx, dataplane.SuperviseOptions{Log: log, OnChange: func(s dataplane.Status) {
			select {
			case dpChanges <- s:
			default: // a crash loop faster than the store: the next change says where it is
			}
		}})
	}()
	go func() { _ = rt.apiSrv.Serve(ln) }()
	go func() { defer close(rt.done); _ = rt.Control.Run(runCtx) }()
	// A replica that dies or turns unready is routed around at once, not a tick later.
	go func() {
		for {
			select {
			case <-runCtx.Done():
				return
			case <-rt.Platform.Changes():
				rt.Control.WakeAll()
			}
		}
	}()
	ok = true
	return rt, nil
}

// GatewayURL is the base URL of the data plane's traffic listener.
func (rt *Runtime) GatewayURL() string { return "http://" + rt.Dataplane.State.Listen }

// Stop stops the control plane and API. With everything true it also stops the replicas
// and the data plane; otherwise they keep serving (and a later Start adopts them).
func (rt *Runtime) Stop(ctx context.Context, everything bool) error {
	if rt.stopped {
		return nil
	}
	rt.stopped = true
	if rt.cancel != nil {
		rt.cancel()
		<-rt.done
		<-rt.dpDone
	}
	if rt.apiSrv != nil {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		_ = rt.apiSrv.Shutdown(sctx)
		cancel()
	}
	return rt.closeParts(ctx, everything)
}

func (rt *Runtime) closeParts(ctx context.Context, everything bool) error {
	var errs []error
	if rt.Platform != nil {
		if everything {
			errs = append(errs, rt.Platform.Shutdown(ctx))
		} else {
			errs = append(errs, rt.Platform.Detach())
		}
	}
	if rt.Dataplane != nil {
		if everything {
			errs = append(errs, rt.Dataplane.Stop(ctx, 20*time.Second))
		} else {
			rt.Dataplane.Release() // it serves on its own copy of the socket
		}
	}
	if rt.Store != nil {
		errs = append(errs, rt.Store.Close())
	}
	if everything {
		_ = os.Remove(filepath.Join(rt.Opts.DataDir, APIFile))
	}
	return errors.Join(errs...)
}

func writeAPIFile(dir, addr string) error {
	b, _ := json.Marshal(map[string]string{"addr": addr})
	tmp := filepath.Join(dir, APIFile+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, APIFile))
}

// ReadAPIAddr returns where the API of the runtime using dataDir listens.
func ReadAPIAddr(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, APIFile))
	if err != nil {
		return "", fmt.Errorf("find the API (is `shipsafe up` running with --data-dir %s?): %w", dataDir, err)
	}
	var v struct{ Addr string }
	if err := json.Unmarshal(b, &v); err != nil {
		return "", fmt.Errorf("parse %s: %w", APIFile, err)
	}
	return v.Addr, nil
}

// snapshotSource adapts the data plane's admin client to the builtin provider's Source.
// A failed read gives an empty snapshot, which the provider treats as "no data" — never
// as a pass.
type snapshotSource struct{ c *dataplane.Client }

func (s *snapshotSource) Snapshot(service, revision string, since time.Time) gateway.RevisionSnapshot {
	for attempt := 0; attempt < 2; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		snap, err := s.c.Snapshot(ctx, service, revision, since)
		cancel()
		if err == nil {
			return snap
		}
	}
	return gateway.RevisionSnapshot{Service: service, Revision: revision}
}
