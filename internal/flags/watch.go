package flags

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/fsnotify/fsnotify"
	"sigs.k8s.io/yaml"
)

// readDefinitions reads a flag definitions file. flagd accepts YAML as well as JSON: a
// .yaml/.yml file is converted to JSON (error paths are still JSON paths).
func readDefinitions(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		j, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, &ParseError{Path: "$", Msg: "invalid YAML: " + err.Error()}
		}
		return j, nil
	}
	return data, nil
}

// LoadFile loads path into the store once (source "file").
func LoadFile(ctx context.Context, s *Store, path string) (*FlagSet, error) {
	data, err := readDefinitions(path)
	if err != nil {
		return nil, fmt.Errorf("read flag definitions %q: %w", path, err)
	}
	set, err := s.Load(ctx, data, "file", "", "file.load")
	if err != nil {
		return nil, fmt.Errorf("load flag definitions %q: %w", path, err)
	}
	return set, nil
}

// WatchFile reloads path into the store whenever it changes, until ctx ends. It watches
// the file's directory, so editors that replace the file (write a temp file, rename) are
// seen too. A change that does not compile leaves the last good set serving (Store.Load).
// The first load must have happened already (LoadFile). ready, if not nil, is closed once
// the watch is established.
func WatchFile(ctx context.Context, s *Store, path string, ready chan<- struct{}) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %q: %w", path, err)
	}
	defer w.Close()
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("watch %q: %w", path, err)
	}
	if err := w.Add(filepath.Dir(abs)); err != nil {
		return fmt.Errorf("watch directory of %q: %w", path, err)
	}
	if ready != nil {
		close(ready)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.opts.Logger.Warn("flag file watch error", "path", path, "err", err)
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if filepath.Clean(ev.Name) != abs || !ev.Has(fsnotify.Write|fsnotify.Create|fsnotify.Rename) {
				continue
			}
			data, err := readDefinitions(abs)
			if errors.Is(err, os.ErrNotExist) {
				continue // renamed away; the replacement's Create event follows
			}
			var pe *ParseError
			if errors.As(err, &pe) {
				s.reject(err, "file", "", "file.reload")
				continue
			}
			if err != nil {
				s.opts.Logger.Warn("read flag file", "path", path, "err", err)
				continue
			}
			_, _ = s.Load(ctx, data, "file", "", "file.reload") // errors are logged and published by Load
		}
	}
}

// FilePersister returns a StoreOptions.Persist that writes accepted documents to path
// atomically (temp file + rename), so the watched file stays the source of truth.
func FilePersister(path string) func(context.Context, []byte) error {
	return func(_ context.Context, document []byte) error {
		dir := filepath.Dir(path)
		tmp, err := os.CreateTemp(dir, ".flags-*.json")
		if err != nil {
			return fmt.Errorf("write %q: %w", path, err)
		}
		defer os.Remove(tmp.Name())
		if _, err := tmp.Write(document); err != nil {
			tmp.Close()
			return fmt.Errorf("write %q: %w", tmp.Name(), err)
		}
		if err := tmp.Close(); err != nil {
			return fmt.Errorf("write %q: %w", tmp.Name(), err)
		}
		if err := os.Rename(tmp.Name(), path); err != nil {
			return fmt.Errorf("replace %q: %w", path, err)
		}
		return nil
	}
}
