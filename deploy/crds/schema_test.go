package crds_test

import (
	"encoding/json"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	"github.com/shipsafe/shipsafe/api/v1alpha1"
	"github.com/shipsafe/shipsafe/deploy/crds"
)

// crd is the part of an apiextensions.k8s.io/v1 CustomResourceDefinition the tests read;
// decoding into it (strict about the fields named) avoids a dependency on the
// apiextensions-apiserver module in the main module.
type crd struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Spec       struct {
		Group string `json:"group"`
		Names struct {
			Kind       string   `json:"kind"`
			Plural     string   `json:"plural"`
			ShortNames []string `json:"shortNames"`
		} `json:"names"`
		Scope    string `json:"scope"`
		Versions []struct {
			Name   string `json:"name"`
			Schema struct {
				OpenAPIV3Schema schemaProps `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

// schemaProps is the structural part of a JSONSchemaProps.
type schemaProps struct {
	Type                 string                 `json:"type"`
	Properties           map[string]schemaProps `json:"properties"`
	Items                *schemaProps           `json:"items"`
	AdditionalProperties *schemaProps           `json:"additionalProperties"`
	PreserveUnknown      bool                   `json:"x-kubernetes-preserve-unknown-fields"`
	IntOrString          bool                   `json:"x-kubernetes-int-or-string"`
}

func loadCRDs(t *testing.T) map[string]crd {
	t.Helper()
	names, err := fs.Glob(crds.Files, "*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[string]crd{}
	for _, name := range names {
		b, err := crds.Files.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		var c crd
		if err := yaml.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.APIVersion != "apiextensions.k8s.io/v1" || c.Kind != "CustomResourceDefinition" {
			t.Fatalf("%s: %s %s, want an apiextensions.k8s.io/v1 CustomResourceDefinition", name, c.APIVersion, c.Kind)
		}
		byKind[c.Spec.Names.Kind] = c
	}
	return byKind
}

// TestCRDsCoverGoTypes walks every JSON field of each kind's Go type by reflection and checks
// the CRD's schema has it, so the API server never prunes a field the engine writes.
func TestCRDsCoverGoTypes(t *testing.T) {
	byKind := loadCRDs(t)
	kinds := map[string]struct {
		obj       any
		plural    string
		shortName string
		scope     string
	}{
		v1alpha1.KindRollout:                 {v1alpha1.Rollout{}, "rollouts", "ro", "Namespaced"},
		v1alpha1.KindAnalysisTemplate:        {v1alpha1.AnalysisTemplate{}, "analysistemplates", "at", "Namespaced"},
		v1alpha1.KindClusterAnalysisTemplate: {v1alpha1.ClusterAnalysisTemplate{}, "clusteranalysistemplates", "cat", "Cluster"},
		v1alpha1.KindAnalysisRun:             {v1alpha1.AnalysisRun{}, "analysisruns", "ar", "Namespaced"},
		"Experiment":                         {v1alpha1.Experiment{}, "experiments", "exp", "Namespaced"},
	}
	if len(byKind) != len(kinds) {
		t.Errorf("deploy/crds has %d CRDs, want %d", len(byKind), len(kinds))
	}
	for kind, want := range kinds {
		c, ok := byKind[kind]
		if !ok {
			t.Errorf("no CRD for %s", kind)
			continue
		}
		if c.Spec.Group != v1alpha1.GroupName || c.Spec.Names.Plural != want.plural || c.Spec.Scope != want.scope ||
			len(c.Spec.Names.ShortNames) != 1 || c.Spec.Names.ShortNames[0] != want.shortName {
			t.Errorf("%s: group %q plural %q scope %q short names %v", kind, c.Spec.Group, c.Spec.Names.Plural, c.Spec.Scope, c.Spec.Names.ShortNames)
		}
		if len(c.Spec.Versions) != 1 || c.Spec.Versions[0].Name != "v1alpha1" {
			t.Errorf("%s: versions %+v, want only v1alpha1", kind, c.Spec.Versions)
			continue
		}
		var missing []string
		walk(reflect.TypeOf(want.obj), c.Spec.Versions[0].Schema.OpenAPIV3Schema, "", map[reflect.Type]int{}, &missing)
		for _, m := range missing {
			t.Errorf("%s: field %s of the Go type is not in the CRD schema", kind, m)
		}
	}
}

var (
	timeType        = reflect.TypeFor[metav1.Time]()
	objectMetaType  = reflect.TypeFor[metav1.ObjectMeta]()
	intOrStringType = reflect.TypeFor[intstr.IntOrString]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	rawExtType      = reflect.TypeFor[runtime.RawExtension]()
)

// walk checks that every JSON field reachable from t has a place in s. Types that serialise
// as a scalar (times, int-or-string, quantities), raw JSON and ObjectMeta (which the API server
// validates itself) end the walk, as does a schema that keeps unknown fields.
func walk(t reflect.Type, s schemaProps, path string, seen map[reflect.Type]int, missing *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s.PreserveUnknown && len(s.Properties) == 0 || s.IntOrString {
		return
	}
	switch t {
	case timeType, objectMetaType, intOrStringType, rawMessageType, rawExtType:
		return
	}
	if _, ok := t.MethodByName("MarshalJSON"); ok {
		return // a custom encoding (e.g. resource.Quantity) is a scalar in the schema
	}
	if seen[t] > 1 {
		return // recursive types
	}
	seen[t]++
	defer func() { seen[t]-- }()
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return
		}
		if s.Items == nil {
			*missing = append(*missing, path+"[] (no items)")
			return
		}
		walk(t.Elem(), *s.Items, path+"[]", seen, missing)
	case reflect.Map:
		if s.AdditionalProperties == nil {
			*missing = append(*missing, path+"{} (no additionalProperties)")
			return
		}
		walk(t.Elem(), *s.AdditionalProperties, path+"{}", seen, missing)
	case reflect.Struct:
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" {
				continue
			}
			if name == "" && f.Anonymous {
				walk(f.Type, s, path, seen, missing) // inline
				continue
			}
			if name == "" {
				name = f.Name
			}
			p := path + "." + name
			sub, ok := s.Properties[name]
			if !ok {
				*missing = append(*missing, p)
				continue
			}
			walk(f.Type, sub, p, seen, missing)
		}
	}
}

// TestWalkReportsMissing guards the walk itself: against a schema lacking a nested field it
// must name that field.
func TestWalkReportsMissing(t *testing.T) {
	s := schemaProps{Properties: map[string]schemaProps{
		"apiVersion": {}, "kind": {}, "metadata": {}, "status": {PreserveUnknown: true},
		"spec": {Properties: map[string]schemaProps{"strategy": {Properties: map[string]schemaProps{}}}},
	}}
	var missing []string
	walk(reflect.TypeFor[v1alpha1.Rollout](), s, "", map[reflect.Type]int{}, &missing)
	found := false
	for _, m := range missing {
		found = found || m == ".spec.strategy.canary"
	}
	if !found {
		t.Errorf("missing fields %v do not name .spec.strategy.canary", missing)
	}
}
