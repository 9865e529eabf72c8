package main

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/embedded"
	"github.com/shipsafe/shipsafe/internal/gateway"
	"github.com/shipsafe/shipsafe/internal/loadgen"
)

//go:embed demo/*.yaml
var demoManifests embed.FS

// demoOptions tune `shipsafe demo`.
type demoOptions struct {
	rate    float64
	keepDir bool
}

func newDemoCmd() *cobra.Command {
	var opts demoOptions
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the end-to-end demo: a good model promoted, a bad one rolled back, a blue-green switch",
		Long: `Starts shipsafe on this machine (gateway, detector replicas, store, control plane, API) in a
temporary data dir, replays labelled chest X-rays through the gateway with late radiologist
labels, and ships three detector versions: v2 (better) by canary — promoted; v3 (a bad
release) by canary — rolled back by the judge; and v2 by blue-green. Stops everything it
started before it exits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	cmd.Flags().Float64Var(&opts.rate, "rate", 300, "client requests per second through the gateway")
	cmd.Flags().BoolVar(&opts.keepDir, "keep", false, "keep the demo's data dir (database, logs) instead of deleting it")
	return cmd
}

// demo is one run of the demo.
type demo struct {
	w     io.Writer
	rt    *embedded.Runtime
	start time.Time
	mu    sync.Mutex // serialises output
}

func (d *demo) say(format string, args ...any) {
	d.mu.Lock()
	defer d.mu.Unlock()
	fmt.Fprintf(d.w, "[%5.1fs] %s\n", time.Since(d.start).Seconds(), fmt.Sprintf(format, args...))
}

func runDemo(ctx context.Context, w io.Writer, opts demoOptions) (err error) {
	d := &demo{w: w, start: time.Now()}
	dir, err := os.MkdirTemp("", "shipsafe-demo-")
	if err != nil {
		return err
	}
	if !opts.keepDir {
		defer os.RemoveAll(dir)
	}
	logf, err := os.Create(dir + "/shipsafe.log")
	if err != nil {
		return err
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, nil))

	fmt.Fprintln(w, "shipsafe demo: progressive delivery of a chest X-ray pneumonia detector")
	d.say("starting the gateway, store, control plane and API (data dir %s)", dir)
	rt, err := embedded.Start(ctx, embedded.Options{DataDir: dir, API: "127.0.0.1:0", Listen: "127.0.0.1:0", Log: log})
	if err != nil {
		return err
	}
	d.rt = rt
	defer func() {
		d.say("stopping everything the demo started")
		sctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		err = errors.Join(err, rt.Stop(sctx, true))
	}()
	evCtx, stopEvents := context.WithCancel(ctx)
	defer stopEvents()
	go d.narrate(evCtx)

	// 1. Stable v1 behind the gateway.
	if err := d.apply(ctx, "templates.yaml", ""); err != nil {
		return err
	}
	if err := d.apply(ctx, "canary.yaml", "v1"); err != nil {
		return err
	}
	if err := d.apply(ctx, "bluegreen.yaml", "v1"); err != nil {
		return err
	}
	d.say("waiting for 3 replicas of detector v1 (canary rollout) and 2 of detector-bg v1 (blue-green)")
	if _, err := d.waitStable(ctx, "detector", "v1", 60*time.Second); err != nil {
		return err
	}
	if _, err := d.waitStable(ctx, "detector-bg", "v1", 60*time.Second); err != nil {
		return err
	}

	// Labelled traffic with late labels, for the whole demo.
	stopTraffic := make(chan struct{})
	var stopOnce sync.Once
	stopSending := func() { stopOnce.Do(func() { close(stopTraffic) }) }
	defer stopSending()
	var wg sync.WaitGroup
	reports := make([]*loadgen.Report, 2)
	errs := make([]error, 2)
	for i, tgt := range []struct {
		svc  string
		rate float64
	}{{"detector", opts.rate * 5 / 6}, {"detector-bg", opts.rate / 6}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reports[i], errs[i] = loadgen.Run(ctx, loadgen.Config{Stop: stopTraffic,
				URL: rt.GatewayURL() + "/svc/" + tgt.svc, Rate: tgt.rate, Concurrency: 32, Duration: 150 * time.Second,
				FeedbackURL: rt.GatewayURL() + "/v1/feedback", FeedbackDelay: time.Second, FeedbackToken: gateway.FeedbackToken(rt.Token, tgt.svc),
			})
		}()
	}
	d.say("replaying labelled X-rays at %.0f req/s through the gateway; radiologist labels follow 1s later", opts.rate)
	time.Sleep(2 * time.Second)

	// 2. v2 by canary: shadow, then 20% → 50% → 100%.
	d.say("== canary: detector v1 → v2 (shadow 20s, then 20%% → 50%% → 100%%, judged every second)")
	if err := d.apply(ctx, "canary.yaml", "v2"); err != nil {
		return err
	}
	if _, err := d.waitStable(ctx, "detector", "v2", 120*time.Second); err != nil {
		return err
	}
	d.say("v2 promoted: it is the stable version")

	// 3. v3 by canary: the judge catches it.
	d.say("== canary: detector v2 → v3 (a bad release)")
	if err := d.apply(ctx, "canary.yaml", "v3"); err != nil {
		return err
	}
	v3, err := d.waitAborted(ctx, "detector", 120*time.Second)
	if err != nil {
		return err
	}
	served, shadow := d.served(ctx, "detector", v3)
	d.say("v3 rolled back automatically: %s", v3.RollbackCause)
	d.say("v3 served %d live requests before the rollback (it answered %d shadow copies, never returned to clients)", served, shadow)
	d.thresholdComparison(ctx, "detector", v3)
	if err := d.apply(ctx, "canary.yaml", "v2"); err != nil { // the spec back to the stable version
		return err
	}
	if _, err := d.waitFor(ctx, "detector", 60*time.Second, "back on v2", func(v apiservice.RolloutView) (bool, error) {
		return !v.Status.Abort && v.Status.Phase == "Healthy", nil
	}); err != nil {
		return err
	}

	// 3b. The same bad release live, as threshold-rule users would ship it.
	d.say("== the same bad release straight to 20%% live, judged by a threshold rule (accuracy >= 0.85 over 1m, every 5s, abort on the 4th failure); the judge watches in dry run")
	if err := d.apply(ctx, "canary-live.yaml", "v3"); err != nil {
		return err
	}
	live, err := d.waitAborted(ctx, "detector", 120*time.Second)
	if err != nil {
		return err
	}
	d.liveComparison(ctx, "detector", live)
	if err := d.apply(ctx, "canary.yaml", "v2"); err != nil {
		return err
	}

	// 4. Blue-green switch of detector-bg to v2.
	d.say("== blue-green: detector-bg v1 → v2 (preview beside active, then one switch)")
	if err := d.apply(ctx, "bluegreen.yaml", "v2"); err != nil {
		return err
	}
	if err := d.waitPhase(ctx, "detector-bg", "Paused", 60*time.Second); err != nil {
		return err
	}
	d.say("preview v2 is up beside active v1; promoting")
	if err := rt.API.Command(ctx, "demo", "detector-bg", apiservice.Command{Kind: "promote"}); err != nil {
		return err
	}
	if _, err := d.waitStable(ctx, "detector-bg", "v2", 60*time.Second); err != nil {
		return err
	}
	d.say("switched: detector-bg serves v2")
	time.Sleep(2 * time.Second)

	stopSending()
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("traffic: %w", err)
	}
	return d.summary(ctx, reports)
}

// apply applies one embedded manifest with the model version filled in.
func (d *demo) apply(ctx context.Context, file, model string) error {
	b, err := demoManifests.ReadFile("demo/" + file)
	if err != nil {
		return err
	}
	text := strings.ReplaceAll(string(b), "{{MODEL}}", model)
	_, err = d.rt.API.Apply(ctx, "demo", []byte(text))
	return err
}

// view reads a rollout's current view.
func (d *demo) view(ctx context.Context, name string) (apiservice.RolloutView, error) {
	return d.rt.API.Get(ctx, name)
}

// waitFor polls a rollout until ok says it is done.
func (d *demo) waitFor(ctx context.Context, name string, timeout time.Duration, what string, ok func(apiservice.RolloutView) (bool, error)) (apiservice.RolloutView, error) {
	deadline := time.Now().Add(timeout)
	for {
		v, err := d.view(ctx, name)
		if err == nil {
			done, err := ok(v)
			if err != nil || done {
				return v, err
			}
		}
		if time.Now().After(deadline) {
			return v, fmt.Errorf("%s: not %s within %s (phase %s: %s)", name, what, timeout, v.Status.Phase, v.Status.Message)
		}
		select {
		case <-ctx.Done():
			return v, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func (d *demo) waitStable(ctx context.Context, name, model string, timeout time.Duration) (apiservice.RolloutView, error) {
	return d.waitFor(ctx, name, timeout, "healthy on "+model, func(v apiservice.RolloutView) (bool, error) {
		if v.Status.Abort {
			return false, fmt.Errorf("%s: rolled back while waiting for %s: %s", name, model, v.RollbackCause)
		}
		if v.Status.Phase != "Healthy" || v.Status.StableRS == "" || v.Status.StableRS != v.Status.CurrentPodHash {
			return false, nil
		}
		for _, r := range v.Revisions {
			if r.Hash == v.Status.StableRS {
				return r.Model == model && r.Ready >= r.Desired && r.Desired > 0, nil
			}
		}
		return false, nil
	})
}

func (d *demo) waitAborted(ctx context.Context, name string, timeout time.Duration) (apiservice.RolloutView, error) {
	return d.waitFor(ctx, name, timeout, "rolled back", func(v apiservice.RolloutView) (bool, error) {
		if v.Status.Phase == "Healthy" && v.Status.StableRS == v.Status.CurrentPodHash && v.Status.CurrentPodHash != "" {
			for _, r := range v.Revisions {
				if r.Hash == v.Status.StableRS && r.Model == "v3" {
					return false, fmt.Errorf("%s: the bad release v3 was promoted", name)
				}
			}
		}
		return v.Status.Abort && v.RollbackCause != "", nil
	})
}

func (d *demo) waitPhase(ctx context.Context, name, phase string, timeout time.Duration) error {
	_, err := d.waitFor(ctx, name, timeout, phase, func(v apiservice.RolloutView) (bool, error) {
		return string(v.Status.Phase) == phase, nil
	})
	return err
}
