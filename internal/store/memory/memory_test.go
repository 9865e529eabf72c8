package memory

import (
	"testing"

	"github.com/shipsafe/shipsafe/internal/store"
	"github.com/shipsafe/shipsafe/internal/store/storetest"
)

func TestStoreContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) store.Store { return New(nil) })
}
