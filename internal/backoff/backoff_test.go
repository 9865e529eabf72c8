package backoff

import (
	"testing"
	"time"
)

func TestDoubling(t *testing.T) {
	for _, c := range []struct {
		n    int
		want time.Duration
	}{{0, time.Second}, {1, time.Second}, {2, 2 * time.Second}, {4, 8 * time.Second}, {5, 10 * time.Second}, {1000, 10 * time.Second}} {
		if got := Doubling(time.Second, 10*time.Second, c.n); got != c.want {
			t.Errorf("Doubling(1s, 10s, %d) = %s, want %s", c.n, got, c.want)
		}
	}
}
