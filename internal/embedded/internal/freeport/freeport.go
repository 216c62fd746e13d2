// Package freeport picks TCP ports that are free to listen on, for services
// that must be told a port number before they bind it.
package freeport

import (
	"fmt"
	"net"
)

// Get returns a TCP port on host that is free to listen on right now.
//
// It binds port 0, then connects to the port and closes the connection from
// the listening side, so the port sits in TIME_WAIT: Linux does not hand it
// out again for bind(:0) for a while, yet a listener with SO_REUSEADDR (Go's
// default) can still bind it explicitly. The same technique is used by the
// Temporal CLI's development server.
func Get(host string) (int, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	addr := l.Addr().(*net.TCPAddr)

	dialAddr := *addr
	if dialAddr.IP.IsUnspecified() {
		dialAddr.IP = net.IPv4(127, 0, 0, 1)
	}
	c, err := net.DialTCP("tcp", nil, &dialAddr)
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer c.Close()
	s, err := l.Accept()
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	// Close from the server side first: the server side ends in TIME_WAIT.
	s.Close()
	return addr.Port, nil
}

// GetN returns n distinct free ports on host.
func GetN(host string, n int) ([]int, error) {
	seen := make(map[int]bool, n)
	ports := make([]int, 0, n)
	for len(ports) < n {
		p, err := Get(host)
		if err != nil {
			return nil, err
		}
		if seen[p] {
			continue
		}
		seen[p] = true
		ports = append(ports, p)
	}
	return ports, nil
}
