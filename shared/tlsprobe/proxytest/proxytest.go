// Package proxytest serves an HTTP CONNECT proxy for tests of code that
// reaches TLS servers through a proxy (a kubeconfig's proxy-url,
// HTTPS_PROXY).
package proxytest

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// ConnectProxy is an HTTP CONNECT proxy, served over TLS (with httptest's
// own certificate) when overTLS, that tunnels every CONNECT to target
// whatever host it names, as a proxy that resolves names the client cannot.
// connects counts the tunnels opened; the proxy closes when the test ends.
func ConnectProxy(t testing.TB, overTLS bool, target string) (srv *httptest.Server, connects *atomic.Int32) {
	t.Helper()
	connects = new(atomic.Int32)
	srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodConnect {
			http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
			return
		}
		connects.Add(1)
		up, err := net.Dial("tcp", target)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusOK)
		down, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			up.Close()
			return
		}
		go func() {
			defer up.Close()
			defer down.Close()
			go io.Copy(up, buf)
			io.Copy(down, up)
		}()
	}))
	if overTLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, connects
}
