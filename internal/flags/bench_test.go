package flags

import (
	"strconv"
	"testing"
)

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
	var splits int
	for i := 0; i < b.N; i++ {
		r := set.Evaluate("model-selection", &ctxs[i&1023])
		if r.Reason == ReasonSplit {
			splits++
		}
	}
	if splits == 0 {
		b.Fatal("no evaluation reported SPLIT")
	}
}
