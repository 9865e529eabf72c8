// Package memory is an in-memory store.Store for tests: the same contracts as the SQLite
// store (versions, conflicts, named events, atomic writes), nothing on disk. Fail injects
// errors, and Writes counts writes, so tests can show a lost write or an idle pass.
package memory

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/shipsafe/shipsafe/internal/store"
)

// Store is safe for concurrent use.
type Store struct {
	now func() time.Time

	mu        sync.Mutex
	objects   map[string]store.Rollout // by objectKey
	runs      map[string]store.AnalysisRun
	measures  map[string][]store.Measurement
	events    []store.Event
	names     map[string]bool
	history   []store.HistoryEntry
	audit     []store.AuditEntry
	lastID    int64
	writes    int
	fail      func(op string) error
	beforeOps func(op string)
}

var _ store.Store = (*Store)(nil)

// New returns an empty store using now for the timestamps it assigns (time.Now when nil).
func New(now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{now: now, objects: map[string]store.Rollout{}, runs: map[string]store.AnalysisRun{}, measures: map[string][]store.Measurement{}, names: map[string]bool{}}
}

// Capabilities: everything is atomic (one mutex).
func (s *Store) Capabilities() store.Capabilities {
	return store.Capabilities{AtomicApply: true, AtomicStatus: true}
}

// Fail makes every later write whose operation f returns an error for fail with it
// ("PutRollouts", "UpdateStatus", "DeleteRollout", "PutAnalysisRun", "AppendEvents",
// "RecordHistory", "Audit"); nil clears it.
func (s *Store) Fail(f func(op string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail = f
}

// BeforeWrite runs hook(op) before each write, outside the lock (a concurrent writer).
func (s *Store) BeforeWrite(hook func(op string)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeOps = hook
}

// Writes counts the writes that succeeded.
func (s *Store) Writes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writes
}

// begin runs the hooks and takes the lock for a write.
func (s *Store) begin(op string) error {
	s.mu.Lock()
	hook := s.beforeOps
	s.mu.Unlock()
	if hook != nil {
		hook(op)
	}
	s.mu.Lock()
	if s.fail != nil {
		if err := s.fail(op); err != nil {
			s.mu.Unlock()
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	return nil
}

func encode(v any) (json.RawMessage, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		return slices.Clone(x), nil
	case []byte:
		return slices.Clone(x), nil
	}
	return json.Marshal(v)
}

// GetRollout implements store.Rollouts.
func (s *Store) GetRollout(_ context.Context, name string) (store.Rollout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.objects[name]
	if !ok || strings.Contains(name, "/") {
		return store.Rollout{}, fmt.Errorf("rollout %q: %w", name, store.ErrNotFound)
	}
	return r, nil
}

// ListRollouts implements store.Rollouts.
func (s *Store) ListRollouts(context.Context) ([]store.Rollout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []store.Rollout
	for k, r := range s.objects {
		if !strings.Contains(k, "/") {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetTemplate implements store.Templates.
func (s *Store) GetTemplate(_ context.Context, kind, name string) (store.Rollout, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.objects[kind+"/"+name]
	if !ok || kind == store.KindRollout || kind == "" {
		return store.Rollout{}, fmt.Errorf("%s %q: %w", kind, name, store.ErrNotFound)
	}
	return r, nil
}

// PutRollouts implements store.Rollouts: all or nothing.
func (s *Store) PutRollouts(_ context.Context, puts []store.RolloutPut, audits ...store.AuditEntry) ([]store.Rollout, error) {
	if err := s.begin("PutRollouts"); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	next := map[string]store.Rollout{}
	out := make([]store.Rollout, len(puts))
	now := s.now()
	for i, p := range puts {
		k, err := store.ObjectKey(p.Kind, p.Name)
		if err != nil {
			return nil, err
		}
		spec, err := encode(p.Spec)
		if err != nil || spec == nil || string(spec) == "null" {
			return nil, fmt.Errorf("put %q: spec: must be a JSON value (%v)", p.Name, err)
		}
		status, err := encode(p.Status)
		if err != nil {
			return nil, fmt.Errorf("put %q: status: %w", p.Name, err)
		}
		cur, exists := next[k]
		if !exists {
			cur, exists = s.objects[k]
		}
		switch {
		case p.ExpectedVersion == 0 && exists:
			return nil, fmt.Errorf("create %q: %w", p.Name, store.ErrConflict)
		case p.ExpectedVersion > 0 && !exists:
			return nil, fmt.Errorf("update %q: %w", p.Name, store.ErrNotFound)
		case p.ExpectedVersion > 0 && cur.ResourceVersion != p.ExpectedVersion:
			return nil, fmt.Errorf("update %q: %w: resourceVersion is %d, expected %d", p.Name, store.ErrConflict, cur.ResourceVersion, p.ExpectedVersion)
		}
		if !exists {
			cur = store.Rollout{Name: p.Name, Generation: 1, CreatedAt: now}
		} else {
			if string(cur.Spec) != string(spec) {
				cur.Generation++
			}
		}
		cur.ResourceVersion++
		cur.Spec, cur.UpdatedAt = spec, now
		if status != nil {
			cur.Status = status
		}
		next[k] = cur
		out[i] = cur
	}
	if err := s.auditLocked(audits); err != nil {
		return nil, err
	}
	for k, r := range next {
		s.objects[k] = r
	}
	s.writes++
	return out, nil
}

// UpdateStatus implements store.Rollouts.
func (s *Store) UpdateStatus(_ context.Context, w store.StatusWrite) (store.Rollout, error) {
	if err := s.begin("UpdateStatus"); err != nil {
		return store.Rollout{}, err
	}
	defer s.mu.Unlock()
	cur, ok := s.objects[w.Name]
	if !ok {
		return store.Rollout{}, fmt.Errorf("update status of %q: %w", w.Name, store.ErrNotFound)
	}
	if w.ExpectedVersion != store.AnyVersion && cur.ResourceVersion != w.ExpectedVersion {
		return store.Rollout{}, fmt.Errorf("update status of %q: %w: resourceVersion is %d, expected %d", w.Name, store.ErrConflict, cur.ResourceVersion, w.ExpectedVersion)
	}
	status, err := encode(w.Status)
	if err != nil {
		return store.Rollout{}, fmt.Errorf("update status of %q: %w", w.Name, err)
	}
	for _, a := range w.Audits {
		if err := checkAudit(a); err != nil {
			return store.Rollout{}, err
		}
	}
	cur.Status, cur.UpdatedAt = status, s.now()
	cur.ResourceVersion++
	s.objects[w.Name] = cur
	s.appendLocked(w.Events)
	_ = s.auditLocked(w.Audits)
	s.writes++
	return cur, nil
}

// DeleteRollout implements store.Rollouts.
func (s *Store) DeleteRollout(_ context.Context, name string, expectedVersion int64, audits ...store.AuditEntry) error {
	if err := s.begin("DeleteRollout"); err != nil {
		return err
	}
	defer s.mu.Unlock()
	cur, ok := s.objects[name]
	if !ok {
		return fmt.Errorf("delete %q: %w", name, store.ErrNotFound)
	}
	if expectedVersion != store.AnyVersion && cur.ResourceVersion != expectedVersion {
		return fmt.Errorf("delete %q: %w", name, store.ErrConflict)
	}
	if err := s.auditLocked(audits); err != nil {
		return err
	}
	delete(s.objects, name)
	s.writes++
	return nil
}
