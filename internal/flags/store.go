package flags

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// AuditLog records who changed what. The control plane's store implements it.
type AuditLog interface {
	Record(ctx context.Context, actor, action, target, detail string) error
}

// ChangeEvent describes one successful change of the serving flag set, or (Error set) a
// rejected one that left the previous set serving.
type ChangeEvent struct {
	Version uint64    `json:"version"`
	ETag    string    `json:"etag"`
	Time    time.Time `json:"time"`
	Source  string    `json:"source"` // "file", "api", ...
	Actor   string    `json:"actor,omitempty"`
	Action  string    `json:"action"`
	Changed []string  `json:"changed,omitempty"`
	Error   string    `json:"error,omitempty"`
}

// StoreOptions configure a Store.
type StoreOptions struct {
	Audit  AuditLog         // optional
	Logger *slog.Logger     // optional
	Now    func() time.Time // default time.Now
	// Persist, when set, receives every document accepted through the change API before it
	// is served (e.g. to write it back to the watched file).
	Persist func(ctx context.Context, document []byte) error
}

// Store holds the serving FlagSet and swaps in new versions atomically. Readers never
// lock: Current is one atomic load.
type Store struct {
	cur     atomic.Pointer[FlagSet]
	opts    StoreOptions
	mu      sync.Mutex // serialises writers and guards the fields below
	version uint64
	lastErr error
	subs    map[chan ChangeEvent]struct{}
}

// NewStore returns an empty store (Current is nil until the first successful Load).
func NewStore(opts StoreOptions) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Store{opts: opts, subs: map[chan ChangeEvent]struct{}{}}
}

// Current returns the serving flag set, or nil if none has loaded.
func (s *Store) Current() *FlagSet { return s.cur.Load() }

// LastError returns the error of the most recent rejected load (nil after a good one).
func (s *Store) LastError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastErr
}

// Load compiles document and, if it is valid, serves it. An invalid document changes
// nothing: the previous set keeps serving and the error (with its JSON path) is returned,
// remembered in LastError, logged and published as a ChangeEvent with Error set.
// Loading a document identical to the serving one is a no-op.
func (s *Store) Load(ctx context.Context, document []byte, source, actor, action string) (*FlagSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx, document, source, actor, action, "flags", false)
}

// loadLocked compiles and serves document; target is what the audit entry names (a flag
// key, or "flags" for the whole document).
func (s *Store) loadLocked(ctx context.Context, document []byte, source, actor, action, target string, persist bool) (*FlagSet, error) {
	old := s.cur.Load()
	if old != nil && bytes.Equal(old.document, document) {
		s.lastErr = nil
		return old, nil
	}
	next, err := Compile(document, CompileOptions{Version: s.version + 1, Now: s.opts.Now})
	if err != nil {
		s.rejectLocked(err, source, actor, action)
		return nil, err
	}
	if old != nil && old.etag == next.etag {
		s.lastErr = nil // same content, reformatted: nothing to serve anew
		return old, nil
	}
	changed := changedKeys(old, next)
	if len(changed) == 0 {
		changed = next.Keys() // $evaluators or metadata changed: any flag may evaluate differently
	}
	// The audit entry is written first: a change that cannot be audited is refused, and the
	// file write-back (which the watcher would serve) happens only after it.
	if s.opts.Audit != nil && actor != "" {
		detail := fmt.Sprintf("version %d, changed %v", next.version, changed)
		if err := s.opts.Audit.Record(ctx, actor, action, target, detail); err != nil {
			return nil, fmt.Errorf("record audit entry: %w", err)
		}
	}
	if persist && s.opts.Persist != nil {
		if err := s.opts.Persist(ctx, document); err != nil {
			return nil, fmt.Errorf("persist flag definitions: %w", err)
		}
	}
	s.version = next.version
	s.lastErr = nil
	s.cur.Store(next)
	for _, w := range next.warnings {
		s.opts.Logger.Warn("flag targeting rule will not run as written", "source", source, "path", w.Path, "rule", w.Msg)
	}
	s.opts.Logger.Info("flag definitions loaded", "source", source, "version", next.version, "changed", changed)
	s.publish(ChangeEvent{Version: next.version, ETag: next.etag, Time: s.opts.Now(), Source: source,
		Actor: actor, Action: action, Changed: changed})
	return next, nil
}

// reject records a document that could not even be read as JSON (e.g. invalid YAML) the
// same way as one that does not compile.
func (s *Store) reject(err error, source, actor, action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rejectLocked(err, source, actor, action)
}

func (s *Store) rejectLocked(err error, source, actor, action string) {
	s.lastErr = err
	s.opts.Logger.Error("flag definitions rejected; previous set keeps serving", "source", source, "err", err)
	s.publish(ChangeEvent{Version: s.version, Time: s.opts.Now(), Source: source, Actor: actor, Action: action, Error: err.Error()})
}

// ReplaceAll serves a whole new document on behalf of actor (the change API).
func (s *Store) ReplaceAll(ctx context.Context, actor string, document []byte) (*FlagSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loadLocked(ctx, document, "api", actor, "flags.replace", "flags", true)
}

// PutFlag adds or replaces one flag definition (flagd or seed form) on behalf of actor.
func (s *Store) PutFlag(ctx context.Context, actor, key string, definition json.RawMessage) (*FlagSet, error) {
	var def any
	if err := json.Unmarshal(definition, &def); err != nil {
		return nil, &ParseError{Path: "flags." + key, Msg: "invalid JSON: " + err.Error()}
	}
	return s.edit(ctx, actor, "flag.put", key, func(flags map[string]any) { flags[key] = def })
}

// DeleteFlag removes one flag on behalf of actor. Deleting an unknown flag is an error.
func (s *Store) DeleteFlag(ctx context.Context, actor, key string) (*FlagSet, error) {
	var missing bool
	set, err := s.edit(ctx, actor, "flag.delete", key, func(flags map[string]any) {
		if _, ok := flags[key]; !ok {
			missing = true
		}
		delete(flags, key)
	})
	if missing {
		return nil, &ParseError{Path: "flags." + key, Msg: "no such flag"}
	}
	return set, err
}

func (s *Store) edit(ctx context.Context, actor, action, key string, change func(map[string]any)) (*FlagSet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	doc := map[string]any{"flags": map[string]any{}}
	if cur := s.cur.Load(); cur != nil {
		if err := json.Unmarshal(cur.document, &doc); err != nil {
			return nil, fmt.Errorf("decode serving document: %w", err)
		}
	}
	flags, ok := doc["flags"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("serving document has no flags object")
	}
	before := len(flags)
	change(flags)
	if action == "flag.delete" && len(flags) == before {
		return nil, nil
	}
	next, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode flag definitions: %w", err)
	}
	return s.loadLocked(ctx, append(next, '\n'), "api", actor, action, key, true)
}

// Subscribe returns a channel of change events until ctx ends. Slow subscribers miss
// events rather than block writers (the buffer holds 16).
func (s *Store) Subscribe(ctx context.Context) <-chan ChangeEvent {
	ch := make(chan ChangeEvent, 16)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.subs, ch)
		close(ch)
		s.mu.Unlock()
	}()
	return ch
}

func (s *Store) publish(ev ChangeEvent) {
	for ch := range s.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}
