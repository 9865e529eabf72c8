package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
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
		service    string
		gatewayAdr string
		maxErrRate float64
	)
	cmd := &cobra.Command{
		Use:   "loadgen",
		Short: "Replay labelled chest X-rays against an inference endpoint and report per model version",
		Long: `Replay the embedded PneumoniaMNIST val split (524 labelled images, cycling) against an Open
Inference Protocol endpoint at --rate requests/s or with --concurrency workers, until --count
requests or --duration. The target is a service on the gateway of shipsafe up (--service NAME:
http://127.0.0.1:8080/svc/NAME; a rollout's service is its blue-green activeService, its canary
stableService with traffic routing, else the rollout's name) or any endpoint (--url). Each request has a unique id. With
--feedback-url, each image's ground truth is posted as {"id": ..., "label": 0|1} --feedback-delay
after its answer. Only loopback targets are accepted unless --allow-remote.

The first failure of each kind is printed as it happens and in the report; the exit status is 1
when more than --max-error-rate of the requests failed.`,
		Example: `  shipsafe loadgen --service detector-canary --rate 300 --duration 30s \
      --feedback-url http://127.0.0.1:8080/v1/feedback --feedback-delay 2s
  shipsafe loadgen --url http://127.0.0.1:18083 --concurrency 8 --duration 5s`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			url, err := loadgenTarget(cfg.URL, service, gatewayAdr, cmd.Flags().Changed("gateway"))
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			cfg.URL = url
			if maxErrRate < 0 || maxErrRate > 1 {
				return &exitError{code: 2, err: fmt.Errorf("--max-error-rate %g: must be between 0 and 1 (0.01 is 1%%)", maxErrRate)}
			}
			if cfg.FeedbackToken == "" {
				cfg.FeedbackToken = os.Getenv("SHIPSAFE_FEEDBACK_TOKEN")
			}
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
			if err != nil {
				return err
			}
			if err := rep.CheckErrorRate(maxErrRate); err != nil {
				return &exitError{code: 1, err: err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.URL, "url", "", "server base URL (…/v2/models/<model>/infer is appended) or a full …/infer URL")
	f.StringVar(&service, "service", "", "send to this service's route on the gateway of shipsafe up (/svc/NAME)")
	f.StringVar(&gatewayAdr, "gateway", "127.0.0.1:8080", "gateway address of shipsafe up (its --listen), for --service")
	f.Float64Var(&maxErrRate, "max-error-rate", 0.01, "exit 1 when more than this fraction of requests fail (0.01 is 1%; 1 never fails)")
	f.StringVar(&cfg.Model, "model", "pneumonia-detector", "OIP model name")
	f.Float64Var(&cfg.Rate, "rate", 0, "requests per second (0: closed loop, as fast as --concurrency allows)")
	f.IntVar(&cfg.Concurrency, "concurrency", 8, "requests in flight at most")
	f.IntVar(&cfg.Count, "count", 0, "stop after this many requests")
	f.DurationVar(&cfg.Duration, "duration", 10*time.Second, "stop sending after this long (0: only --count bounds the run)")
	f.StringVar(&cfg.FeedbackURL, "feedback-url", "", "POST each ground-truth label here (e.g. http://127.0.0.1:8080/v1/feedback)")
	f.DurationVar(&cfg.FeedbackDelay, "feedback-delay", 0, "how long after the answer the label is posted")
	// Read at run time, not as the flag's default: --help would print the token.
	f.StringVar(&cfg.FeedbackToken, "feedback-token", "", "the service's feedback token, sent as a bearer token with each label (default $SHIPSAFE_FEEDBACK_TOKEN)")
	f.StringVar(&stickyHdr, "sticky-header", "", "send this header with one of --sticky-keys user keys per request (sticky routing)")
	f.IntVar(&stickyKeys, "sticky-keys", 100, "number of distinct sticky user keys")
	f.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow non-loopback targets")
	f.DurationVar(&cfg.Timeout, "timeout", 10*time.Second, "per-request timeout")
	f.BoolVar(&asJSON, "json", false, "print the report as JSON")
	f.BoolVar(&quiet, "quiet", false, "no progress lines")
	return cmd
}

// loadgenTarget is the URL to load: --url, or the gateway route of --service. There is no
// default: no single URL is right both for shipsafe up (routes under /svc/<service>/) and
// for a detector serving on its own.
func loadgenTarget(url, service, gateway string, gatewaySet bool) (string, error) {
	switch {
	case url != "" && service != "":
		return "", fmt.Errorf("--url %q and --service %q: set one of them", url, service)
	case url != "":
		if gatewaySet {
			return "", fmt.Errorf("--gateway %q: only with --service (--url is the whole target)", gateway)
		}
		return url, nil
	case service != "":
		if strings.Contains(service, "/") {
			return "", fmt.Errorf("--service %q: must be a service name, without /", service)
		}
		return normalizeServer(gateway) + "/svc/" + service, nil
	}
	return "", errors.New("--url or --service is required: shipsafe up serves each service at http://127.0.0.1:8080/svc/<service>/ (--service NAME), a detector on its own at its address (--url http://127.0.0.1:PORT)")
}
