package kafka

import (
	"net"
	"sync"
)

// closingListener is a listener that closes the connections it accepted
// when it is closed itself.
//
// kfake's RemoveNode only closes the removed broker's listener: connections
// already open to it keep being answered by the removed broker, which is
// no partition's leader any more. A client such as kafka-go's Transport
// keeps using that connection for "node N" — also after the node is added
// back on the same port, when the metadata names node N as leader again —
// and gets NOT_LEADER_FOR_PARTITION on every produce, forever (the stall of
// issue #18). A real broker that stops closes all its connections, and
// clients reconnect to whoever leads now; closing them here makes the
// embedded cluster's "stop" behave the same.
type closingListener struct {
	net.Listener
	mu     sync.Mutex
	conns  map[*trackedConn]struct{}
	closed bool
}

func listenClosingConns(network, address string) (net.Listener, error) {
	ln, err := net.Listen(network, address)
	if err != nil {
		return nil, err
	}
	return &closingListener{Listener: ln, conns: map[*trackedConn]struct{}{}}, nil
}

// Accept returns the next connection, tracked until it is closed.
func (l *closingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, ln: l}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed { // accepted while closing: refuse it as a stopped broker would
		_ = c.Close()
		return nil, net.ErrClosed
	}
	l.conns[tc] = struct{}{}
	return tc, nil
}

// Close stops accepting and closes every connection still open.
func (l *closingListener) Close() error {
	err := l.Listener.Close()
	l.mu.Lock()
	l.closed = true
	conns := l.conns
	l.conns = map[*trackedConn]struct{}{}
	l.mu.Unlock()
	for c := range conns {
		_ = c.Conn.Close()
	}
	return err
}

type trackedConn struct {
	net.Conn
	ln   *closingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.ln.mu.Lock()
		delete(c.ln.conns, c)
		c.ln.mu.Unlock()
	})
	return c.Conn.Close()
}
