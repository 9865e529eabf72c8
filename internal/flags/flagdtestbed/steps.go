package flagdtestbed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
)

// Resolver answers the OFREP base URL serving a flag source (see Document).
type Resolver func(source string) (string, error)

// world is one scenario's state.
type world struct {
	ctx      context.Context
	client   *http.Client
	resolve  Resolver
	source   string // flag source, set by the provider step
	selector string // the provider's selector option
	flagType string // Boolean, String, Integer, Float, Object
	key      string
	def      string // the caller's default (fallback) value, as written
	evalCtx  map[string]any
	res      *details
}

// details is what an OpenFeature client gets back from an OFREP provider.
type details struct {
	value     any // decoded with json.Number
	variant   string
	reason    string
	errorCode string
	errDetail string
	metadata  map[string]any
}

type stepDef struct {
	re *regexp.Regexp
	fn func(w *world, m []string, table [][]string) error
}

func steps() []stepDef {
	def := func(pattern string, fn func(w *world, m []string, table [][]string) error) stepDef {
		return stepDef{regexp.MustCompile("^" + pattern + "$"), fn}
	}
	return []stepDef{
		def(`an evaluator`, func(w *world, _ []string, _ [][]string) error { w.source = SourceEvaluator; return nil }),
		def(`a (stable|offline) flagd provider|a flagd provider is set`, func(w *world, _ []string, _ [][]string) error {
			w.source = SourceProvider
			if w.selector != "" {
				w.source = SourceSelectorPrefix + w.selector
			}
			return nil
		}),
		def(`an option "cache" of type "CacheType" with value "disabled"`, func(*world, []string, [][]string) error { return nil }),
		def(`an option "selector" of type "String" with value "(.*)"`, func(w *world, m []string, _ [][]string) error {
			w.selector = m[1]
			return nil
		}),
		def(`a (Boolean|String|Integer|Float|Object)-flag with key "(.*)" and a (?:fallback|default) value "(.*)"`,
			func(w *world, m []string, _ [][]string) error {
				w.flagType, w.key, w.def = m[1], m[2], m[3]
				return nil
			}),
		def(`a context containing a targeting key with value "(.*)"`, func(w *world, m []string, _ [][]string) error {
			w.evalCtx["targetingKey"] = m[1]
			return nil
		}),
		def(`a context containing a key "(.*)", with type "(.*)" and with value "(.*)"`, func(w *world, m []string, _ [][]string) error {
			v, err := typedValue(m[2], m[3])
			if err != nil {
				return fmt.Errorf("context key %q: %w", m[1], err)
			}
			w.evalCtx[m[1]] = v
			return nil
		}),
		def(`a context containing a nested property with outer key "(.*)" and inner key "(.*)", with value "(.*)"`,
			func(w *world, m []string, _ [][]string) error {
				inner, _ := w.evalCtx[m[1]].(map[string]any)
				if inner == nil {
					inner = map[string]any{}
				}
				inner[m[2]] = m[3]
				w.evalCtx[m[1]] = inner
				return nil
			}),
		def(`the flag was evaluated with details`, func(w *world, _ []string, _ [][]string) error { return w.evaluate() }),
		// flagd.feature's older vocabulary for the zero-value scenarios.
		def(`a zero-value (boolean|string|integer|float) flag with key "(.*)" is evaluated with default value "?([^"]*)"?`,
			func(w *world, m []string, _ [][]string) error {
				w.flagType = strings.ToUpper(m[1][:1]) + m[1][1:]
				w.key, w.def = m[2], m[3]
				return w.evaluate()
			}),
		def(`the resolved (?:boolean|string|integer|float) zero-value should be "?([^"]*)"?`, func(w *world, m []string, _ [][]string) error {
			return w.checkValue(m[1])
		}),
		def(`the resolved details value should be "(.*)"`, func(w *world, m []string, _ [][]string) error { return w.checkValue(m[1]) }),
		def(`the reason should be "(.*)"`, func(w *world, m []string, _ [][]string) error {
			return w.check("reason", w.res.reason, m[1])
		}),
		def(`the error-code should be "(.*)"`, func(w *world, m []string, _ [][]string) error {
			return w.check("error code", w.res.errorCode, m[1])
		}),
		def(`the variant should be "(.*)"`, func(w *world, m []string, _ [][]string) error {
			return w.check("variant", w.res.variant, m[1])
		}),
		def(`the resolved metadata should contain`, func(w *world, _ []string, table [][]string) error { return w.checkMetadata(table) }),
		def(`the resolved metadata is empty`, func(w *world, _ []string, _ [][]string) error {
			if w.res == nil {
				return fmt.Errorf("the flag was not evaluated")
			}
			if len(w.res.metadata) != 0 {
				return fmt.Errorf("metadata = %v, want none", w.res.metadata)
			}
			return nil
		}),
	}
}

// runSteps runs a scenario's steps in order; the first failure ends it.
func runSteps(w *world, s Scenario, defs []stepDef) error {
	for _, st := range s.Steps {
		matched := false
		for _, d := range defs {
			if m := d.re.FindStringSubmatch(st.Text); m != nil {
				matched = true
				if err := d.fn(w, m, st.Table); err != nil {
					return fmt.Errorf("%s:%d %q: %w", s.File, st.Line, st.Text, err)
				}
				break
			}
		}
		if !matched {
			return fmt.Errorf("%s:%d: no step definition for %q", s.File, st.Line, st.Text)
		}
	}
	return nil
}

func (w *world) check(what, got, want string) error {
	if w.res == nil {
		return fmt.Errorf("the flag was not evaluated")
	}
	if got != want {
		return fmt.Errorf("%s = %q, want %q (value %v, reason %s, error %s %s)", what, got, want, w.res.value, w.res.reason, w.res.errorCode, w.res.errDetail)
	}
	return nil
}

// evaluate calls OFREP's single-flag evaluation and turns the answer into what an
// OpenFeature client sees: the server's value when it has one of the requested type,
// otherwise the caller's default (TYPE_MISMATCH when the type is wrong; the server's
// reason when it resolved no value: DISABLED, or DEFAULT for a flag without a default
// variant; ERROR and the server's error code on an evaluation error).
func (w *world) evaluate() error {
	if w.source == "" {
		return fmt.Errorf("no evaluator or provider was set up")
	}
	base, err := w.resolve(w.source)
	if err != nil {
		return err
	}
	def, err := typedValue(w.flagType, strings.ReplaceAll(w.def, `\"`, `"`))
	if err != nil {
		return fmt.Errorf("default value: %w", err)
	}
	body, _ := json.Marshal(map[string]any{"context": w.evalCtx})
	req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, base+"/ofrep/v1/evaluate/flags/"+url.PathEscape(w.key), bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build OFREP request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("OFREP request: %w", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("read OFREP response: %w", err)
	}
	var out struct {
		Value        any            `json:"value"`
		Reason       string         `json:"reason"`
		Variant      string         `json:"variant"`
		Metadata     map[string]any `json:"metadata"`
		ErrorCode    string         `json:"errorCode"`
		ErrorDetails string         `json:"errorDetails"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil {
		return fmt.Errorf("OFREP answered %d with a body that is not JSON (%q): %w", resp.StatusCode, raw, err)
	}
	d := &details{value: def, metadata: out.Metadata}
	switch {
	case resp.StatusCode == http.StatusOK && out.ErrorCode == "":
		d.reason = out.Reason
		if out.Value != nil {
			if typeMatches(w.flagType, out.Value) {
				d.value, d.variant = out.Value, out.Variant
			} else {
				d.reason, d.errorCode = "ERROR", "TYPE_MISMATCH"
				d.errDetail = fmt.Sprintf("flag %q is %T, requested as %s", w.key, out.Value, w.flagType)
			}
		}
	case out.ErrorCode != "":
		d.reason, d.errorCode, d.errDetail = "ERROR", out.ErrorCode, out.ErrorDetails
	default:
		d.reason, d.errorCode, d.errDetail = "ERROR", "GENERAL", fmt.Sprintf("OFREP answered %d: %s", resp.StatusCode, raw)
	}
	w.res = d
	return nil
}

// typeMatches is the client-side type check an OFREP provider makes (OFREP values carry
// no type of their own).
func typeMatches(flagType string, v any) bool {
	switch flagType {
	case "Boolean":
		_, ok := v.(bool)
		return ok
	case "String":
		_, ok := v.(string)
		return ok
	case "Integer":
		n, ok := v.(json.Number)
		if !ok {
			return false
		}
		_, err := n.Int64()
		return err == nil
	case "Float":
		_, ok := v.(json.Number)
		return ok
	case "Object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// typedValue reads a value written in a feature file as the given type.
func typedValue(typ, s string) (any, error) {
	switch typ {
	case "Boolean":
		return strconv.ParseBool(s)
	case "String":
		return s, nil
	case "Integer", "Long":
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("%q is not an integer", s)
		}
		return json.Number(s), nil
	case "Float":
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return json.Number(s), nil
	case "Object":
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%q is not a JSON object: %w", s, err)
		}
		return v, nil
	}
	return nil, fmt.Errorf("unknown type %q", typ)
}

// checkValue compares the resolved value with the expected one, read as the flag's type.
func (w *world) checkValue(want string) error {
	if w.res == nil {
		return fmt.Errorf("the flag was not evaluated")
	}
	exp, err := typedValue(w.flagType, strings.ReplaceAll(want, `\"`, `"`))
	if err != nil {
		return fmt.Errorf("expected value: %w", err)
	}
	if !sameValue(w.flagType, w.res.value, exp) {
		return fmt.Errorf("value = %v (%T), want %v (variant %q, reason %s, error %s %s)",
			w.res.value, w.res.value, exp, w.res.variant, w.res.reason, w.res.errorCode, w.res.errDetail)
	}
	return nil
}

func sameValue(flagType string, got, want any) bool {
	switch flagType {
	case "Integer", "Float":
		g, ok1 := got.(json.Number)
		e, ok2 := want.(json.Number)
		if !ok1 || !ok2 {
			return false
		}
		if flagType == "Integer" {
			gi, err1 := g.Int64()
			ei, err2 := e.Int64()
			return err1 == nil && err2 == nil && gi == ei
		}
		gf, err1 := g.Float64()
		ef, err2 := e.Float64()
		return err1 == nil && err2 == nil && gf == ef
	}
	return reflect.DeepEqual(normalise(got), normalise(want))
}

// normalise makes numbers comparable inside objects (json.Number "100" vs "100.0").
func normalise(v any) any {
	switch t := v.(type) {
	case json.Number:
		f, _ := t.Float64()
		return f
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = normalise(e)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = normalise(e)
		}
		return out
	}
	return v
}

// checkMetadata checks a | key | metadata_type | value | table against the metadata.
func (w *world) checkMetadata(table [][]string) error {
	if w.res == nil {
		return fmt.Errorf("the flag was not evaluated")
	}
	if len(table) < 2 {
		return fmt.Errorf("the metadata table has no rows")
	}
	for _, row := range table[1:] {
		if len(row) != 3 {
			return fmt.Errorf("metadata row %v: want | key | metadata_type | value |", row)
		}
		want, err := typedValue(row[1], row[2])
		if err != nil {
			return fmt.Errorf("metadata %q: %w", row[0], err)
		}
		got, ok := w.res.metadata[row[0]]
		if !ok {
			return fmt.Errorf("metadata has no %q: %v", row[0], w.res.metadata)
		}
		if !typeMatches(row[1], got) || !sameValue(row[1], got, want) {
			return fmt.Errorf("metadata %q = %v (%T), want %s %v", row[0], got, got, row[1], want)
		}
	}
	return nil
}
