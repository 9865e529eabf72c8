package flags

import (
	"strconv"
	"syscall"
	"testing"
	"time"
)

// processCPU returns the CPU time (user + system) this process has used. The benchmarks
// report it per operation as cpu-ns/op next to the wall-clock ns/op, because on a shared,
// overloaded machine wall time also counts the time other processes held the CPU.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// benchDoc is the benchmark's flag: targeting (a segment test on an attribute) in front of
// a three-way fractional split, as a model-selection flag would be written.
const benchDoc = `{
  "flags": {
    "model-selection": {
      "state": "ENABLED",
      "variants": {"experimental": "experimental", "stable": "stable", "fallback": "fallback"},
      "defaultVariant": "stable",
      "targeting": {
        "if": [
          {"ends_with": [{"var": "email"}, "@qa.example.org"]}, "experimental",
          {"fractional": [["experimental", 10], ["stable", 85], ["fallback", 5]]}
        ]
      }
    }
  }
}`

func BenchmarkEvaluateFractionalWithTargeting(b *testing.B) {
	set, err := Compile([]byte(benchDoc), CompileOptions{Version: 1})
	if err != nil {
		b.Fatal(err)
	}
	ctxs := make([]Context, 1024)
	for i := range ctxs {
		ctxs[i] = Context{TargetingKey: "patient-" + strconv.Itoa(i), Attrs: []Attr{
			{Name: "email", Value: String("user" + strconv.Itoa(i) + "@hospital.example.org")},
			{Name: "site", Value: String("icu")},
		}}
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	var splits int
	for i := 0; i < b.N; i++ {
		r := set.Evaluate("model-selection", &ctxs[i&1023])
		if r.Reason == ReasonSplit {
			splits++
		}
	}
	reportCPU(b, cpu)
	if splits == 0 {
		b.Fatal("no evaluation reported SPLIT")
	}
}

// BenchmarkSelectVariant is the gateway's path: a flag evaluated for a targeting key only.
func BenchmarkSelectVariant(b *testing.B) {
	store := NewStore(StoreOptions{})
	if _, err := store.Load(b.Context(), []byte(benchDoc), "test", "", "load"); err != nil {
		b.Fatal(err)
	}
	sel := Selector{Store: store}
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "patient-" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu := processCPU()
	for i := 0; i < b.N; i++ {
		if _, ok := sel.SelectVariant("model-selection", keys[i&1023]); !ok {
			b.Fatal("no variant")
		}
	}
	reportCPU(b, cpu)
}
