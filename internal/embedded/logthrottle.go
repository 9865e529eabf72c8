package embedded

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// throttle is a slog.Handler that lets through one warning (or error) per message and
// subject per window and drops the repeats, counting them into the next one it lets
// through ("suppressed"). A control plane that cannot reach its data plane otherwise logs
// the same warning every pass of every rollout.
type throttle struct {
	next slog.Handler
	// key holds the subject attributes bound with WithAttrs (and groups).
	key string
	st  *throttleState
}

type throttleState struct {
	window time.Duration
	now    func() time.Time
	mu     sync.Mutex
	seen   map[string]*throttled
}

type throttled struct {
	last    time.Time
	dropped int
}

func newThrottle(next slog.Handler, window time.Duration, now func() time.Time) *throttle {
	return &throttle{next: next, st: &throttleState{window: window, now: now, seen: map[string]*throttled{}}}
}

func (h *throttle) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *throttle) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	var b strings.Builder
	b.WriteString(h.key)
	b.WriteString("|")
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		subjectKey(&b, a)
		return true
	})
	key := b.String()
	now := h.st.now()
	h.st.mu.Lock()
	e := h.st.seen[key]
	if e != nil && now.Sub(e.last) < h.st.window {
		e.dropped++
		h.st.mu.Unlock()
		return nil
	}
	dropped := 0
	if e == nil {
		e = &throttled{}
		h.st.seen[key] = e
		h.st.pruneLocked(now)
	}
	dropped, e.dropped, e.last = e.dropped, 0, now
	h.st.mu.Unlock()
	if dropped > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("suppressed", dropped))
	}
	return h.next.Handle(ctx, r)
}

// pruneLocked forgets quiet subjects so the map stays small over a long run.
func (s *throttleState) pruneLocked(now time.Time) {
	if len(s.seen) < 1024 {
		return
	}
	for k, e := range s.seen {
		if now.Sub(e.last) >= s.window && e.dropped == 0 {
			delete(s.seen, k)
		}
	}
}

func (h *throttle) WithAttrs(attrs []slog.Attr) slog.Handler {
	var b strings.Builder
	b.WriteString(h.key)
	for _, a := range attrs {
		subjectKey(&b, a)
	}
	return &throttle{next: h.next.WithAttrs(attrs), key: b.String(), st: h.st}
}

func (h *throttle) WithGroup(name string) slog.Handler {
	return &throttle{next: h.next.WithGroup(name), key: h.key + "|g:" + name, st: h.st}
}

// subjectKey adds a to the key when it names the warning's subject: the same message
// about two rollouts is two warnings, about one rollout twice a second is one.
func subjectKey(b *strings.Builder, a slog.Attr) {
	switch a.Key {
	case "rollout", "service", "revision", "run":
		b.WriteString("|" + a.Key + "=" + a.Value.String())
	}
}
