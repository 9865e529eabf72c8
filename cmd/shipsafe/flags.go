package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// newFlagsCmd is a placeholder until its issue lands.
func newFlagsCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "flags",
		Short:  "not implemented yet",
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("flags: not implemented yet")
		},
	}
}
