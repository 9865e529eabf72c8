package crds_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestGeneratedUpToDate regenerates the deep-copy functions and the CRDs from api/v1alpha1 into
// a temporary copy of the module and fails if they differ from the checked-in files, so a type
// change without `go generate ./api/v1alpha1` cannot be committed unnoticed.
func TestGeneratedUpToDate(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go toolchain needed to regenerate: %v", err)
		}
		t.Skipf("no go toolchain: %v", err)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	gen := filepath.Join(tmp, "controller-gen")
	run(t, filepath.Join(root, "hack", "codegen"), "go", "build", "-o", gen, "sigs.k8s.io/controller-tools/cmd/controller-gen")

	// A copy of the module holding only the types package: same module path, so the output
	// is byte-for-byte what go generate writes in the tree.
	mod := filepath.Join(tmp, "mod")
	pkg := filepath.Join(mod, "api", "v1alpha1")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	copyFile(t, filepath.Join(root, "go.mod"), filepath.Join(mod, "go.mod"))
	copyFile(t, filepath.Join(root, "go.sum"), filepath.Join(mod, "go.sum"))
	srcs, err := filepath.Glob(filepath.Join(root, "api", "v1alpha1", "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range srcs {
		base := filepath.Base(src)
		if base == "zz_generated.deepcopy.go" || filepath.Ext(base) != ".go" || len(base) > 8 && base[len(base)-8:] == "_test.go" {
			continue
		}
		copyFile(t, src, filepath.Join(pkg, base))
	}
	out := filepath.Join(tmp, "crds")
	run(t, mod, gen, "object", "paths=./api/v1alpha1",
		"crd:crdVersions=v1,allowDangerousTypes=true,maxDescLen=0,generateEmbeddedObjectMeta=true", "output:crd:artifacts:config="+out)

	compare(t, filepath.Join(pkg, "zz_generated.deepcopy.go"), filepath.Join(root, "api", "v1alpha1", "zz_generated.deepcopy.go"))
	fresh, err := filepath.Glob(filepath.Join(out, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	checked, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(fresh) != len(checked) {
		t.Errorf("controller-gen writes %d CRDs, deploy/crds has %d: run go generate ./api/v1alpha1", len(fresh), len(checked))
	}
	for _, f := range fresh {
		compare(t, f, filepath.Base(f))
	}
}

func run(t *testing.T, dir, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v in %s: %v\n%s", name, args, dir, err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func compare(t *testing.T, fresh, checked string) {
	t.Helper()
	want, err := os.ReadFile(fresh)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(checked)
	if err != nil {
		t.Errorf("%s: %v (run go generate ./api/v1alpha1)", checked, err)
		return
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s is stale: run go generate ./api/v1alpha1", checked)
	}
}
