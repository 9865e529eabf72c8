package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/apiservice"
)

// statusInput is what `status` draws: the rollout, its analysis runs (read only when a
// measurement has no value, to say why) and the time to count pauses from.
type statusInput struct {
	view apiservice.RolloutView
	runs []apiservice.AnalysisRunView
	now  time.Time
}

// needsRuns reports whether a metric's latest value is empty, so that the runs' measurements
// are needed to explain it.
func needsRuns(v apiservice.RolloutView) bool {
	for _, a := range v.Analysis {
		for _, val := range a.Latest {
			if val == "" {
				return true
			}
		}
	}
	return false
}

// renderStatus draws a rollout: phase, step, pauses, a weight bar per revision, replicas,
// analysis.
func renderStatus(in statusInput) string {
	v := in.view
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s)  phase %s  step %s\n", v.Name, v.Strategy, orDash(string(v.Status.Phase)), stepText(v))
	if v.Status.Message != "" {
		fmt.Fprintf(&b, "  %s\n", v.Status.Message)
	}
	for _, p := range pauseLines(v, in.now) {
		fmt.Fprintf(&b, "  %s\n", p)
	}
	for _, r := range v.Revisions {
		fmt.Fprintf(&b, "  %-11s %-7s %-4s %s %3d%%  replicas %d/%d ready", r.Hash, r.Role, r.Model, bar(int(r.Weight), 20), r.Weight, r.Ready, r.Desired)
		if r.Failed > 0 {
			fmt.Fprintf(&b, ", %d failing", r.Failed)
		}
		b.WriteString("\n")
	}
	for _, m := range v.Traffic.Mirrors {
		fmt.Fprintf(&b, "  shadow %s: %d%% of requests copied to %s (answers never returned)\n", m.Name, m.Percentage, m.Revision)
	}
	for _, h := range v.Traffic.HeaderRoutes {
		fmt.Fprintf(&b, "  header route %s → %s\n", h.Name, h.Revision)
	}
	for _, a := range v.Analysis {
		fmt.Fprintf(&b, "  analysis %s (%s): %s", a.Name, a.Kind, orDash(a.Phase))
		for _, m := range slices.Sorted(maps.Keys(a.Latest)) {
			val := a.Latest[m]
			if val == "" {
				val = noDataText(in.runs, a.Name, m)
			} else {
				val = shorten(roundValue(val))
			}
			fmt.Fprintf(&b, "  %s=%s", m, val)
		}
		b.WriteString("\n")
	}
	if v.RollbackCause != "" {
		fmt.Fprintf(&b, "  rolled back: %s\n", v.RollbackCause)
	}
	return b.String()
}

// noDataText says why a metric has no value: its latest measurement's phase and message.
func noDataText(runs []apiservice.AnalysisRunView, run, metric string) string {
	for _, r := range runs {
		if r.Name != run {
			continue
		}
		for i := len(r.Measurements) - 1; i >= 0; i-- {
			m := r.Measurements[i]
			if m.Metric != metric {
				continue
			}
			why := m.Phase
			if m.Message != "" {
				why += ": " + m.Message
			}
			if why == "" {
				break
			}
			return "no data (" + why + ")"
		}
	}
	return "no data (the measurement returned no value)"
}

// roundValue shows numbers with 4 significant digits (0.44886363636363635 → 0.4489), also
// inside a vector "[a,b]"; anything else is returned as it is.
func roundValue(s string) string {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return roundFloat(f)
	}
	var fs []float64
	if strings.HasPrefix(s, "[") && json.Unmarshal([]byte(s), &fs) == nil {
		parts := make([]string, len(fs))
		for i, f := range fs {
			parts[i] = roundFloat(f)
		}
		return "[" + strings.Join(parts, ",") + "]"
	}
	return s
}

func roundFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}

// shorten trims long measured values (JSON, long vectors) for one status line.
func shorten(v string) string {
	if r := []rune(v); len(r) > 24 {
		return string(r[:23]) + "…"
	}
	return v
}

// pauseLines says why the rollout is paused and, for a timed pause, how long is left.
func pauseLines(v apiservice.RolloutView, now time.Time) []string {
	if len(v.Status.PauseConditions) == 0 {
		return nil
	}
	var spec v1alpha1.Rollout
	_ = json.Unmarshal(v.Spec, &spec) // without a spec, pauses are shown without durations
	var out []string
	for _, p := range v.Status.PauseConditions {
		since := p.StartTime.Time
		line := fmt.Sprintf("paused (%s) for %s", p.Reason, formatDuration(now.Sub(since)))
		switch p.Reason {
		case v1alpha1.PauseReasonCanaryPauseStep:
			if d, ok := stepPause(spec, v.Status.CurrentStepIndex); ok {
				line += "; " + timeLeft(since.Add(d), now, d)
			} else {
				line += "; waiting for promote"
			}
		case v1alpha1.PauseReasonBlueGreenPause:
			if bg := spec.Spec.Strategy.BlueGreen; bg != nil && bg.AutoPromotionEnabledOrDefault() && bg.AutoPromotionSeconds > 0 {
				from := since
				if sh := v.Status.Shipsafe; sh != nil && sh.PreviewAvailableAt != nil {
					from = sh.PreviewAvailableAt.Time // autoPromotionSeconds counts from here
				}
				d := time.Duration(bg.AutoPromotionSeconds) * time.Second
				line += "; " + timeLeft(from.Add(d), now, d)
			} else {
				line += "; waiting for promote"
			}
		case "UserPause":
			line += "; waiting for resume"
		case v1alpha1.PauseReasonInconclusiveAnalysis, v1alpha1.PauseReasonInconclusiveExperiment:
			line += "; promote or resume to go on, abort to roll back"
		}
		out = append(out, line)
	}
	return out
}

// stepPause is the duration of the current step's timed pause.
func stepPause(spec v1alpha1.Rollout, idx *int32) (time.Duration, bool) {
	c := spec.Spec.Strategy.Canary
	if c == nil || idx == nil || int(*idx) < 0 || int(*idx) >= len(c.Steps) || c.Steps[*idx].Pause == nil {
		return 0, false
	}
	d, ok, err := c.Steps[*idx].Pause.PauseDuration()
	return d, ok && err == nil
}

func timeLeft(end, now time.Time, total time.Duration) string {
	if left := end.Sub(now); left > 0 {
		return fmt.Sprintf("resumes in %s (pause of %s)", formatDuration(left), formatDuration(total))
	}
	return fmt.Sprintf("pause of %s is over; resuming", formatDuration(total))
}

// formatDuration rounds to seconds ("1m23s"), or tenths under ten seconds.
func formatDuration(d time.Duration) string {
	if d < 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}
