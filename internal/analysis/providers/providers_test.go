package providers

import (
	"reflect"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/gateway"
)

type nopSource struct{}

func (nopSource) Snapshot(service, revision string, since time.Time) gateway.RevisionSnapshot {
	return gateway.RevisionSnapshot{}
}

func TestNewRegistry(t *testing.T) {
	r, err := NewRegistry(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Types(); !reflect.DeepEqual(got, []string{"prometheus", "web"}) {
		t.Fatalf("without traffic: %v", got)
	}
	r, err = NewRegistry(Deps{Traffic: nopSource{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Types(); !reflect.DeepEqual(got, []string{"builtin", "prometheus", "web"}) {
		t.Fatalf("with traffic: %v", got)
	}
}
