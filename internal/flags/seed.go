package flags

import (
	"fmt"
	"math"
	"sort"
)

// The seed's flag form, compiled to the same evaluator as flagd's:
//
//	"model-selection": {
//	  "enabled": true,
//	  "variants": {"experimental": "experimental", "stable": "stable"}, // default {"on": true, "off": false}
//	  "defaultVariant": "stable",            // default "off"
//	  "rollout_variant": "experimental",     // default "on"
//	  "rollout_percentage": 10,              // 0..100, sticky per targeting key
//	  "user_segments": ["radiologists"],     // names from the top-level "user_segments" (or $evaluators)
//	  "override_conditions": [{"segment": "qa-team", "variant": "experimental"},
//	                          {"when": {"==": [{"var": "site"}, "icu"]}, "variant": "stable"}]
//	}
//
// It becomes flagd targeting:
//
//	{"if": [override1.when, override1.variant, ...,
//	        <in any segment>, {"fractional": [[rollout_variant, pct×100], [defaultVariant, 10000 − pct×100]]},
//	        null]}
//
// The fractional split hashes flagKey + targetingKey, so a subject's bucket never changes and
// raising rollout_percentage only moves subjects from the default into the rollout variant.
const seedWeightScale = 100 // weights in hundredths of a percent

func isSeedField(k string) bool {
	switch k {
	case "enabled", "variants", "defaultVariant", "rollout_variant", "rollout_percentage",
		"user_segments", "override_conditions", "metadata":
		return true
	}
	return false
}

func seedToFlagd(key string, def map[string]any, path string, evaluators map[string]any) (map[string]any, error) {
	keys := make([]string, 0, len(def))
	for k := range def {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !isSeedField(k) {
			return nil, &ParseError{Path: path + "." + k, Msg: "unknown field in a seed-form flag (enabled, variants, defaultVariant, rollout_variant, rollout_percentage, user_segments, override_conditions, metadata)"}
		}
	}
	enabled, ok := def["enabled"].(bool)
	if !ok {
		return nil, &ParseError{Path: path + ".enabled", Msg: "must be true or false, got " + describeJSON(def["enabled"])}
	}
	variants, hasVariants := def["variants"]
	if !hasVariants {
		variants = map[string]any{"on": true, "off": false}
	}
	vm, _ := variants.(map[string]any) // compileFlag reports a wrong type with its path
	defaultVariant, rolloutVariant := "off", "on"
	if hasVariants {
		defaultVariant, rolloutVariant = "", ""
	}
	for field, dst := range map[string]*string{"defaultVariant": &defaultVariant, "rollout_variant": &rolloutVariant} {
		if raw, ok := def[field]; ok {
			s, ok := raw.(string)
			if !ok {
				return nil, &ParseError{Path: path + "." + field, Msg: "must be a variant name, got " + describeJSON(raw)}
			}
			*dst = s
		}
		if *dst == "" {
			return nil, &ParseError{Path: path + "." + field, Msg: "required when variants are given"}
		}
		if _, ok := vm[*dst]; vm != nil && !ok {
			return nil, &ParseError{Path: path + "." + field, Msg: fmt.Sprintf("must name one of the variants, got %q", *dst)}
		}
	}
	out := map[string]any{"state": "ENABLED", "variants": variants, "defaultVariant": defaultVariant}
	if !enabled {
		out["state"] = "DISABLED"
	}
	if m, ok := def["metadata"]; ok {
		out["metadata"] = m
	}

	pct := 0.0
	if raw, ok := def["rollout_percentage"]; ok {
		p, ok := raw.(float64)
		if !ok || p < 0 || p > 100 || math.IsNaN(p) {
			return nil, &ParseError{Path: path + ".rollout_percentage", Msg: "must be a number between 0 and 100, got " + describeJSON(raw)}
		}
		pct = p
	}
	in := int64(math.Round(pct * seedWeightScale))
	split := map[string]any{"fractional": []any{
		[]any{rolloutVariant, float64(in)},
		[]any{defaultVariant, float64(100*seedWeightScale - in)},
	}}

	var chain []any
	if raw, ok := def["override_conditions"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return nil, &ParseError{Path: path + ".override_conditions", Msg: "must be a list of {when|segment, variant}, got " + jsonTypeName(raw)}
		}
		for i, item := range list {
			ip := fmt.Sprintf("%s.override_conditions[%d]", path, i)
			cond, variant, err := seedOverride(key, item, ip, vm, evaluators)
			if err != nil {
				return nil, err
			}
			chain = append(chain, cond, variant)
		}
	}
	var segCond any = true
	if raw, ok := def["user_segments"]; ok {
		list, ok := raw.([]any)
		if !ok {
			return nil, &ParseError{Path: path + ".user_segments", Msg: "must be a list of segment names, got " + jsonTypeName(raw)}
		}
		var refs []any
		for i, s := range list {
			name, ok := s.(string)
			if !ok {
				return nil, &ParseError{Path: fmt.Sprintf("%s.user_segments[%d]", path, i), Msg: "must be a segment name, got " + describeJSON(s)}
			}
			if _, ok := evaluators[name]; !ok {
				return nil, &ParseError{Path: fmt.Sprintf("%s.user_segments[%d]", path, i), Msg: fmt.Sprintf("unknown segment %q (define it under the top-level user_segments)", name)}
			}
			refs = append(refs, map[string]any{"$ref": name})
		}
		if len(refs) > 0 {
			segCond = map[string]any{"or": refs}
		}
	}
	chain = append(chain, segCond, split, nil)
	out["targeting"] = map[string]any{"if": chain}
	return out, nil
}

func seedOverride(key string, item any, path string, variants map[string]any, evaluators map[string]any) (cond any, variant string, err error) {
	m, ok := item.(map[string]any)
	if !ok {
		return nil, "", &ParseError{Path: path, Msg: "must be an object {when|segment, variant}, got " + jsonTypeName(item)}
	}
	for k := range m {
		if k != "when" && k != "segment" && k != "variant" {
			return nil, "", &ParseError{Path: path + "." + k, Msg: "unknown field (when, segment, variant)"}
		}
	}
	variant, ok = m["variant"].(string)
	if !ok {
		return nil, "", &ParseError{Path: path + ".variant", Msg: "required: a variant name, got " + describeJSON(m["variant"])}
	}
	if _, ok := variants[variant]; variants != nil && !ok {
		return nil, "", &ParseError{Path: path + ".variant", Msg: fmt.Sprintf("must name one of the variants, got %q", variant)}
	}
	when, hasWhen := m["when"]
	seg, hasSeg := m["segment"]
	switch {
	case hasWhen && hasSeg:
		return nil, "", &ParseError{Path: path, Msg: "give either when or segment, not both"}
	case hasWhen:
		// Compile once here so an error names the user's path, not the generated targeting's.
		c := &ruleCompiler{flagKey: key, evaluators: evaluators}
		if _, err := c.compile(when, path+".when"); err != nil {
			return nil, "", asParseError(err)
		}
		return when, variant, nil
	case hasSeg:
		name, ok := seg.(string)
		if !ok {
			return nil, "", &ParseError{Path: path + ".segment", Msg: "must be a segment name, got " + describeJSON(seg)}
		}
		if _, ok := evaluators[name]; !ok {
			return nil, "", &ParseError{Path: path + ".segment", Msg: fmt.Sprintf("unknown segment %q (define it under the top-level user_segments)", name)}
		}
		return map[string]any{"$ref": name}, variant, nil
	}
	return nil, "", &ParseError{Path: path, Msg: "needs when (a JSON Logic rule) or segment (a segment name)"}
}
