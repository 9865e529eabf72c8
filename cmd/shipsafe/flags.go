package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/flags"
)

// newFlagsCmd groups the feature-flag commands: an OFREP server over a flagd-format file,
// a validator and a one-off evaluator.
func newFlagsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "flags",
		Short: "Feature flags: flagd-compatible definitions served over OFREP",
	}
	cmd.AddCommand(newFlagsServeCmd(), newFlagsValidateCmd(), newFlagsEvalCmd())
	return cmd
}

func newFlagsServeCmd() *cobra.Command {
	var (
		file, listen string
		apiKeys      []string
		adminTokens  []string
		rate         float64
	)
	cmd := &cobra.Command{
		Use:   "serve --file FILE --listen ADDR",
		Short: "Serve OFREP, the flag change API and change events for a flag definitions file",
		Long: "serve evaluates the flags in FILE (flagd's JSON format or shipsafe's seed form) over OFREP\n" +
			"(POST /ofrep/v1/evaluate/flags[/{key}], GET /ofrep/v1/configuration), hot-reloads FILE when it\n" +
			"changes (an invalid file keeps the last good flags serving), accepts changes on /api/v1/flags\n" +
			"(admin token; written back to FILE) and streams change events on /ofrep/v1/events.\n" +
			"Credentials may also come from SHIPSAFE_FLAGS_API_KEYS (k1,k2) and\n" +
			"SHIPSAFE_FLAGS_ADMIN_TOKENS (actor=token,...), which keeps them out of the process list.\n" +
			"With --listen 127.0.0.1:0 a free port is chosen; the first line on stdout is the URL.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if file == "" {
				return errors.New("flags serve: --file is required")
			}
			apiKeys = append(apiKeys, splitList(os.Getenv("SHIPSAFE_FLAGS_API_KEYS"))...)
			adminTokens = append(adminTokens, splitList(os.Getenv("SHIPSAFE_FLAGS_ADMIN_TOKENS"))...)
			admins, err := parseAdminTokens(adminTokens)
			if err != nil {
				return err
			}
			return runFlagsServe(cmd.Context(), file, listen, apiKeys, admins, rate, cmd.OutOrStdout())
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "flag definitions file (JSON)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8016", "address to listen on")
	cmd.Flags().StringSliceVar(&apiKeys, "api-key", nil, "require this key for evaluation (Bearer or X-API-Key); repeatable")
	cmd.Flags().StringSliceVar(&adminTokens, "admin-token", nil, "ACTOR=TOKEN allowed to change flags; repeatable")
	cmd.Flags().Float64Var(&rate, "rate", 0, "evaluation requests per second before 429 (0: unlimited)")
	return cmd
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseAdminTokens(list []string) (map[string]string, error) {
	out := map[string]string{}
	for _, item := range list {
		actor, token, ok := strings.Cut(item, "=")
		if !ok || actor == "" || token == "" {
			return nil, fmt.Errorf("flags serve: --admin-token must be ACTOR=TOKEN, got %q", item)
		}
		out[token] = actor
	}
	return out, nil
}

func runFlagsServe(ctx context.Context, file, listen string, apiKeys []string, admins map[string]string, rate float64, out io.Writer) error {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	store := flags.NewStore(flags.StoreOptions{Logger: logger, Persist: flags.FilePersister(file)})
	if _, err := flags.LoadFile(ctx, store, file); err != nil {
		return &exitError{code: 1, err: fmt.Errorf("flags serve: %w", err)}
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("flags serve: listen on %q: %w", listen, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	watchDone := make(chan error, 1)
	go func() { watchDone <- flags.WatchFile(ctx, store, file, nil) }()

	srv := &http.Server{
		Handler: flags.NewHandler(flags.HandlerOptions{
			Store: store, APIKeys: apiKeys, AdminTokens: admins, RatePerSecond: rate, Logger: logger,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // ends SSE streams on shutdown
	}
	fmt.Fprintf(out, "http://%s\n", ln.Addr())
	logger.Info("serving flags over OFREP", "addr", ln.Addr().String(), "file", file, "version", store.Current().Version())
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	select {
	case err := <-serveErr:
		cancel()
		<-watchDone
		return fmt.Errorf("flags serve: %w", err)
	case err := <-watchDone:
		if err != nil {
			logger.Error("flag file watch stopped", "err", err)
		}
		<-ctx.Done()
	case <-ctx.Done():
	}
	cancel()
	shutdownCtx, stop := context.WithTimeout(context.Background(), 5*time.Second)
	defer stop()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("flags serve: shutdown: %w", err)
	}
	return nil
}

func newFlagsValidateCmd() *cobra.Command {
	var strict bool
	cmd := &cobra.Command{
		Use:   "validate FILE",
		Short: "Check a flag definitions file; errors name the JSON path and the rule (exit 1 if invalid)",
		Long: "validate compiles FILE as serve would. Errors (a field of the wrong type, a default variant\n" +
			"that is not a variant, invalid JSON) reject the file. A targeting rule that flagd would load\n" +
			"but not run as written (an unknown operator, a $ref to nothing, a sem_ver operator or version\n" +
			"that is not one, starts_with on a non-string, fractional weights that sum to 0, ...) is a\n" +
			"warning on stderr with its JSON path and what evaluation does instead (the default variant or\n" +
			"an error code); with --strict warnings are errors (exit 1).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("flags validate: %w", err)}
			}
			set, err := flags.Compile(data, flags.CompileOptions{})
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("flags validate %s: %w", args[0], err)}
			}
			warnings := set.Warnings()
			for _, w := range warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: warning: %s\n", args[0], w)
			}
			if strict && len(warnings) > 0 {
				return &exitError{code: 1, err: fmt.Errorf("flags validate %s: %d targeting rule(s) would not run as written (--strict treats warnings as errors); first: %s",
					args[0], len(warnings), warnings[0])}
			}
			suffix := ""
			if len(warnings) > 0 {
				suffix = fmt.Sprintf(" (%d warning(s))", len(warnings))
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d flag(s) valid%s: %s\n", args[0], len(set.Keys()), suffix, strings.Join(set.Keys(), ", "))
			return nil
		},
	}
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings (targeting rules that would not run as written) as errors")
	return cmd
}

func newFlagsEvalCmd() *cobra.Command {
	var file, key, ctxJSON string
	cmd := &cobra.Command{
		Use:   "eval --file FILE --flag KEY [--context JSON]",
		Short: "Evaluate one flag locally and print the OFREP-shaped result",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("flags eval: %w", err)
			}
			set, err := flags.Compile(data, flags.CompileOptions{})
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("flags eval %s: %w", file, err)}
			}
			var raw any
			if ctxJSON != "" {
				if err := json.Unmarshal([]byte(ctxJSON), &raw); err != nil {
					return fmt.Errorf("flags eval: --context is not JSON: %w", err)
				}
			}
			c, err := flags.ContextFromJSON(raw)
			if err != nil {
				return fmt.Errorf("flags eval: --context: %w", err)
			}
			r := set.Evaluate(key, &c)
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(map[string]any{"key": r.Key, "value": r.Value, "variant": r.Variant, "reason": r.Reason,
				"errorCode": r.ErrorCode, "errorDetails": r.ErrorDetails})
		},
	}
	cmd.Flags().StringVar(&file, "file", "", "flag definitions file")
	cmd.Flags().StringVar(&key, "flag", "", "flag key")
	cmd.Flags().StringVar(&ctxJSON, "context", "", "evaluation context as JSON")
	return cmd
}
