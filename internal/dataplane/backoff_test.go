package dataplane

import (
	"testing"
	"time"
)

func TestBackoffRestartsAtOnceThenDoublesUpToMax(t *testing.T) {
	b := Backoff{Base: 100 * time.Millisecond, Max: time.Second, StableAfter: 30 * time.Second}
	var got []time.Duration
	for i := 0; i < 7; i++ {
		got = append(got, b.Next(2*time.Second)) // each ran 2s: quick crashes
	}
	want := []time.Duration{0, 100 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond, time.Second, time.Second}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits %v, want %v", got, want)
		}
	}
	// A process that ran past StableAfter crashed once, not again: at once.
	if d := b.Next(time.Minute); d != 0 {
		t.Fatalf("after a stable run: wait %v, want 0", d)
	}
	if d := b.Next(0); d != 100*time.Millisecond {
		t.Fatalf("a failed start right after: wait %v, want 100ms", d)
	}
}

func TestBackoffDefaults(t *testing.T) {
	var b Backoff
	if d := b.Next(0); d != 0 {
		t.Fatalf("first: %v", d)
	}
	if d := b.Next(0); d != 100*time.Millisecond {
		t.Fatalf("second: %v, want the 100ms default base", d)
	}
	for range 20 {
		b.Next(0)
	}
	if d := b.Next(0); d != 10*time.Second {
		t.Fatalf("capped: %v, want the 10s default max", d)
	}
}
