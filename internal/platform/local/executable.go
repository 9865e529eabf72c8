package local

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// stableExecutable returns a path for command "shipsafe" that outlives this process.
// `go run` executes a binary from a temporary build dir that is deleted when it exits,
// after which adopted replicas could not be restarted; such a binary is copied into
// <dataDir>/bin once (again when it changes) and the copy is used instead.
func stableExecutable(dataDir, exe string) (string, error) {
	if !strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return exe, nil
	}
	src, err := os.Open(exe)
	if err != nil {
		return "", fmt.Errorf("copy %s into the data dir: %w", exe, err)
	}
	defer src.Close()
	srcInfo, err := src.Stat()
	if err != nil {
		return "", fmt.Errorf("copy %s into the data dir: %w", exe, err)
	}
	dst := filepath.Join(dataDir, "bin", filepath.Base(exe))
	if dstInfo, err := os.Stat(dst); err == nil && dstInfo.Size() == srcInfo.Size() && !dstInfo.ModTime().Before(srcInfo.ModTime()) {
		return dst, nil
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return "", fmt.Errorf("copy %s into the data dir: %w", exe, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".shipsafe-*")
	if err != nil {
		return "", fmt.Errorf("copy %s into the data dir: %w", exe, err)
	}
	_, err = io.Copy(tmp, src)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o755)
	}
	if err == nil {
		// Rename over a running binary is safe: running replicas keep the old inode.
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		return "", fmt.Errorf("copy %s to %s: %w", exe, dst, err)
	}
	return dst, nil
}
