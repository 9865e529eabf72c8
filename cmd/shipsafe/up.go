package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/dataplane"
	"github.com/shipsafe/shipsafe/internal/embedded"
)

// newUpCmd runs the embedded control plane until interrupted.
func newUpCmd() *cobra.Command {
	var opts embedded.Options
	var leave, logStderr bool
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Run shipsafe on this machine: gateway, local replicas, store, control plane and API",
		Long: "up runs the control plane, its API, the gateway and the model replicas until interrupted.\n" +
			"It logs to shipsafe.log in the data dir (--log-stderr: to stderr); `shipsafe events -f`\n" +
			"follows what the engine does.",
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			out := cmd.OutOrStdout()
			log, logPath, closeLog, err := openUpLog(opts.DataDir, logStderr, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			defer closeLog()
			if logPath != "" {
				fmt.Fprintf(out, "logging to %s (--log-stderr to log here)\n", logPath)
			}
			opts.Log = log
			rt, err := embedded.Start(ctx, opts)
			if err != nil {
				return err
			}
			adopted := ""
			if rt.Dataplane.Adopted {
				adopted = " (adopted the running data plane)"
			}
			fmt.Fprintf(out, "shipsafe is up\n  API:      http://%s (token in %s/token)\n  gateway:  %s/svc/<rollout>/...%s\n  data dir: %s\n",
				rt.APIAddr, rt.Opts.DataDir, rt.GatewayURL(), adopted, rt.Opts.DataDir)
			if logPath != "" {
				fmt.Fprintf(out, "  log:      %s\n  events:   shipsafe events -f\n", logPath)
			}
			<-ctx.Done()
			fmt.Fprintln(out, "shutting down")
			sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			return rt.Stop(sctx, !leave)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data-dir", ".shipsafe", "data directory (database, token, logs)")
	cmd.Flags().StringVar(&opts.API, "api", "127.0.0.1:7070", "API listen address")
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "gateway traffic listen address")
	cmd.Flags().StringVar(&opts.PrometheusAddress, "prometheus", "", "default Prometheus server for the prometheus metric provider")
	cmd.Flags().StringVar(&opts.Flags, "flags", "", "feature-flag definitions (flagd JSON) to serve; replaces the data dir's flags")
	cmd.Flags().BoolVar(&logStderr, "log-stderr", false, "log to stderr instead of shipsafe.log in the data dir")
	cmd.Flags().BoolVar(&leave, "leave-running", false, "on exit, leave the gateway and replicas serving (a later \"shipsafe up\" adopts them)")
	return cmd
}

// newDataplaneCmd is the data plane process `up` starts (hidden: users run `up`).
func newDataplaneCmd() *cobra.Command {
	var opts dataplane.Options
	cmd := &cobra.Command{
		Use:    "dataplane",
		Short:  "Run the gateway as the embedded data plane (started by `shipsafe up`)",
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Token = os.Getenv("SHIPSAFE_DATAPLANE_TOKEN")
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			return dataplane.Run(cmd.Context(), opts, log)
		},
	}
	cmd.Flags().StringVar(&opts.DataDir, "data-dir", ".shipsafe", "data directory")
	cmd.Flags().StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "traffic listen address")
	cmd.Flags().StringVar(&opts.AdminListen, "admin-listen", "127.0.0.1:0", "admin API listen address")
	cmd.Flags().StringVar(&opts.FlagsFile, "flags", "", "feature-flag definitions file to watch (flag-based model selection)")
	return cmd
}
