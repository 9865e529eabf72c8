package k8stest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ErrNoBinaries means the test-environment binaries are not built.
var ErrNoBinaries = errors.New("kubernetes test binaries not built (run hack/k8s-testenv/build.sh)")

// Binaries returns the directory of the built binaries: $K8S_TESTENV_BIN if set, else the cache
// directory hack/k8s-testenv/build.sh --check reports for the current pins. It never builds (a
// cold build takes minutes); it returns an error wrapping ErrNoBinaries when they are missing.
func Binaries() (string, error) {
	if d := os.Getenv("K8S_TESTENV_BIN"); d != "" {
		if _, err := os.Stat(filepath.Join(d, "kube-apiserver")); err != nil {
			return "", fmt.Errorf("K8S_TESTENV_BIN=%s: %w: %w", d, ErrNoBinaries, err)
		}
		return d, nil
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.Command(filepath.Join(root, "hack", "k8s-testenv", "build.sh"), "--check")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%w: %s", ErrNoBinaries, strings.TrimSpace(errb.String()))
	}
	return strings.TrimSpace(out.String()), nil
}

// repoRoot walks up from the working directory (a test runs in its package's directory) to the
// directory holding hack/k8s-testenv.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "hack", "k8s-testenv", "build.sh")); err == nil {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("%w: no hack/k8s-testenv above %s", ErrNoBinaries, dir)
		}
	}
}
