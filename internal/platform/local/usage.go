package local

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// cpuSample is the CPU time of a replica's process group at one moment.
type cpuSample struct {
	pgid  int
	ticks uint64
	at    time.Time
}

// usageSampler keeps the previous sample per replica so CPU is reported as a rate
// over the interval between two Usage calls.
type usageSampler struct {
	mu      sync.Mutex
	samples map[string]cpuSample // replica ID -> last sample
}

// Usage sums CPU and resident memory over the process groups of the revision's
// replicas, read from /proc/<pid>/stat and /proc/<pid>/status. CPU is the average rate
// since the previous Usage call for the same replica (since the process started on the
// first call), so callers that poll get the rate over their polling interval.
func (p *Platform) Usage(ctx context.Context, svc, rev string) (platform.Usage, error) {
	if err := ctx.Err(); err != nil {
		return platform.Usage{}, err
	}
	type target struct {
		id      string
		started time.Time
	}
	groups := map[int]target{}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return platform.Usage{}, ErrClosed
	}
	var rv *revision
	if s := p.services[svc]; s != nil {
		rv = s.revisions[rev]
	}
	if rv == nil {
		p.mu.Unlock()
		return platform.Usage{}, fmt.Errorf("usage of %s/%s: no such revision on the local platform", svc, rev)
	}
	for _, r := range rv.replicas {
		st := r.snapshot()
		if st.PID > 0 {
			groups[st.PID] = target{id: r.id, started: st.StartedAt}
		}
	}
	p.mu.Unlock()

	var u platform.Usage
	if len(groups) == 0 {
		return u, nil
	}
	ticks := map[int]uint64{}
	var scanned map[int]procStat // full /proc scan, only when the children files are missing
	for pgid := range groups {
		members, ok := groupTree(p.opts.ProcRoot, pgid)
		if !ok {
			if scanned == nil {
				all, err := scanProcs(p.opts.ProcRoot)
				if err != nil {
					return u, fmt.Errorf("usage of %s/%s: %w", svc, rev, err)
				}
				scanned = all
			}
			members = map[int]procStat{}
			for pid, st := range scanned {
				if st.PGID == pgid {
					members[pid] = st
				}
			}
		}
		for pid, st := range members {
			ticks[pgid] += st.UTime + st.STime
			if rss, err := readRSS(p.opts.ProcRoot, pid); err == nil {
				u.RSSBytes += rss
			}
			u.Processes++
		}
	}
	now := p.clock.Now()
	p.usage.mu.Lock()
	defer p.usage.mu.Unlock()
	for pgid, t := range groups {
		cur, ok := ticks[pgid]
		if !ok {
			continue
		}
		prev, had := p.usage.samples[t.id]
		var secs, dt float64
		if had && prev.pgid == pgid && now.Sub(prev.at) >= 50*time.Millisecond {
			if cur > prev.ticks {
				secs = float64(cur-prev.ticks) / userHZ
			}
			dt = now.Sub(prev.at).Seconds()
		} else {
			// First look at this process (or called again within 50ms, too short to
			// measure): the average since the process started.
			secs = float64(cur) / userHZ
			dt = now.Sub(t.started).Seconds()
			if had && prev.pgid == pgid {
				if dt > 0 {
					u.CPUCores += secs / dt
				}
				continue
			}
		}
		if dt > 0 {
			u.CPUCores += secs / dt
		}
		p.usage.samples[t.id] = cpuSample{pgid: pgid, ticks: cur, at: now}
	}
	return u, nil
}
