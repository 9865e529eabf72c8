package main

import (
	"github.com/spf13/cobra"
)

// newAnalysisCmd groups analysis tools. Its subcommands live in analysis_*.go files.
func newAnalysisCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "analysis",
		Short: "Canary analysis tools (the statistical judge)",
	}
	cmd.AddCommand(newAnalysisSimulateCmd())
	return cmd
}
