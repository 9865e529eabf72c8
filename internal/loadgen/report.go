package loadgen

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"text/tabwriter"
	"time"
)

// Report summarises a run.
type Report struct {
	Requests   int           `json:"requests"`
	Errors     int           `json:"errors"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	Throughput float64       `json:"throughput_rps"`
	// ByVersion is keyed by the model_version that answered; failed requests that named no
	// version are under "(none)".
	ByVersion      map[string]*VersionReport `json:"by_version"`
	FeedbackSent   int                       `json:"feedback_sent"`
	FeedbackErrors int                       `json:"feedback_errors"`
	// Failures are the failed requests by kind, with the first one's detail.
	Failures []Failure `json:"failures,omitempty"`
}

// VersionReport is what one model_version did.
type VersionReport struct {
	Version  string        `json:"version"`
	Requests int           `json:"requests"`
	Errors   int           `json:"errors"`
	Labelled int           `json:"labelled"` // answered with a label
	Correct  int           `json:"correct"`
	Accuracy float64       `json:"accuracy"`
	P50      time.Duration `json:"p50_ns"`
	P90      time.Duration `json:"p90_ns"`
	P99      time.Duration `json:"p99_ns"`
	// Confusion matrix against the ground truth (positive = pneumonia).
	TP, FP, TN, FN int

	latencies []time.Duration
}

// NoVersion keys failures that did not say which model_version they came from.
const NoVersion = "(none)"

func (r *Report) version(v string) *VersionReport {
	if v == "" {
		v = NoVersion
	}
	vr, ok := r.ByVersion[v]
	if !ok {
		vr = &VersionReport{Version: v}
		r.ByVersion[v] = vr
	}
	return vr
}

// finish computes percentiles and accuracies.
func (r *Report) finish(elapsed time.Duration) {
	r.Elapsed = elapsed
	if elapsed > 0 {
		r.Throughput = float64(r.Requests) / elapsed.Seconds()
	}
	for _, vr := range r.ByVersion {
		slices.Sort(vr.latencies)
		vr.P50, vr.P90, vr.P99 = percentile(vr.latencies, 0.50), percentile(vr.latencies, 0.90), percentile(vr.latencies, 0.99)
		if vr.Labelled > 0 {
			vr.Accuracy = float64(vr.Correct) / float64(vr.Labelled)
		}
	}
}

// percentile uses the nearest-rank method on sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[min(max(rank, 0), len(sorted)-1)]
}

// Versions returns the version keys in order.
func (r *Report) Versions() []string {
	var vs []string
	for v := range r.ByVersion {
		vs = append(vs, v)
	}
	sort.Strings(vs)
	return vs
}

// Print writes the report as a table.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "%d requests, %d errors in %v (%.1f req/s)", r.Requests, r.Errors, r.Elapsed.Round(time.Millisecond), r.Throughput)
	if r.FeedbackSent+r.FeedbackErrors > 0 {
		fmt.Fprintf(w, "; feedback posted %d, failed %d", r.FeedbackSent, r.FeedbackErrors)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "model_version\trequests\terrors\taccuracy\tp50\tp90\tp99\tTP/FP/TN/FN")
	for _, v := range r.Versions() {
		vr := r.ByVersion[v]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.4f\t%v\t%v\t%v\t%d/%d/%d/%d\n", v, vr.Requests, vr.Errors, vr.Accuracy,
			vr.P50.Round(time.Microsecond), vr.P90.Round(time.Microsecond), vr.P99.Round(time.Microsecond), vr.TP, vr.FP, vr.TN, vr.FN)
	}
	tw.Flush()
	if len(r.Failures) > 0 {
		fmt.Fprintln(w, "failed requests by kind (first of each):")
		for _, f := range r.Failures {
			fmt.Fprintf(w, "  %d × %s: %s\n", f.Count, f.Kind, f.First)
		}
	}
}
