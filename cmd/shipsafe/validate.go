package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newValidateCmd is a placeholder until its issue lands.
func newValidateCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "validate",
		Short:  "not implemented yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("validate: not implemented yet")
		},
	}
}
