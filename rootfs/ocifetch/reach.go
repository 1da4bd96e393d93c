package ocifetch

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// A registry that cannot be reached must fail a pull in seconds: a lab
// without internet access (a class room, an offline mirror) would otherwise
// wait out the resolver's and TCP's long timeouts and the registry client's
// retries before hearing what to do instead. Before pulling, one TCP
// connection to the registry (or to its proxy) is tried with a short
// timeout, DNS included; the pull itself dials with the same timeout.

// dialTimeout bounds name resolution plus the TCP handshake of one dial.
const dialTimeout = 5 * time.Second

var dialer = &net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}

// transport is the registry client's default one with short dials.
func transport() http.RoundTripper {
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		return remote.DefaultTransport
	}
	t := base.Clone()
	t.DialContext = dialer.DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	return t
}

// checkReachable dials reg's address (its proxy's, when one is set).
func checkReachable(reg name.Registry) error {
	u := &url.URL{Scheme: reg.Scheme(), Host: reg.RegistryStr()}
	addr := u.Host
	what := "registry " + reg.RegistryStr()
	if p, err := http.ProxyFromEnvironment(&http.Request{URL: u}); err == nil && p != nil {
		addr, what = p.Host, "proxy "+p.Host+" for registry "+reg.RegistryStr()
		u = p
	}
	if u.Port() == "" {
		port := "443"
		if u.Scheme == "http" {
			port = "80"
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	ctx, cancel := context.WithTimeout(context.Background(), dialTimeout)
	defer cancel()
	c, err := dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("cannot reach %s: %w", what, err)
	}
	c.Close()
	return nil
}
