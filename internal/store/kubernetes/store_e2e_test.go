package kubernetes_test

import (
	"testing"

	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/kubernetes"
	"github.com/shipsafe/shipsafe/internal/store/storetest"
)

// TestStoreContract runs the contract every store passes against the real API server, each
// subtest in a fresh namespace.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return newFixture(t, kubernetes.Options{}).s })
}
