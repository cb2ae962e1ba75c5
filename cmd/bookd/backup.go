package main

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/bookd/bookd/raftnode"
	"github.com/spf13/cobra"
)

func newBackupCmd(g *globals) *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Stream a consistent copy of a running cluster's state from its leader into FILE",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out: required")
			}
			c, ctx, done, err := g.client(cmd)
			if err != nil {
				return err
			}
			defer done()
			tmp := out + ".partial"
			f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			index, err := c.Backup(ctx, f)
			if err == nil {
				err = f.Sync()
			}
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(tmp)
				return err
			}
			if err := os.Rename(tmp, out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup of index %d written to %s\n", index, out)
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "out", "f", "", "file to write the backup to (written whole or not at all)")
	return cmd
}

func newRestoreCmd() *cobra.Command {
	var from, dataDir, peers string
	cmd := &cobra.Command{
		Use:   "restore --from FILE --data-dir DIR --peers n1=HOST:PORT,...",
		Short: "Seed one member of a new cluster from a backup (run it for every member, then start them)",
		Long: "Loads the backup into the empty data directory of one member of a new cluster, with the\n" +
			"cluster's members given by --peers (their Raft addresses). Run it with the same backup and\n" +
			"--peers for every member, then start each with `bookd server` (no --initial-cluster).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := offlineArgs(from != "", dataDir, peers)
			if err != nil {
				return err
			}
			f, err := os.Open(from)
			if err != nil {
				return usagef("--from: %v", err)
			}
			defer f.Close()
			index, err := raftnode.SeedFromBackup(dataDir, f, ps, quietLogger())
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "seeded %s at index %d for members %s\n", dataDir, index, peers)
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "the backup `FILE` (written by bookd backup)")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the new member's empty data directory")
	cmd.Flags().StringVar(&peers, "peers", "", "the new cluster's members: n1=HOST:PORT,... (Raft addresses)")
	return cmd
}

func newRecoverCmd() *cobra.Command {
	var id, dataDir, peers string
	cmd := &cobra.Command{
		Use:   "recover --id n1 --data-dir DIR --peers n1=HOST:PORT,...",
		Short: "After losing a majority for good: rebuild a stopped survivor's membership from --peers",
		Long: "Rewrites the Raft configuration of a stopped node to the members in --peers (the\n" +
			"survivors, with their Raft addresses). Run it on every survivor with the same --peers,\n" +
			"start them, then add new members. See OPERATIONS.md before using it.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := offlineArgs(id != "", dataDir, peers)
			if err != nil {
				return err
			}
			if err := raftnode.RecoverCluster(id, dataDir, ps, quietLogger()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s now has members %s; start it\n", id, peers)
			return nil
		},
	}
	cmd.Flags().StringVar(&id, "id", "", "the stopped node's id")
	cmd.Flags().StringVar(&dataDir, "data-dir", "", "the stopped node's data directory")
	cmd.Flags().StringVar(&peers, "peers", "", "the members to keep: n1=HOST:PORT,... (Raft addresses)")
	return cmd
}

// offlineArgs checks the flags restore and recover share.
func offlineArgs(haveFirst bool, dataDir, peers string) ([]raftnode.Peer, error) {
	if !haveFirst || dataDir == "" || peers == "" {
		return nil, usagef("give every flag in the usage line")
	}
	ps, err := raftnode.ParsePeers(peers)
	if err != nil {
		return nil, usagef("--peers: %v", err)
	}
	return ps, nil
}

func quietLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}
