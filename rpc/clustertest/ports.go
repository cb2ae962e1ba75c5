package clustertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
)

// FreeAddr returns a loopback address whose port was free a moment ago. The
// port is chosen below Linux's ephemeral range (32768 and up), so outgoing
// connections made meanwhile cannot take it before a server binds it, nor
// while a stopped node waits to be restarted on it. Each test process
// draws from its own thousand ports (by process id) first: `go test ./...`
// runs packages side by side, and one package's probe or server on a port
// another has just picked made the other's bind fail. Within a process no
// port is given out twice.
func FreeAddr() (string, error) {
	handed.mu.Lock()
	defer handed.mu.Unlock()
	if handed.ports == nil {
		handed.ports = make(map[int]bool)
	}
	slot := 20000 + os.Getpid()%12*1000
	for i := range 400 {
		port := slot + rand.IntN(1000)
		if i >= 200 { // this process's ports are scarce: any in the range
			port = 20000 + rand.IntN(12000)
		}
		if handed.ports[port] {
			continue // a node of this process has it, or will bind it soon
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		handed.ports[port] = true
		return addr, nil
	}
	return "", errors.New("clustertest: no free port in 20000-31999")
}

// handed are the ports FreeAddr gave out in this process: a port probed
// free and closed again would otherwise be given out twice before either
// caller binds it.
var handed struct {
	mu    sync.Mutex
	ports map[int]bool
}
