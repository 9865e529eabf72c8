package gateway

import (
	"testing"
	"time"
)

func testPool(n int, od outlierConfig) *pool {
	p := &pool{od: od}
	for i := 0; i < n; i++ {
		p.members = append(p.members, newEndpoint("127.0.0.1:1", 1, time.Second))
	}
	return p
}

func TestEjectionBackoffAndMaxFraction(t *testing.T) {
	od := outlierConfig{connFailures: 2, fiveXX: 3, base: time.Second, max: 4 * time.Second, maxPercent: 50}
	p := testPool(4, od)
	now := time.Unix(1000, 0).UnixNano()
	a, b, c := p.members[0], p.members[1], p.members[2]

	p.report(a, now, attemptConnFailure)
	if !a.usable(now) {
		t.Fatal("ejected after one failure; threshold is 2")
	}
	p.report(a, now, attemptConnFailure)
	if a.usable(now) || !a.usable(now+int64(time.Second)) {
		t.Fatal("first ejection should last exactly the base duration")
	}
	for i := 0; i < 3; i++ {
		p.report(b, now, attempt5xx)
	}
	if b.usable(now) {
		t.Fatal("b not ejected after 3 consecutive 5xx")
	}
	for i := 0; i < 3; i++ {
		p.report(c, now, attempt5xx)
	}
	if !c.usable(now) {
		t.Fatal("c ejected although 2 of 4 (50%) are already out")
	}
	// a comes back, fails again: the second ejection is twice as long.
	later := now + int64(time.Second)
	p.report(a, later, attemptConnFailure)
	p.report(a, later, attemptConnFailure)
	if a.usable(later+int64(time.Second)) || !a.usable(later+int64(2*time.Second)) {
		t.Fatal("second ejection should last 2x base")
	}
	// Backoff is capped at max.
	for i := 0; i < 5; i++ {
		later = a.ejectedUntil.Load()
		p.report(a, later, attemptConnFailure)
		p.report(a, later, attemptConnFailure)
	}
	if d := time.Duration(a.ejectedUntil.Load() - later); d != 4*time.Second {
		t.Errorf("capped ejection lasts %v, want 4s", d)
	}
}

func TestPickPrefersLessOutstandingAndSkipsUnusable(t *testing.T) {
	p := testPool(2, resolveOutlier(nil))
	a, b := p.members[0], p.members[1]
	a.outstanding.Store(10)
	for i := 0; i < 100; i++ {
		if p.pick(0, nil) != b {
			t.Fatal("P2C with two members must pick the less loaded one")
		}
	}
	b.healthy.Store(false)
	if p.pick(0, nil) != a {
		t.Fatal("unhealthy member picked")
	}
	if p.pick(0, a) != nil {
		t.Fatal("excluded member picked")
	}
}

func TestTokenBucketRetryAfter(t *testing.T) {
	clk := newFakeClock()
	tb := newTokenBucket(clk, RateLimit{RequestsPerSecond: 0.5, Burst: 2})
	for i := 0; i < 2; i++ {
		if ok, _ := tb.allow(); !ok {
			t.Fatalf("burst request %d refused", i)
		}
	}
	ok, wait := tb.allow()
	if ok || wait != 2 {
		t.Fatalf("over the limit: ok=%v retry-after=%d, want false, 2", ok, wait)
	}
	clk.Advance(2 * time.Second)
	if ok, _ := tb.allow(); !ok {
		t.Fatal("token not refilled after 2s at 0.5 rps")
	}
}
