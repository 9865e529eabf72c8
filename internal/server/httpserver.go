package server

import (
	"errors"
	"net"
	"net/http"
	"os"
	"strings"
	"time"
)

// Timeouts of the API's HTTP server (HTTPServer) and of one request body (every Handler).
const (
	readHeaderTimeout  = 10 * time.Second
	readTimeout        = 60 * time.Second
	idleTimeout        = 120 * time.Second
	defaultBodyTimeout = 30 * time.Second
	maxHeaderBytes     = 64 << 10
)

// HTTPServer returns an http.Server for the API handler h with header, read and idle
// timeouts, so a slow or idle client cannot hold a connection open. No write timeout:
// the event stream is long-lived.
func HTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// AllowHosts adds host names (without port) the API answers to besides IP addresses and
// localhost, e.g. the name it is reached by in a cluster.
func (s *Server) AllowHosts(names ...string) {
	for _, n := range names {
		s.allowedHosts = append(s.allowedHosts, strings.ToLower(n))
	}
}

// checkHost refuses requests whose Host is a name other than localhost or an allowed one:
// a DNS-rebinding page reaches a loopback listener under the attacker's own name, which
// this rejects (421). IP literals cannot be rebound and are accepted.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.hostAllowed(r.Host) {
			w.Header().Set("Connection", "close")
			writeError(w, http.StatusMisdirectedRequest, errors.New("host "+r.Host+" is not this API's address (use its IP address, localhost, or a name given to AllowHosts)"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) hostAllowed(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
	if host == "localhost" || net.ParseIP(host) != nil {
		return true
	}
	for _, a := range s.allowedHosts {
		if host == a {
			return true
		}
	}
	return false
}

// boundBody gives a request body bodyTimeout to arrive, whatever the server's own
// timeouts. Bodyless requests are left alone: their connection's background read (the
// event stream's) must not time out.
func (s *Server) boundBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			d := s.bodyTimeout
			if d <= 0 {
				d = defaultBodyTimeout
			}
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(d))
		}
		next.ServeHTTP(w, r)
	})
}

// readFailure answers an error reading a request body: 408 when it did not arrive in time.
func readFailure(w http.ResponseWriter, err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		w.Header().Set("Connection", "close")
		writeError(w, http.StatusRequestTimeout, errors.New("request body not received in time"))
		return
	}
	writeError(w, http.StatusBadRequest, err)
}
