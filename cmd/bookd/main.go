// Command bookd is the bookd server and its command-line client: `bookd
// server` runs one node, `bookd dev` a local 3-node cluster, and the other
// commands talk to a cluster named by --endpoints (or BOOKD_ENDPOINTS).
package main

import (
	"errors"
	"fmt"
	"os"

	"connectrpc.com/connect"
	"github.com/spf13/cobra"
)

func main() {
	root := newRootCmd()
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "bookd:", describe(err))
		os.Exit(exitCode(err))
	}
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "bookd",
		Short:         "A Raft-replicated booking database",
		Long:          "bookd sells seats and tickets without ever selling one twice.\nEvery flag can also be set as BOOKD_<FLAG> (e.g. BOOKD_ENDPOINTS) or in the --config file;\nthe command line wins over the environment, which wins over the file.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if err := flagsFromEnv(cmd); err != nil {
				return err
			}
			if err := flagsFromConfig(cmd); err != nil {
				return err
			}
			if err := checkRequired(cmd); err != nil {
				return err
			}
			return g.check()
		},
	}
	g.register(root)
	registerConfigFlag(root.PersistentFlags())
	root.AddCommand(
		newServerCmd(), newDevCmd(), newEdgeCmd(g),
		newProductsCmd(g), newEventsCmd(g), newAvailabilityCmd(g),
		newHoldCmd(g), newConfirmCmd(g), newReleaseCmd(g), newBookCmd(g),
		newBookingsCmd(g), newWaitlistCmd(g), newWatchCmd(g), newClusterCmd(g), newCertsCmd(),
		newBackupCmd(g), newRestoreCmd(), newRecoverCmd(),
	)
	root.AddCommand(newQueuesCmd(g))
	root.AddCommand(newMailboxCmd())
	root.AddCommand(newWorkerCmd(g))
	root.AddCommand(newQuotasCmd(g), newVouchersCmd(g))
	strictUsage(root) // after every AddCommand: it covers the commands added before it
	return root
}

// Exit codes: 0 success, 1 other errors, 2 bad usage or input, 3 not found,
// 4 refused by the state (sold out, seat taken, hold expired, a change-feed
// cursor no longer retained), 5 unavailable, 6 the cluster answered but is
// unhealthy (`cluster status`), 7 missing or wrong credentials, or a role
// that may not do this.
func exitCode(err error) int {
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	var uh unhealthyError
	if errors.As(err, &uh) {
		return 6
	}
	switch connect.CodeOf(err) {
	case connect.CodeInvalidArgument, connect.CodeAlreadyExists:
		return 2
	case connect.CodeNotFound:
		return 3
	case connect.CodeFailedPrecondition, connect.CodeOutOfRange:
		return 4
	case connect.CodeUnavailable, connect.CodeDeadlineExceeded:
		return 5
	case connect.CodeUnauthenticated, connect.CodePermissionDenied:
		return 7
	}
	return 1
}

// describe renders an error for a person: the Connect code and message.
func describe(err error) string {
	var ce *connect.Error
	if errors.As(err, &ce) {
		return fmt.Sprintf("%s: %s", ce.Code(), ce.Message())
	}
	return err.Error()
}
