package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// docs/cli.md is generated from the command tree; TestCLIReferenceIsUpToDate fails when it
// is stale. Regenerate it with `go generate ./cmd/shipsafe`.
//go:generate env SHIPSAFE_UPDATE_CLI_DOC=1 go test -count=1 -run ^TestCLIReferenceIsUpToDate$ .

// writeCLIReference renders every visible command of root as Markdown: usage, description,
// examples, flags and subcommands, in the tree's (alphabetical) order.
func writeCLIReference(w io.Writer, root *cobra.Command) error {
	root.InitDefaultVersionFlag() // cobra adds --version only when executing
	var b strings.Builder
	b.WriteString("# CLI reference\n\n")
	b.WriteString("<!-- Generated from the cobra command tree by `go generate ./cmd/shipsafe`; do not edit.\n")
	b.WriteString("     TestCLIReferenceIsUpToDate (cmd/shipsafe) fails when this file is stale. -->\n\n")
	fmt.Fprintf(&b, "%s\n\n", root.Short)
	b.WriteString("Commands that talk to a running `shipsafe up` find its API through `--server`, an explicit\n")
	b.WriteString("`--data-dir`, `$SHIPSAFE_SERVER`, or the nearest `.shipsafe` directory in this or a parent\n")
	b.WriteString("directory; commands that change state send the token from the data dir or `$SHIPSAFE_TOKEN`.\n")
	b.WriteString("`shipsafe completion bash|zsh|fish|powershell` prints a shell completion script.\n\n")
	var cmds []*cobra.Command
	visit(root, func(c *cobra.Command) { cmds = append(cmds, c) })
	b.WriteString("## Commands\n\n")
	for _, c := range cmds[1:] {
		depth := strings.Count(c.CommandPath(), " ") - 1
		fmt.Fprintf(&b, "%s- [`%s`](#%s) — %s\n", strings.Repeat("  ", depth), c.CommandPath(), anchor(c), c.Short)
	}
	b.WriteString("\n")
	for _, c := range cmds {
		writeCommand(&b, c)
	}
	_, err := io.WriteString(w, strings.TrimRight(b.String(), "\n")+"\n")
	return err
}

// visit calls fn for c and its available descendants (hidden and deprecated commands are
// left out; cobra adds help and completion only when executing, so they are too).
func visit(c *cobra.Command, fn func(*cobra.Command)) {
	fn(c)
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			visit(sub, fn)
		}
	}
}

// anchor is the GitHub heading anchor of a command's section ("## shipsafe flags serve").
func anchor(c *cobra.Command) string {
	return strings.ReplaceAll(c.CommandPath(), " ", "-")
}

func writeCommand(b *strings.Builder, c *cobra.Command) {
	fmt.Fprintf(b, "## %s\n\n", c.CommandPath())
	desc := c.Long
	if desc == "" {
		desc = c.Short
	}
	fmt.Fprintf(b, "%s\n\n", strings.TrimSpace(desc))
	if c.Runnable() {
		fmt.Fprintf(b, "```\n%s\n```\n\n", c.UseLine())
	}
	if c.Example != "" {
		fmt.Fprintf(b, "Examples:\n\n```\n%s\n```\n\n", strings.TrimRight(c.Example, "\n"))
	}
	if fl := c.NonInheritedFlags(); fl.HasAvailableFlags() {
		fmt.Fprintf(b, "Flags:\n\n```\n%s```\n\n", fl.FlagUsages())
	}
	if fl := c.InheritedFlags(); fl.HasAvailableFlags() {
		fmt.Fprintf(b, "Flags inherited from parent commands:\n\n```\n%s```\n\n", fl.FlagUsages())
	}
	var subs []string
	for _, sub := range c.Commands() {
		if sub.IsAvailableCommand() {
			subs = append(subs, fmt.Sprintf("- [`%s`](#%s) — %s", sub.CommandPath(), anchor(sub), sub.Short))
		}
	}
	if len(subs) > 0 && c.HasParent() {
		fmt.Fprintf(b, "Subcommands:\n\n%s\n\n", strings.Join(subs, "\n"))
	}
}
