package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
)

// upLogFile is the name, in the data dir, of the control plane's log.
const upLogFile = "shipsafe.log"

// openUpLog returns the logger `up` runs with: the data dir's log file, appended to across
// restarts (so events and command outcomes are not lost with the terminal), or stderr.
// path is "" for stderr; closeFn closes the file.
func openUpLog(dataDir string, toStderr bool, stderr io.Writer) (log *slog.Logger, path string, closeFn func() error, err error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if toStderr {
		return slog.New(slog.NewTextHandler(stderr, opts)), "", func() error { return nil }, nil
	}
	dir, err := filepath.Abs(dataDir)
	if err != nil {
		return nil, "", nil, fmt.Errorf("--data-dir %q: %w", dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", nil, fmt.Errorf("create data dir %s: %w", dir, err)
	}
	path = filepath.Join(dir, upLogFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, "", nil, fmt.Errorf("open the log file (--log-stderr logs to stderr instead): %w", err)
	}
	return slog.New(slog.NewTextHandler(f, opts)), path, f.Close, nil
}
