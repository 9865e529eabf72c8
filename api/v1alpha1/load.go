package v1alpha1

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// LoadResult is what LoadPath found: the objects, warnings, and the files read.
type LoadResult struct {
	Objects  []Object
	Warnings ErrorList
	// Skipped lists documents of other kinds (Services, Ingresses, ...) that were ignored.
	Skipped ErrorList
	Files   []string
}

// LoadPath reads a manifest file, every .yaml/.yml/.json file under a directory (recursively,
// in name order), or stdin when path is "-"; decodes and validates everything together so
// references between files are checked. Objects of valid files are returned even when other
// files are invalid; err is an ErrorList naming each file, line and field.
func LoadPath(path string, stdin io.Reader) (LoadResult, error) {
	var res LoadResult
	files, err := manifestFiles(path)
	if err != nil {
		return res, err
	}
	res.Files = files
	var errs ErrorList
	limits := DefaultLimits()
	for _, f := range files {
		data, err := readLimited(f, stdin, limits.MaxBytes)
		if err != nil {
			errs = append(errs, &Error{Source: f, Field: field.Invalid(nil, nil, err.Error())})
			continue
		}
		objs, skipped, err := DecodeAll(data, limits)
		for i := range objs {
			objs[i].Source = f
		}
		for _, s := range skipped {
			s.Source = f
		}
		res.Skipped = append(res.Skipped, skipped...)
		res.Objects = append(res.Objects, objs...)
		var list ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				e.Source = f
			}
			errs = append(errs, list...)
		} else if err != nil {
			errs = append(errs, &Error{Source: f, Field: field.Invalid(nil, nil, err.Error())})
		}
	}
	warnings, err := Validate(res.Objects)
	res.Warnings = warnings
	var list ErrorList
	if errors.As(err, &list) {
		errs = append(errs, list...)
	}
	sortErrors(errs)
	if len(errs) > 0 {
		return res, errs
	}
	return res, nil
}

func manifestFiles(path string) ([]string, error) {
	if path == "-" {
		return []string{"-"}, nil
	}
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("read manifests: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk %s: %w", path, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no .yaml, .yml or .json files under %s", path)
	}
	sort.Strings(files)
	return files, nil
}

// readLimited reads at most limit+1 bytes so an oversized input is detected without reading
// all of it.
func readLimited(path string, stdin io.Reader, limit int) ([]byte, error) {
	var r io.Reader = stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("open: %w", err)
		}
		defer f.Close()
		r = f
	} else if stdin == nil {
		return nil, fmt.Errorf("no standard input")
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(data) > limit {
		return nil, fmt.Errorf("file is more than the limit of %d bytes", limit)
	}
	return data, nil
}
