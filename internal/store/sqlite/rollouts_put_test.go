package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/shipsafe/shipsafe/internal/store"
)

// A multi-object write is all or nothing: one conflicting object stores none of them.
func TestPutRolloutsIsAtomic(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "s.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.PutRollout(ctx, "b", map[string]int{"v": 1}, nil, 0); err != nil {
		t.Fatal(err)
	}
	_, err = s.PutRollouts(ctx, []store.RolloutPut{
		{Name: "a", Spec: map[string]int{"v": 1}, ExpectedVersion: 0},
		{Name: "b", Spec: map[string]int{"v": 2}, ExpectedVersion: 0}, // conflicts: b exists
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("want a conflict, got %v", err)
	}
	if _, err := s.GetRollout(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a was stored although the write failed: %v", err)
	}
	out, err := s.PutRollouts(ctx, []store.RolloutPut{
		{Name: "a", Spec: map[string]int{"v": 1}, ExpectedVersion: store.AnyVersion},
		{Name: "b", Spec: map[string]int{"v": 2}, ExpectedVersion: store.AnyVersion},
	})
	if err != nil || len(out) != 2 || out[1].Generation != 2 {
		t.Fatalf("put both: %v %+v", err, out)
	}
}
