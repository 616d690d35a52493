package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object

// Version is what `kubectl <plugin> version` prints.
type Version struct {
	metav1.TypeMeta `json:",inline"`
	// Plugin is the plugin's name as kubectl calls it: certs, ca-trust or rotate.
	Plugin string `json:"plugin"`
	// Version is the release, e.g. v0.1.0, or a git describe of the tree.
	Version string `json:"version"`
	// GitCommit is the commit the binary was built from.
	GitCommit string `json:"gitCommit"`
	// BuildDate is when the binary was built, RFC 3339.
	BuildDate string `json:"buildDate"`
	// GoVersion is the Go toolchain that built it.
	GoVersion string `json:"goVersion"`
	// Platform is os/arch.
	Platform string `json:"platform"`
}
