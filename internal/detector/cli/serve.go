package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/detector/server"
	"github.com/shipsafe/shipsafe/models"
)

func newServeCmd() *cobra.Command {
	var (
		modelRef, addr           string
		opts                     server.Options
		drainDelay, shutdownWait time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve a detector version over the Open Inference Protocol v2",
		Long: `Serve a detector version over the Open Inference Protocol v2 (KServe / Triton / MLServer REST):
GET /v2, /v2/health/{live,ready}, /v2/models/pneumonia-detector[/versions/V][/ready],
POST /v2/models/pneumonia-detector[/versions/V]/infer, plus /health/{live,ready} and /metrics.

--model takes an embedded version (v1, v2, v3) or an artifact path. If the artifact fails its
digest check the server still starts, answers liveness, and stays not ready with the reason.
On SIGTERM it turns not ready, waits --drain-delay, finishes in-flight requests and exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if opts.InjectErrorRate < 0 || opts.InjectErrorRate > 1 {
				return fmt.Errorf("--inject-error-rate %v: must be between 0 and 1", opts.InjectErrorRate)
			}
			if opts.InjectLatency < 0 {
				return fmt.Errorf("--inject-latency %v: must be >= 0", opts.InjectLatency)
			}
			log := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			opts.Logger = log
			srv := server.New(opts)
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("--addr %q: %w", addr, err)
			}
			m, err := models.Load(modelRef)
			if err != nil {
				log.Error("model failed to load; serving not ready", "model", modelRef, "err", err)
				srv.SetLoadError(err)
			} else {
				srv.SetModel(m)
				log.Info("model loaded", "name", m.Meta.Name, "version", m.Meta.Version, "sha256", m.SHA256, "threshold", m.Meta.Threshold)
			}
			return run(cmd.Context(), log, srv, ln, drainDelay, shutdownWait)
		},
	}
	f := cmd.Flags()
	f.StringVar(&modelRef, "model", "v2", "embedded version (v1, v2, v3) or artifact file path")
	f.StringVar(&addr, "addr", "127.0.0.1:8080", "listen address HOST:PORT")
	f.DurationVar(&opts.InjectLatency, "inject-latency", 0, "fault injection: delay every inference response by this much")
	f.Float64Var(&opts.InjectErrorRate, "inject-error-rate", 0, "fault injection: answer this fraction (0-1) of inference requests with HTTP 500")
	f.Uint64Var(&opts.Seed, "seed", 1, "seed for the error-injection draw")
	f.Int64Var(&opts.MaxBodyBytes, "max-body-bytes", 8<<20, "largest accepted inference request body")
	f.IntVar(&opts.MaxBatch, "max-batch", 1024, "most images accepted in one request")
	f.DurationVar(&drainDelay, "drain-delay", 500*time.Millisecond, "on SIGTERM, how long to stay up not-ready before closing the listener")
	f.DurationVar(&shutdownWait, "shutdown-timeout", 10*time.Second, "on SIGTERM, how long in-flight requests get to finish")
	return cmd
}

// run serves until ctx ends (SIGTERM/SIGINT), then drains and shuts down within a bounded time.
func run(ctx context.Context, log *slog.Logger, srv *server.Server, ln net.Listener, drainDelay, shutdownWait time.Duration) error {
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "detector listening on http://%s\n", ln.Addr())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutdown signal: draining", "drain_delay", drainDelay, "shutdown_timeout", shutdownWait)
	srv.Drain()
	time.Sleep(drainDelay)
	sctx, cancel := context.WithTimeout(context.Background(), shutdownWait)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		_ = hs.Close()
		return fmt.Errorf("shutdown: in-flight requests did not finish within %v: %w", shutdownWait, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
