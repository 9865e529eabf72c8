package model

import (
	"fmt"
	"slices"
)

// Evaluate computes binary-classification metrics of probabilities against 0/1 labels, calling a
// probability >= threshold positive (pneumonia).
func Evaluate(probs []float64, labels []uint8, threshold float64) Metrics {
	var tp, tn, fp, fn int
	for i, p := range probs {
		pos := p >= threshold
		switch {
		case pos && labels[i] == 1:
			tp++
		case pos:
			fp++
		case labels[i] == 1:
			fn++
		default:
			tn++
		}
	}
	m := Metrics{N: len(probs), AUC: AUC(probs, labels)}
	if m.N > 0 {
		m.Accuracy = float64(tp+tn) / float64(m.N)
	}
	if tp+fn > 0 {
		m.Sensitivity = float64(tp) / float64(tp+fn)
	}
	if tn+fp > 0 {
		m.Specificity = float64(tn) / float64(tn+fp)
	}
	m.BalancedAccuracy = (m.Sensitivity + m.Specificity) / 2
	return m
}

// String formats the metrics the way training prints them.
func (m Metrics) String() string {
	return fmt.Sprintf("n=%d accuracy=%.4f balanced_accuracy=%.4f roc_auc=%.4f sensitivity=%.4f specificity=%.4f",
		m.N, m.Accuracy, m.BalancedAccuracy, m.AUC, m.Sensitivity, m.Specificity)
}

// AUC is the area under the ROC curve: the probability that a random positive scores above a
// random negative, ties counting one half (the Mann-Whitney U statistic, via average ranks).
func AUC(probs []float64, labels []uint8) float64 {
	idx := make([]int, len(probs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case probs[a] < probs[b]:
			return -1
		case probs[a] > probs[b]:
			return 1
		}
		return 0
	})
	var rankSumPos float64
	var nPos, nNeg int
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && probs[idx[j]] == probs[idx[i]] {
			j++
		}
		avgRank := float64(i+j+1) / 2 // ranks are 1-based: (i+1 + j) / 2
		for _, k := range idx[i:j] {
			if labels[k] == 1 {
				rankSumPos += avgRank
			}
		}
		i = j
	}
	for _, l := range labels {
		if l == 1 {
			nPos++
		} else {
			nNeg++
		}
	}
	if nPos == 0 || nNeg == 0 {
		return 0.5
	}
	u := rankSumPos - float64(nPos)*float64(nPos+1)/2
	return u / (float64(nPos) * float64(nNeg))
}

// BalancedThreshold picks the threshold that maximises balanced accuracy (Youden's J) on the
// given split, placed halfway between neighbouring scores so it does not sit on a sample.
func BalancedThreshold(probs []float64, labels []uint8) float64 {
	sorted := slices.Clone(probs)
	slices.Sort(sorted)
	sorted = slices.Compact(sorted)
	best, bestT := -1.0, 0.5
	for i := range sorted {
		t := sorted[i]
		if i > 0 {
			t = (sorted[i-1] + sorted[i]) / 2
		}
		if b := Evaluate(probs, labels, t).BalancedAccuracy; b > best {
			best, bestT = b, t
		}
	}
	if bestT <= 0 || bestT >= 1 {
		return 0.5
	}
	return bestT
}
