package gateway

import (
	"fmt"
	"testing"
	"time"
)

func TestFeedbackJoinsLateUnknownExpiredDuplicate(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(clk, time.Second, 7200)
	store := newPredictionStore(clk, time.Hour, 1000)
	stable, canary := rec.revision("d", "stable"), rec.revision("d", "canary")

	store.put([]byte("a"), 0, stable, prediction{label: 1, hasLabel: true}, clk.Now())
	store.put([]byte("b"), 0, canary, prediction{label: 0, hasLabel: true}, clk.Now())
	store.put([]byte("c"), 0, canary, prediction{label: 1, hasLabel: true}, clk.Now())

	if res, _, _ := store.label("d", "a", 0, 1); res != feedbackJoined {
		t.Errorf("a: %v", res)
	}
	if res, _, _ := store.label("d", "a", 0, 1); res != feedbackDuplicate {
		t.Errorf("a again: %v, want duplicate", res)
	}
	if res, _, _ := store.label("d", "zzz", 0, 0); res != feedbackUnknown {
		t.Errorf("zzz: %v, want unknown", res)
	}
	clk.Advance(50 * time.Minute) // late but within the TTL
	if res, served, _ := store.label("d", "b", 0, 1); res != feedbackJoined || served != canary {
		t.Errorf("late b: %v", res)
	}
	clk.Advance(20 * time.Minute) // c is now 70 minutes old
	if res, _, _ := store.label("d", "c", 0, 1); res != feedbackExpired {
		t.Errorf("c after TTL: %v, want expired", res)
	}

	if got := rec.Window("d", "stable", 2*time.Hour).Confusion; got != (ConfusionMatrix{TruePositive: 1}) {
		t.Errorf("stable confusion %+v", got)
	}
	if got := rec.Window("d", "canary", 2*time.Hour).Confusion; got != (ConfusionMatrix{FalseNegative: 1}) {
		t.Errorf("canary confusion %+v", got)
	}
	// Labels are counted when they arrive: the late one is not in the first minutes.
	if got := rec.Snapshot("d", "canary", clk.Now().Add(-10*time.Minute)).Confusion.Total(); got != 0 {
		t.Errorf("late label counted in the wrong window: %d", got)
	}
}

func TestPredictionStoreIsBounded(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(clk, time.Second, 10)
	store := newPredictionStore(clk, time.Hour, 160) // 10 per shard
	rr := rec.revision("d", "r")
	for i := 0; i < 10_000; i++ {
		store.put([]byte(fmt.Sprintf("id-%d", i)), 0, rr, prediction{hasLabel: true}, clk.Now())
	}
	total := 0
	for i := range store.shards {
		total += len(store.shards[i].entries)
	}
	if total > 160 {
		t.Errorf("store holds %d entries, bound is 160", total)
	}
	if res, _, _ := store.label("d", "id-9999", 0, 1); res != feedbackJoined {
		t.Errorf("newest id: %v", res)
	}
	if res, _, _ := store.label("d", "id-0", 0, 1); res != feedbackUnknown {
		t.Errorf("evicted id: %v, want unknown", res)
	}
}

func TestMirrorPairsForMcNemar(t *testing.T) {
	clk := newFakeClock()
	rec := newRecorder(clk, time.Second, 100)
	store := newPredictionStore(clk, time.Hour, 1000)
	stable, canary := rec.revision("d", "stable"), rec.revision("d", "canary")
	// (served, mirror, truth)
	cases := [][3]int64{{1, 1, 1}, {1, 0, 1}, {0, 1, 1}, {0, 0, 1}, {1, 0, 1}}
	for i, c := range cases {
		id := []byte(fmt.Sprint(i))
		store.put(id, 0, stable, prediction{label: c[0], hasLabel: true}, clk.Now())
		store.setMirror(id, 0, canary, prediction{label: c[1], hasLabel: true})
		if res, _, _ := store.label("d", string(id), 0, c[2]); res != feedbackJoined {
			t.Fatalf("%d: %v", i, res)
		}
	}
	m := rec.Window("d", "canary", time.Minute).Mirror
	if m.BothRight != 1 || m.ServedRightMirrorWrong != 2 || m.ServedWrongMirrorRight != 1 || m.BothWrong != 1 {
		t.Errorf("mirror pairs %+v", m)
	}
	if c := rec.Window("d", "canary", time.Minute).Confusion; c.TruePositive != 2 || c.FalseNegative != 3 {
		t.Errorf("mirror revision confusion %+v", c)
	}
}
