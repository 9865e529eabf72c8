package manifest

import (
	"os"
	"testing"
)

// BenchmarkParseCanaryExample measures decoding, validating and defaulting the canary example
// (a Rollout and three AnalysisTemplates).
func BenchmarkParseCanaryExample(b *testing.B) {
	rollout, err := os.ReadFile("../../../examples/canary/rollout.yaml")
	if err != nil {
		b.Fatal(err)
	}
	templates, err := os.ReadFile("../../../examples/canary/analysis-templates.yaml")
	if err != nil {
		b.Fatal(err)
	}
	data := append(append(rollout, "\n---\n"...), templates...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}
