package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bookd/bookd/rpc/auth/certgen"
	"github.com/spf13/cobra"
)

// newCertsCmd sets up a cluster's TLS and tokens without other tools.
func newCertsCmd() *cobra.Command {
	var dir, hosts string
	var validity time.Duration
	cmd := &cobra.Command{Use: "certs", Short: "Make a private CA, node certificates and a tokens file"}
	initCmd := &cobra.Command{
		Use:   "init NODE_ID... --dir DIR [--hosts 127.0.0.1,localhost]",
		Short: "Make a CA (ca.crt, ca.key), a certificate per node (ID.crt, ID.key) and a tokens file with one admin, booker and reader token",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(dir, "ca.key")); err == nil {
				return usagef("%s already holds a CA (ca.key): use `bookd certs issue` for more nodes", dir)
			}
			ca, err := certgen.NewCA("bookd CA", 10*validity)
			if err != nil {
				return err
			}
			key, err := ca.KeyPEM()
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(dir, "ca.key"), key, 0o600); err != nil {
				return err
			}
			if err := issue(cmd, ca, dir, ids, hosts, validity); err != nil {
				return err
			}
			var lines []string
			for _, role := range []string{"admin", "booker", "reader"} {
				b := make([]byte, 24)
				if _, err := rand.Read(b); err != nil {
					return err
				}
				lines = append(lines, fmt.Sprintf("%s-1 %s %s", role, role, hex.EncodeToString(b)))
			}
			path := filepath.Join(dir, "tokens")
			if err := os.WriteFile(path, []byte("# NAME ROLE TOKEN\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (keep ca.key offline once the nodes have certificates)\n", path)
			return nil
		},
	}
	issueCmd := &cobra.Command{
		Use:   "issue NODE_ID... --dir DIR [--hosts ...]",
		Short: "Issue (or renew) node certificates with the CA in DIR",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, ids []string) error {
			certPEM, err := os.ReadFile(filepath.Join(dir, "ca.crt"))
			if err != nil {
				return usagef("--dir: %v", err)
			}
			keyPEM, err := os.ReadFile(filepath.Join(dir, "ca.key"))
			if err != nil {
				return usagef("--dir: %v", err)
			}
			ca, err := certgen.LoadCA(certPEM, keyPEM)
			if err != nil {
				return err
			}
			return issue(cmd, ca, dir, ids, hosts, validity)
		},
	}
	for _, c := range []*cobra.Command{initCmd, issueCmd} {
		c.Flags().StringVar(&dir, "dir", "", "directory for the CA, certificates and tokens")
		c.Flags().StringVar(&hosts, "hosts", "127.0.0.1,localhost", "IPs and names the node certificates are valid for, comma-separated")
		c.Flags().DurationVar(&validity, "validity", 365*24*time.Hour, "how long node certificates are valid")
		_ = c.MarkFlagRequired("dir")
	}
	cmd.AddCommand(initCmd, issueCmd)
	return cmd
}

func issue(cmd *cobra.Command, ca *certgen.CA, dir string, ids []string, hosts string, validity time.Duration) error {
	var hs []string
	for _, h := range strings.Split(hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			hs = append(hs, h)
		}
	}
	for _, id := range ids {
		f, err := ca.WriteNode(dir, id, hs, validity)
		if err != nil {
			return err
		}
		fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\n", f.Cert, f.Key)
	}
	return nil
}
