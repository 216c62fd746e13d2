package stack

import (
	"net/http"
	"time"
)

// HTTPLimits bound what one client can hold of an HTTP server: how long
// it may take to send its headers and body, how long an answer may take,
// how long an idle keep-alive connection stays open, and how large the
// headers may be. Bodies are bounded per route by the handlers
// (http.MaxBytesReader). The zero value of a field selects its default.
type HTTPLimits struct {
	// ReadHeaderTimeout bounds the request line and headers (default 10 s).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the whole request, headers and body (default
	// 30 s): a client that announces a body and sends it slowly, or not at
	// all, is cut off then. The largest legitimate body, a definition
	// upload of at most a few hundred kilobytes, takes well under a second.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request headers to
	// the end of the answer (default 60 s). The slowest legitimate answer
	// is a clerk's completion, which waits up to 20 s for the procedure.
	WriteTimeout time.Duration
	// IdleTimeout closes keep-alive connections without a request (default
	// 120 s).
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers (default 64 KiB;
	// a bearer token is a few kilobytes).
	MaxHeaderBytes int
}

// Defaults of HTTPLimits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
)

func (l HTTPLimits) withDefaults() HTTPLimits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.ReadTimeout <= 0 {
		l.ReadTimeout = DefaultReadTimeout
	}
	if l.ReadHeaderTimeout > l.ReadTimeout {
		l.ReadHeaderTimeout = l.ReadTimeout
	}
	if l.WriteTimeout <= 0 {
		l.WriteTimeout = DefaultWriteTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	return l
}

// NewHTTPServer returns a server for h with every limit of l set (the
// defaults for zero fields). Every HTTP server Amtsweg runs is built here.
func NewHTTPServer(h http.Handler, l HTTPLimits) *http.Server {
	l = l.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
	}
}
