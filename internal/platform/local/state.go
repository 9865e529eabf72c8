package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/shipsafe/shipsafe/internal/platform"
)

// stateFileName is the platform's record of what it runs, in the data dir.
const stateFileName = "state.json"

const stateVersion = 1

// stateFile is what a later Open needs to adopt the replicas: every revision's spec
// and desired count, and every replica's slot (ID, ports, log) and process identity.
type stateFile struct {
	Version  int                                   `json:"version"`
	Services map[string]map[string]*revisionRecord `json:"services"`
}

type revisionRecord struct {
	Desired         int                    `json:"desired"`
	MinReadySeconds int32                  `json:"minReadySeconds,omitempty"`
	Listed          bool                   `json:"listed"`
	WorkDir         string                 `json:"workDir"`
	NextSeq         int                    `json:"nextSeq"`
	Template        corev1.PodTemplateSpec `json:"template"`
	Replicas        []replicaRecord        `json:"replicas"`
}

type replicaRecord struct {
	ID              string       `json:"id"`
	Seq             int          `json:"seq"`
	Ports           replicaPorts `json:"ports"`
	LogPath         string       `json:"logPath"`
	PID             int          `json:"pid,omitempty"`
	StartTicks      uint64       `json:"startTicks,omitempty"` // /proc/<pid>/stat starttime: pid identity
	StartedAt       time.Time    `json:"startedAt,omitzero"`
	ReadySince      time.Time    `json:"readySince,omitzero"` // keeps availability across adoption
	Restarts        int          `json:"restarts,omitempty"`
	Streak          int          `json:"streak,omitempty"`
	LastTermination string       `json:"lastTermination,omitempty"`
	Terminating     bool         `json:"terminating,omitempty"`
}

// saveStateLogged saves and logs a failure: supervisors cannot return errors, and a
// stale state file only costs a restart of the replicas it misses.
func (p *Platform) saveStateLogged() {
	if err := p.saveState(); err != nil {
		p.log.Error("save local platform state", "err", err)
	}
}

// saveState writes the state file atomically (temp file + rename). It need not be
// fsynced: it describes processes, which do not survive a machine crash either.
func (p *Platform) saveState() error {
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	sf := stateFile{Version: stateVersion, Services: map[string]map[string]*revisionRecord{}}
	p.mu.Lock()
	for svc, s := range p.services {
		revs := map[string]*revisionRecord{}
		for name, rv := range s.revisions {
			rec := &revisionRecord{
				Desired: rv.spec.Replicas, MinReadySeconds: rv.spec.MinReadySeconds, Listed: rv.listed,
				WorkDir: rv.workDir, NextSeq: rv.nextSeq, Template: rv.spec.Template,
				Replicas: []replicaRecord{},
			}
			for _, r := range rv.replicas {
				rec.Replicas = append(rec.Replicas, r.record())
			}
			slices.SortFunc(rec.Replicas, func(a, b replicaRecord) int { return a.Seq - b.Seq })
			revs[name] = rec
		}
		sf.Services[svc] = revs
	}
	p.mu.Unlock()
	data, err := json.MarshalIndent(sf, "", "  ")
	if err != nil {
		return fmt.Errorf("encode local platform state: %w", err)
	}
	if bytes.Equal(data, p.lastSaved) {
		return nil // an idempotent Apply (every reconcile) writes nothing
	}
	path := filepath.Join(p.dataDir, stateFileName)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	p.lastSaved = data
	return nil
}

func (r *replica) record() replicaRecord {
	r.mu.Lock()
	defer r.mu.Unlock()
	return replicaRecord{
		ID: r.id, Seq: r.seq, Ports: r.ports, LogPath: r.logPath,
		PID: r.st.PID, StartTicks: r.startTicks, StartedAt: r.st.StartedAt, ReadySince: r.st.ReadySince,
		Restarts: r.st.Restarts, Streak: r.streak, LastTermination: r.st.LastTermination,
		Terminating: r.stopping,
	}
}

// restore loads the state file, adopts live replicas, kills unrecorded ones carrying
// this data dir's marker, and starts a supervisor for every replica slot.
func (p *Platform) restore() error {
	path := filepath.Join(p.dataDir, stateFileName)
	var sf stateFile
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return fmt.Errorf("read %s: %w", path, err)
	default:
		if err := json.Unmarshal(data, &sf); err != nil {
			return fmt.Errorf("parse %s: %w", path, err)
		}
		if sf.Version != stateVersion {
			return fmt.Errorf("%s: version %d, want %d", path, sf.Version, stateVersion)
		}
	}
	type pending struct {
		r          *replica
		adopted    *process
		stop       bool
		readySince time.Time
	}
	var starts []pending
	adoptedGroups := map[int]bool{}
	p.mu.Lock()
	for svc, revs := range sf.Services {
		s := &service{revisions: map[string]*revision{}}
		p.services[svc] = s
		for name, rec := range revs {
			rv := &revision{
				svc: svc, name: name, listed: rec.Listed, workDir: rec.WorkDir, nextSeq: rec.NextSeq,
				replicas: map[string]*replica{},
				spec: platform.Revision{
					Name: name, Template: rec.Template, Replicas: rec.Desired, MinReadySeconds: rec.MinReadySeconds,
				},
			}
			s.revisions[name] = rv
			for _, rr := range rec.Replicas {
				r := p.replicaFromRecord(rv, rr)
				rv.replicas[rr.ID] = r
				var h *process
				if rr.PID > 0 && processAlive(p.opts.ProcRoot, rr.PID, rr.StartTicks) {
					h = watchAdopted(p.opts.ProcRoot, rr.PID, rr.StartTicks, rr.StartedAt, p.opts.PollInterval)
					adoptedGroups[rr.PID] = true
					r.st.Phase = platform.PhaseStarting
					r.st.Message = "adopted; waiting for readiness"
					p.log.Info("adopted replica", "replica", rr.ID, "pid", rr.PID)
				} else {
					r.st.PID = 0
					r.startTicks = 0
					if rr.PID > 0 && !rr.Terminating {
						r.st.Restarts++
						r.st.LastTermination = "exited while no platform watched it"
						p.log.Warn("recorded replica is gone; restarting it", "replica", rr.ID, "pid", rr.PID)
					}
					r.st.Phase = platform.PhaseStarting
				}
				starts = append(starts, pending{r: r, adopted: h, stop: rr.Terminating, readySince: rr.ReadySince})
			}
		}
	}
	p.mu.Unlock()
	var adopted []adoptedReplica
	for _, ps := range starts {
		if ps.adopted != nil && !ps.stop {
			adopted = append(adopted, adoptedReplica{ps.r, ps.adopted, ps.readySince})
		}
	}
	p.probeAdopted(adopted)
	if err := p.killOrphans(adoptedGroups); err != nil {
		p.log.Warn("sweep unrecorded replica processes", "err", err)
	}
	p.mu.Lock()
	for _, ps := range starts {
		if ps.stop {
			ps.r.requestStop()
		}
		p.startSupervisor(ps.r, ps.adopted)
	}
	for svc, s := range p.services {
		for _, rv := range s.revisions {
			p.reconcileLocked(rv)
		}
		p.dropEmptyLocked(svc)
	}
	p.mu.Unlock()
	return p.saveState()
}

// killOrphans SIGKILLs the process group of every process whose environment marks it as
// a replica of this data dir but which is not an adopted replica.
func (p *Platform) killOrphans(adopted map[int]bool) error {
	pids, err := listPIDs(p.opts.ProcRoot)
	if err != nil {
		return err
	}
	self := syscall.Getpgrp()
	for _, pid := range pids {
		env := readEnviron(p.opts.ProcRoot, pid)
		if env[EnvDataDir] != p.dataDir {
			continue
		}
		st, err := readProcStat(p.opts.ProcRoot, pid)
		if err != nil || st.dead() || adopted[st.PGID] || st.PGID == self {
			continue
		}
		p.log.Warn("killing unrecorded replica process", "pid", pid, "pgid", st.PGID, "replica", env[EnvReplica])
		if err := signalGroup(st.PGID, syscall.SIGKILL); err != nil {
			p.log.Warn("kill unrecorded replica", "pgid", st.PGID, "err", err)
		}
	}
	return nil
}

type adoptedReplica struct {
	r          *replica
	h          *process
	readySince time.Time // as recorded: availability (minReadySeconds) carries over
}

// probeAdopted runs one readiness probe on every adopted replica, in parallel, before
// Open returns: replicas that pass count as ready at once, so a control plane restarted
// under traffic never sees its serving replicas as unready and routes around them.
func (p *Platform) probeAdopted(adopted []adoptedReplica) {
	var wg sync.WaitGroup
	for _, a := range adopted {
		tpl, _ := a.r.template()
		c := &tpl.Spec.Containers[0]
		if c.ReadinessProbe == nil {
			continue
		}
		wg.Go(func() {
			if err := p.prober.run(p.base, c.ReadinessProbe, c, a.r.ports, launchSpec{}); err == nil {
				a.h.readyOnAdoption = true
				a.r.setReady(true, "")
				if !a.readySince.IsZero() {
					a.r.mu.Lock()
					a.r.st.ReadySince = a.readySince
					a.r.mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
}
