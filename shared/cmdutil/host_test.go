package cmdutil

import "testing"

func TestServerHost(t *testing.T) {
	tests := map[string]string{
		"https://api.example:6443":   "api.example",
		"https://API.example":        "API.example",
		"https://10.0.0.1:6443/":     "10.0.0.1",
		"https://[fd00::1]:6443":     "fd00::1",
		"http://127.0.0.1:8080/base": "127.0.0.1",
		"api.example:6443":           "api.example",
		"10.0.0.1:6443":              "10.0.0.1",
		"[fd00::1]:6443":             "fd00::1",
		"api.example":                "api.example",
		"":                           "",
		"unix:///var/run/k8s.sock":   "",
		"relative/path":              "",
	}
	for in, want := range tests {
		if got := ServerHost(in); got != want {
			t.Errorf("ServerHost(%q) = %q, want %q", in, got, want)
		}
	}
}
