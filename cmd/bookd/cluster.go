package main

import (
	"context"
	"errors"
	"fmt"
	"github.com/bookd/bookd/client"
	"io"

	bookdv1 "github.com/bookd/bookd/proto/bookd/v1"
	"github.com/spf13/cobra"
)

func newClusterCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "cluster", Short: "Inspect and change the Raft group"}
	status := newStatusCmd(g)
	var add bookdv1.AddNodeRequest
	addCmd := &cobra.Command{
		Use:   "add ID --raft-addr HOST:PORT --rpc-addr HOST:PORT [--nonvoter]",
		Short: "Add a node (start it with --join, or add it here first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			add.Id = args[0]
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.AddNodeResponse, error) {
				return c.AddNode(ctx, &add)
			}, func(w io.Writer, resp *bookdv1.AddNodeResponse) {
				membersTable(w, resp.Members)
			})
		},
	}
	addCmd.Flags().StringVar(&add.RaftAddress, "raft-addr", "", "the new node's Raft address")
	addCmd.Flags().StringVar(&add.RpcAddress, "rpc-addr", "", "the new node's RPC address")
	addCmd.Flags().BoolVar(&add.Nonvoter, "nonvoter", false, "replicate to it without giving it a vote")
	var force bool
	remove := &cobra.Command{
		Use:   "remove ID [--force]",
		Short: "Remove a node from the Raft group (add its replacement first)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var opts []client.RemoveOption
			if force {
				opts = append(opts, client.Force())
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.RemoveNodeResponse, error) {
				return c.RemoveNode(ctx, args[0], opts...)
			}, func(w io.Writer, resp *bookdv1.RemoveNodeResponse) {
				membersTable(w, resp.Members)
			})
		},
	}
	remove.Flags().BoolVar(&force, "force", false, "remove a voter even if fewer than 3 voters would remain")
	transfer := &cobra.Command{
		Use:   "transfer-leader [ID]",
		Short: "Hand leadership to a voter (default: the most caught-up one)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id := ""
			if len(args) == 1 {
				id = args[0]
			}
			return call(g, cmd, func(ctx context.Context, c *client.Client) (*bookdv1.TransferLeadershipResponse, error) {
				resp, err := c.TransferLeadership(ctx, id)
				if err == nil && resp.GetLeaderId() == "" {
					// A node from before the answer named the new leader.
					err = errors.New("leadership was handed over, but the node did not say to whom: see bookd cluster status")
				}
				return resp, err
			}, func(w io.Writer, resp *bookdv1.TransferLeadershipResponse) {
				fmt.Fprintf(w, "leader: %s\n", resp.LeaderId)
			})
		},
	}
	cmd.AddCommand(status, addCmd, remove, transfer)
	return cmd
}

func membersTable(w io.Writer, members []*bookdv1.Member) {
	row(w, "ID", "RAFT ADDRESS", "RPC ADDRESS", "VOTER", "LEADER")
	for _, m := range members {
		row(w, m.Id, m.RaftAddress, m.RpcAddress, m.Voter, m.Leader)
	}
}
