package builtin

import (
	"github.com/shipsafe/shipsafe/internal/analysis"
)

// judgeMisclassification: Lindon & Malek's count test on wrong predictions among the
// requests each arm served live and whose ground-truth label has arrived, with each slice's
// labelled counts as the shares. Unlike judge-accuracy it needs no shadow traffic, so it
// judges a canary that serves patients; a slice is counted by when its labels arrived.
func judgeMisclassification(p *Provider, r *request) (analysis.Measurement, error) {
	return countJudge(p, r, func(s slice) (events, trials uint64) { return s.wrong, s.labelled }, "Labelled")
}
