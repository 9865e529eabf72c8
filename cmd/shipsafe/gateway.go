package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/gateway"
)

// gatewayOptions are the flags of `shipsafe gateway`.
type gatewayOptions struct {
	listen         string
	routesFile     string
	adminToken     string
	adminTokenFile string
	logLevel       string
	cpuProfile     string
}

// newGatewayCmd runs the data plane alone, serving a routes file.
func newGatewayCmd() *cobra.Command {
	var o gatewayOptions
	cmd := &cobra.Command{
		Use:   "gateway",
		Short: "Run the traffic gateway alone, serving a routes file",
		Long: `Run shipsafe's gateway (data plane) from a routes file (YAML or JSON; see docs/gateway.md).
The file is watched and reloaded atomically on change; an invalid file keeps the last good
table and logs why. The gateway also serves POST /v1/feedback, GET /metrics and, with an admin
token (--admin-token-file, or the SHIPSAFE_ADMIN_TOKEN environment variable), GET/PUT
/admin/routes. SIGTERM or Ctrl-C drains in-flight requests before exiting.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runGateway(cmd.Context(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address to serve on (host:port)")
	f.StringVar(&o.routesFile, "routes", "", "routes file (YAML or JSON), watched for changes (required)")
	f.StringVar(&o.adminToken, "admin-token", "", "bearer token for the admin API (prefer --admin-token-file or SHIPSAFE_ADMIN_TOKEN)")
	f.StringVar(&o.adminTokenFile, "admin-token-file", "", "file holding the bearer token for the admin API")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.cpuProfile, "cpu-profile", "", "write a Go CPU profile of the whole run to this file (diagnostics)")
	_ = f.MarkHidden("cpu-profile")
	_ = cmd.MarkFlagRequired("routes")
	return cmd
}

func runGateway(ctx context.Context, o gatewayOptions) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: must be debug, info, warn or error", o.logLevel)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	if o.cpuProfile != "" {
		stop, err := startCPUProfile(o.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	token, err := adminToken(o)
	if err != nil {
		return err
	}
	g := gateway.New(gateway.Config{AdminToken: token, FeedbackKey: token}, logger) // feedback tokens: gateway.FeedbackToken(token, service)
	if err := loadRoutesFile(g, o.routesFile); err != nil {
		return err // the first load must succeed: there is no last good table yet
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", o.listen, err)
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchDone := make(chan error, 1)
	go func() { watchDone <- watchRoutesFile(watchCtx, g, o.routesFile, logger) }()
	logger.Info("gateway serving", "addr", ln.Addr().String(), "routes", o.routesFile, "admin_api", token != "")
	serveErr := g.Serve(ctx, ln)
	stopWatch()
	if werr := <-watchDone; werr != nil && !errors.Is(werr, context.Canceled) {
		logger.Error("routes watcher stopped", "err", werr)
	}
	return serveErr
}

// adminToken picks the token from the flag, the file, or SHIPSAFE_ADMIN_TOKEN, in that order.
func adminToken(o gatewayOptions) (string, error) {
	switch {
	case o.adminToken != "":
		return o.adminToken, nil
	case o.adminTokenFile != "":
		b, err := os.ReadFile(o.adminTokenFile)
		if err != nil {
			return "", fmt.Errorf("--admin-token-file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("--admin-token-file %q: file is empty", o.adminTokenFile)
		}
		return tok, nil
	default:
		return os.Getenv("SHIPSAFE_ADMIN_TOKEN"), nil
	}
}

// loadRoutesFile parses, validates and applies the routes file.
func loadRoutesFile(g *gateway.Gateway, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read routes file: %w", err)
	}
	t, err := gateway.ParseRouteTable(b)
	if err != nil {
		return fmt.Errorf("routes file %s: %w", path, err)
	}
	if err := g.SetRoutes(t); err != nil {
		return fmt.Errorf("routes file %s: %w", path, err)
	}
	return nil
}

// startCPUProfile profiles the process until the returned function is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpu-profile: %w", err)
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
