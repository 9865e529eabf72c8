package embedded

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestThrottleLetsOneWarningPerSubjectAndWindowThrough(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1000, 0)
	log := slog.New(newThrottle(slog.NewTextHandler(&buf, nil), 10*time.Second, func() time.Time { return now }))
	a, b := log.With("rollout", "a"), log.With("rollout", "b")
	// Two passes a second for 5s, two rollouts, as a control plane without its data plane.
	for i := 0; i < 10; i++ {
		a.Warn("count served requests", "err", "connection refused")
		b.Warn("count served requests", "err", "connection refused")
		log.Info("event", "rollout", "a") // below Warn: never throttled
		now = now.Add(500 * time.Millisecond)
	}
	if n := strings.Count(buf.String(), "count served requests"); n != 2 {
		t.Fatalf("%d warnings in 5s for 2 rollouts, want 2 (one each):\n%s", n, buf.String())
	}
	if n := strings.Count(buf.String(), "level=INFO"); n != 10 {
		t.Fatalf("%d info lines, want all 10", n)
	}
	buf.Reset()
	now = now.Add(5 * time.Second) // past the window
	a.Warn("count served requests", "err", "connection refused")
	if !strings.Contains(buf.String(), "suppressed=9") {
		t.Fatalf("the next warning should count the 9 dropped ones: %s", buf.String())
	}
}
