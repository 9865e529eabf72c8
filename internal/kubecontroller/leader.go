package kubecontroller

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// campaign runs leader elections until ctx ends: while this replica holds the Lease it runs
// the control loop; when it loses the Lease it stops the loop, waits for it to have stopped,
// and campaigns again. On ctx cancel the loop is stopped first and the Lease released after,
// so the next leader never overlaps a reconcile of this one.
func (c *Controller) campaign(ctx context.Context) error {
	renew, retry := timings(c.opts.LeaseDuration)
	for ctx.Err() == nil {
		lock := &resourcelock.LeaseLock{
			LeaseMeta:  metav1.ObjectMeta{Name: c.opts.LeaseName, Namespace: c.opts.Namespace},
			Client:     c.client.CoordinationV1(),
			LockConfig: resourcelock.ResourceLockConfig{Identity: c.opts.Identity},
		}
		// The elector's own context is cancelled only once the loop has stopped (or was
		// never started), since ReleaseOnCancel releases the Lease as soon as it ends.
		elCtx, elCancel := context.WithCancel(context.WithoutCancel(ctx))
		var mu sync.Mutex
		started := false
		termDone := make(chan struct{})
		stopWatch := context.AfterFunc(ctx, func() {
			mu.Lock()
			defer mu.Unlock()
			if !started {
				elCancel()
			}
		})
		le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
			Lock:            lock,
			Name:            c.opts.LeaseName,
			LeaseDuration:   c.opts.LeaseDuration,
			RenewDeadline:   renew,
			RetryPeriod:     retry,
			ReleaseOnCancel: true,
			Callbacks: leaderelection.LeaderCallbacks{
				OnStartedLeading: func(lctx context.Context) {
					defer elCancel()
					mu.Lock()
					if ctx.Err() != nil {
						mu.Unlock()
						close(termDone)
						return
					}
					started = true
					mu.Unlock()
					defer close(termDone)
					termCtx, cancel := context.WithCancel(lctx)
					defer cancel()
					stop := context.AfterFunc(ctx, cancel)
					defer stop()
					c.lead(termCtx)
				},
				OnStoppedLeading: func() {},
				OnNewLeader: func(identity string) {
					c.mu.Lock()
					c.leader = identity
					c.mu.Unlock()
					c.log.Info("leader observed", "leader", identity)
				},
			},
		})
		if err != nil {
			stopWatch()
			elCancel()
			return fmt.Errorf("leader election on lease %s/%s: %w", c.opts.Namespace, c.opts.LeaseName, err)
		}
		le.Run(elCtx)
		stopWatch()
		mu.Lock()
		wasStarted := started
		mu.Unlock()
		if wasStarted {
			<-termDone
		}
		elCancel()
		if ctx.Err() == nil {
			c.log.Warn("lost the lease; campaigning again")
		}
	}
	return nil
}

// lead runs one leadership term's control loop until ctx ends.
func (c *Controller) lead(ctx context.Context) {
	cp, err := c.newControlPlane()
	if err != nil {
		// New only checks options fixed at construction, so this cannot happen at run time.
		c.log.Error("control plane", "err", err)
		return
	}
	c.setLeading(true)
	c.log.Info("leading: control loop started")
	c.waker.set(ctx, cp)
	defer func() {
		c.waker.set(nil, nil)
		c.setLeading(false)
		c.log.Info("control loop stopped")
	}()
	// Everything observed before the term is stale to this loop: it lists the store itself.
	if err := cp.Run(ctx); err != nil {
		c.log.Error("control loop", "err", err)
	}
}

func (c *Controller) setLeading(v bool) {
	c.mu.Lock()
	c.leading = v
	if v {
		c.leader = c.opts.Identity
	}
	c.mu.Unlock()
	c.metrics.setLeader(v)
}

// timings derives the renew deadline and retry period from the lease duration in the
// proportions client-go's own components use (15s / 10s / 2s).
func timings(lease time.Duration) (renew, retry time.Duration) {
	renew = lease * 2 / 3
	retry = lease * 2 / 15
	if retry < 50*time.Millisecond {
		retry = 50 * time.Millisecond
	}
	return renew, retry
}

func randomSuffix() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
