package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/shipsafe/shipsafe/internal/apiservice"
	"github.com/shipsafe/shipsafe/internal/loadgen"
	"github.com/shipsafe/shipsafe/internal/store"
)

// narrate prints the control plane's events as they are stored.
func (d *demo) narrate(ctx context.Context) {
	var after int64
	for {
		evs, err := d.rt.API.Events(ctx, "", after, 100)
		if err == nil {
			for _, e := range evs {
				after = e.ID
				d.say("  %s: %s — %s", e.Rollout, e.Reason, e.Message)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// served reports the live requests a revision answered (from the deployment history) and
// the shadow copies it answered (from the gateway's recorder).
func (d *demo) served(ctx context.Context, name string, v apiservice.RolloutView) (live, shadow int64) {
	hs, err := d.rt.Store.ListHistory(ctx, name, 20)
	if err != nil {
		return 0, 0
	}
	for _, h := range hs {
		if h.Revision != v.Status.CurrentPodHash {
			continue
		}
		snap, err := d.rt.Dataplane.Client.Snapshot(ctx, name, h.Revision, h.StartedAt)
		if err == nil {
			shadow = int64(snap.Mirror.Sent)
		}
		return h.RequestsServed, shadow
	}
	return 0, 0
}

// runWithMeasurements is a stored analysis run and every measurement it took.
type runWithMeasurements struct {
	store.AnalysisRun
	measurements []store.Measurement
}

// runsOf returns the rollout's analysis runs of one revision, with their measurements.
func (d *demo) runsOf(ctx context.Context, rollout, revision string) []runWithMeasurements {
	runs, err := d.rt.Store.ListAnalysisRuns(ctx, rollout)
	if err != nil {
		return nil
	}
	var out []runWithMeasurements
	for _, r := range runs {
		if r.Revision != revision {
			continue
		}
		ms, err := d.rt.Store.ListMeasurements(ctx, r.Name)
		if err != nil {
			return nil
		}
		out = append(out, runWithMeasurements{AnalysisRun: r, measurements: ms})
	}
	return out
}

// thresholdComparison contrasts the judge with the dry-run threshold rule on the same run.
func (d *demo) thresholdComparison(ctx context.Context, name string, v apiservice.RolloutView) {
	for _, r := range d.runsOf(ctx, name, v.Status.CurrentPodHash) {
		var judgeAt, thresholdAt time.Time
		inconclusive := 0
		for _, m := range r.measurements {
			switch {
			case m.Metric == "judge-accuracy" && m.Value == "1" && judgeAt.IsZero():
				judgeAt = m.FinishedAt
			case m.Metric == "threshold-accuracy" && m.Phase == "Failed" && thresholdAt.IsZero():
				thresholdAt = m.FinishedAt
			case m.Metric == "threshold-accuracy" && m.Phase == "Inconclusive":
				inconclusive++
			}
		}
		if judgeAt.IsZero() {
			continue
		}
		d.say("judge-accuracy (sequential McNemar on shadow pairs) said \"worse\" %.1fs into the run", judgeAt.Sub(r.StartedAt).Seconds())
		if thresholdAt.IsZero() {
			d.say("the threshold rule (accuracy >= 0.85 over 1m, dry run) never fired: %d of its checks had no data, because a threshold on live accuracy needs the canary to serve patients first", inconclusive)
		} else {
			d.say("the threshold rule (dry run) fired %.1fs into the run", thresholdAt.Sub(r.StartedAt).Seconds())
		}
		return
	}
}

// summary prints the outcome table and the client-side traffic report; it fails the demo if
// any client request failed.
func (d *demo) summary(ctx context.Context, reports []*loadgen.Report) error {
	fmt.Fprintln(d.w, "\nSummary")
	tw := tabwriter.NewWriter(d.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLLOUT\tSTRATEGY\tREVISION\tMODEL\tOUTCOME\tLIVE REQUESTS\tERRORS\tDETAIL")
	for _, name := range []string{"detector", "detector-bg"} {
		hs, err := d.rt.Store.ListHistory(ctx, name, 20)
		if err != nil {
			return err
		}
		sort.Slice(hs, func(i, j int) bool { return hs[i].ID < hs[j].ID })
		for _, h := range hs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\n", name, h.Strategy, h.Revision, shortDigest(h.ModelDigest), orDash(h.Outcome), h.RequestsServed, h.Errors, detailText(h))
		}
	}
	tw.Flush()

	fmt.Fprintln(d.w, "\nClient side (what the hospital's clients saw)")
	tw = tabwriter.NewWriter(d.w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tMODEL\tREQUESTS\tERRORS\tACCURACY\tP50\tP99")
	total, failed := 0, 0
	for i, svc := range []string{"detector", "detector-bg"} {
		r := reports[i]
		if r == nil {
			continue
		}
		total += r.Requests
		failed += r.Errors
		versions := make([]string, 0, len(r.ByVersion))
		for v := range r.ByVersion {
			versions = append(versions, v)
		}
		sort.Strings(versions)
		for _, v := range versions {
			vr := r.ByVersion[v]
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.3f\t%s\t%s\n", svc, v, vr.Requests, vr.Errors, vr.Accuracy, vr.P50.Round(10*time.Microsecond), vr.P99.Round(10*time.Microsecond))
		}
	}
	tw.Flush()
	fmt.Fprintf(d.w, "\nfailed client requests: %d of %d\n", failed, total)
	fmt.Fprintf(d.w, "The API served at http://%s during the demo (it stops with the demo); run `shipsafe up` to keep one running.\n", d.rt.APIAddr)
	if failed > 0 {
		return fmt.Errorf("demo: %d of %d client requests failed", failed, total)
	}
	return nil
}

func detailText(h store.HistoryEntry) string {
	if len(h.Detail) == 0 {
		return ""
	}
	var m map[string]string
	if json.Unmarshal(h.Detail, &m) == nil && m["cause"] != "" {
		return m["cause"]
	}
	return string(h.Detail)
}

// liveComparison reports, for a revision judged live by the threshold rule with the judge in
// dry run, when each said "worse" and how many live requests the bad revision had served by
// then (from the gateway's per-second records).
func (d *demo) liveComparison(ctx context.Context, name string, v apiservice.RolloutView) {
	rev := v.Status.CurrentPodHash
	for _, r := range d.runsOf(ctx, name, rev) {
		var judgeAt, thresholdAt time.Time
		failures := 0
		for _, m := range r.measurements {
			switch {
			case m.Metric == "judge-misclassification" && m.Value == "1" && judgeAt.IsZero():
				judgeAt = m.FinishedAt
			case m.Metric == "threshold-accuracy" && m.Phase == "Failed":
				failures++
				if failures == 4 {
					thresholdAt = m.FinishedAt
				}
			}
		}
		servedBy := func(t time.Time) int64 {
			all, err1 := d.rt.Dataplane.Client.Snapshot(ctx, name, rev, r.StartedAt)
			after, err2 := d.rt.Dataplane.Client.Snapshot(ctx, name, rev, t.Truncate(time.Second).Add(time.Second))
			if err1 != nil || err2 != nil {
				return -1
			}
			return int64(all.Requests) - int64(after.Requests)
		}
		if !thresholdAt.IsZero() {
			d.say("the threshold rule rolled v3 back %.1fs after it went live, after v3 had served %d live requests", thresholdAt.Sub(r.StartedAt).Seconds(), servedBy(thresholdAt))
		}
		if !judgeAt.IsZero() {
			d.say("the judge (judge-misclassification, dry run) said \"worse\" %.1fs after it went live, after %d live requests: it would have spared patients the rest", judgeAt.Sub(r.StartedAt).Seconds(), servedBy(judgeAt))
		} else {
			d.say("the judge (dry run) had not said \"worse\" when the threshold rule acted")
		}
		return
	}
}
