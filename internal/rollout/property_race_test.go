//go:build race

package rollout_test

// Under -race every reconcile is ~10x slower: the same 10,000 random sequences, each cut to
// 6 reconciles, keep `go test -race ./...` within a reasonable time on a small machine. The
// full-length run is the one without -race.
const (
	propertySequences = 10_000
	propertySteps     = 6
)
