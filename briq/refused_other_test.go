//go:build !unix

package briq

import (
	"net"
	"testing"
)

// refusedAddr returns a loopback address nothing listens on: a listener's
// port just after it was closed. Unlike the unix version, the port is not
// held, so another process could take it in between.
func refusedAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
