// Command dist packs the release archives of the kubectl plugins and renders
// their krew manifests; `make dist` runs it after cross-compiling the binaries.
//
// For each binary and platform it writes OUT/<binary>_<os>_<arch>.tar.gz
// (.zip for windows) holding the binary, its kubectl_complete-<plugin> helper
// and LICENSE, then OUT/sha256sums.txt, then OUT/krew/<plugin>.yaml for each
// template TEMPLATES/<plugin>.yaml. The templates are written for
// krew-release-bot ({{ .TagName }}, {{ addURIAndSha "URL" .TagName }}); here
// addURIAndSha takes the archive named by the URL's last element from OUT
// instead of downloading it, and puts it under -base-url.
//
// The archives are reproducible: entries sorted by name, regular files only,
// owner 0:0 without names, modes 0755 (executables) and 0644, every time the
// commit's date (-date), a gzip header without name or time. The same binaries
// give byte-identical archives.
//
// On windows the helper is kubectl_complete-<plugin>.cmd, written here: the
// POSIX sh scripts of hack/completion do not run there, and kubectl finds a
// .cmd through PATHEXT.
package main

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"text/template"
	"time"

	"k8s.io/apimachinery/pkg/util/version"

	"github.com/kubecerts/kubecerts/shared/atomicfile"
)

type options struct {
	version    string
	date       string
	baseURL    string
	binDir     string
	binaries   []string
	platforms  []platform
	license    string
	completion string
	templates  string
	out        string
}

type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }

// archive is one release archive: a binary for one platform.
type archive struct {
	binary   string // kubectl-ca_trust
	platform platform
}

func (a archive) exe() string {
	if a.platform.os == "windows" {
		return ".exe"
	}
	return ""
}

// Name is the archive's file name: kubectl-ca_trust_linux_amd64.tar.gz.
func (a archive) Name() string {
	ext := ".tar.gz"
	if a.platform.os == "windows" {
		ext = ".zip"
	}
	return a.binary + "_" + a.platform.os + "_" + a.platform.arch + ext
}

// plugin is the name kubectl and krew know: ca-trust for kubectl-ca_trust.
func (a archive) plugin() string {
	return strings.ReplaceAll(strings.TrimPrefix(a.binary, "kubectl-"), "_", "-")
}

func main() {
	var o options
	var binaries, platforms string
	flag.StringVar(&o.version, "version", "", "release version, a semantic version with a leading v (the tag)")
	flag.StringVar(&o.date, "date", "", "time of every archive entry, RFC 3339 (the commit's date); empty: 1980-01-01T00:00:00Z")
	flag.StringVar(&o.baseURL, "base-url", "", "URL the archives are published under; the manifests' uri is BASE-URL/ARCHIVE")
	flag.StringVar(&o.binDir, "bin", "dist/bin", "directory of the binaries: BIN/<os>_<arch>/<binary>[.exe]")
	flag.StringVar(&binaries, "binaries", "kubectl-certs,kubectl-ca_trust,kubectl-rotate", "binaries to pack, comma-separated")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64,darwin/amd64,darwin/arm64,windows/amd64", "platforms, comma-separated os/arch")
	flag.StringVar(&o.license, "license", "LICENSE", "license file put in every archive")
	flag.StringVar(&o.completion, "completion", "hack/completion", "directory of the kubectl_complete-<plugin> helpers")
	flag.StringVar(&o.templates, "templates", "krew", "directory of the krew manifest templates, <plugin>.yaml")
	flag.StringVar(&o.out, "out", "dist", "output directory")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	o.binaries = splitList(binaries)
	for _, p := range splitList(platforms) {
		osName, arch, ok := strings.Cut(p, "/")
		if !ok || osName == "" || arch == "" {
			fail(fmt.Errorf("-platforms: %q is not os/arch", p))
		}
		o.platforms = append(o.platforms, platform{osName, arch})
	}
	if err := run(o); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "dist: "+err.Error())
	os.Exit(1)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func run(o options) error {
	if err := checkVersion(o.version); err != nil {
		return err
	}
	if !strings.HasPrefix(o.baseURL, "https://") && !strings.HasPrefix(o.baseURL, "http://") && !strings.HasPrefix(o.baseURL, "file://") {
		return fmt.Errorf("-base-url %q is not a URL", o.baseURL)
	}
	o.baseURL = strings.TrimSuffix(o.baseURL, "/")
	mtime := time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC) // zip cannot say earlier
	if o.date != "" {
		t, err := time.Parse(time.RFC3339, o.date)
		if err != nil {
			return fmt.Errorf("-date: %v", err)
		}
		if t.Before(mtime) {
			return fmt.Errorf("-date %s: before 1980, which zip cannot store", o.date)
		}
		mtime = t.UTC()
	}
	license, err := os.ReadFile(o.license)
	if err != nil {
		return err
	}
	if len(o.binaries) == 0 || len(o.platforms) == 0 {
		return errors.New("nothing to pack: -binaries or -platforms is empty")
	}
	var archives []archive
	for _, b := range o.binaries {
		if !strings.HasPrefix(b, "kubectl-") {
			return fmt.Errorf("binary %q: a kubectl plugin's name starts with kubectl-", b)
		}
		for _, p := range o.platforms {
			archives = append(archives, archive{b, p})
		}
	}
	if err := os.MkdirAll(filepath.Join(o.out, "krew"), 0o755); err != nil {
		return err
	}

	// Pack, a few archives at a time: deflating 60 MB binaries is the slow part.
	sums := make(map[string]string, len(archives))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	)
	for _, a := range archives {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			sum, err := pack(o, a, license, mtime)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", a.Name(), err))
				return
			}
			sums[a.Name()] = sum
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}

	names := make([]string, 0, len(sums))
	for n := range sums {
		names = append(names, n)
	}
	sort.Strings(names)
	var sumFile bytes.Buffer
	for _, n := range names {
		fmt.Fprintf(&sumFile, "%s  %s\n", sums[n], n) // sha256sum -c reads this
	}
	if err := writeFile(filepath.Join(o.out, "sha256sums.txt"), sumFile.Bytes()); err != nil {
		return err
	}

	plugins := map[string]bool{}
	for _, b := range o.binaries {
		p := archive{binary: b}.plugin()
		plugins[p] = true
		manifest, err := render(o, p, sums)
		if err != nil {
			return err
		}
		// Every archive of the plugin, and only those, must be in its manifest.
		referenced := map[string]bool{}
		for _, m := range uriRE.FindAllSubmatch(manifest, -1) {
			referenced[path.Base(string(m[1]))] = true
		}
		for _, a := range archives {
			if a.binary == b && !referenced[a.Name()] {
				return fmt.Errorf("%s/%s.yaml: no platform for %s (%s)", o.templates, p, a.platform, a.Name())
			}
			if a.binary != b && referenced[a.Name()] {
				return fmt.Errorf("%s/%s.yaml: refers to %s, another plugin's archive", o.templates, p, a.Name())
			}
		}
		if err := writeFile(filepath.Join(o.out, "krew", p+".yaml"), manifest); err != nil {
			return err
		}
	}
	return removeStale(o.out, sums, plugins)
}

var uriRE = regexp.MustCompile(`(?m)^\s*uri:\s*(\S+)\s*$`)

var semverRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)

// checkVersion accepts what krew accepts: a semantic version with a leading v.
func checkVersion(v string) error {
	if !semverRE.MatchString(v) {
		return fmt.Errorf("-version %q: krew needs a semantic version with a leading v (v1.2.3, v1.2.3-rc.1)", v)
	}
	if _, err := version.ParseSemantic(v); err != nil {
		return fmt.Errorf("-version %q: %v", v, err)
	}
	return nil
}

// entry is a file in an archive.
type entry struct {
	name string
	mode int64
	data []byte
}

// entries are an archive's files, sorted by name.
func entries(o options, a archive, license []byte) ([]entry, error) {
	bin, err := os.ReadFile(filepath.Join(o.binDir, a.platform.os+"_"+a.platform.arch, a.binary+a.exe()))
	if err != nil {
		return nil, err
	}
	helperName := "kubectl_complete-" + strings.TrimPrefix(a.binary, "kubectl-")
	var helper []byte
	if a.platform.os == "windows" {
		helperName += ".cmd"
		helper = windowsHelper(a.binary)
	} else if helper, err = os.ReadFile(filepath.Join(o.completion, helperName)); err != nil {
		return nil, err
	}
	es := []entry{
		{a.binary + a.exe(), 0o755, bin},
		{helperName, 0o755, helper},
		{"LICENSE", 0o644, license},
	}
	sort.Slice(es, func(i, j int) bool { return es[i].name < es[j].name })
	return es, nil
}

// windowsHelper is kubectl_complete-<plugin>.cmd: what the sh helper does, for
// cmd.exe (CRLF line ends).
func windowsHelper(binary string) []byte {
	lines := []string{
		"@echo off",
		"rem kubectl runs kubectl_complete-<plugin> to complete a plugin's arguments",
		"rem (kubectl 1.26 and later); this one asks " + binary + ".exe's own cobra completion.",
		binary + ".exe __complete %*",
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

// pack writes one archive and returns its sha256.
func pack(o options, a archive, license []byte, mtime time.Time) (string, error) {
	es, err := entries(o, a, license)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if a.platform.os == "windows" {
		err = writeZip(&buf, es, mtime)
	} else {
		err = writeTarGz(&buf, es, mtime)
	}
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return hex.EncodeToString(sum[:]), writeFile(filepath.Join(o.out, a.Name()), buf.Bytes())
}

func writeTarGz(w io.Writer, es []entry, mtime time.Time) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression) // zero Header: no name, no time
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	for _, e := range es {
		hdr := &tar.Header{
			Typeflag: tar.TypeReg,
			Name:     e.name,
			Mode:     e.mode,
			Size:     int64(len(e.data)),
			ModTime:  mtime,
			Format:   tar.FormatUSTAR,
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(e.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return zw.Close()
}

func writeZip(w io.Writer, es []entry, mtime time.Time) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(w, flate.BestCompression)
	})
	for _, e := range es {
		fh := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
		fh.SetMode(os.FileMode(e.mode))
		fw, err := zw.CreateHeader(fh)
		if err != nil {
			return err
		}
		if _, err := fw.Write(e.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

// render executes TEMPLATES/<plugin>.yaml as krew-release-bot does, with the
// archives of this run in place of downloads.
func render(o options, plugin string, sums map[string]string) ([]byte, error) {
	file := filepath.Join(o.templates, plugin+".yaml")
	values := struct{ TagName, Version string }{o.version, versionOfTag(o.version)}
	var renderErr error
	t := template.New(filepath.Base(file)).Option("missingkey=error").Funcs(template.FuncMap{
		"indent": indent,
		"addURIAndSha": func(url, tag string) string {
			var u bytes.Buffer
			ut, err := template.New("url").Parse(url)
			if err == nil {
				err = ut.Execute(&u, struct{ TagName, Version string }{tag, versionOfTag(tag)})
			}
			if err != nil {
				renderErr = errors.Join(renderErr, fmt.Errorf("%s: addURIAndSha %q: %v", file, url, err))
				return ""
			}
			name := path.Base(u.String())
			sum, ok := sums[name]
			if !ok {
				renderErr = errors.Join(renderErr, fmt.Errorf("%s: addURIAndSha %q: %s is not an archive of this release", file, url, name))
				return ""
			}
			// The bot's form: sha256 on the next line at four spaces.
			return fmt.Sprintf("uri: %s/%s\n    sha256: %s", o.baseURL, name, sum)
		},
	})
	if _, err := t.ParseFiles(file); err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, values); err != nil {
		return nil, err
	}
	if renderErr != nil {
		return nil, renderErr
	}
	return out.Bytes(), nil
}

// indent and versionOfTag are krew-release-bot's template helpers.
func indent(spaces int, v string) string {
	v = strings.ReplaceAll(v, "    sha256:", "sha256:")
	pad := strings.Repeat(" ", spaces)
	return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
}

var versionRE = regexp.MustCompile(`\d+(\.\d+)+`)

func versionOfTag(tag string) string {
	if v := versionRE.FindString(tag); v != "" {
		return v
	}
	return tag
}

// writeFile replaces name with data, mode 0644, through a temporary file in
// the same directory, so that a reader never sees half a file.
func writeFile(name string, data []byte) error {
	return atomicfile.Write(name, data, 0o644)
}

// removeStale removes archives and manifests an earlier run left that this one
// did not write (a platform or plugin dropped), so that dist/ is what gets
// published.
func removeStale(out string, sums map[string]string, plugins map[string]bool) error {
	for _, pattern := range []string{"kubectl-*.tar.gz", "kubectl-*.zip"} {
		old, err := filepath.Glob(filepath.Join(out, pattern))
		if err != nil {
			return err
		}
		for _, f := range old {
			if _, ok := sums[filepath.Base(f)]; !ok {
				if err := os.Remove(f); err != nil {
					return err
				}
			}
		}
	}
	old, err := filepath.Glob(filepath.Join(out, "krew", "*.yaml"))
	if err != nil {
		return err
	}
	for _, f := range old {
		if !plugins[strings.TrimSuffix(filepath.Base(f), ".yaml")] {
			if err := os.Remove(f); err != nil {
				return err
			}
		}
	}
	return nil
}
