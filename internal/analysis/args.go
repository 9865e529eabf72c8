package analysis

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// SecretSource reads a secret at measurement time, so a secret's value is never stored
// on the run (the run keeps only valueFrom.secretKeyRef).
type SecretSource interface {
	SecretValue(ctx context.Context, namespace, name, key string) (string, error)
}

// argRef matches {{args.name}} (spaces inside the braces allowed).
var argRef = regexp.MustCompile(`\{\{\s*args\.([A-Za-z0-9_.\-]+)\s*\}\}`)

// resolveArgs gives every argument of the run a value: its Value, or its secret read
// through secrets. valueFrom.fieldRef is resolved when the run is built (BuildRun).
func resolveArgs(ctx context.Context, run *v1alpha1.AnalysisRun, secrets SecretSource) (map[string]string, error) {
	out := make(map[string]string, len(run.Spec.Args))
	for i, a := range run.Spec.Args {
		switch {
		case a.Value != nil:
			out[a.Name] = *a.Value
		case a.ValueFrom != nil && a.ValueFrom.SecretKeyRef != nil:
			ref := a.ValueFrom.SecretKeyRef
			if secrets == nil {
				return nil, fmt.Errorf("spec.args[%d] (%s).valueFrom.secretKeyRef: no secret source is configured", i, a.Name)
			}
			v, err := secrets.SecretValue(ctx, run.Namespace, ref.Name, ref.Key)
			if err != nil {
				return nil, fmt.Errorf("spec.args[%d] (%s).valueFrom.secretKeyRef %s/%s: %w", i, a.Name, ref.Name, ref.Key, err)
			}
			out[a.Name] = v
		case a.ValueFrom != nil && a.ValueFrom.FieldRef != nil:
			return nil, fmt.Errorf("spec.args[%d] (%s).valueFrom.fieldRef %q: must be resolved when the run is built", i, a.Name, a.ValueFrom.FieldRef.FieldPath)
		default:
			return nil, fmt.Errorf("spec.args[%d] (%s): has no value", i, a.Name)
		}
	}
	return out, nil
}

// substitute replaces {{args.name}} in every string of the metric (query, url, headers,
// conditions, count, limits, ...). A reference to an argument that does not exist is an
// error naming it.
func substitute(m v1alpha1.Metric, args map[string]string) (v1alpha1.Metric, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return m, fmt.Errorf("encode metric %q: %w", m.Name, err)
	}
	if !bytes.Contains(raw, []byte("{{")) {
		return m, nil
	}
	var missing []string
	out := argRef.ReplaceAllFunc(raw, func(ref []byte) []byte {
		name := string(argRef.FindSubmatch(ref)[1])
		v, ok := args[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		// The reference sits inside a JSON string: escape the value as string content.
		quoted, _ := json.Marshal(v)
		return quoted[1 : len(quoted)-1]
	})
	if len(missing) > 0 {
		sort.Strings(missing)
		return m, fmt.Errorf("metrics[%s]: references undefined argument(s) %s", m.Name, strings.Join(missing, ", "))
	}
	var res v1alpha1.Metric
	if err := json.Unmarshal(out, &res); err != nil {
		return m, fmt.Errorf("metrics[%s]: after substituting args: %w", m.Name, err)
	}
	return res, nil
}

// intValue reads a count or limit, which may be a number or a string such as "5" (after
// {{args}} substitution). nil gives def.
func intValue(field string, v *intstr.IntOrString, def int) (int, error) {
	if v == nil {
		return def, nil
	}
	if v.Type == intstr.Int {
		return int(v.IntVal), nil
	}
	n, err := strconv.Atoi(strings.TrimSpace(v.StrVal))
	if err != nil {
		return 0, fmt.Errorf("%s: must be an integer, got %q", field, v.StrVal)
	}
	return n, nil
}
