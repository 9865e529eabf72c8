package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newDemoCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Run the end-to-end demo",
		RunE:  func(*cobra.Command, []string) error { return errors.New("demo: not implemented yet") },
	}
}
