package main

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/loadgen"
)

// newLoadgenCmd replays the labelled val split against an OIP endpoint.
func newLoadgenCmd() *cobra.Command {
	var (
		cfg        loadgen.Config
		stickyHdr  string
		stickyKeys int
		asJSON     bool
		quiet      bool
	)
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Replay labelled chest X-rays against an inference endpoint and report per model version",
		Long: `Replay the embedded PneumoniaMNIST val split (524 labelled images, cycling) against an Open
Inference Protocol endpoint at --rate requests/s or with --concurrency workers, until --count
requests or --duration. Each request has a unique id. With --feedback-url, each image's ground
truth is posted as {"id": ..., "label": 0|1} --feedback-delay after its answer. Only loopback
targets are accepted unless --allow-remote.`,
		Example: `  shipsafe loadgen --url http://127.0.0.1:8080 --rate 300 --duration 30s \
      --feedback-url http://127.0.0.1:8080/v1/feedback --feedback-delay 2s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if stickyHdr != "" {
				if stickyKeys <= 0 {
					return fmt.Errorf("--sticky-keys %d: must be > 0 with --sticky-header", stickyKeys)
				}
				name, n := stickyHdr, stickyKeys
				cfg.Header = func(i int) http.Header { return http.Header{name: {"user-" + strconv.Itoa(i%n)}} }
			}
			if !quiet {
				cfg.Progress = cmd.ErrOrStderr()
			}
			rep, err := loadgen.Run(cmd.Context(), cfg)
			if rep != nil {
				if asJSON {
					_ = newJSONEncoder(cmd.OutOrStdout()).Encode(rep)
				} else {
					rep.Print(cmd.OutOrStdout())
				}
			}
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "http://127.0.0.1:8080", "server base URL (…/v2/models/<model>/infer is appended) or a full …/infer URL")
	f.StringVar(&cfg.Model, "model", "pneumonia-detector", "OIP model name")
	f.Float64Var(&cfg.Rate, "rate", 0, "requests per second (0: closed loop, as fast as --concurrency allows)")
	f.IntVar(&cfg.Concurrency, "concurrency", 8, "requests in flight at most")
	f.IntVar(&cfg.Count, "count", 0, "stop after this many requests")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "stop sending after this long (0: only --count bounds the run)")
	f.StringVar(&cfg.FeedbackURL, "feedback-url", "", "POST each ground-truth label here (e.g. http://127.0.0.1:8080/v1/feedback)")
	f.DurationVar(&cfg.FeedbackDelay, "feedback-delay", 0, "how long after the answer the label is posted")
	f.StringVar(&cfg.FeedbackToken, "feedback-token", os.Getenv("SHIPSAFE_FEEDBACK_TOKEN"), "the service's feedback token, sent as a bearer token with each label (default $SHIPSAFE_FEEDBACK_TOKEN)")
	f.StringVar(&stickyHdr, "sticky-header", "", "send this header with one of --sticky-keys user keys per request (sticky routing)")
	f.IntVar(&stickyKeys, "sticky-keys", 100, "number of distinct sticky user keys")
	f.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow non-loopback targets")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	return cmd
}
