//go:build !race

package rollout_test

// The property test's size: 10,000 random sequences of 20 reconciles each.
const (
	propertySequences = 10_000
	propertySteps     = 20
)
