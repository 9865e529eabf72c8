// Package jsonlogicbase measures a JSON-Logic-interpreter evaluation pipeline shaped like
// flagd's Go evaluator, for comparison with shipsafe's compiled evaluator. flagd's own module
// (github.com/open-feature/flagd/core) is not served by the module proxy reachable here, so
// this is NOT flagd: it is a reconstruction of the per-evaluation steps flagd's evaluator
// performs (clone the context, add $flagd properties, json.Marshal it, interpret the
// targeting rule with github.com/diegoholiveira/jsonlogic/v3 — the library flagd uses — and
// look the resulting variant up), without flagd's logging, tracing and store locking. It is
// therefore a lower bound on flagd's cost. It lives in its own module so the main module does
// not depend on it.
package jsonlogicbase

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/diegoholiveira/jsonlogic/v3"
	"github.com/spaolacci/murmur3"
)

// The same flag as internal/flags' BenchmarkEvaluateFractionalWithTargeting.
const targeting = `{"if": [
  {"ends_with": [{"var": "email"}, "@qa.example.org"]}, "experimental",
  {"fractional": [["experimental", 10], ["stable", 85], ["fallback", 5]]}
]}`

var variants = map[string]any{"experimental": "experimental", "stable": "stable", "fallback": "fallback"}

// fractional follows flagd's documented operator: without a bucketing expression it hashes
// $flagd.flagKey + targetingKey (murmur3 x86-32, seed 0), bucket = hash × total >> 32.
func fractional(values, data any) any {
	args, ok := values.([]any)
	if !ok || len(args) == 0 {
		return nil
	}
	ctx, _ := data.(map[string]any)
	props, _ := ctx["$flagd"].(map[string]any)
	flagKey, _ := props["flagKey"].(string)
	tk, _ := ctx["targetingKey"].(string)
	if tk == "" {
		return nil
	}
	type bucket struct {
		variant string
		weight  uint64
	}
	var buckets []bucket
	var total uint64
	for _, a := range args {
		entry, ok := a.([]any)
		if !ok || len(entry) != 2 {
			return nil
		}
		name, _ := entry[0].(string)
		w, _ := entry[1].(float64)
		buckets = append(buckets, bucket{name, uint64(w)})
		total += uint64(w)
	}
	b := uint64(murmur3.Sum32([]byte(flagKey+tk))) * total >> 32
	var end uint64
	for _, bk := range buckets {
		end += bk.weight
		if b < end {
			return bk.variant
		}
	}
	return nil
}

func endsWith(values, _ any) any {
	args, ok := values.([]any)
	if !ok || len(args) != 2 {
		return false
	}
	s, ok1 := args[0].(string)
	suffix, ok2 := args[1].(string)
	return ok1 && ok2 && strings.HasSuffix(s, suffix)
}

// evaluate is one flag evaluation the way an interpreting evaluator does it.
func evaluate(flagKey string, rule []byte, evalCtx map[string]any) (string, error) {
	ctx := make(map[string]any, len(evalCtx)+1)
	for k, v := range evalCtx {
		ctx[k] = v
	}
	ctx["$flagd"] = map[string]any{"flagKey": flagKey, "timestamp": time.Now().Unix()}
	data, err := json.Marshal(ctx)
	if err != nil {
		return "", err
	}
	var out bytes.Buffer
	if err := jsonlogic.Apply(bytes.NewReader(rule), bytes.NewReader(data), &out); err != nil {
		return "", err
	}
	res := strings.TrimSpace(out.String())
	if res == "null" {
		return "stable", nil
	}
	v := strings.ReplaceAll(res, `"`, "")
	if _, ok := variants[v]; !ok {
		return "", nil
	}
	return v, nil
}

// processCPU is the CPU time this process has used, reported per operation as cpu-ns/op
// (wall-clock ns/op on a shared machine also counts other processes' time).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkInterpretedFractionalWithTargeting(b *testing.B) {
	jsonlogic.AddOperator("fractional", fractional)
	jsonlogic.AddOperator("ends_with", endsWith)
	rule := []byte(targeting)
	ctxs := make([]map[string]any, 1024)
	for i := range ctxs {
		ctxs[i] = map[string]any{
			"targetingKey": "patient-" + strconv.Itoa(i),
			"email":        "user" + strconv.Itoa(i) + "@hospital.example.org",
			"site":         "icu",
		}
	}
	if v, err := evaluate("model-selection", rule, ctxs[0]); err != nil || v == "" {
		b.Fatalf("sanity: %q %v", v, err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		if _, err := evaluate("model-selection", rule, ctxs[i&1023]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
}
