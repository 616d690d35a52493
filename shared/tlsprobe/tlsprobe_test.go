package tlsprobe

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/kubecerts/kubecerts/shared/certificate/certtest"
)

func TestProbeServerNameOverride(t *testing.T) {
	ca := certtest.CA(t, "ca")
	leaf := certtest.New(t, certtest.Template{CommonName: "api", DNSNames: []string{"api.internal"}}, ca)
	srv := certtest.TLSServer(t, leaf, ca)
	res, err := (&Probe{URL: srv.URL, ServerName: "api.internal", Roots: certtest.Pool(ca), Timeout: 5 * time.Second}).Run(context.Background())
	if err != nil || !res.Verified {
		t.Fatalf("with tls-server-name: %v, verified %v (%v)", err, res != nil && res.Verified, res)
	}
	res, err = (&Probe{URL: srv.URL, Roots: certtest.Pool(ca), Timeout: 5 * time.Second}).Run(context.Background())
	if err != nil || res.Verified {
		t.Fatalf("without tls-server-name the IP is not in the SANs: %v, verified %v", err, res.Verified)
	}
}

func TestProbeFailures(t *testing.T) {
	// A listener that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	// A listener that speaks plain HTTP.
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello") }))
	defer plain.Close()
	// A port with no listener.
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedAddr := closed.Addr().String()
	closed.Close()

	tests := []struct {
		name, url, want string
	}{
		{"accepts and never answers", silent.Addr().String(), "no TLS handshake within 500ms"},
		{"not TLS", strings.TrimPrefix(plain.URL, "http://"), "does not speak TLS"},
		{"refused", closedAddr, "connection refused"},
		{"bad scheme", "http://example.com", `scheme "http" is not https`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := (&Probe{URL: tt.url, Timeout: 500 * time.Millisecond}).Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want containing %q", err, tt.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v, the timeout is 500ms", time.Since(start))
			}
		})
	}
}

func TestNormalizeEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"example.com":             "https://example.com:443",
		"example.com:6443":        "https://example.com:6443",
		"https://10.0.0.1":        "https://10.0.0.1:443",
		"https://[::1]:6443/path": "https://[::1]:6443/path",
	} {
		u, err := NormalizeEndpoint(in)
		if err != nil || u.String() != want {
			t.Errorf("NormalizeEndpoint(%q) = %v, %v; want %s", in, u, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "https://"} {
		if _, err := NormalizeEndpoint(bad); err == nil {
			t.Errorf("NormalizeEndpoint(%q) accepted", bad)
		}
	}
}
