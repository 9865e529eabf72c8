package flags

import (
	"sort"
	"strconv"
	"sync"
)

// variant is one named value of a flag.
type variant struct {
	name  string
	value any // as decoded from JSON; handed out in Results without copying
}

// flag is a compiled flag.
type flag struct {
	key        string
	disabled   bool
	typ        FlagType
	variants   []variant
	byName     map[string]int
	defaultIdx int  // -1: no default variant (the caller's code default applies)
	targeting  node // nil: no targeting (STATIC)
	metadata   map[string]any
}

// FlagSet is one immutable, compiled version of a flag definitions document. It is safe
// for concurrent use; a reload builds a new FlagSet and swaps it in atomically.
type FlagSet struct {
	version  uint64
	etag     string
	flags    map[string]*flag
	keys     []string          // sorted flag keys
	raw      map[string][]byte // canonical JSON of each flag definition (change detection)
	document []byte            // the document this set was compiled from
	now      func() int64      // unix seconds for $flagd.timestamp
	warnings []Warning         // rules that load but evaluate to a default or an error
	contexts sync.Pool         // *Context for targeting-key-only evaluations (SelectVariant)
}

// Version is the store's sequence number of this set (1 for the first load).
func (s *FlagSet) Version() uint64 { return s.version }

// ETag identifies the set's content.
func (s *FlagSet) ETag() string { return s.etag }

// Keys lists the flag keys in sorted order.
func (s *FlagSet) Keys() []string { return append([]string(nil), s.keys...) }

// Document returns the JSON document the set was compiled from.
func (s *FlagSet) Document() []byte { return append([]byte(nil), s.document...) }

// Type returns a flag's type.
func (s *FlagSet) Type(key string) (FlagType, bool) {
	f, ok := s.flags[key]
	if !ok {
		return "", false
	}
	return f.typ, true
}

// Evaluate resolves flag key for the context c (which may be nil). It does not allocate
// on success; c must not be modified during the call.
func (s *FlagSet) Evaluate(key string, c *Context) Result {
	f, ok := s.flags[key]
	if !ok {
		return Result{Key: key, Reason: ReasonError, ErrorCode: ErrFlagNotFound,
			ErrorDetails: "flag " + strconv.Quote(key) + " not found"}
	}
	return s.evaluateFlag(f, c, "")
}

// EvaluateType is Evaluate for a caller that expects a type (the typed OpenFeature API):
// a flag of another type yields TYPE_MISMATCH.
func (s *FlagSet) EvaluateType(key string, want FlagType, c *Context) Result {
	f, ok := s.flags[key]
	if ok && f.typ != want {
		return Result{Key: key, Reason: ReasonError, ErrorCode: ErrTypeMismatch, Metadata: f.metadata,
			ErrorDetails: "flag " + strconv.Quote(key) + " is of type " + string(f.typ) + ", not " + string(want)}
	}
	return s.Evaluate(key, c)
}

// evaluateFlag evaluates f for c or, when c is nil, for a context holding only
// targetingKey (built inside the pooled state so that it does not allocate).
func (s *FlagSet) evaluateFlag(f *flag, c *Context, targetingKey string) (r Result) {
	r.Key, r.Metadata = f.key, f.metadata
	if f.disabled {
		r.Reason = ReasonDisabled
		return r
	}
	if f.targeting == nil {
		f.resolve(&r, f.defaultIdx, ReasonStatic)
		return r
	}
	// The evaluation state lives in the caller's Context (no allocation, no pool); only a
	// targeting-key-only evaluation (the gateway's path) borrows a pooled Context.
	var pooled *Context
	if c == nil {
		pooled, _ = s.contexts.Get().(*Context)
		if pooled == nil {
			pooled = &Context{}
		}
		pooled.TargetingKey = targetingKey
		c = pooled
	}
	st := &c.st
	*st = evalState{ctx: c, now: s.now}
	defer func() {
		if p := recover(); p != nil {
			r = Result{Key: f.key, Metadata: f.metadata, Reason: ReasonError, ErrorCode: ErrGeneral,
				ErrorDetails: "flag " + strconv.Quote(f.key) + ": evaluation failed"}
		}
		if pooled != nil {
			*pooled = Context{}
			s.contexts.Put(pooled)
		}
	}()
	v := f.targeting(st)
	switch {
	case st.errCode != "":
		r.Reason, r.ErrorCode, r.ErrorDetails = ReasonError, st.errCode, st.errMsg
		return r
	case st.aborted:
		// flagd: an operator error makes the targeting null, i.e. the default variant.
		f.resolve(&r, f.defaultIdx, ReasonDefault)
		return r
	}
	idx := -1
	switch {
	case v.variant > 0:
		idx = int(v.variant) - 1
	case v.kind == KindNull:
		f.resolve(&r, f.defaultIdx, ReasonDefault)
		return r
	case v.kind == KindString || v.kind == KindBool || v.kind == KindNumber:
		// flagd stringifies a boolean or number result and looks that name up.
		if i, ok := f.byName[v.toString()]; ok {
			idx = i
		}
	}
	if idx < 0 {
		// flagd: a targeting result that names no variant is a GENERAL error.
		r.Reason, r.ErrorCode = ReasonError, ErrGeneral
		r.ErrorDetails = "flag " + strconv.Quote(f.key) + ": targeting returned " + describeValue(v) + ", which is not a variant"
		return r
	}
	reason := ReasonTargetingMatch
	if v.split {
		reason = ReasonSplit
	}
	f.resolve(&r, idx, reason)
	return r
}

func (f *flag) resolve(r *Result, idx int, reason Reason) {
	if idx < 0 {
		// No default variant: the caller's code default applies (flagd / OFREP ADR 0006).
		r.Reason = ReasonDefault
		return
	}
	r.Variant, r.Value, r.Reason = f.variants[idx].name, f.variants[idx].value, reason
}

func describeValue(v Value) string {
	switch v.kind {
	case KindString:
		return strconv.Quote(v.s)
	case KindArray:
		return "an array"
	case KindObject:
		return "an object"
	}
	return v.toString()
}

// changedKeys lists the flags added, removed or changed between two sets.
func changedKeys(old, next *FlagSet) []string {
	var out []string
	for k, raw := range next.raw {
		if old == nil || string(old.raw[k]) != string(raw) {
			out = append(out, k)
		}
	}
	if old != nil {
		for k := range old.raw {
			if _, ok := next.raw[k]; !ok {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
