package kubernetes

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shipsafe/shipsafe/internal/store"
)

// The deployment history and the audit log are ConfigMaps (records any client can read with
// kubectl, no extra CRD): one per rollout for its history, and the audit log in segments of
// auditSegmentSize entries. Each entry is one data key, its ID zero-padded so keys sort in ID
// order. IDs come from counters in the idsConfigMap, allocated with optimistic concurrency.
const (
	idsConfigMap     = "shipsafe-store-ids"
	auditSegmentSize = 100
	// maxRecord bounds one entry's JSON: its detail is replaced by a note when larger, so a
	// ConfigMap stays far below Kubernetes' 1 MiB (50 history or 100 audit entries at most).
	maxHistoryRecord = 16 << 10
	maxAuditRecord   = 8 << 10
	segmentLabel     = "shipsafe.dev/segment"
)

func idKey(id int64) string { return fmt.Sprintf("%019d", id) }

// allocate reserves n consecutive IDs of counter and returns the first.
func (s *Store) allocate(ctx context.Context, counter string, n int) (int64, error) {
	cms := s.client.CoreV1().ConfigMaps(s.ns)
	var first int64
	err := retryConflicts(ctx, func() error {
		cm, err := cms.Get(ctx, idsConfigMap, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			cm = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: idsConfigMap, Namespace: s.ns,
				Labels: map[string]string{ManagedByLabel: managedBy, RecordLabel: "ids"}},
				Data: map[string]string{counter: strconv.Itoa(n)}}
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), idsConfigMap, err)
			}
			first = 1
			return err
		}
		if err != nil {
			return err
		}
		last, _ := strconv.ParseInt(cm.Data[counter], 10, 64)
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data[counter] = strconv.FormatInt(last+int64(n), 10)
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			return err
		}
		first = last + 1
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("allocate %d %s id(s): %w", n, counter, err)
	}
	return first, nil
}

// updateConfigMap applies change to the named ConfigMap (created with meta when absent and
// create is true), retrying on conflicts.
func (s *Store) updateConfigMap(ctx context.Context, meta metav1.ObjectMeta, create bool, change func(data map[string]string) error) error {
	cms := s.client.CoreV1().ConfigMaps(s.ns)
	return retryConflicts(ctx, func() error {
		cm, err := cms.Get(ctx, meta.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && create {
			cm = &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{}}
			if err := change(cm.Data); err != nil {
				return err
			}
			_, err = cms.Create(ctx, cm, metav1.CreateOptions{})
			if apierrors.IsAlreadyExists(err) {
				return apierrors.NewConflict(corev1.Resource("configmaps"), meta.Name, err)
			}
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		if err := change(cm.Data); err != nil {
			return err
		}
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
}

func recordMeta(name, record string, lbl, ann map[string]string) metav1.ObjectMeta {
	l := map[string]string{ManagedByLabel: managedBy, RecordLabel: record}
	for k, v := range lbl {
		l[k] = v
	}
	return metav1.ObjectMeta{Name: name, Labels: l, Annotations: ann}
}

// labelValue is v when it is a valid label value ("" otherwise: the annotation has it).
func labelValue(v string) string {
	if len(validation.IsValidLabelValue(v)) == 0 {
		return v
	}
	return ""
}

func historyConfigMap(rollout string) string { return DNSName("shipsafe-history." + rollout) }

// RecordHistory implements store.History: the entry in its rollout's history ConfigMap,
// keeping the newest Options.HistoryLimit entries (by ID).
func (s *Store) RecordHistory(ctx context.Context, h store.HistoryEntry) (store.HistoryEntry, error) {
	if h.Rollout == "" || h.Revision == "" {
		return store.HistoryEntry{}, errors.New("record history: rollout and revision: must not be empty")
	}
	if h.StartedAt.IsZero() {
		h.StartedAt = s.now()
	}
	h.StartedAt = h.StartedAt.UTC()
	if !h.EndedAt.IsZero() {
		h.EndedAt = h.EndedAt.UTC()
	}
	if len(h.Detail) > 0 {
		d, err := compactJSON(h.Detail)
		if err != nil {
			return store.HistoryEntry{}, fmt.Errorf("record history of rollout %q: detail: %w", h.Rollout, err)
		}
		h.Detail = json.RawMessage(d)
	}
	s.recordMu.Lock()
	defer s.recordMu.Unlock()
	update := h.ID != 0
	if !update {
		id, err := s.allocate(ctx, "history", 1)
		if err != nil {
			return store.HistoryEntry{}, fmt.Errorf("record history of rollout %q: %w", h.Rollout, err)
		}
		h.ID = id
	}
	b, err := boundedJSON(&h, &h.Detail, maxHistoryRecord)
	if err != nil {
		return store.HistoryEntry{}, fmt.Errorf("record history of rollout %q: %w", h.Rollout, err)
	}
	lbl := map[string]string{}
	if v := labelValue(h.Rollout); v != "" {
		lbl[RolloutLabel] = v
	}
	meta := recordMeta(historyConfigMap(h.Rollout), "history", lbl, map[string]string{RolloutAnnotation: h.Rollout})
	err = s.updateConfigMap(ctx, meta, !update, func(data map[string]string) error {
		k := idKey(h.ID)
		if _, ok := data[k]; update && !ok {
			return fmt.Errorf("history entry %d of rollout %q: %w", h.ID, h.Rollout, store.ErrNotFound)
		}
		data[k] = string(b)
		pruneOldest(data, s.histLimit)
		return nil
	})
	if apierrors.IsNotFound(err) {
		return store.HistoryEntry{}, fmt.Errorf("history entry %d of rollout %q: %w", h.ID, h.Rollout, store.ErrNotFound)
	}
	if err != nil {
		return store.HistoryEntry{}, fmt.Errorf("record history of rollout %q: %w", h.Rollout, err)
	}
	return h, nil
}

// boundedJSON encodes v; when larger than limit, *detail is replaced by a note first.
func boundedJSON(v any, detail *json.RawMessage, limit int) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(b) <= limit {
		return b, err
	}
	*detail = json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(*detail)))
	if b, err = json.Marshal(v); err != nil {
		return nil, err
	}
	if len(b) > limit {
		return nil, fmt.Errorf("record of %d bytes: larger than %d even without its detail", len(b), limit)
	}
	return b, nil
}

// pruneOldest keeps the keep highest keys (IDs) of data.
func pruneOldest(data map[string]string, keep int) {
	if len(data) <= keep {
		return
	}
	keys := slices.Sorted(maps.Keys(data))
	for _, k := range keys[:len(keys)-keep] {
		delete(data, k)
	}
}

// ListHistory implements store.History: newest first (StartedAt, then ID).
func (s *Store) ListHistory(ctx context.Context, rollout string, limit int) ([]store.HistoryEntry, error) {
	var cms []corev1.ConfigMap
	if rollout != "" {
		cm, err := s.client.CoreV1().ConfigMaps(s.ns).Get(ctx, historyConfigMap(rollout), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("list history of rollout %q: %w", rollout, err)
		}
		cms = []corev1.ConfigMap{*cm}
	} else {
		list, err := s.client.CoreV1().ConfigMaps(s.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{ManagedByLabel: managedBy, RecordLabel: "history"}.String()})
		if err != nil {
			return nil, fmt.Errorf("list history in %s: %w", s.ns, err)
		}
		cms = list.Items
	}
	var out []store.HistoryEntry
	for _, cm := range cms {
		for k, v := range cm.Data {
			var h store.HistoryEntry
			if err := json.Unmarshal([]byte(v), &h); err != nil {
				return nil, fmt.Errorf("history configmap %s key %s: %w", cm.Name, k, err)
			}
			if rollout == "" || h.Rollout == rollout {
				out = append(out, h)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].StartedAt.Equal(out[j].StartedAt) {
			return out[i].StartedAt.After(out[j].StartedAt)
		}
		return out[i].ID > out[j].ID
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func checkAudits(entries []store.AuditEntry) error {
	for _, e := range entries {
		if e.Actor == "" || e.Action == "" || e.Target == "" {
			return fmt.Errorf("audit: actor, action and target: must not be empty (got %q, %q, %q)", e.Actor, e.Action, e.Target)
		}
	}
	return nil
}

// Audit implements store.Audit.
func (s *Store) Audit(ctx context.Context, e store.AuditEntry) (store.AuditEntry, error) {
	out, err := s.appendAudits(ctx, []store.AuditEntry{e})
	if err != nil {
		return store.AuditEntry{}, err
	}
	return out[0], nil
}

func auditSegment(seg int64) string { return fmt.Sprintf("shipsafe-audit-%010d", seg) }

// appendAudits stores entries with consecutive IDs in their segments; when a new segment
// starts, segments older than the newest Options.AuditSegments are deleted.
func (s *Store) appendAudits(ctx context.Context, entries []store.AuditEntry) ([]store.AuditEntry, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	if err := checkAudits(entries); err != nil {
		return nil, err
	}
	s.recordMu.Lock()
	defer s.recordMu.Unlock()
	first, err := s.allocate(ctx, "audit", len(entries))
	if err != nil {
		return nil, fmt.Errorf("audit: %w", err)
	}
	bySeg := map[int64]map[string]string{}
	started := false // a segment begins in this batch: time to prune
	out := make([]store.AuditEntry, len(entries))
	for i, e := range entries {
		e.ID = first + int64(i)
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		e.Time = e.Time.UTC()
		if len(e.Detail) > 0 {
			d, err := compactJSON(e.Detail)
			if err != nil {
				return nil, fmt.Errorf("audit %s %s: detail: %w", e.Action, e.Target, err)
			}
			e.Detail = json.RawMessage(d)
		}
		b, err := boundedJSON(&e, &e.Detail, maxAuditRecord)
		if err != nil {
			return nil, fmt.Errorf("audit %s %s: %w", e.Action, e.Target, err)
		}
		seg := (e.ID - 1) / auditSegmentSize
		started = started || (e.ID-1)%auditSegmentSize == 0
		if bySeg[seg] == nil {
			bySeg[seg] = map[string]string{}
		}
		bySeg[seg][idKey(e.ID)] = string(b)
		out[i] = e
	}
	newest := int64(-1)
	for seg, add := range bySeg {
		meta := recordMeta(auditSegment(seg), "audit", map[string]string{segmentLabel: strconv.FormatInt(seg, 10)}, nil)
		err := s.updateConfigMap(ctx, meta, true, func(data map[string]string) error {
			for k, v := range add {
				data[k] = v
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("audit segment %d: %w", seg, err)
		}
		newest = max(newest, seg)
	}
	if started {
		s.pruneAudit(ctx, newest)
	}
	return out, nil
}

// pruneAudit deletes the segments that fell out of the budget (best effort: a failure leaves
// them for the next new segment).
func (s *Store) pruneAudit(ctx context.Context, newest int64) {
	segs, err := s.auditSegments(ctx)
	if err != nil {
		s.log.Warn("audit prune: list segments", "err", err)
		return
	}
	for _, cm := range segs {
		seg, _ := strconv.ParseInt(cm.Labels[segmentLabel], 10, 64)
		if seg <= newest-int64(s.auditSegs) {
			if err := s.client.CoreV1().ConfigMaps(s.ns).Delete(ctx, cm.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				s.log.Warn("audit prune: delete segment", "configmap", cm.Name, "err", err)
			}
		}
	}
}

func (s *Store) auditSegments(ctx context.Context) ([]corev1.ConfigMap, error) {
	list, err := s.client.CoreV1().ConfigMaps(s.ns).List(ctx, metav1.ListOptions{LabelSelector: labels.Set{ManagedByLabel: managedBy, RecordLabel: "audit"}.String()})
	if err != nil {
		return nil, fmt.Errorf("list audit segments in %s: %w", s.ns, err)
	}
	return list.Items, nil
}

// ListAudit implements store.Audit: oldest first, from the segments still kept.
func (s *Store) ListAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	segs, err := s.auditSegments(ctx)
	if err != nil {
		return nil, err
	}
	var out []store.AuditEntry
	for _, cm := range segs {
		seg, _ := strconv.ParseInt(cm.Labels[segmentLabel], 10, 64)
		if (seg+1)*auditSegmentSize <= q.SinceID {
			continue // every ID in it is at most SinceID
		}
		for k, v := range cm.Data {
			var e store.AuditEntry
			if err := json.Unmarshal([]byte(v), &e); err != nil {
				return nil, fmt.Errorf("audit configmap %s key %s: %w", cm.Name, k, err)
			}
			if e.ID > q.SinceID && (q.Target == "" || e.Target == q.Target) && (q.Actor == "" || e.Actor == q.Actor) {
				out = append(out, e)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}
