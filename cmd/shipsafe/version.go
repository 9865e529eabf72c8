package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// versionText is the module version and VCS commit the binary was built from, as the Go
// toolchain recorded them: "v0.3.0 (commit 1a2b3c4d5e6f, 2026-12-04T21:00:00Z, go1.26.0)".
// A `go build` in a checkout reports version (devel) and, when the tree had uncommitted
// changes, "modified".
func versionText(info *debug.BuildInfo, ok bool) string {
	if !ok || info == nil {
		return "unknown (no build information in the binary; " + runtime.Version() + ")"
	}
	version := info.Main.Version
	if version == "" {
		version = "(devel)"
	}
	var commit, when string
	modified := false
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var details []string
	if commit != "" {
		if len(commit) > 12 {
			commit = commit[:12]
		}
		details = append(details, "commit "+commit)
	} else {
		details = append(details, "commit unknown: built with -buildvcs=false or outside a git checkout")
	}
	if when != "" {
		details = append(details, when)
	}
	if modified {
		details = append(details, "modified")
	}
	goVersion := info.GoVersion
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	details = append(details, goVersion)
	return fmt.Sprintf("%s (%s)", version, strings.Join(details, ", "))
}

// binaryVersion is versionText of the running binary.
func binaryVersion() string { return versionText(debug.ReadBuildInfo()) }

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and commit shipsafe was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "shipsafe %s\n", binaryVersion())
			return nil
		},
	}
}
