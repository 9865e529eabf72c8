package flags

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"time"
)

// ParseError reports an invalid flag definitions document; Path is the JSON path of the
// offending field ("flags.checkout.variants") or "line L, column C" for a syntax error.
type ParseError struct {
	Path string
	Msg  string
}

func (e *ParseError) Error() string { return e.Path + ": " + e.Msg }

// CompileOptions tune Compile.
type CompileOptions struct {
	Version uint64
	// Now returns the current time for $flagd.timestamp (default time.Now).
	Now func() time.Time
}

// Compile parses and compiles a flag definitions document: flagd's format (flags with
// state/variants/defaultVariant/targeting/metadata, $evaluators, metadata) and shipsafe's
// seed form (enabled/rollout_percentage/user_segments/override_conditions) in the same file.
// Every error is a *ParseError naming the JSON path and the rule.
func Compile(data []byte, opts CompileOptions) (*FlagSet, error) {
	var doc any
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		return nil, syntaxError(data, err)
	}
	if dec.More() {
		return nil, &ParseError{Path: "$", Msg: "trailing data after the JSON document"}
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, &ParseError{Path: "$", Msg: "the document must be a JSON object, got " + jsonTypeName(doc)}
	}
	rawFlags, ok := top["flags"]
	if !ok {
		return nil, &ParseError{Path: "flags", Msg: "required field is missing"}
	}
	flagDefs, ok := rawFlags.(map[string]any)
	if !ok {
		return nil, &ParseError{Path: "flags", Msg: "must be an object of flag definitions, got " + jsonTypeName(rawFlags)}
	}
	evaluators := map[string]any{}
	for _, field := range []string{"$evaluators", "user_segments"} {
		raw, ok := top[field]
		if !ok {
			continue
		}
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, &ParseError{Path: field, Msg: "must be an object of named rules, got " + jsonTypeName(raw)}
		}
		for name, rule := range m {
			if _, dup := evaluators[name]; dup {
				return nil, &ParseError{Path: field + "." + name, Msg: "name is already defined in $evaluators"}
			}
			evaluators[name] = rule
		}
	}
	setMeta, err := metadataField(top, "metadata", "metadata")
	if err != nil {
		return nil, err
	}

	now := opts.Now
	if now == nil {
		now = time.Now
	}
	set := &FlagSet{
		version:  opts.Version,
		flags:    make(map[string]*flag, len(flagDefs)),
		raw:      make(map[string][]byte, len(flagDefs)),
		document: append([]byte(nil), data...),
		now:      func() int64 { return now().Unix() },
	}
	for key := range flagDefs {
		set.keys = append(set.keys, key)
	}
	sort.Strings(set.keys)
	for _, key := range set.keys {
		path := "flags." + key
		def, ok := flagDefs[key].(map[string]any)
		if !ok {
			return nil, &ParseError{Path: path, Msg: "must be an object, got " + jsonTypeName(flagDefs[key])}
		}
		_, seed := def["enabled"]
		if seed {
			if def, err = seedToFlagd(key, def, path, evaluators); err != nil {
				return nil, err
			}
		}
		f, err := compileFlag(key, def, path, evaluators, setMeta, seed, &set.warnings)
		if err != nil {
			return nil, err
		}
		set.flags[key] = f
		canon, _ := json.Marshal(flagDefs[key]) // map keys are sorted: canonical
		set.raw[key] = canon
	}
	// The ETag hashes the whole document in canonical form (sorted keys, no whitespace), so
	// it changes with $evaluators and metadata too, but not with reformatting.
	sortWarnings(set.warnings)
	canonical, _ := json.Marshal(doc)
	h := fnv.New64a()
	h.Write(canonical)
	set.etag = `"` + strconv.FormatUint(h.Sum64(), 16) + `"`
	return set, nil
}

func syntaxError(data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	var off int64 = -1
	switch {
	case errors.As(err, &se):
		off = se.Offset
	case errors.As(err, &te):
		off = te.Offset
	}
	if off < 0 {
		return &ParseError{Path: "$", Msg: "invalid JSON: " + err.Error()}
	}
	line, col := 1, 1
	// Offset counts the bytes read including the offending one.
	for _, b := range data[:max(0, min(int(off)-1, len(data)))] {
		if b == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return &ParseError{Path: fmt.Sprintf("line %d, column %d", line, col), Msg: "invalid JSON: " + err.Error()}
}

func isFlagdFlagField(k string) bool {
	switch k {
	case "state", "variants", "defaultVariant", "targeting", "metadata":
		return true
	}
	return false
}

// compileFlag compiles one flag definition. A targeting rule flagd would load but not be
// able to run (an unknown operator, a $ref to nothing, a rule object with two operators)
// does not reject the document: the flag evaluates to PARSE_ERROR, as in flagd, and the
// rule is reported in warnings. seed marks the seed form (see ruleCompiler.keyedSplits).
func compileFlag(key string, def map[string]any, path string, evaluators map[string]any, setMeta map[string]any, seed bool, warnings *[]Warning) (*flag, error) {
	fieldNames := make([]string, 0, len(def))
	for k := range def {
		fieldNames = append(fieldNames, k)
	}
	sort.Strings(fieldNames)
	for _, k := range fieldNames {
		if !isFlagdFlagField(k) {
			return nil, &ParseError{Path: path + "." + k, Msg: "unknown field (flagd flags have state, variants, defaultVariant, targeting, metadata; the seed form has enabled, variants, defaultVariant, rollout_variant, rollout_percentage, user_segments, override_conditions, metadata)"}
		}
	}
	f := &flag{key: key, defaultIdx: -1, byName: map[string]int{}}
	switch st := def["state"]; st {
	case "ENABLED":
	case "DISABLED":
		f.disabled = true
	case nil:
		return nil, &ParseError{Path: path + ".state", Msg: `required field is missing (ENABLED or DISABLED)`}
	default:
		return nil, &ParseError{Path: path + ".state", Msg: fmt.Sprintf(`must be "ENABLED" or "DISABLED", got %s`, describeJSON(st))}
	}
	rawVariants, ok := def["variants"].(map[string]any)
	if !ok || len(rawVariants) == 0 {
		return nil, &ParseError{Path: path + ".variants", Msg: "required: a non-empty object of variant name → value, got " + describeJSON(def["variants"])}
	}
	names := make([]string, 0, len(rawVariants))
	for n := range rawVariants {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		typ, ok := flagTypeOf(rawVariants[n])
		if !ok {
			return nil, &ParseError{Path: path + ".variants." + n, Msg: "variant values must be boolean, string, number or object, got " + jsonTypeName(rawVariants[n])}
		}
		if i == 0 {
			f.typ = typ
		} else if typ != f.typ {
			return nil, &ParseError{Path: path + ".variants." + n, Msg: fmt.Sprintf("all variants must have the same type: %q is %s but %q is %s", n, typ, names[0], f.typ)}
		}
		f.byName[n] = i
		f.variants = append(f.variants, variant{name: n, value: rawVariants[n]})
	}
	switch dv := def["defaultVariant"].(type) {
	case nil:
	case string:
		i, ok := f.byName[dv]
		if !ok {
			return nil, &ParseError{Path: path + ".defaultVariant", Msg: fmt.Sprintf("must name one of the variants (%s), got %q", joinQuoted(names), dv)}
		}
		f.defaultIdx = i
	default:
		return nil, &ParseError{Path: path + ".defaultVariant", Msg: "must be a string naming a variant, or null, got " + jsonTypeName(dv)}
	}
	if t, ok := def["targeting"]; ok && t != nil {
		tm, ok := t.(map[string]any)
		if !ok {
			return nil, &ParseError{Path: path + ".targeting", Msg: "must be a JSON Logic object, got " + jsonTypeName(t)}
		}
		if len(tm) > 0 {
			c := &ruleCompiler{flagKey: key, variants: f.byName, evaluators: evaluators, warnings: warnings, keyedSplits: seed}
			e, err := c.compile(tm, path+".targeting")
			var ce *compileError
			switch {
			case errors.As(err, &ce):
				*warnings = append(*warnings, Warning{Path: ce.path, Msg: ce.msg + "; the flag evaluates to PARSE_ERROR"})
				msg := fmt.Sprintf("flag %q: targeting cannot be evaluated: %s: %s", key, ce.path, ce.msg)
				f.targeting = func(st *evalState) Value {
					st.fail(ErrParse, msg)
					return Value{}
				}
			case err != nil:
				return nil, err
			default:
				f.targeting = e.fn
			}
		}
	}
	meta, err := metadataField(def, "metadata", path+".metadata")
	if err != nil {
		return nil, err
	}
	f.metadata = mergeMetadata(setMeta, meta)
	return f, nil
}

func flagTypeOf(x any) (FlagType, bool) {
	switch x.(type) {
	case bool:
		return TypeBoolean, true
	case string:
		return TypeString, true
	case float64:
		return TypeNumber, true
	case map[string]any:
		return TypeObject, true
	}
	return "", false
}

func metadataField(obj map[string]any, field, path string) (map[string]any, error) {
	raw, ok := obj[field]
	if !ok || raw == nil {
		return nil, nil
	}
	m, ok := raw.(map[string]any)
	if !ok {
		return nil, &ParseError{Path: path, Msg: "must be an object, got " + jsonTypeName(raw)}
	}
	for k, v := range m {
		switch v.(type) {
		case bool, string, float64:
		default:
			return nil, &ParseError{Path: path + "." + k, Msg: "metadata values must be boolean, string or number, got " + jsonTypeName(v)}
		}
	}
	return m, nil
}

func mergeMetadata(set, flag map[string]any) map[string]any {
	if len(set) == 0 {
		return flag
	}
	out := make(map[string]any, len(set)+len(flag))
	for k, v := range set {
		out[k] = v
	}
	for k, v := range flag {
		out[k] = v
	}
	return out
}

func joinQuoted(names []string) string {
	out := ""
	for i, n := range names {
		if i > 0 {
			out += ", "
		}
		out += strconv.Quote(n)
	}
	return out
}

func asParseError(err error) error {
	var ce *compileError
	if errors.As(err, &ce) {
		return &ParseError{Path: ce.path, Msg: ce.msg}
	}
	return err
}
