package cmdutil

import (
	"net"
	"net/url"
	"strings"
)

// ServerHost is the host a kubeconfig's server (a rest.Config's Host, or
// kubeadm's controlPlaneEndpoint) names: of a URL (https://api.example:6443),
// a host:port or a bare host, without port or IPv6 brackets; "" when it
// names none.
func ServerHost(server string) string {
	if u, err := url.Parse(server); err == nil && u.Host != "" {
		return u.Hostname()
	}
	if strings.Contains(server, "/") {
		return ""
	}
	if h, _, err := net.SplitHostPort(server); err == nil {
		return h
	}
	return strings.Trim(server, "[]")
}
