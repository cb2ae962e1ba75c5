// Command bookd-bench is bookd's load generator. It runs flash-sale
// workloads against bookd and, for comparison, against etcd and PostgreSQL
// doing the same bookings their usual way, and reports throughput, latency
// percentiles, server CPU per booking, and an audit of what got sold.
//
//	bookd-bench run -target bookd -workload ga -clients 512
//	bookd-bench run -target bookd -workload seats -profile 50:10s,500:10s,5000:10s
//	bookd-bench run -target bookd -workload order  # orders of 2-3 items on two events, bookd only
//	bookd-bench peers            # bookd, etcd and PostgreSQL side by side
//	bookd-bench queue            # a work queue drained by 8 consumers
//
// Unless given endpoints of a running bookd cluster, it starts the servers
// itself on loopback in a temporary directory and stops them when done.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(ctx, os.Args[2:])
	case "peers":
		err = peersCmd(ctx, os.Args[2:])
	case "scale":
		err = scaleCmd(ctx, os.Args[2:])
	case "failover":
		err = failoverCmd(ctx, os.Args[2:])
	case "queue":
		err = queueCmd(ctx, os.Args[2:])
	case "watchers":
		err = watchersCmd(ctx, os.Args[2:])
	case "-h", "-help", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "bookd-bench: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bookd-bench:", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `usage: bookd-bench COMMAND [flags]

commands:
  run        one workload against one system (bookd, etcd or postgres)
  peers      every workload against bookd, etcd and PostgreSQL, side by side
  scale      throughput, p99 and a node's cold start as stored bookings grow
  failover   time from SIGKILL of the leader to the next acknowledged booking
  queue      a work queue: backlog drained by consumers, commit-to-consumer latency
  watchers   live updates: shoppers watching one event through a bookd edge

Run "bookd-bench COMMAND -h" for a command's flags.
`)
}
