package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
)

// TokenFile is the name, in the data dir, of the API token file (mode 0600).
const TokenFile = "token"

// MinTokenLength is the shortest token accepted: 32 hex characters are 128 bits.
const MinTokenLength = 32

// SecureDataDir makes the data dir private (0700) when group or others can access it, with
// a warning: it holds the database, the token and the replica logs, and a directory made by
// hand (mkdir, or an older version) keeps whatever mode it was given.
func SecureDataDir(dir string, log *slog.Logger) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat data dir %s: %w", dir, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("data dir %s has mode %04o (group or others can access it) and chmod 700 failed: %w", dir, perm, err)
		}
		log.Warn("data dir was accessible by group or others; changed its mode to 0700", "dir", dir, "was", fmt.Sprintf("%04o", perm))
	}
	return nil
}

// LoadOrCreateToken reads the data dir's token, generating one on first start. An existing
// token file must not be readable by group or others and must hold at least MinTokenLength
// characters: a token anyone on the machine can read, or guess, authorises every mutating
// API call. It refuses a data dir others can access (SecureDataDir fixes one).
func LoadOrCreateToken(dataDir string) (string, error) {
	return loadOrCreateToken(dataDir, writeFileSynced)
}

func loadOrCreateToken(dataDir string, write func(path string, data []byte) error) (string, error) {
	if err := checkPrivate(dataDir, "data dir", "chmod 700"); err != nil {
		return "", err
	}
	p := filepath.Join(dataDir, TokenFile)
	if b, err := os.ReadFile(p); err == nil {
		if err := checkPrivate(p, "token file", "chmod 600"); err != nil {
			return "", err
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("token file %s is empty: delete it to generate a new one", p)
		}
		if len(tok) < MinTokenLength {
			return "", fmt.Errorf("token file %s: the token is %d characters; at least %d (128 bits as hex) are required: delete the file to generate a new one", p, len(tok), MinTokenLength)
		}
		return tok, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read token: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	tok := hex.EncodeToString(raw[:])
	if err := write(p, []byte(tok+"\n")); err != nil {
		return "", fmt.Errorf("create token file: %w", err)
	}
	return tok, nil
}

// checkPrivate refuses a path whose mode lets group or others read, write or enter it.
func checkPrivate(path, what, fix string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("stat %s %s: %w", what, path, err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return fmt.Errorf("%s %s has mode %04o: group or others can access it, and it holds the API token; run `%s %s` (or delete it to start afresh)", what, path, perm, fix, path)
	}
	return nil
}

// writeFileSynced writes data to a temp file beside path, syncs it and renames it over
// path, so a full disk or a crash leaves either no file or the whole one — never an empty
// token file that blocks every later start.
func writeFileSynced(path string, data []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(filepath.Dir(path)); derr == nil {
		// The rename is durable only once the directory is synced.
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// ReadToken reads an existing token (for the CLI).
func ReadToken(dataDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, TokenFile))
	if err != nil {
		return "", fmt.Errorf("read API token (is `shipsafe up` running with this --data-dir?): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
