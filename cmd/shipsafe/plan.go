package main

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/api/v1alpha1/manifest"
	"github.com/shipsafe/shipsafe/internal/rollout"
	"github.com/shipsafe/shipsafe/internal/rollout/adapter"
	"github.com/shipsafe/shipsafe/internal/rollout/sim"
)

// planOptions are the flags of `shipsafe plan`.
type planOptions struct {
	path          string
	scenario      string
	router        string
	readyAfter    time.Duration
	analysisTakes time.Duration
	promoteAfter  time.Duration
	limit         time.Duration
	metrics       []string
}

// newPlanCmd shows, before anything is deployed, what the engine will do with a rollout:
// it runs the real engine on a simulated clock against simulated replicas and analysis.
func newPlanCmd() *cobra.Command {
	var o planOptions
	cmd := &cobra.Command{
		Use:   "plan -f rollout.yaml [--scenario NAME]",
		Short: "Simulate a rollout and print its timeline (steps, weights, replicas, analysis, pauses)",
		Long: "plan runs shipsafe's rollout engine on a simulated clock: revision v1 is deployed, then v2 is\n" +
			"rolled out. Replicas become ready after --ready-after, analysis runs reach their verdict after\n" +
			"--analysis-takes, and a simulated operator promotes pauses that wait for a promote after\n" +
			"--promote-after. Nothing is deployed and nothing is contacted.\n\n" +
			"Scenarios: " + sim.ScenarioNames,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.path == "" {
				return errors.New("plan: -f FILE is required")
			}
			return runPlan(o, cmd.InOrStdin(), cmd.OutOrStdout())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.path, "filename", "f", "", "manifest file or directory with the Rollout(s), or - for standard input")
	f.StringVar(&o.scenario, "scenario", "healthy", "what happens: "+sim.ScenarioNames)
	f.StringVar(&o.router, "router", "auto", "traffic router present: auto (canary: when trafficRouting is set), on, off")
	f.DurationVar(&o.readyAfter, "ready-after", 5*time.Second, "time for a new replica to pass readiness")
	f.DurationVar(&o.analysisTakes, "analysis-takes", time.Minute, "time for an analysis run to reach its verdict")
	f.DurationVar(&o.promoteAfter, "promote-after", time.Minute, "a simulated operator promotes a pause waiting for promote after this")
	f.DurationVar(&o.limit, "limit", 24*time.Hour, "stop the simulation after this much simulated time")
	f.StringArrayVar(&o.metrics, "metric", nil, "latest analysis measurement NAME=VALUE for pause.analysis conditions (repeatable)")
	return cmd
}

func runPlan(o planOptions, stdin io.Reader, out io.Writer) error {
	sc, err := sim.ParseScenario(o.scenario)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("plan: --scenario: %w", err)}
	}
	metrics, err := parseMetrics(o.metrics)
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("plan: --metric: %w", err)}
	}
	res, err := manifest.LoadPath(o.path, stdin)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("plan: %s is not valid (run shipsafe validate -f %s): %w", o.path, o.path, err)}
	}
	n := 0
	for i := range res.Objects {
		obj := &res.Objects[i]
		if obj.Rollout == nil {
			continue
		}
		manifest.SetDefaults(obj)
		if n > 0 {
			fmt.Fprintln(out)
		}
		n++
		if err := planRollout(out, obj, sc, o, metrics); err != nil {
			return &exitError{code: 1, err: err}
		}
	}
	if n == 0 {
		return &exitError{code: 1, err: fmt.Errorf("plan: no Rollout or Deployment in %s", o.path)}
	}
	return nil
}

func planRollout(out io.Writer, obj *manifest.Object, sc sim.Scenario, o planOptions, metrics map[string]any) error {
	ro := obj.Rollout
	spec, err := adapter.Spec(ro)
	if err != nil {
		return fmt.Errorf("plan %s: %w", obj.Name(), err)
	}
	router := false
	switch o.router {
	case "on":
		router = true
	case "off":
	case "auto":
		router = spec.Canary != nil && ro.Spec.Strategy.Canary.TrafficRouting != nil
	default:
		return fmt.Errorf("plan: --router: must be auto, on or off, got %q", o.router)
	}
	from := obj.Source
	if obj.ConvertedFrom != "" {
		from += " (" + obj.ConvertedFrom + ")"
	}
	fmt.Fprintf(out, "%s %q from %s: %s, %d replicas, traffic router: %v\n", obj.Kind, ro.Name, from, strategyName(spec), spec.Replicas, router)
	if spec.Canary != nil {
		var steps []string
		for _, s := range spec.Canary.Steps {
			steps = append(steps, rollout.DescribeStep(s))
		}
		fmt.Fprintf(out, "steps: %s\n", strings.Join(steps, " → "))
	}
	sim.Timeline(out, spec, sim.Options{
		Scenario: sc, Router: router, ReadyAfter: o.readyAfter, MinReady: time.Duration(ro.Spec.MinReadySeconds) * time.Second,
		AnalysisTakes: o.analysisTakes, PromoteAfter: o.promoteAfter, Metrics: metrics, Limit: o.limit,
	})
	return nil
}

func strategyName(s rollout.Spec) string {
	switch {
	case s.Canary != nil:
		return "canary"
	case s.BlueGreen != nil:
		return "blue-green"
	}
	return "rolling"
}

// parseMetrics reads NAME=VALUE pairs; numbers become float64, true/false booleans, the rest
// strings.
func parseMetrics(pairs []string) (map[string]any, error) {
	if len(pairs) == 0 {
		return nil, nil
	}
	m := map[string]any{}
	for _, p := range pairs {
		name, val, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("%q: want NAME=VALUE", p)
		}
		if f, err := strconv.ParseFloat(val, 64); err == nil {
			m[name] = f
		} else if b, err := strconv.ParseBool(val); err == nil {
			m[name] = b
		} else {
			m[name] = val
		}
	}
	return m, nil
}
