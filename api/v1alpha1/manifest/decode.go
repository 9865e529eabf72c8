package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	appsv1 "k8s.io/api/apps/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
)

// Object is one decoded document: exactly one of the typed pointers is set.
type Object struct {
	// Source names the file the object came from; Decode leaves it empty for the caller to set.
	Source string
	// Index is the 0-based position of the document in its file.
	Index int
	// Line is the 1-based line where the document starts.
	Line int
	// APIVersion and Kind are as written in the document.
	APIVersion string
	Kind       string

	Rollout                 *v1alpha1.Rollout
	AnalysisTemplate        *v1alpha1.AnalysisTemplate
	ClusterAnalysisTemplate *v1alpha1.ClusterAnalysisTemplate
	AnalysisRun             *v1alpha1.AnalysisRun

	// ConvertedFrom is "apps/v1 Deployment" when Rollout was converted from a Deployment.
	ConvertedFrom string

	// lines maps dotted field paths to the line they appear on.
	lines map[string]int
	// partial marks an object decoded after dropping fields that had errors.
	partial bool
}

// Name is the object's metadata.name.
func (o *Object) Name() string {
	switch {
	case o.Rollout != nil:
		return o.Rollout.Name
	case o.AnalysisTemplate != nil:
		return o.AnalysisTemplate.Name
	case o.ClusterAnalysisTemplate != nil:
		return o.ClusterAnalysisTemplate.Name
	case o.AnalysisRun != nil:
		return o.AnalysisRun.Name
	}
	return ""
}

// LineOf returns the line of a field path (as field.Path renders it), or of its nearest
// parent that has one, or the document's first line.
func (o *Object) LineOf(path string) int {
	p := normalizePath(path)
	for p != "" {
		if l, ok := o.lines[p]; ok {
			return l
		}
		cut := strings.LastIndexAny(p, ".[")
		if cut < 0 {
			break
		}
		p = p[:cut]
	}
	return o.Line
}

// normalizePath turns field.Path's map keys ("labels[app]") into the dotted form the line map
// uses ("labels.app"); list indexes ("steps[2]") are kept.
func normalizePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		if p[i] != '[' {
			b.WriteByte(p[i])
			continue
		}
		end := strings.IndexByte(p[i:], ']')
		if end < 0 {
			b.WriteString(p[i:])
			break
		}
		inner := p[i+1 : i+end]
		if _, err := strconv.Atoi(inner); err == nil {
			b.WriteString(p[i : i+end+1])
		} else {
			b.WriteByte('.')
			b.WriteString(inner)
		}
		i += end
	}
	return b.String()
}

// Decode reads every document of a YAML or JSON file (separated by "---") strictly: unknown
// fields, wrong types and duplicate keys are errors with their field path. Documents may be
// Rollout, AnalysisTemplate, ClusterAnalysisTemplate or AnalysisRun under argoproj.io/v1alpha1
// or shipsafe.dev/v1alpha1, or an apps/v1 Deployment (converted to a rolling Rollout).
// It does not validate values or apply defaults (see Validate, SetDefaults, Parse).
// The error, when not nil, is an ErrorList; objects decoded without error are still returned.
func Decode(data []byte) ([]Object, error) {
	return DecodeWithLimits(data, DefaultLimits())
}

// DecodeWithLimits is Decode with explicit resource limits.
func DecodeWithLimits(data []byte, limits Limits) ([]Object, error) {
	objs, _, err := DecodeAll(data, limits)
	return objs, err
}

// DecodeAll is DecodeWithLimits that also reports the documents it skipped: objects of other
// kinds (a Service, an Ingress, a VirtualService) that often share a file with a Rollout.
// Documents claiming an argoproj.io or shipsafe.dev apiVersion, or one of shipsafe's kinds,
// are never skipped: a typo there is an error.
func DecodeAll(data []byte, limits Limits) (objs []Object, skipped ErrorList, err error) {
	all, skipped, errs := decodeAll(data, limits)
	for _, o := range all {
		if !o.partial {
			objs = append(objs, o)
		}
	}
	if len(errs) > 0 {
		return objs, skipped, errs
	}
	return objs, skipped, nil
}

// decodeAll returns every object, including partial ones (decoded after pruning fields with
// errors), so LoadPath can validate them too.
func decodeAll(data []byte, limits Limits) (objs []Object, skipped, errs ErrorList) {
	if len(data) > limits.MaxBytes {
		return nil, nil, ErrorList{{Field: field.Forbidden(nil,
			fmt.Sprintf("file is %d bytes, more than the limit of %d bytes", len(data), limits.MaxBytes))}}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for idx := 0; ; idx++ {
		var node yaml.Node
		err := decodeNode(dec, &node)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			errs = append(errs, &Error{Document: idx, Field: field.Invalid(nil, nil, "not valid YAML or JSON: "+yamlSyntaxError(err))})
			break
		}
		if isEmptyDocument(&node) {
			idx--
			continue
		}
		// Checked after reading (empty documents, such as after a trailing ---, do not count), so a file of exactly MaxDocuments documents passes: only a
		// document beyond the limit is refused.
		if idx >= limits.MaxDocuments {
			errs = append(errs, &Error{Document: idx, Field: field.Forbidden(nil,
				fmt.Sprintf("file has more than %d documents", limits.MaxDocuments))})
			break
		}
		obj, docErrs := decodeDocument(&node, idx, limits)
		if len(docErrs) == 1 && docErrs[0].skip {
			skipped = append(skipped, docErrs[0])
			continue
		}
		errs = append(errs, docErrs...)
		if obj != nil {
			objs = append(objs, *obj)
		}
	}
	if len(objs) == 0 && len(errs) == 0 && len(skipped) == 0 {
		errs = append(errs, &Error{Field: field.Forbidden(nil, "the file contains no documents")})
	}
	return objs, skipped, errs
}

// isYAMLParserProblem reports the problems yaml.v3's parser (not its scanner) reports: for
// them it prints the 0-based line of the mark, one too low.
func isYAMLParserProblem(p string) bool {
	switch p {
	case "did not find expected <stream-start>", "did not find expected <document start>",
		"found undefined tag handle", "did not find expected node content",
		"did not find expected '-' indicator", "did not find expected key",
		"did not find expected ',' or ']'", "did not find expected ',' or '}'",
		"found duplicate %YAML directive", "found incompatible YAML document", "found duplicate %TAG directive":
		return true
	}
	return false
}

// yamlSyntaxError renders a yaml.v3 syntax error without its "yaml: " prefix and with a
// 1-based line.
func yamlSyntaxError(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	rest, ok := strings.CutPrefix(msg, "line ")
	if !ok {
		return msg
	}
	num, problem, ok := strings.Cut(rest, ": ")
	line, convErr := strconv.Atoi(num)
	if !ok || convErr != nil || !isYAMLParserProblem(problem) {
		return msg
	}
	return fmt.Sprintf("line %d: %s", line+1, problem)
}

// decodeNode guards the YAML parser: a panic inside it becomes an error.
func decodeNode(dec *yaml.Decoder, node *yaml.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("parser failed: %v", r)
		}
	}()
	return dec.Decode(node)
}

func isEmptyDocument(n *yaml.Node) bool {
	if n.Kind == 0 {
		return true
	}
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return true
		}
		c := n.Content[0]
		return c.Kind == yaml.ScalarNode && c.ShortTag() == "!!null"
	}
	return false
}

// decodeDocument turns one YAML document into a typed object, or returns its errors.
func decodeDocument(node *yaml.Node, idx int, limits Limits) (*Object, ErrorList) {
	obj := &Object{Index: idx, Line: documentLine(node), lines: map[string]int{}}
	fail := func(fe ...*field.Error) ErrorList {
		out := make(ErrorList, len(fe))
		for i, e := range fe {
			out[i] = &Error{Document: idx, Line: obj.LineOf(e.Field), Kind: obj.Kind, Field: e}
		}
		return out
	}
	b := &treeBuilder{limits: limits, lines: obj.lines}
	tree, err := b.build(node, "", 0, false)
	if err != nil {
		var pe *pathError
		if errors.As(err, &pe) {
			return nil, ErrorList{{Document: idx, Line: pe.line, Field: field.Forbidden(pathOf(pe.path), pe.msg)}}
		}
		return nil, fail(field.Invalid(nil, nil, err.Error()))
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return nil, fail(field.Invalid(nil, describe(tree), "a document must be an object with apiVersion and kind"))
	}
	obj.APIVersion, _ = m["apiVersion"].(string)
	obj.Kind, _ = m["kind"].(string)
	name := ""
	if md, ok := m["metadata"].(map[string]any); ok {
		name, _ = md["name"].(string)
	}
	target, convert, fe := targetFor(obj.APIVersion, obj.Kind)
	if fe != nil {
		errs := fail(fe)
		for _, e := range errs {
			e.Name = name
		}
		if isForeign(obj.APIVersion, obj.Kind) {
			errs[0].skip = true
			errs[0].Field = field.Forbidden(nil, fmt.Sprintf("skipped %s %s: not a kind shipsafe reads", obj.APIVersion, obj.Kind))
		}
		return nil, errs
	}
	// The checker prunes what it rejects, so the rest decodes and the caller can still
	// validate it (obj.partial) and report every problem in one pass.
	sc := &schemaChecker{maxErrs: 100}
	sc.check(m, reflect.TypeOf(target).Elem(), nil)
	errs := fail(sc.errs...)
	for _, e := range errs {
		e.Name = name
	}
	obj.partial = len(errs) > 0
	raw, err := json.Marshal(m)
	if err == nil {
		err = json.Unmarshal(raw, target)
	}
	if err != nil {
		return nil, append(errs, fail(field.Invalid(nil, nil, "cannot decode: "+err.Error()))...)
	}
	if convert != nil {
		if fe := convert(obj, target); len(fe) > 0 {
			convErrs := fail(fe...)
			for _, e := range convErrs {
				e.Name = name
			}
			return nil, append(errs, convErrs...)
		}
		return obj, errs
	}
	switch t := target.(type) {
	case *v1alpha1.Rollout:
		obj.Rollout = t
	case *v1alpha1.AnalysisTemplate:
		obj.AnalysisTemplate = t
	case *v1alpha1.ClusterAnalysisTemplate:
		obj.ClusterAnalysisTemplate = t
	case *v1alpha1.AnalysisRun:
		obj.AnalysisRun = t
	}
	return obj, errs
}

// targetFor picks the Go type for an apiVersion and kind.
func targetFor(apiVersion, kind string) (any, func(*Object, any) field.ErrorList, *field.Error) {
	switch apiVersion {
	case v1alpha1.ArgoGroupVersion, v1alpha1.ShipsafeGroupVersion:
		switch kind {
		case v1alpha1.KindRollout:
			return &v1alpha1.Rollout{}, nil, nil
		case v1alpha1.KindAnalysisTemplate:
			return &v1alpha1.AnalysisTemplate{}, nil, nil
		case v1alpha1.KindClusterAnalysisTemplate:
			return &v1alpha1.ClusterAnalysisTemplate{}, nil, nil
		case v1alpha1.KindAnalysisRun:
			return &v1alpha1.AnalysisRun{}, nil, nil
		case "":
			return nil, nil, field.Required(field.NewPath("kind"), "")
		}
		return nil, nil, mustBeOneOf(field.NewPath("kind"), kind,
			v1alpha1.KindRollout, v1alpha1.KindAnalysisTemplate, v1alpha1.KindClusterAnalysisTemplate, v1alpha1.KindAnalysisRun)
	case v1alpha1.AppsGroupVersion:
		if kind != v1alpha1.KindDeployment {
			return nil, nil, mustBeOneOf(field.NewPath("kind"), kind, v1alpha1.KindDeployment)
		}
		return &appsv1.Deployment{}, convertDeployment, nil
	case "":
		return nil, nil, field.Required(field.NewPath("apiVersion"), "")
	}
	return nil, nil, mustBeOneOf(field.NewPath("apiVersion"), apiVersion,
		v1alpha1.ArgoGroupVersion, v1alpha1.ShipsafeGroupVersion, v1alpha1.AppsGroupVersion)
}

// isForeign is true for documents of other tools (a v1 Service, an Istio VirtualService) that
// Decode skips rather than rejects.
func isForeign(apiVersion, kind string) bool {
	if apiVersion == "" || kind == "" {
		return false
	}
	group, _, _ := strings.Cut(apiVersion, "/")
	if group == "argoproj.io" || group == "shipsafe.dev" {
		return false
	}
	switch kind {
	case v1alpha1.KindRollout, v1alpha1.KindAnalysisTemplate, v1alpha1.KindClusterAnalysisTemplate, v1alpha1.KindAnalysisRun, v1alpha1.KindDeployment:
		return false
	}
	return true
}

func documentLine(n *yaml.Node) int {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		return n.Content[0].Line
	}
	return n.Line
}

// pathOf turns a dotted path from the tree builder into a field.Path.
func pathOf(dotted string) *field.Path {
	if dotted == "" {
		return nil
	}
	var p *field.Path
	for _, part := range strings.Split(dotted, ".") {
		name, rest, _ := strings.Cut(part, "[")
		if p == nil {
			p = field.NewPath(name)
		} else {
			p = p.Child(name)
		}
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			if n, err := strconv.Atoi(idx); err == nil {
				p = p.Index(n)
			}
			rest = strings.TrimPrefix(after, "[")
		}
	}
	return p
}
