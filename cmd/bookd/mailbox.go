package main

import (
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/bookd/bookd/cmd/bookd/mailbox"
)

func newMailboxCmd() *cobra.Command {
	var listen, dir string
	cmd := &cobra.Command{
		Use:   "mailbox [--listen HOST:PORT] [--dir DIR]",
		Short: "Run a development SMTP server that keeps every message (to try the receipts worker)",
		Long: `bookd mailbox is an SMTP server for development: it accepts every message,
from anyone to anyone, prints one line per message (From, To, Subject,
Message-ID), keeps it as DIR/NNNNNN.eml and forwards nothing. Point
` + "`bookd worker receipts --smtp-addr`" + ` at it to see the receipts a cluster sends.
It has no authentication and is not meant to face a network: keep it on
loopback. It runs until interrupted.`,
		Example: `  bookd mailbox --listen 127.0.0.1:2525 --dir /tmp/bookd-mailbox`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			box, err := mailbox.Listen(listen, mailbox.Options{Dir: dir, Out: cmd.OutOrStdout()})
			if err != nil {
				return err
			}
			defer box.Close()
			fmt.Fprintf(cmd.ErrOrStderr(), "bookd mailbox: listening on %s, keeping messages in %s\n", box.Addr(), dir)
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&listen, "listen", "127.0.0.1:2525", "address to accept SMTP on")
	f.StringVar(&dir, "dir", filepath.Join(os.TempDir(), "bookd-mailbox"), "directory to keep the messages in")
	return cmd
}
