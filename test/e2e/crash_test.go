package e2e

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shipsafe/shipsafe/internal/dataplane"
)

// crashCanary has several weight steps and pauses and a background analysis, so the
// control plane can be killed while replicas start, while weights move, mid-pause, while
// analysis measures and while the old stable scales down.
const crashCanary = `    canary:
      stableService: s
      canaryService: c
      trafficRouting:
        plugins: {shipsafe/gateway: {}}
      scaleDownDelaySeconds: 2
      analysis:
        templates:
        - templateName: crash-errors
      steps:
      - setWeight: 20
      - pause: {duration: 3s}
      - setWeight: 40
      - pause: {duration: 3s}
      - setWeight: 60
      - pause: {duration: 3s}
      - setWeight: 80
      - pause: {duration: 3s}`

const crashSteps = 8

// crashAnalysis fails the canary on any server error the gateway saw from it.
const crashAnalysis = `apiVersion: shipsafe.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: crash-errors
spec:
  metrics:
  - name: error-rate
    interval: 2s
    initialDelay: 2s
    successCondition: result <= 0.01
    inconclusiveLimit: 30
    provider:
      builtin:
        metric: error-rate
        window: 10s
`

// killPoint is a moment of the canary: once the rollout has reached step (-1: right after
// the apply), wait after, SIGKILL the control plane, stay down for down, restart.
type killPoint struct {
	step  int32
	after time.Duration
	down  time.Duration
	what  string
	// until, when set, must also hold of the rollout (given the canary's hash).
	until func(c *cluster, v controlplaneView, canary string) bool
}

// oldDraining holds while the engine has scaled the old stable to 0 and its replicas are
// still recorded by the platform (draining or stopping; the view no longer counts them).
func oldDraining(c *cluster, v controlplaneView, canary string) bool {
	for _, r := range v.Revisions {
		if r.Hash != canary && r.Desired > 0 {
			return false
		}
	}
	return len(c.servicePIDs(v.Name, "")) > len(c.servicePIDs(v.Name, canary))
}

var killPoints = []killPoint{
	{-1, 0, 0, "right after the apply, before or during the first pass", nil},
	{0, 300 * time.Millisecond, 500 * time.Millisecond, "setWeight 20: canary replica starting", nil},
	{1, 0, 0, "first pause just began", nil},
	{1, 1500 * time.Millisecond, 1500 * time.Millisecond, "mid-pause; the pause ends while down", nil},
	{2, 0, 300 * time.Millisecond, "setWeight 40: second canary replica", nil},
	{3, 800 * time.Millisecond, 0, "second pause, analysis measuring", nil},
	{4, 0, time.Second, "setWeight 60", nil},
	{6, 0, 0, "setWeight 80: third canary replica", nil},
	{crashSteps, 0, 0, "steps done: old stable waiting for scale-down", nil},
	{crashSteps, 0, 500 * time.Millisecond, "old stable scaled to 0, draining", oldDraining},
}

// TestControlPlaneKilledTenTimesDuringCanary runs the same canary twice under traffic
// through the gateway: once uninterrupted, once with the control plane SIGKILLed at ten
// moments and restarted on the same data dir each time. Traffic must never stop (0 failed
// requests), every restart must adopt the data plane and resume from the stored status,
// and the killed run must end exactly like the uninterrupted one.
func TestControlPlaneKilledTenTimesDuringCanary(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end")
	}
	c := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	// The canary the kills are timed on, and a blue-green rollout switched at the same
	// time, so kills also land in its preview, switch and scale-down.
	const name, bg = "crashy", "crashbg"
	c.apply(crashAnalysis)
	v1 := detectorRollout(name, 3, "v1", "", crashCanary)
	bg1 := detectorRollout(bg, 2, "v1", "", blueGreenStrategy)
	c.apply(v1)
	c.apply(bg1)
	c.waitFor(ctx, name, "healthy on v1", stableIs(hashOf(t, v1)))
	c.waitFor(ctx, bg, "healthy on v1", stableIs(hashOf(t, bg1)))
	dp, err := dataplane.ReadState(c.dir)
	if err != nil {
		t.Fatal(err)
	}

	tr := startTraffic(ctx, t, c.gateway, name, 120)
	trBG := startTraffic(ctx, t, c.gateway, bg, 60)
	time.Sleep(2 * time.Second)

	// The uninterrupted run.
	ref := detectorRollout(name, 3, "v1", "--max-batch 512", crashCanary)
	refBG := detectorRollout(bg, 2, "v1", "--max-batch 512", blueGreenStrategy)
	refHash := hashOf(t, ref)
	began := time.Now()
	t.Logf("uninterrupted canary starts [traffic %.1fs]", began.Sub(tr.start).Seconds())
	c.apply(ref)
	c.apply(refBG)
	want := c.settledEndState(ctx, name, refHash, 3)
	t.Logf("uninterrupted canary to %s settled in %v: %+v", refHash, time.Since(began).Round(100*time.Millisecond), want)
	wantBG := c.settledEndState(ctx, bg, hashOf(t, refBG), 2)
	t.Logf("uninterrupted blue-green: %+v", wantBG)

	// The same canary, killed ten times.
	next := detectorRollout(name, 3, "v1", "--max-batch 256", crashCanary)
	nextBG := detectorRollout(bg, 2, "v1", "--max-batch 256", blueGreenStrategy)
	nextHash := hashOf(t, next)
	began = time.Now()
	t.Logf("killed canary starts [traffic %.1fs]", began.Sub(tr.start).Seconds())
	c.apply(next)
	c.apply(nextBG)
	lastStep := int32(-1)
	for i, kp := range killPoints {
		if kp.step >= 0 {
			c.waitFor(ctx, name, fmt.Sprintf("at step %d of %s", kp.step, nextHash), func(v controlplaneView) bool {
				return v.Status.CurrentPodHash == nextHash && stepOf(v) >= kp.step
			})
		}
		if kp.until != nil {
			// A short window: look for it closely, and kill anyway if it was missed.
			deadline := time.Now().Add(10 * time.Second)
			for {
				v, err := c.view(name)
				if err == nil && kp.until(c, v, nextHash) {
					break
				}
				if time.Now().After(deadline) {
					t.Logf("kill %d: did not see %q; killing anyway", i+1, kp.what)
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		time.Sleep(kp.after)
		at, _ := c.view(name)
		step := int32(-1)
		if at.Status.CurrentPodHash == nextHash {
			step = stepOf(at)
		}
		killedAt := time.Now()
		bgAt := "?"
		if v, err := c.view(bg); err == nil {
			bgAt = fmt.Sprintf("%s %s", v.Status.Phase, weightsOf(v, hashOf(t, nextBG)))
		}
		c.kill9()
		time.Sleep(kp.down)
		c.start()
		t.Logf("kill %2d at %5.1fs [traffic %5.1fs] (%s): step %d, weights %s; blue-green %s; restarted after %v down", i+1,
			time.Since(began).Seconds(), killedAt.Sub(tr.start).Seconds(), kp.what, step, weightsOf(at, nextHash), bgAt, kp.down)

		// Resumed: the restarted control plane serves the stored status, which never goes
		// back, and it adopted the running data plane instead of starting another.
		v, err := c.view(name)
		if err != nil {
			t.Fatalf("after restart %d: %v", i+1, err)
		}
		if v.Status.CurrentPodHash == nextHash {
			if s := stepOf(v); s < step || s < lastStep {
				t.Errorf("restart %d: step went back from %d to %d", i+1, max(step, lastStep), s)
			}
			lastStep = max(lastStep, stepOf(v))
		} else if step >= 0 {
			t.Errorf("restart %d: the rollout forgot its canary %s (current %s)", i+1, nextHash, v.Status.CurrentPodHash)
		}
		if cur, err := dataplane.ReadState(c.dir); err != nil || cur.PID != dp.PID || !alive(dp.PID) {
			t.Fatalf("restart %d: the data plane was not adopted (was pid %d, now %+v, err %v)", i+1, dp.PID, cur, err)
		}
	}
	got := c.settledEndState(ctx, name, nextHash, 3)
	t.Logf("canary to %s killed %d times settled in %v: %+v", nextHash, len(killPoints), time.Since(began).Round(100*time.Millisecond), got)
	gotBG := c.settledEndState(ctx, bg, hashOf(t, nextBG), 2)
	t.Logf("blue-green through the same kills: %+v", gotBG)

	s, sBG := tr.stop(), trBG.stop()
	t.Logf("blue-green traffic: %d requests, %d errors; longest gap between answers %v; slowest %v", sBG.Requests, sBG.Errors, sBG.MaxGap.Round(time.Millisecond), sBG.Slowest)
	if !reflect.DeepEqual(gotBG, wantBG) {
		t.Errorf("blue-green end state after %d kills differs from the uninterrupted run:\n got %+v\nwant %+v", len(killPoints), gotBG, wantBG)
	}
	if sBG.MaxGap > 5*time.Second {
		t.Errorf("blue-green traffic stopped: %v without a successful answer", sBG.MaxGap)
	}
	if sBG.Errors != 0 {
		t.Errorf("%d of %d blue-green client requests failed while the control plane was killed", sBG.Errors, sBG.Requests)
	}
	t.Logf("traffic: %d requests, %d errors over %v (by version %v); longest gap between answers %v ending at %v; worst p99 %v; slowest %v",
		s.Requests, s.Errors, s.Elapsed.Round(time.Second), s.ByVersion, s.MaxGap.Round(time.Millisecond),
		s.GapAt.Sub(tr.start).Round(100*time.Millisecond), s.MaxP99.Round(time.Millisecond), s.Slowest)
	// What the restarted control planes had to repair, from their logs.
	c.stop()
	logText := c.log.String()
	for _, what := range []string{"adopted replica", "recorded replica is gone", "killing unrecorded replica", "reconcile failed", "level=ERROR"} {
		t.Logf("control plane log: %3d × %q", strings.Count(logText, what), what)
	}
	for _, line := range strings.Split(logText, "\n") {
		if strings.Contains(line, "unrecorded") || strings.Contains(line, "recorded replica is gone") || strings.Contains(line, "level=ERROR") {
			t.Logf("  %s", line)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("end state after %d kills differs from the uninterrupted run:\n got %+v\nwant %+v", len(killPoints), got, want)
	}
	if s.Requests < 50*int(s.Elapsed.Seconds()) {
		t.Errorf("only %d requests in %v: the test needs steady traffic", s.Requests, s.Elapsed)
	}
	// A generous bound: a loaded 2-core machine stalls for hundreds of ms; a gateway that
	// stopped serving while the control plane was down would show the whole downtime.
	if s.MaxGap > 5*time.Second {
		t.Errorf("traffic stopped: %v without a successful answer", s.MaxGap)
	}
	if s.Errors != 0 {
		t.Fatalf("%d of %d client requests failed while the control plane was killed %d times", s.Errors, s.Requests, len(killPoints))
	}
}

// endState is what a finished canary must look like, with the revision hash left out so
// two runs can be compared.
type endState struct {
	Phase     string
	Step      int32
	Abort     bool
	Stable    string // "new" when the stable is the rolled-out revision
	Revisions []string
	// Live and Recorded count replica processes: found in /proc by the platform's
	// marker, and listed in the platform's state file.
	Live, Recorded int
	Runs           []string
	History        []string
}

// settledEndState waits until the rollout is promoted to hash, the old revisions are gone
// and the replica processes are exactly the desired ones, then describes it.
func (c *cluster) settledEndState(ctx context.Context, name, hash string, replicas int) endState {
	c.t.Helper()
	c.waitFor(ctx, name, "promoted to "+hash, stableIs(hash))
	var st endState
	c.waitFor(ctx, name, "settled on "+hash, func(v controlplaneView) bool {
		for _, r := range v.Revisions {
			if r.Hash != hash && (r.Desired > 0 || r.Replicas > 0) {
				return false
			}
		}
		live, recorded := c.liveReplicaProcsOf(name), c.servicePIDs(name, hash)
		if len(live) != replicas || len(c.servicePIDs(name, "")) != replicas {
			return false
		}
		slices.Sort(live)
		slices.Sort(recorded)
		if !slices.Equal(live, recorded) {
			return false
		}
		for _, a := range v.Analysis {
			if a.Revision == hash && !a.Done {
				return false
			}
		}
		st = c.describeEnd(v, hash, len(live), len(recorded))
		return true
	})
	return st
}

func (c *cluster) describeEnd(v controlplaneView, hash string, live, recorded int) endState {
	c.t.Helper()
	st := endState{Phase: string(v.Status.Phase), Step: stepOf(v), Abort: v.Status.Abort, Stable: v.Status.StableRS, Live: live, Recorded: recorded}
	if st.Stable == hash {
		st.Stable = "new"
	}
	for _, r := range v.Revisions {
		h := r.Hash
		if h == hash {
			h = "new"
		}
		st.Revisions = append(st.Revisions, fmt.Sprintf("%s role=%s desired=%d ready=%d weight=%d", h, r.Role, r.Desired, r.Ready, r.Weight))
	}
	var runs []struct{ Name, Revision, Phase string }
	if _, err := c.call("GET", "/api/v1/rollouts/"+v.Name+"/analysisruns", nil, &runs); err != nil {
		c.t.Fatal(err)
	}
	for _, r := range runs {
		if r.Revision == hash {
			st.Runs = append(st.Runs, strings.ReplaceAll(r.Name, hash, "new")+" "+r.Phase)
		}
	}
	slices.Sort(st.Runs)
	var history []struct{ Revision, Outcome string }
	if _, err := c.call("GET", "/api/v1/rollouts/"+v.Name+"/history", nil, &history); err != nil {
		c.t.Fatal(err)
	}
	for _, h := range history {
		if h.Revision == hash {
			st.History = append(st.History, h.Outcome)
		}
	}
	return st
}

func stepOf(v controlplaneView) int32 {
	if v.Status.CurrentStepIndex == nil {
		return -1
	}
	return *v.Status.CurrentStepIndex
}

// weightsOf describes the traffic split: the canary's weight and ready replicas.
func weightsOf(v controlplaneView, canary string) string {
	var parts []string
	for _, r := range v.Revisions {
		role := "old"
		if r.Hash == canary {
			role = "canary"
		}
		parts = append(parts, fmt.Sprintf("%s=%d%%(%d/%d ready)", role, r.Weight, r.Ready, r.Desired))
	}
	return strings.Join(parts, " ")
}
