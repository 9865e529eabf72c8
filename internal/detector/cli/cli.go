// Package cli is the detector's command line: "train" fits a version, "serve" runs the Open
// Inference Protocol server. cmd/detector mounts it as the root command; shipsafe mounts the same
// command as a hidden "shipsafe detector" subcommand so one binary carries everything.
package cli

import "github.com/spf13/cobra"

// NewCommand returns the detector command with its train and serve subcommands.
func NewCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:           "detector",
		Short:         "Reference chest X-ray pneumonia detector: train and serve (Open Inference Protocol v2)",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	cmd.AddCommand(newTrainCmd(), newServeCmd(), newRepackageCmd())
	return cmd
}
