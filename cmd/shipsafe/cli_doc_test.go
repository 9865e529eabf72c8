package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// cliDocPath is docs/cli.md, from this package's directory.
var cliDocPath = filepath.Join("..", "..", "docs", "cli.md")

// Issue 11.18: the CLI reference is generated from the command tree and must not go stale.
// SHIPSAFE_UPDATE_CLI_DOC=1 (what `go generate ./cmd/shipsafe` sets) rewrites it.
func TestCLIReferenceIsUpToDate(t *testing.T) {
	// Flag defaults must not depend on the caller's environment.
	for _, k := range []string{envServer, envToken, "SHIPSAFE_FEEDBACK_TOKEN"} {
		t.Setenv(k, "")
	}
	var b bytes.Buffer
	if err := writeCLIReference(&b, newRootCmd()); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("SHIPSAFE_UPDATE_CLI_DOC") == "1" {
		if err := os.WriteFile(cliDocPath, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	have, err := os.ReadFile(cliDocPath)
	if err != nil {
		t.Fatalf("%v: generate it with `go generate ./cmd/shipsafe`", err)
	}
	if !bytes.Equal(have, b.Bytes()) {
		t.Errorf("docs/cli.md is stale (first difference at line %d): regenerate it with `go generate ./cmd/shipsafe`", firstDiffLine(string(have), b.String()))
	}
}

func TestCLIReferenceCoversEveryVisibleCommand(t *testing.T) {
	var b bytes.Buffer
	if err := writeCLIReference(&b, newRootCmd()); err != nil {
		t.Fatal(err)
	}
	doc := b.String()
	for _, want := range []string{"## shipsafe events\n", "## shipsafe detector serve\n", "## shipsafe version\n", "--no-wait", "--max-error-rate"} {
		if !strings.Contains(doc, want) {
			t.Errorf("reference lacks %q", want)
		}
	}
	for _, hidden := range []string{"## shipsafe dataplane", "## shipsafe help"} {
		if strings.Contains(doc, hidden) {
			t.Errorf("reference documents %q", hidden)
		}
	}
}

func firstDiffLine(a, b string) int {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(al), len(bl)) {
		if al[i] != bl[i] {
			return i + 1
		}
	}
	return min(len(al), len(bl)) + 1
}
