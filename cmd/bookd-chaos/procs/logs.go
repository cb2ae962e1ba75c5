package procs

import (
	"bytes"
	"fmt"
	"os"
	"strings"
)

// logTail quotes the last lines of n's log, for error messages.
func logTail(n *Node, lines int) string {
	raw, err := os.ReadFile(n.LogPath)
	if err != nil {
		return fmt.Sprintf("\n--- %s: %v", n.LogPath, err)
	}
	raw = bytes.TrimRight(raw, "\n")
	all := strings.Split(string(raw), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return fmt.Sprintf("\n--- last lines of %s:\n%s", n.LogPath, strings.Join(all, "\n"))
}

// logTails quotes the end of every member's log.
func (c *Cluster) logTails() string {
	var b strings.Builder
	for _, n := range c.Nodes() {
		b.WriteString(logTail(n, 10))
	}
	return b.String()
}
