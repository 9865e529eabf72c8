// Command shipsafe is progressive delivery for ML model services: the CLI, the embedded
// control plane, the gateway and the tools around them, in one binary.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(exitCode(err))
	}
}

// newRootCmd assembles every subcommand. Each subcommand lives in its own file and is
// constructed here, so there is no package-level registry to mutate.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "shipsafe",
		Short:         "Progressive delivery for ML model services",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       binaryVersion(),
	}
	root.SetVersionTemplate("shipsafe {{.Version}}\n")
	root.Flags().BoolP("version", "v", false, "print the version and commit shipsafe was built from (as shipsafe version)")
	root.AddCommand(
		newVersionCmd(),
		newValidateCmd(),
		newPlanCmd(),
		newGatewayCmd(),
		newLoadgenCmd(),
		newAnalysisCmd(),
		newFlagsCmd(),
		newUpCmd(),
		newDemoCmd(),
		newDataplaneCmd(),
		newDetectorCmd(),
		newControllerCmd(),
	)
	root.AddCommand(newRolloutCmds()...)
	return root
}

// exitError carries a specific process exit code (e.g. validate exits 1 on invalid input).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e, ok := err.(*exitError); ok {
		return e.code
	}
	return 1
}
