package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newAnalysisCmd is a placeholder until its issue lands.
func newAnalysisCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "analysis",
		Short:  "not implemented yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("analysis: not implemented yet")
		},
	}
}
