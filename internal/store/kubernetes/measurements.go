package kubernetes

import (
	"encoding/json"
	"fmt"
	"maps"
	"sort"
	"strconv"
	"time"

	"github.com/shipsafe/shipsafe/internal/store"
)

// mergeMeasurements is the status to store: next (the caller's) with each metric's
// measurements made complete — the stored ones the caller no longer holds, then the caller's
// (marked retained), numbered — and the new measurements' data attached (or, when the
// caller's status lacks them, appended).
func mergeMeasurements(prev, next map[string]any, fresh []store.Measurement) (map[string]any, int) {
	out := maps.Clone(next)
	stored := map[string][]map[string]any{}
	var lastID int64
	for _, mr := range listOf(prev["metricResults"]) {
		name, _ := mr["name"].(string)
		for _, m := range listOf(mr["measurements"]) {
			stored[name] = append(stored[name], m)
			lastID = max(lastID, idOf(m))
		}
	}
	results := listOf(next["metricResults"])
	for _, mr := range results {
		for _, m := range listOf(mr["measurements"]) {
			lastID = max(lastID, idOf(m))
		}
	}
	byName := map[string]map[string]any{}
	for _, mr := range results {
		name, _ := mr["name"].(string)
		byName[name] = mr
	}
	for _, f := range fresh {
		if byName[f.Metric] == nil {
			mr := map[string]any{"name": f.Metric, "phase": f.Phase}
			results = append(results, mr)
			byName[f.Metric] = mr
		}
	}
	matched := map[*store.Measurement]bool{}
	for _, mr := range results {
		name, _ := mr["name"].(string)
		held := listOf(mr["measurements"])
		keep := map[int64]bool{}
		for _, m := range held {
			keep[idOf(m)] = true
		}
		var all []any
		for _, m := range stored[name] {
			if !keep[idOf(m)] {
				all = append(all, withMeta(m, measurementRetainedKey, ""))
			}
		}
		for _, m := range held {
			if idOf(m) == 0 {
				lastID++
				m = withMeta(m, measurementIDKey, strconv.FormatInt(lastID, 10))
				if f := matchFresh(fresh, matched, name, m); f != nil {
					m = withMeta(m, measurementDataKey, dataText(f.Data))
				}
			}
			all = append(all, withMeta(m, measurementRetainedKey, "true"))
		}
		for i := range fresh {
			if f := &fresh[i]; f.Metric == name && !matched[f] {
				matched[f] = true
				lastID++
				all = append(all, measurementOf(*f, lastID))
			}
		}
		mr["measurements"] = all
	}
	if len(results) > 0 {
		anyResults := make([]any, len(results))
		for i, r := range results {
			anyResults[i] = r
		}
		out["metricResults"] = anyResults
	}
	return out, bound(results)
}

// bound drops the oldest measurements not retained until the run's fit the budget — then,
// if the caller retains more than fits (measurementRetention unset keeps every one), the
// oldest retained too — and returns how many it dropped. Sizes are measured once: the JSON of a list is the sum of its
// entries plus a comma each.
func bound(results []map[string]any) int {
	all, _ := json.Marshal(results)
	total := len(all)
	if total <= maxRunMeasurementBytes {
		return 0
	}
	type entry struct {
		retained bool
		id       int64
		size     int
	}
	var old []entry
	for _, mr := range results {
		for _, m := range listOf(mr["measurements"]) {
			b, _ := json.Marshal(m)
			old = append(old, entry{metaOf(m)[measurementRetainedKey] == "true", idOf(m), len(b) + 1})
		}
	}
	sort.Slice(old, func(i, j int) bool {
		if old[i].retained != old[j].retained {
			return !old[i].retained
		}
		return old[i].id < old[j].id
	})
	drop := map[int64]bool{}
	for _, e := range old {
		if total <= maxRunMeasurementBytes {
			break
		}
		drop[e.id] = true
		total -= e.size
	}
	for _, mr := range results {
		var keep []any
		for _, m := range listOf(mr["measurements"]) {
			if !drop[idOf(m)] {
				keep = append(keep, m)
			}
		}
		mr["measurements"] = keep
	}
	return len(drop)
}

func matchFresh(fresh []store.Measurement, matched map[*store.Measurement]bool, metric string, m map[string]any) *store.Measurement {
	for i := range fresh {
		f := &fresh[i]
		if !matched[f] && f.Metric == metric && f.Phase == m["phase"] && (f.Value == "" || f.Value == m["value"]) {
			matched[f] = true
			return f
		}
	}
	return nil
}

func dataText(d json.RawMessage) string {
	if len(d) == 0 {
		return ""
	}
	s, err := compactJSON(d)
	if err != nil || len(s) > maxMeasurementData {
		return fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(d))
	}
	return s
}

func measurementOf(f store.Measurement, id int64) map[string]any {
	m := map[string]any{"phase": f.Phase}
	if f.Value != "" {
		m["value"] = f.Value
	}
	if f.Message != "" {
		m["message"] = f.Message
	}
	if !f.StartedAt.IsZero() {
		m["startedAt"] = f.StartedAt.UTC().Format(time.RFC3339)
	}
	if !f.FinishedAt.IsZero() {
		m["finishedAt"] = f.FinishedAt.UTC().Format(time.RFC3339)
	}
	meta := map[string]any{measurementIDKey: strconv.FormatInt(id, 10)}
	if d := dataText(f.Data); d != "" {
		meta[measurementDataKey] = d
	}
	m["metadata"] = meta
	return m
}

func listOf(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, x := range l {
		if m, ok := x.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

func metaOf(m map[string]any) map[string]any {
	meta, _ := m["metadata"].(map[string]any)
	return meta
}

func idOf(m map[string]any) int64 {
	s, _ := metaOf(m)[measurementIDKey].(string)
	id, _ := strconv.ParseInt(s, 10, 64)
	return id
}

// withMeta is m with metadata[k] = v (removed when v is "").
func withMeta(m map[string]any, k, v string) map[string]any {
	out := maps.Clone(m)
	meta := maps.Clone(metaOf(m))
	if meta == nil {
		meta = map[string]any{}
	}
	if v == "" {
		delete(meta, k)
	} else {
		meta[k] = v
	}
	if len(meta) == 0 {
		delete(out, "metadata")
	} else {
		out["metadata"] = meta
	}
	return out
}
