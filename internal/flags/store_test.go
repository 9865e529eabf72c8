package flags

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

type auditEntry struct{ actor, action, target, detail string }

type fakeAudit struct {
	mu      sync.Mutex
	entries []auditEntry
}

func (a *fakeAudit) Record(_ context.Context, actor, action, target, detail string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.entries = append(a.entries, auditEntry{actor, action, target, detail})
	return nil
}

func (a *fakeAudit) all() []auditEntry {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]auditEntry(nil), a.entries...)
}

const docV1 = `{"flags": {
  "banner": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
  "color": {"state": "ENABLED", "variants": {"red": "red", "blue": "blue"}, "defaultVariant": "red"}
}}`

// docBad names a default variant that does not exist (flagd refuses such a file too; a
// bad targeting rule, by contrast, loads and is only a warning).
const docBad = `{"flags": {
  "banner": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "maybe"}
}}`

// nextEvent waits for the next event that satisfies ok (a deadline, not a sleep).
func nextEvent(t *testing.T, ch <-chan ChangeEvent, ok func(ChangeEvent) bool) ChangeEvent {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-ch:
			if ok(ev) {
				return ev
			}
		case <-deadline:
			t.Fatal("timed out waiting for a change event")
		}
	}
}

func TestStoreKeepsLastGoodSetAndAudits(t *testing.T) {
	ctx := t.Context()
	audit := &fakeAudit{}
	fixed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	s := NewStore(StoreOptions{Audit: audit, Now: func() time.Time { return fixed }})
	events := s.Subscribe(ctx)

	v1, err := s.Load(ctx, []byte(docV1), "file", "", "file.load")
	if err != nil || v1.Version() != 1 {
		t.Fatalf("load: %v %v", v1, err)
	}
	ev := <-events
	if ev.Version != 1 || strings.Join(ev.Changed, ",") != "banner,color" || !ev.Time.Equal(fixed) {
		t.Errorf("first event: %+v", ev)
	}
	if same, _ := s.Load(ctx, []byte(docV1), "file", "", "file.reload"); same != v1 {
		t.Errorf("reloading identical bytes made a new version")
	}

	_, err = s.Load(ctx, []byte(docBad), "file", "", "file.reload")
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Path != "flags.banner.defaultVariant" {
		t.Fatalf("bad load error: %v", err)
	}
	if s.Current() != v1 || s.LastError() == nil {
		t.Errorf("bad load replaced the serving set or forgot the error")
	}
	if ev := <-events; ev.Error == "" || !strings.Contains(ev.Error, "flags.banner.defaultVariant") {
		t.Errorf("bad load event: %+v", ev)
	}

	v2, err := s.PutFlag(ctx, "alice", "color", json.RawMessage(`{"state": "ENABLED", "variants": {"red": "red", "blue": "blue"}, "defaultVariant": "blue"}`))
	if err != nil || v2.Version() != 2 || s.LastError() != nil {
		t.Fatalf("put: %v %v", v2, err)
	}
	if r := s.Current().Evaluate("color", nil); r.Variant != "blue" {
		t.Errorf("after put: %+v", r)
	}
	if ev := <-events; ev.Actor != "alice" || strings.Join(ev.Changed, ",") != "color" || ev.Action != "flag.put" {
		t.Errorf("put event: %+v", ev)
	}
	if _, err := s.PutFlag(ctx, "alice", "broken", json.RawMessage(`{"state": "MAYBE"}`)); err == nil || !strings.Contains(err.Error(), "flags.broken.state") {
		t.Errorf("bad put: %v", err)
	}
	if _, err := s.DeleteFlag(ctx, "bob", "banner"); err != nil {
		t.Fatal(err)
	}
	if r := s.Current().Evaluate("banner", nil); r.ErrorCode != ErrFlagNotFound {
		t.Errorf("after delete: %+v", r)
	}
	if _, err := s.DeleteFlag(ctx, "bob", "banner"); err == nil {
		t.Errorf("deleting a missing flag succeeded")
	}
	got := audit.all()
	if len(got) != 2 || got[0].actor != "alice" || got[0].action != "flag.put" || got[0].target != "color" ||
		got[1].actor != "bob" || got[1].action != "flag.delete" || got[1].target != "banner" {
		t.Errorf("audit entries: %+v", got)
	}
}

func writeAtomically(t *testing.T, path, content string) {
	t.Helper()
	if err := FilePersister(path)(t.Context(), []byte(content)); err != nil {
		t.Fatal(err)
	}
}

func TestWatchFileHotReloadAndBadFile(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	dir := t.TempDir()
	path := filepath.Join(dir, "flags.json")
	if err := os.WriteFile(path, []byte(docV1), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewStore(StoreOptions{})
	if _, err := LoadFile(ctx, s, path); err != nil {
		t.Fatal(err)
	}
	events := s.Subscribe(ctx)
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- WatchFile(ctx, s, path, ready) }()
	t.Cleanup(func() { cancel(); <-done })
	<-ready

	// A bad file (replaced atomically, as editors do): rejected, last good set serves.
	writeAtomically(t, path, docBad)
	ev := nextEvent(t, events, func(ev ChangeEvent) bool { return ev.Error != "" })
	if !strings.Contains(ev.Error, "flags.banner.defaultVariant") {
		t.Errorf("reload error does not name the JSON path: %s", ev.Error)
	}
	if s.Current().Version() != 1 {
		t.Errorf("bad file replaced the serving set")
	}
	if r := s.Current().Evaluate("color", nil); r.Variant != "red" {
		t.Errorf("last good set not serving: %+v", r)
	}

	// A good file written in place: served as version 2.
	good := strings.Replace(docV1, `"defaultVariant": "red"`, `"defaultVariant": "blue"`, 1)
	if err := os.WriteFile(path, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, events, func(ev ChangeEvent) bool { return ev.Error == "" })
	if ev.Version != 2 || strings.Join(ev.Changed, ",") != "color" || ev.Source != "file" {
		t.Errorf("reload event: %+v", ev)
	}
	if r := s.Current().Evaluate("color", nil); r.Variant != "blue" {
		t.Errorf("after reload: %+v", r)
	}
	if s.LastError() != nil {
		t.Errorf("LastError after a good reload: %v", s.LastError())
	}
}

// Readers never see a half-swapped set: evaluations run while versions are swapped in.
func TestConcurrentEvaluationDuringReloads(t *testing.T) {
	ctx := t.Context()
	s := NewStore(StoreOptions{})
	doc := func(def string) []byte {
		return []byte(`{"flags": {"color": {"state": "ENABLED", "variants": {"red": "red", "blue": "blue"}, "defaultVariant": "` + def + `",
		  "targeting": {"fractional": [["red", 50], ["blue", 50]]}}}}`)
	}
	if _, err := s.Load(ctx, doc("red"), "test", "", "load"); err != nil {
		t.Fatal(err)
	}
	sel := Selector{Store: s}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if v, ok := sel.SelectVariant("color", "user-"+string(rune('a'+i%26))); !ok || (v != "red" && v != "blue") {
					t.Errorf("evaluation during reload: %q %v", v, ok)
					return
				}
			}
		}()
	}
	for i := 0; i < 50; i++ {
		def := "red"
		if i%2 == 1 {
			def = "blue"
		}
		if _, err := s.Load(ctx, doc(def), "test", "", "reload"); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if v := s.Current().Version(); v != 50 {
		t.Errorf("version after 50 changing reloads: %d", v)
	}
}

func TestReloadSemantics(t *testing.T) {
	ctx := t.Context()
	s := NewStore(StoreOptions{})
	events := s.Subscribe(ctx)
	withEval := func(domain string) string {
		return `{"$evaluators": {"staff": {"ends_with": [{"var": "email"}, "` + domain + `"]}},
		  "flags": {"f": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
		    "targeting": {"if": [{"$ref": "staff"}, "on", null]}}}}`
	}
	v1, err := s.Load(ctx, []byte(withEval("@a.org")), "file", "", "load")
	if err != nil {
		t.Fatal(err)
	}
	<-events
	// Reformatting only: same content, same version, same ETag, no event.
	compact := strings.Join(strings.Fields(withEval("@a.org")), " ")
	if same, err := s.Load(ctx, []byte(compact), "file", "", "reload"); err != nil || same != v1 {
		t.Errorf("reformatted document made a new version: %v %v", same, err)
	}
	// A change to a shared evaluator changes every flag's behaviour: new version, new ETag.
	v2, err := s.Load(ctx, []byte(withEval("@b.org")), "file", "", "reload")
	if err != nil || v2.Version() != 2 || v2.ETag() == v1.ETag() {
		t.Fatalf("evaluator change: %v %v", v2, err)
	}
	if ev := <-events; strings.Join(ev.Changed, ",") != "f" {
		t.Errorf("evaluator change event: %+v", ev)
	}
	// A bad document, then the good one again: the error clears.
	if _, err := s.Load(ctx, []byte(`{"flags": 1}`), "file", "", "reload"); err == nil {
		t.Fatal("bad document accepted")
	}
	if _, err := s.Load(ctx, []byte(withEval("@b.org")), "file", "", "reload"); err != nil || s.LastError() != nil {
		t.Errorf("error not cleared after the good document came back: %v %v", err, s.LastError())
	}
}

func TestLoadYAMLFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "flags.yaml")
	yamlDoc := "flags:\n  banner:\n    state: ENABLED\n    variants: {\"on\": true, \"off\": false}\n    defaultVariant: \"off\"\n" +
		"    targeting:\n      if:\n        - ends_with: [{var: email}, \"@qa.org\"]\n        - \"on\"\n        - null\n"
	if err := os.WriteFile(path, []byte(yamlDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewStore(StoreOptions{})
	set, err := LoadFile(t.Context(), s, path)
	if err != nil {
		t.Fatal(err)
	}
	c := Context{Attrs: []Attr{{Name: "email", Value: String("x@qa.org")}}}
	if r := set.Evaluate("banner", &c); r.Variant != "on" || r.Reason != ReasonTargetingMatch {
		t.Errorf("YAML flag: %+v", r)
	}
}
