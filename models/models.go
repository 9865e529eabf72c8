// Package models embeds the detector's released artifacts (v1, v2, v3) and the SHA-256 manifest
// they are checked against, so "--model v2" works from any directory and from the shipped binary.
package models

import (
	"bufio"
	"bytes"
	"embed"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/shipsafe/shipsafe/internal/detector/model"
)

//go:embed *.ssmodel SHA256SUMS
var files embed.FS

// Names lists the embedded versions, as the manifest names them.
func Names() []string {
	sums, err := manifest()
	if err != nil {
		return nil
	}
	var names []string
	for file := range sums {
		names = append(names, strings.TrimSuffix(file, ".ssmodel"))
	}
	slices.Sort(names)
	return names
}

// Open returns an embedded artifact's bytes and the digest the manifest pins for it.
func Open(name string) (artifact []byte, wantSHA256 string, err error) {
	want, err := Digest(name)
	if err != nil {
		return nil, "", err
	}
	data, err := files.ReadFile(name + ".ssmodel")
	if err != nil {
		return nil, "", fmt.Errorf("model %q: %w", name, err)
	}
	return data, want, nil
}

// Digest returns the SHA-256 the manifest pins for an embedded version, without reading the
// artifact (what the audit log and history name).
func Digest(name string) (string, error) {
	sums, err := manifest()
	if err != nil {
		return "", err
	}
	want, ok := sums[name+".ssmodel"]
	if !ok {
		return "", fmt.Errorf("model %q: not embedded (want one of %s)", name, strings.Join(Names(), ", "))
	}
	return want, nil
}

// Load resolves ref as an embedded version name (v1, v2, v3) or else as a file path, and loads
// it with its digests checked.
func Load(ref string) (*model.Model, error) {
	for _, n := range Names() {
		if ref == n {
			data, want, err := Open(ref)
			if err != nil {
				return nil, err
			}
			m, err := model.Load(data, want)
			if err != nil {
				return nil, fmt.Errorf("load embedded model %s: %w", ref, err)
			}
			return m, nil
		}
	}
	data, err := os.ReadFile(ref)
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w (not a file, and not one of %s)", ref, err, strings.Join(Names(), ", "))
	}
	m, err := model.Load(data, "")
	if err != nil {
		return nil, fmt.Errorf("load model %q: %w", ref, err)
	}
	return m, nil
}

// manifest parses SHA256SUMS ("<hex>  <file>" lines, as sha256sum writes them).
func manifest() (map[string]string, error) {
	raw, err := files.ReadFile("SHA256SUMS")
	if err != nil {
		return nil, fmt.Errorf("models manifest: %w", err)
	}
	sums := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 2 {
			sums[strings.TrimPrefix(fields[1], "*")] = fields[0]
		}
	}
	return sums, nil
}
