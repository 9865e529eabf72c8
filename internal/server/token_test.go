package server

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// privateDir is a temp dir with mode 0700 (t.TempDir's is 0755 under a usual umask).
func privateDir(t *testing.T) string {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestSecureDataDirFixesModeWithWarning(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	if err := SecureDataDir(dir, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(dir)
	if fi.Mode().Perm() != 0o700 {
		t.Fatalf("mode %04o after SecureDataDir, want 0700", fi.Mode().Perm())
	}
	if !strings.Contains(logs.String(), "was=0755") {
		t.Fatalf("no warning naming the old mode: %q", logs.String())
	}
}

func TestTokenCreatedPrivateAndReused(t *testing.T) {
	dir := privateDir(t)
	tok, err := LoadOrCreateToken(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok) < MinTokenLength {
		t.Fatalf("generated token has %d characters", len(tok))
	}
	fi, err := os.Stat(filepath.Join(dir, TokenFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %04o, want 0600", fi.Mode().Perm())
	}
	again, err := LoadOrCreateToken(dir)
	if err != nil || again != tok {
		t.Fatalf("second load = %q, %v; want the same token", again, err)
	}
}

// A failed write (a full disk at first start) must leave no token file behind, so the
// next start generates one instead of refusing an empty file.
func TestTokenWriteFailureLeavesNoFile(t *testing.T) {
	dir := privateDir(t)
	full := errors.New("no space left on device")
	_, err := loadOrCreateToken(dir, func(path string, data []byte) error {
		f, err := os.CreateTemp(dir, ".token.tmp-*")
		if err != nil {
			return err
		}
		f.Close()
		os.Remove(f.Name())
		return full
	})
	if !errors.Is(err, full) {
		t.Fatalf("err = %v, want the write error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, TokenFile)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("token file exists after a failed write (stat err %v)", err)
	}
	if _, err := LoadOrCreateToken(dir); err != nil {
		t.Fatalf("the next start must succeed: %v", err)
	}
}

func TestTokenRefusesReadableDirFileAndWeakToken(t *testing.T) {
	t.Run("world-readable data dir", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateToken(dir)
		if err == nil || !strings.Contains(err.Error(), "mode 0755") || !strings.Contains(err.Error(), "chmod 700") {
			t.Fatalf("err = %v, want a refusal naming the mode and the fix", err)
		}
	})
	t.Run("group-readable token file", func(t *testing.T) {
		dir := privateDir(t)
		p := filepath.Join(dir, TokenFile)
		if err := os.WriteFile(p, []byte(strings.Repeat("a", 64)), 0o640); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateToken(dir)
		if err == nil || !strings.Contains(err.Error(), "mode 0640") {
			t.Fatalf("err = %v, want a refusal naming the mode", err)
		}
	})
	t.Run("short token", func(t *testing.T) {
		dir := privateDir(t)
		if err := os.WriteFile(filepath.Join(dir, TokenFile), []byte("secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateToken(dir)
		if err == nil || !strings.Contains(err.Error(), "6 characters") {
			t.Fatalf("err = %v, want a refusal naming the length", err)
		}
	})
}
