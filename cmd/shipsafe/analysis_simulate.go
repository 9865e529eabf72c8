package main

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/stats"
	"github.com/shipsafe/shipsafe/internal/stats/simulate"
)

// newAnalysisSimulateCmd runs the canary-analysis simulation benchmark through the
// production judge and two baselines (see docs/judge.md).
func newAnalysisSimulateCmd() *cobra.Command {
	cfg := simulate.DefaultConfig()
	var asJSON, oracle, configured bool
	var horizonMinutes int
	judge := stats.CanaryErrorTestConfig(0)
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Simulate canary analyses: false rollbacks, detection and requests served",
		Long: `Streams synthetic traffic (50 req/s, 5% to the canary, stable error rate 1%; canary 1%,
2% and 5%) one second at a time through the production judge (the one-sided Lindon & Malek
count test, checked every second), a threshold rule (canary error rate > 5% in a minute,
abort on the 4th failing minute) and a one-sided z-test peeked every minute. A run that is
not rolled back within the horizon counts as kept.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if horizonMinutes < 1 {
				return fmt.Errorf("--horizon-minutes must be >= 1, got %d", horizonMinutes)
			}
			cfg.HorizonSeconds = horizonMinutes * 60
			cfg.Methods = simulate.Methods(judge)
			if configured {
				cfg.Methods = append(cfg.Methods, simulate.ConfiguredShareJudge(judge, cfg.CanaryShare))
			}
			if oracle {
				cfg.Methods = append(cfg.Methods, simulate.OracleMethod(cfg.StableErrorRate, 2*cfg.StableErrorRate, judge.Alpha))
			}
			res, err := simulate.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			if asJSON {
				return newJSONEncoder(cmd.OutOrStdout()).Encode(res)
			}
			return printSimulation(cmd.OutOrStdout(), cfg, res)
		},
	}
	f := cmd.Flags()
	f.IntVar(&cfg.Runs, "runs", cfg.Runs, "runs per scenario")
	f.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (results are reproducible per seed)")
	f.IntVar(&horizonMinutes, "horizon-minutes", cfg.HorizonSeconds/60, "length of each run in minutes")
	f.IntVar(&cfg.Workers, "workers", 0, "parallel runs (0: min(2, GOMAXPROCS)); does not change results")
	f.BoolVar(&asJSON, "json", false, "print one JSON object instead of a table")
	f.Float64Var(&judge.Alpha, "alpha", judge.Alpha, "judge level (production default shown)")
	f.Float64Var(&judge.Concentration, "concentration", judge.Concentration, "judge prior concentration (production default shown)")
	f.Float64Var(&judge.PriorRateRatio, "prior-ratio", judge.PriorRateRatio, "judge prior centre, canary/stable error-rate ratio (production default shown; 1 = the published null-centred prior)")
	f.BoolVar(&configured, "configured-share", false, "also run the judge fed the configured 5% share instead of each second's realised request split")
	f.BoolVar(&oracle, "oracle", false, "also run a reference SPRT that knows the stable rate and tests it against 2x (a lower bound, not a deployable rule)")
	return cmd
}

func printSimulation(out io.Writer, cfg simulate.Config, res simulate.Results) error {
	fmt.Fprintf(out, "%d runs per scenario, seed %d, %d req/s, canary share %.0f%%, stable error rate %.1f%%, horizon %d min, checks every second\n\n",
		cfg.Runs, cfg.Seed, cfg.RequestsPerSecond, cfg.CanaryShare*100, cfg.StableErrorRate*100, cfg.HorizonSeconds/60)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "method\tscenario\tfalse rollbacks\tdetected\tmedian canary requests\tmedian (rolled back only)\t")
	for _, m := range []string{"sequential", "threshold", "ztest", "sequential-configured-share", "oracle-sprt"} {
		for _, sc := range cfg.Scenarios {
			s, ok := res[m][sc.Name]
			if !ok {
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%.1f%%\t%.1f%%\t%s\t%s\t\n", m, sc.Name,
				s.FalseRollbackRate*100, s.DetectionRate*100, fmtCount(s.MedianRequests), fmtCount(s.MedianRequestsDetected))
		}
	}
	return tw.Flush()
}

func fmtCount(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%.0f", v)
}
