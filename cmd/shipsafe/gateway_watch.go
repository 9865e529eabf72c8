package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/shipsafe/shipsafe/internal/gateway"
)

// watchRoutesFile reloads the routes file whenever it changes, until ctx ends. It watches
// the directory rather than the file so that editors and tools that replace the file by
// rename are seen too. A file that fails to parse or validate is logged and ignored: the
// gateway keeps serving the last good table.
func watchRoutesFile(ctx context.Context, g *gateway.Gateway, path string, logger *slog.Logger) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch routes file: %w", err)
	}
	defer w.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch routes file: %w", err)
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("watch routes file directory %s: %w", filepath.Dir(abs), err)
	}
	// Changes often come as a burst (truncate + write, or write + rename); reload once
	// the burst settles.
	const settle = 100 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(ev.Name) == abs || filepath.Base(ev.Name) == "..data" {
				timer.Reset(settle)
			}
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			logger.Warn("routes watcher error", "err", err)
		case <-timer.C:
			if err := loadRoutesFile(g, path); err != nil {
				logger.Error("routes file rejected; keeping the last good table", "file", path, "err", err)
				continue
			}
			logger.Info("routes file reloaded", "file", path)
		}
	}
}
