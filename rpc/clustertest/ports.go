package clustertest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
)

// FreeAddr returns a loopback address whose port was free a moment ago. The
// port is chosen below Linux's ephemeral range (32768 and up), so outgoing
// connections made meanwhile cannot take it before a server binds it, nor
// while a stopped node waits to be restarted on it.
func FreeAddr() (string, error) {
	for range 200 {
		addr := fmt.Sprintf("127.0.0.1:%d", 20000+rand.IntN(12000))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		return addr, nil
	}
	return "", errors.New("clustertest: no free port in 20000-31999")
}
