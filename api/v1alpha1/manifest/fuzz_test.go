package manifest

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecodeValidate feeds arbitrary bytes through decoding, validation and defaulting. It
// checks that nothing panics, that every error carries a rule, and that accepted input stays
// accepted after defaults are applied (defaults never make a manifest invalid).
func FuzzDecodeValidate(f *testing.F) {
	for _, pattern := range []string{"testdata/valid/*", "testdata/invalid/*", "../../../examples/*/*.yaml"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(minimalRollout))
	f.Add([]byte(baseCanary))
	f.Add([]byte(baseTemplate))
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"spec\":{\"replicas\":1e9}}"))
	f.Add([]byte("---\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		limits := DefaultLimits()
		limits.MaxAliasNodes = 5000 // keep each input cheap; the real limit is tested elsewhere
		objs, _, errs := decodeAll(data, limits)
		for _, e := range errs {
			if e.Field == nil || FormatFieldError(e.Field) == "" {
				t.Fatalf("decode error without a rule: %#v", e)
			}
		}
		_, err := Validate(objs)
		var list ErrorList
		if err != nil && !errors.As(err, &list) {
			t.Fatalf("Validate returned %T, want ErrorList", err)
		}
		for _, e := range list {
			if FormatFieldError(e.Field) == "" {
				t.Fatalf("validation error without a rule: %#v", e)
			}
		}
		if len(errs) > 0 || err != nil {
			return
		}
		objs = resolveWorkloadRefs(objs)
		for i := range objs {
			SetDefaults(&objs[i])
		}
		if _, err := Validate(objs); err != nil {
			t.Fatalf("valid input became invalid after defaults:\n%v\ninput:\n%s", err, data)
		}
	})
}
