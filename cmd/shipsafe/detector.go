package main

import (
	"github.com/spf13/cobra"

	"github.com/shipsafe/shipsafe/internal/detector/cli"
)

// newDetectorCmd mounts the reference detector (train, serve) inside the shipsafe binary,
// so the local platform runs model replicas as `shipsafe detector serve ...` with nothing
// else installed. It is listed in --help: every example's manifest runs it.
func newDetectorCmd() *cobra.Command {
	c := cli.NewCommand()
	c.Use = "detector"
	return c
}
