package version

import "testing"

func TestImage(t *testing.T) {
	saved := version
	t.Cleanup(func() { version = saved })
	for _, tt := range []struct{ version, want string }{
		{"v0.0.0-dev", "ghcr.io/kubecerts/kubecerts:v0.0.0-dev"},
		{"v1.2.3", "ghcr.io/kubecerts/kubecerts:v1.2.3"},
		{"v1.2.3-4-gabcdef0-dirty", "ghcr.io/kubecerts/kubecerts:v1.2.3-4-gabcdef0-dirty"},
		// OCI tags are [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}: no '+'.
		{"v1.2.3+build.5", "ghcr.io/kubecerts/kubecerts:v1.2.3-build.5"},
	} {
		version = tt.version
		if got := Image(); got != tt.want {
			t.Errorf("version %q: Image() = %q, want %q", tt.version, got, tt.want)
		}
	}
}
