package manifest

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFixtures: every testdata/valid file parses cleanly; every testdata/invalid file is
// rejected with each "# want: <text>" line found among its errors, and with nothing else.
func TestFixtures(t *testing.T) {
	valid, _ := filepath.Glob("testdata/valid/*")
	for _, f := range valid {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, warnings, err := ParseWithWarnings(data)
			if err != nil {
				t.Errorf("valid fixture rejected:\n%v", err)
			}
			// "# warn: <text>" lines name the warnings it must give, and no others.
			var got []string
			for _, w := range warnings {
				got = append(got, w.Error())
			}
			wants := prefixedLines(data, "# warn: ")
			for _, w := range wants {
				if !strings.Contains(strings.Join(got, "\n"), w) {
					t.Errorf("missing warning %q; got:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(wants) {
				t.Errorf("%d warnings, want %d:\n%s", len(got), len(wants), strings.Join(got, "\n"))
			}
		})
	}
	invalid, _ := filepath.Glob("testdata/invalid/*")
	if len(valid) == 0 || len(invalid) == 0 {
		t.Fatal("fixtures missing")
	}
	for _, f := range invalid {
		t.Run(f, func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			wants := wantLines(data)
			_, err = Parse(data)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("invalid fixture accepted (err %v)", err)
			}
			got := err.Error()
			for _, w := range wants {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
			if len(list) != len(wants) {
				t.Errorf("got %d errors, want %d:\n%s", len(list), len(wants), got)
			}
		})
	}
}

func wantLines(data []byte) []string { return prefixedLines(data, "# want: ") }

// prefixedLines returns the rest of every line of data that starts with prefix.
func prefixedLines(data []byte, prefix string) []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if w, ok := strings.CutPrefix(sc.Text(), prefix); ok {
			out = append(out, w)
		}
	}
	return out
}

// TestExamplesValidate validates every file under examples/ together (so their template
// references are checked) and each strategy folder on its own, without warnings.
func TestExamplesValidate(t *testing.T) {
	root := filepath.Join("..", "..", "..", "examples")
	res, err := LoadPath(root, nil)
	if err != nil {
		t.Fatalf("examples invalid:\n%v", err)
	}
	if len(res.Warnings) > 0 || len(res.Skipped) > 0 {
		t.Errorf("examples have warnings %v / skipped %v", res.Warnings, res.Skipped)
	}
	byName := map[string]*Object{}
	for i := range res.Objects {
		byName[res.Objects[i].Name()] = &res.Objects[i]
	}
	canary := byName["detector-canary"]
	if canary == nil || *canary.Rollout.Spec.Replicas != 10 {
		t.Fatalf("canary example missing or not 10 replicas")
	}
	var weights []int32
	for _, st := range canary.Rollout.Spec.Strategy.Canary.Steps {
		if st.SetWeight != nil {
			weights = append(weights, *st.SetWeight)
		}
	}
	if want := []int32{5, 20, 50, 100}; !equalInt32(weights, want) {
		t.Errorf("canary weights %v, want %v", weights, want)
	}
	bg := byName["detector-bluegreen"]
	if bg == nil || *bg.Rollout.Spec.Replicas != 5 || bg.Rollout.Spec.Strategy.BlueGreen.AutoPromotionEnabledOrDefault() ||
		*bg.Rollout.Spec.Strategy.BlueGreen.ScaleDownDelaySeconds != 30 {
		t.Errorf("blue-green example does not match the seed")
	}
	for _, name := range []string{"detector-rolling", "detector-deployment"} {
		r := byName[name]
		if r == nil || *r.Rollout.Spec.Replicas != 6 || r.Rollout.Spec.Strategy.Rolling.MaxSurge.IntVal != 2 ||
			r.Rollout.Spec.Strategy.Rolling.MaxUnavailable.IntVal != 1 {
			t.Errorf("%s does not match the seed (6 replicas, maxSurge 2, maxUnavailable 1)", name)
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(root, "*"))
	for _, d := range dirs {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			continue
		}
		res, err := LoadPath(d, nil)
		if err != nil || len(res.Warnings) > 0 {
			t.Errorf("%s on its own: err %v, warnings %v", d, err, res.Warnings)
		}
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
