package manifest

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
	var (
		errs ErrorList
		all  []Object
	)
	limits := DefaultLimits()
	for _, f := range files {
		data, err := readLimited(f, stdin, limits.MaxBytes)
		if err != nil {
			errs = append(errs, &Error{Source: f, Field: field.Invalid(nil, nil, err.Error())})
			continue
		}
		objs, skipped, decodeErrs := decodeAll(data, limits)
		for i := range objs {
			objs[i].Source = f
		}
		for _, s := range skipped {
			s.Source = f
		}
		for _, e := range decodeErrs {
			e.Source = f
		}
		res.Skipped = append(res.Skipped, skipped...)
		all = append(all, objs...)
		errs = append(errs, decodeErrs...)
	}
	warnings, err := Validate(all)
	res.Warnings = warnings
	var list ErrorList
	if errors.As(err, &list) {
		errs = append(errs, withoutEchoes(list, errs)...)
	}
	for _, o := range all {
		if !o.partial {
			res.Objects = append(res.Objects, o)
		}
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

// withoutEchoes drops validation errors of partially decoded objects at (or under) a path
// that already has a decoding error: "spec.replicas: must be an integer" needs no second
// "spec.replicas: is required".
func withoutEchoes(validation, decoding ErrorList) ErrorList {
	bad := map[string][]string{}
	for _, e := range decoding {
		key := fmt.Sprintf("%s#%d", e.Source, e.Document)
		bad[key] = append(bad[key], e.Field.Field)
	}
	var out ErrorList
	for _, e := range validation {
		echo := false
		for _, p := range bad[fmt.Sprintf("%s#%d", e.Source, e.Document)] {
			f := e.Field.Field
			under := f == p || strings.HasPrefix(f, p+".") || strings.HasPrefix(f, p+"[")
			// "is required" at a parent of a dropped field is the same problem again.
			parentRequired := e.Field.Type == field.ErrorTypeRequired && f != "" &&
				(strings.HasPrefix(p, f+".") || strings.HasPrefix(p, f+"["))
			if under || parentRequired {
				echo = true
				break
			}
		}
		if !echo {
			out = append(out, e)
		}
	}
	return out
}
