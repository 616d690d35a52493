// Package version holds the version of the build, set by the Makefile through
// -ldflags "-X github.com/kubecerts/kubecerts/shared/version.version=…".
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
)

// Set at build time; the defaults are what `go build` without the Makefile
// gives.
var (
	version   = "v0.0.0-dev"
	gitCommit = ""
	buildDate = ""
)

// Get returns the build's version as printed by `kubectl <plugin> version`.
func Get(plugin string) *api.Version {
	v := &api.Version{
		Plugin:    plugin,
		Version:   version,
		GitCommit: gitCommit,
		BuildDate: buildDate,
		GoVersion: runtime.Version(),
		Platform:  fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
	if v.GitCommit == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				if s.Key == "vcs.revision" {
					v.GitCommit = s.Value
				}
			}
		}
	}
	return v
}

// imageRepository is where the release images are published.
const imageRepository = "ghcr.io/kubecerts/kubecerts"

// Image is the reference of this build's container image, which has the
// three plugins in /usr/local/bin: the repository tagged with the version,
// '+' (semver build metadata, which OCI tags cannot hold) written as '-'.
func Image() string {
	return imageRepository + ":" + strings.ReplaceAll(version, "+", "-")
}
