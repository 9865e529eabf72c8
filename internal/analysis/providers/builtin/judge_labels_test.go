package builtin

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/gateway"
)

// labels records, each second for `seconds`, labelled live predictions: 20 per second with a
// 20% canary share, wrong with the arm's error probability.
func labels(src *fakeSource, rng *rand.Rand, seconds int, stableWrong, canaryWrong float64) {
	for s := 0; s < seconds; s++ {
		for _, arm := range []struct {
			rev   string
			share float64
			wrong float64
		}{{"canary", 0.2, canaryWrong}, {"stable", 0.8, stableWrong}} {
			var cm gateway.ConfusionMatrix
			for i := 0; i < 100; i++ {
				if rng.Float64() >= arm.share {
					continue
				}
				if rng.Float64() < arm.wrong {
					cm.FalseNegative++
				} else {
					cm.TruePositive++
				}
			}
			src.add("detector", arm.rev, func(snap *gateway.RevisionSnapshot) { snap.Confusion = cm })
		}
		src.advance(time.Second)
	}
}

func TestJudgeMisclassification(t *testing.T) {
	judge := v1alpha1.BuiltinMetric{Metric: "judge-misclassification", Params: map[string]string{"alpha": "0.01"}}

	// No labels yet: NaN, never a pass.
	src := newFakeSource(start)
	if m := measure(t, newProvider(t, src, nil), runCtx(start), judge); !math.IsNaN(m.Value.(float64)) {
		t.Fatalf("no labels: %v %v", m.Value, m.Metadata)
	}

	// A bad release: 5% wrong on stable, 30% on the canary, caught within a minute of labels.
	for seed := uint64(0); seed < 5; seed++ {
		src := newFakeSource(start)
		p := newProvider(t, src, nil)
		labels(src, rand.New(rand.NewPCG(seed, 1)), 60, 0.05, 0.30)
		if m := measure(t, p, runCtx(start), judge); m.Value != 1.0 {
			t.Fatalf("seed %d: 6x misclassification not detected in 60s: %v %v", seed, m.Value, m.Metadata)
		}
	}

	// A/A, peeked every 10s for 3 minutes: a false "canary worse" stays rare (α = 1%).
	falseAlarms := 0
	for seed := uint64(0); seed < 20; seed++ {
		src := newFakeSource(start)
		p := newProvider(t, src, nil)
		rng := rand.New(rand.NewPCG(seed, 2))
		for check := 0; check < 18; check++ {
			labels(src, rng, 10, 0.05, 0.05)
			if m := measure(t, p, runCtx(start), judge); m.Value == 1.0 {
				falseAlarms++
				break
			}
		}
	}
	if falseAlarms > 2 {
		t.Fatalf("A/A: %d false alarms in 20 runs", falseAlarms)
	}
}
