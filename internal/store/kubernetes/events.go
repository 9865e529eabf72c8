package kubernetes

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/internal/store"
)

// Annotations of an Event holding what core/v1 Events have no field for.
const (
	eventNameAnnotation     = "shipsafe.dev/event-name"
	eventTimeAnnotation     = "shipsafe.dev/time"
	eventRevisionAnnotation = "shipsafe.dev/revision"
	eventDataAnnotation     = "shipsafe.dev/data"
)

// maxEventData bounds an event's structured detail (an annotation); larger detail is dropped
// and the event says so, the message stays.
const maxEventData = 16 << 10

func checkEvents(events []store.Event) error {
	for i, e := range events {
		if e.Rollout == "" || e.Reason == "" {
			return fmt.Errorf("append event %d: rollout and reason: must not be empty", i)
		}
	}
	return nil
}

// AppendEvents implements store.Events: one core/v1 Event per event, named from the event's
// Name (DNS-safe; an unnamed event gets a random name), involvedObject the Rollout. A create
// that finds the name taken means "already stored": skipped. The ID is the Event's
// resourceVersion at creation — an etcd revision, so IDs increase strictly in the order the
// Events became visible and a reader resuming after an ID misses none (the store never
// updates an Event; one edited by someone else would get a new, larger ID).
func (s *Store) AppendEvents(ctx context.Context, events []store.Event) ([]store.Event, error) {
	if err := checkEvents(events); err != nil {
		return nil, err
	}
	uids := map[string]types.UID{}
	out := make([]store.Event, 0, len(events))
	for _, e := range events {
		if _, ok := uids[e.Rollout]; !ok {
			uids[e.Rollout] = s.rolloutUID(ctx, e.Rollout)
		}
		if e.Type == "" {
			e.Type = corev1.EventTypeNormal
		}
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		e.Time = e.Time.UTC()
		ev, err := s.eventObject(e, uids[e.Rollout])
		if err != nil {
			return out, err
		}
		created, err := s.client.CoreV1().Events(s.ns).Create(ctx, ev, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			continue
		}
		if err != nil {
			return out, fmt.Errorf("create event %s for rollout %q: %w", ev.Name, e.Rollout, err)
		}
		if e.ID, err = parseVersion(created.ResourceVersion); err != nil {
			return out, fmt.Errorf("event %s: %w", created.Name, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// rolloutUID is the Rollout's UID for involvedObject ("" when it cannot be read: the
// event is still stored, matched by kind, namespace and name).
func (s *Store) rolloutUID(ctx context.Context, name string) types.UID {
	u, err := s.dyn.Resource(rolloutsGVR).Namespace(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return ""
	}
	return u.GetUID()
}

func (s *Store) eventObject(e store.Event, uid types.UID) (*corev1.Event, error) {
	name := e.Name
	if name == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		name = e.Rollout + "." + hex.EncodeToString(b[:])
	}
	ann := map[string]string{eventTimeAnnotation: e.Time.Format(time.RFC3339Nano)}
	if e.Name != "" {
		ann[eventNameAnnotation] = e.Name
	}
	if e.Revision != "" {
		ann[eventRevisionAnnotation] = e.Revision
	}
	if len(e.Data) > 0 {
		data, err := compactJSON(e.Data)
		if err != nil {
			return nil, fmt.Errorf("event %q of rollout %q: data: %w", e.Reason, e.Rollout, err)
		}
		if len(data) > maxEventData {
			data = fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(data))
		}
		ann[eventDataAnnotation] = data
	}
	t := metav1.NewTime(e.Time)
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: DNSName(name), Namespace: s.ns, Labels: map[string]string{ManagedByLabel: managedBy}, Annotations: ann},
		InvolvedObject: corev1.ObjectReference{APIVersion: v1alpha1.ArgoGroupVersion, Kind: v1alpha1.KindRollout,
			Namespace: s.ns, Name: e.Rollout, UID: uid},
		Reason: e.Reason, Message: e.Message, Type: e.Type, Count: 1,
		FirstTimestamp: t, LastTimestamp: t, Source: corev1.EventSource{Component: s.component},
	}, nil
}

func compactJSON(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	b, err := json.Marshal(v)
	return string(b), err
}

// ListEvents implements store.Events: the namespace's shipsafe Events (of q.Rollout), in ID
// order. Events live as long as the API server keeps them (--event-ttl, 1h by default).
func (s *Store) ListEvents(ctx context.Context, q store.EventQuery) ([]store.Event, error) {
	opts := metav1.ListOptions{LabelSelector: labels.Set{ManagedByLabel: managedBy}.String()}
	if q.Rollout != "" {
		opts.FieldSelector = fields.Set{"involvedObject.kind": v1alpha1.KindRollout, "involvedObject.name": q.Rollout}.String()
	}
	list, err := s.client.CoreV1().Events(s.ns).List(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("list events in %s: %w", s.ns, err)
	}
	out := make([]store.Event, 0, len(list.Items))
	for i := range list.Items {
		e, err := eventOf(&list.Items[i])
		if err != nil {
			return nil, err
		}
		if e.ID > q.SinceID {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func eventOf(ev *corev1.Event) (store.Event, error) {
	id, err := parseVersion(ev.ResourceVersion)
	if err != nil {
		return store.Event{}, fmt.Errorf("event %s: %w", ev.Name, err)
	}
	e := store.Event{ID: id, Name: ev.Annotations[eventNameAnnotation], Rollout: ev.InvolvedObject.Name, Type: ev.Type,
		Reason: ev.Reason, Message: ev.Message, Revision: ev.Annotations[eventRevisionAnnotation], Time: ev.FirstTimestamp.UTC()}
	if t, err := time.Parse(time.RFC3339Nano, ev.Annotations[eventTimeAnnotation]); err == nil {
		e.Time = t.UTC()
	}
	if d := ev.Annotations[eventDataAnnotation]; d != "" {
		e.Data = json.RawMessage(d)
	}
	return e, nil
}

// DNSName makes name a valid object name (a DNS subdomain: lowercase alphanumerics, '-' and
// '.', at most 253). A name already valid is kept; any other is mapped and suffixed with a
// hash of the original, so two different names never meet.
func DNSName(name string) string {
	if len(validation.IsDNS1123Subdomain(name)) == 0 {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := hex.EncodeToString(sum[:5])
	mapped := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '-':
			return r
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return '-'
	}, name)
	var parts []string
	for _, p := range strings.Split(mapped, ".") {
		if p = strings.Trim(p, "-"); p != "" {
			parts = append(parts, p)
		}
	}
	mapped = strings.Join(parts, ".")
	if max := validation.DNS1123SubdomainMaxLength - len(suffix) - 1; len(mapped) > max {
		mapped = strings.TrimRight(mapped[:max], "-.")
	}
	if mapped == "" {
		return "x-" + suffix
	}
	return mapped + "-" + suffix
}
