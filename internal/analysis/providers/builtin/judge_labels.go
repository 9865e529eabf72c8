package builtin

import (
	"fmt"

	"github.com/shipsafe/shipsafe/internal/analysis"
	"github.com/shipsafe/shipsafe/internal/stats"
)

// judgeMisclassification: Lindon & Malek's count test on wrong predictions among the
// requests each arm served live and whose ground-truth label has arrived, with each slice's
// labelled counts as the shares. Unlike judge-accuracy it needs no shadow traffic, so it
// judges a canary that serves patients; a slice is counted by when its labels arrived.
func judgeMisclassification(p *Provider, r *request) (analysis.Measurement, error) {
	alpha, err := r.alpha()
	if err != nil {
		return analysis.Measurement{}, err
	}
	test, err := stats.NewCanaryErrorTest(alpha)
	if err != nil {
		return analysis.Measurement{}, fmt.Errorf("%s: %w", r.field, err)
	}
	canary, base := p.series(r, r.revision), p.series(r, r.baseline)
	var cl, sl uint64
	for i := range canary {
		c, s := canary[i], base[i]
		if c.labelled == 0 || s.labelled == 0 {
			continue // no comparison possible in this slice
		}
		cl, sl = cl+c.labelled, sl+s.labelled
		if err := test.Update([]int64{int64(c.wrong), int64(s.wrong)}, []float64{float64(c.labelled), float64(s.labelled)}); err != nil {
			return analysis.Measurement{}, fmt.Errorf("%s: slice %d: %w", r.field, i, err)
		}
	}
	return verdict(test.Verdict(), map[string]string{"canaryLabelled": u(cl), "baselineLabelled": u(sl)}), nil
}
