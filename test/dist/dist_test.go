// Package dist_test checks the release that `make dist` wrote, as krew and
// kubectl will use it: the krew manifests against their archives, the archives'
// content and form, an install of this machine's archives into a krew layout
// run through the real kubectl (version, plugin list, completion), and that
// packing and building again give the same bytes.
//
// `make verify-dist` (run by `make test`) builds the release and runs these
// tests with:
//
//	KUBECERTS_DIST_DIR     the dist directory
//	KUBECERTS_DIST_FLAGS   the flags make dist gave hack/dist (version, date, base URL, …)
//	KUBECERTS_DIST_LDFLAGS the -ldflags of the binaries
//
// Without KUBECERTS_DIST_DIR (as under `go test ./...`) every test skips.
// KUBECERTS_KUBECTL names the kubectl to run (default: kubectl on PATH).
package dist_test

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"text/template"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"
	"sigs.k8s.io/yaml"
)

// The release: three plugins, five platforms.
var (
	plugins = []struct{ name, binary string }{
		{"certs", "kubectl-certs"},
		{"ca-trust", "kubectl-ca_trust"},
		{"rotate", "kubectl-rotate"},
	}
	platforms = []platform{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}}
)

const (
	homepage   = "https://github.com/kubecerts/kubecerts"
	githubBase = "https://github.com/kubecerts/kubecerts/releases/download/"
	apiVersion = "krew.googlecontainertools.github.com/v1alpha2"
)

type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }
func (p platform) exe() string {
	if p.os == "windows" {
		return ".exe"
	}
	return ""
}

// archiveName is dist/<binary>_<os>_<arch>.tar.gz, .zip for windows.
func archiveName(binary string, p platform) string {
	if p.os == "windows" {
		return binary + "_" + p.os + "_" + p.arch + ".zip"
	}
	return binary + "_" + p.os + "_" + p.arch + ".tar.gz"
}

// helperName is the completion helper kubectl looks for: kubectl_complete-ca_trust.
func helperName(binary string, p platform) string {
	h := "kubectl_complete-" + strings.TrimPrefix(binary, "kubectl-")
	if p.os == "windows" {
		h += ".cmd"
	}
	return h
}

// manifest is krew's index.Plugin, the fields krew reads.
type manifest struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string         `json:"version"`
		Homepage         string         `json:"homepage"`
		ShortDescription string         `json:"shortDescription"`
		Description      string         `json:"description"`
		Caveats          string         `json:"caveats"`
		Platforms        []platformSpec `json:"platforms"`
	} `json:"spec"`
}

type platformSpec struct {
	Selector *metav1.LabelSelector `json:"selector"`
	URI      string                `json:"uri"`
	Sha256   string                `json:"sha256"`
	Bin      string                `json:"bin"`
	Files    []fileOp              `json:"files"`
}

type fileOp struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// release is what the tests check against, from the environment make sets.
type release struct {
	dist    string
	root    string // module root
	flags   []string
	version string
	baseURL string
	date    time.Time
	binDir  string // the binaries make dist built: <binDir>/<os>_<arch>/<binary>
	ldflags string
}

func setup(t *testing.T) *release {
	t.Helper()
	dir := os.Getenv("KUBECERTS_DIST_DIR")
	if dir == "" {
		t.Skip("KUBECERTS_DIST_DIR is not set: make verify-dist runs these tests after make dist")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	r := &release{dist: dir, root: root, flags: strings.Fields(os.Getenv("KUBECERTS_DIST_FLAGS")), ldflags: os.Getenv("KUBECERTS_DIST_LDFLAGS")}
	for _, f := range r.flags {
		name, value, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch name {
		case "version":
			r.version = value
		case "bin":
			r.binDir = value
			if !filepath.IsAbs(value) {
				r.binDir = filepath.Join(root, value)
			}
		case "base-url":
			r.baseURL = strings.TrimSuffix(value, "/")
		case "date":
			if value != "" {
				if r.date, err = time.Parse(time.RFC3339, value); err != nil {
					t.Fatalf("KUBECERTS_DIST_FLAGS -date: %v", err)
				}
			}
		}
	}
	if r.version == "" || r.baseURL == "" {
		t.Fatalf("KUBECERTS_DIST_FLAGS=%q lacks -version or -base-url", os.Getenv("KUBECERTS_DIST_FLAGS"))
	}
	if r.date.IsZero() {
		r.date = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	return r
}

func readManifest(t *testing.T, file string) *manifest {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.UnmarshalStrict(data, &m); err != nil { // a misspelt field is an error, not ignored
		t.Fatalf("%s: %v", file, err)
	}
	return &m
}

func sha256File(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// readSums reads dist/sha256sums.txt: name → sha256.
func readSums(t *testing.T, r *release) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(r.dist, "sha256sums.txt"))
	if err != nil {
		t.Fatal(err)
	}
	sums := map[string]string{}
	var names []string
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok || !sha256RE.MatchString(sum) {
			t.Fatalf("sha256sums.txt: line %q is not `<sha256>  <file>`", line)
		}
		sums[name] = sum
		names = append(names, name)
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("sha256sums.txt is not sorted by name: %v", names)
	}
	return sums
}

var (
	safePluginName = regexp.MustCompile(`^[\w-]+$`) // krew's IsSafePluginName
	sha256RE       = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

// TestManifests checks each dist/krew/<plugin>.yaml as krew's validation and
// installer would, against the archive of every platform.
func TestManifests(t *testing.T) {
	r := setup(t)
	sums := readSums(t, r)
	license, err := os.ReadFile(filepath.Join(r.root, "LICENSE"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range plugins {
		t.Run(p.name, func(t *testing.T) {
			m := readManifest(t, filepath.Join(r.dist, "krew", p.name+".yaml"))
			if m.APIVersion != apiVersion || m.Kind != "Plugin" {
				t.Errorf("apiVersion %q, kind %q; want %q, Plugin", m.APIVersion, m.Kind, apiVersion)
			}
			// krew: the manifest's name is its file's name and safe; kubectl: the
			// binary is kubectl- and the name with dashes as underscores.
			if m.Metadata.Name != p.name || !safePluginName.MatchString(m.Metadata.Name) {
				t.Errorf("metadata.name %q, want %q", m.Metadata.Name, p.name)
			}
			if want := "kubectl-" + strings.ReplaceAll(m.Metadata.Name, "-", "_"); want != p.binary {
				t.Errorf("plugin %q would be run by kubectl as %s, not %s", m.Metadata.Name, want, p.binary)
			}
			s := m.Spec
			if s.ShortDescription == "" || strings.ContainsAny(s.ShortDescription, "\r\n") || len(s.ShortDescription) > 60 {
				t.Errorf("shortDescription %q: must be one line, not empty, short", s.ShortDescription)
			}
			if strings.TrimSpace(s.Description) == "" || s.Homepage != homepage {
				t.Errorf("description %q, homepage %q", s.Description, s.Homepage)
			}
			if !strings.HasPrefix(s.Version, "v") {
				t.Errorf("version %q lacks the leading v krew requires", s.Version)
			} else if _, err := version.ParseSemantic(s.Version); err != nil {
				t.Errorf("version %q: %v", s.Version, err)
			}
			if s.Version != r.version {
				t.Errorf("version %q, make dist built %q", s.Version, r.version)
			}
			if !strings.Contains(s.Caveats, helperName(p.binary, platform{"linux", "amd64"})) {
				t.Errorf("caveats do not say how to enable completion:\n%s", s.Caveats)
			}

			seen := map[platform]bool{}
			for i, ps := range s.Platforms {
				pl, err := selectorPlatform(ps.Selector)
				if err != nil {
					t.Errorf("platforms[%d]: %v", i, err)
					continue
				}
				if seen[pl] {
					t.Errorf("platforms[%d]: a second entry for %s", i, pl)
				}
				seen[pl] = true
				t.Run(pl.os+"_"+pl.arch, func(t *testing.T) {
					checkPlatform(t, r, p.binary, pl, ps, sums, license)
				})
			}
			for _, pl := range platforms {
				if !seen[pl] {
					t.Errorf("no platform for %s", pl)
				}
			}
			if len(seen) != len(platforms) {
				t.Errorf("platforms %v, want exactly %v", seen, platforms)
			}
		})
	}
}

// selectorPlatform checks a platform selector as krew's validation does, and
// that it is the form used here (matchLabels os and arch, nothing else).
func selectorPlatform(sel *metav1.LabelSelector) (platform, error) {
	if sel == nil {
		return platform{}, fmt.Errorf("no selector (krew: nil selector is not supported)")
	}
	if len(sel.MatchExpressions) > 0 {
		return platform{}, fmt.Errorf("selector has matchExpressions; want matchLabels os and arch only")
	}
	if len(sel.MatchLabels) != 2 || sel.MatchLabels["os"] == "" || sel.MatchLabels["arch"] == "" {
		return platform{}, fmt.Errorf("selector.matchLabels %v: want exactly os and arch", sel.MatchLabels)
	}
	pl := platform{sel.MatchLabels["os"], sel.MatchLabels["arch"]}
	if !slices.Contains(platforms, pl) {
		return platform{}, fmt.Errorf("platform %s is not one of %v", pl, platforms)
	}
	return pl, nil
}

func checkPlatform(t *testing.T, r *release, binary string, pl platform, ps platformSpec, sums map[string]string, license []byte) {
	name := archiveName(binary, pl)
	if want := r.baseURL + "/" + name; ps.URI != want {
		t.Errorf("uri %q, want %q", ps.URI, want)
	}
	file := filepath.Join(r.dist, path.Base(ps.URI))
	if !sha256RE.MatchString(ps.Sha256) {
		t.Fatalf("sha256 %q is not 64 lower-case hex digits", ps.Sha256)
	}
	if got := sha256File(t, file); got != ps.Sha256 {
		t.Errorf("sha256 %s, the archive's is %s", ps.Sha256, got)
	}
	if sums[name] != ps.Sha256 {
		t.Errorf("sha256sums.txt says %q for %s, the manifest %s", sums[name], name, ps.Sha256)
	}
	if want := binary + pl.exe(); ps.Bin != want {
		t.Errorf("bin %q, want %q", ps.Bin, want)
	}
	wantFiles := []fileOp{{binary + pl.exe(), "."}, {helperName(binary, pl), "."}, {"LICENSE", "."}}
	if !slices.Equal(ps.Files, wantFiles) {
		t.Errorf("files %v, want %v", ps.Files, wantFiles)
	}

	entries := readArchive(t, file, pl, r.date)
	// Install as krew does: extract, apply files, find bin.
	staging, install := t.TempDir(), filepath.Join(t.TempDir(), "store", "plugin", r.version)
	extract(t, entries, staging)
	if err := applyFileOps(staging, install, ps.Files); err != nil {
		t.Fatalf("krew would fail: %v", err)
	}
	binPath := filepath.Join(install, filepath.FromSlash(ps.Bin))
	fi, err := os.Stat(binPath)
	if err != nil {
		t.Fatalf("bin %s is not in the installed plugin: %v", ps.Bin, err)
	}
	if pl.os != "windows" && fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("bin %s is not executable: %v", ps.Bin, fi.Mode())
	}
	if got, _ := os.ReadFile(filepath.Join(install, "LICENSE")); !bytes.Equal(got, license) {
		t.Errorf("LICENSE in the archive differs from the repository's")
	}
	helper, err := os.ReadFile(filepath.Join(install, helperName(binary, pl)))
	if err != nil {
		t.Fatal(err)
	}
	if pl.os == "windows" {
		if want := binary + ".exe __complete %*\r\n"; !bytes.HasSuffix(helper, []byte(want)) {
			t.Errorf("%s does not end with %q:\n%s", helperName(binary, pl), want, helper)
		}
	} else if want, _ := os.ReadFile(filepath.Join(r.root, "hack", "completion", helperName(binary, pl))); !bytes.Equal(helper, want) {
		t.Errorf("%s differs from hack/completion's", helperName(binary, pl))
	}
	checkBinary(t, binPath, binary, pl)
}

// entry is a file read from an archive.
type entry struct {
	name string
	mode os.FileMode
	data []byte
}

// readArchive reads an archive and checks its form: the type krew detects from
// the content matches the name, regular files only at the top, sorted, owner
// 0, modes 0755/0644, every time the commit's date.
func readArchive(t *testing.T, file string, pl platform, date time.Time) []entry {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var es []entry
	check := func(name string, mode os.FileMode, mtime time.Time) {
		if name != path.Base(name) || name == ".." || strings.ContainsAny(name, `\:`) {
			t.Errorf("entry %q: want a plain file name at the top of the archive", name)
		}
		if !mode.IsRegular() {
			t.Errorf("entry %q: mode %v, want a regular file", name, mode)
		}
		want := os.FileMode(0o644)
		if strings.HasPrefix(name, "kubectl") {
			want = 0o755
		}
		if mode.Perm() != want {
			t.Errorf("entry %q: mode %v, want %v", name, mode.Perm(), want)
		}
		if !mtime.Equal(date) {
			t.Errorf("entry %q: time %v, want the commit's %v", name, mtime.UTC(), date)
		}
	}
	switch ct := detectType(data); {
	case pl.os == "windows":
		if ct != "zip" {
			t.Fatalf("%s: content is %s, want zip", file, ct)
		}
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			check(f.Name, f.Mode(), f.Modified)
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, entry{f.Name, f.Mode(), b})
		}
	default:
		if ct != "gzip" {
			t.Fatalf("%s: content is %s, want gzip", file, ct)
		}
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		if zr.Name != "" || !zr.ModTime.IsZero() {
			t.Errorf("gzip header has name %q, time %v; want neither", zr.Name, zr.ModTime)
		}
		tr := tar.NewReader(zr)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			check(h.Name, h.FileInfo().Mode(), h.ModTime)
			if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
				t.Errorf("entry %q: owner %d:%d (%q:%q), want 0:0 without names", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
			}
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			es = append(es, entry{h.Name, h.FileInfo().Mode(), b})
		}
	}
	if !sort.SliceIsSorted(es, func(i, j int) bool { return es[i].name < es[j].name }) {
		t.Errorf("entries are not sorted by name")
	}
	return es
}

// detectType tells an archive's type from its first bytes, as krew does
// (http.DetectContentType) rather than from its name.
func detectType(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x1f\x8b")):
		return "gzip"
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return "zip"
	}
	return "unknown"
}

func extract(t *testing.T, es []entry, dir string) {
	t.Helper()
	for _, e := range es {
		if err := os.WriteFile(filepath.Join(dir, e.name), e.data, e.mode.Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// applyFileOps moves files from the extracted archive into the installation
// directory as krew's installer does: a `from` naming a file is moved to `to`
// (its own name when `to` is "."), otherwise it is a glob and every match goes
// into the directory `to`; no match is an error.
func applyFileOps(staging, install string, ops []fileOp) error {
	if ops == nil {
		ops = []fileOp{{"*", "."}}
	}
	if err := os.MkdirAll(install, 0o755); err != nil {
		return err
	}
	inside := func(base, p string) bool {
		rel, err := filepath.Rel(base, p)
		return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
	}
	for _, op := range ops {
		if op.To != filepath.Clean(op.To) {
			return fmt.Errorf("files: to %q is not clean", op.To)
		}
		src := filepath.Clean(filepath.Join(staging, op.From))
		if _, err := os.Stat(src); err == nil {
			to := op.To
			if to == "." {
				to = filepath.Base(src)
			}
			dst := filepath.Join(install, filepath.FromSlash(to))
			if !inside(staging, src) || !inside(install, dst) {
				return fmt.Errorf("files: %v leaves the archive or the installation directory", op)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Rename(src, dst); err != nil {
				return err
			}
			continue
		}
		matches, err := filepath.Glob(filepath.Join(staging, filepath.FromSlash(op.From)))
		if err != nil {
			return err
		}
		if len(matches) == 0 {
			return fmt.Errorf("no files in the plugin archive matched the glob pattern=%s", op.From)
		}
		for _, m := range matches {
			dst := filepath.Join(install, filepath.FromSlash(op.To), filepath.Base(m))
			if !inside(staging, m) || !inside(install, dst) {
				return fmt.Errorf("files: %v leaves the archive or the installation directory", op)
			}
			if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
				return err
			}
			if err := os.Rename(m, dst); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBinary checks that a binary is an executable of the platform, built by
// make dist: its package, -trimpath, CGO_ENABLED=0.
func checkBinary(t *testing.T, file, binary string, pl platform) {
	t.Helper()
	var arch string
	switch pl.os {
	case "linux":
		f, err := elf.Open(file)
		if err != nil {
			t.Fatalf("%s is not an ELF executable: %v", file, err)
		}
		arch = map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
		f.Close()
	case "darwin":
		f, err := macho.Open(file)
		if err != nil {
			t.Fatalf("%s is not a Mach-O executable: %v", file, err)
		}
		arch = map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
		f.Close()
	case "windows":
		f, err := pe.Open(file)
		if err != nil {
			t.Fatalf("%s is not a PE executable: %v", file, err)
		}
		arch = map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
		f.Close()
	}
	if arch != pl.arch {
		t.Errorf("%s: machine %q, want %s", binary, arch, pl.arch)
	}
	bi, err := buildinfo.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if want := "github.com/kubecerts/kubecerts/cmd/" + binary; bi.Path != want {
		t.Errorf("%s: package %s, want %s", binary, bi.Path, want)
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for k, v := range map[string]string{"GOOS": pl.os, "GOARCH": pl.arch, "CGO_ENABLED": "0", "-trimpath": "true"} {
		if settings[k] != v {
			t.Errorf("%s: built with %s=%q, want %q", binary, k, settings[k], v)
		}
	}
}

// TestSHA256Sums checks that dist/sha256sums.txt lists every archive, and
// nothing else, with its sha256: the plugins' archives, and the image's tar
// when make image wrote one (TestImage checks that it did).
func TestSHA256Sums(t *testing.T) {
	r := setup(t)
	sums := readSums(t, r)
	var want []string
	for _, p := range plugins {
		for _, pl := range platforms {
			want = append(want, archiveName(p.binary, pl))
		}
	}
	images, _ := filepath.Glob(filepath.Join(r.dist, imageArchivePattern))
	for _, f := range images {
		want = append(want, filepath.Base(f))
	}
	sort.Strings(want)
	var got []string
	for name, sum := range sums {
		got = append(got, name)
		if s := sha256File(t, filepath.Join(r.dist, name)); s != sum {
			t.Errorf("%s: sha256 %s, sha256sums.txt says %s", name, s, sum)
		}
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		t.Errorf("sha256sums.txt lists %v, want %v", got, want)
	}
	onDisk, _ := filepath.Glob(filepath.Join(r.dist, "kubectl-*"))
	for _, f := range append(onDisk, images...) {
		if _, ok := sums[filepath.Base(f)]; !ok {
			t.Errorf("%s is in dist/ but not in the release", f)
		}
	}
}

// TestReleaseBotTemplates renders the templates as krew-release-bot does (its
// addURIAndSha and indent, the archive's sha256 in place of its download) and
// checks that the result is what make dist rendered, but for the URLs' base;
// and that .krew.yaml, the bot's template for certs, is krew/certs.yaml.
func TestReleaseBotTemplates(t *testing.T) {
	r := setup(t)
	top, err := os.ReadFile(filepath.Join(r.root, ".krew.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if certs, _ := os.ReadFile(filepath.Join(r.root, "krew", "certs.yaml")); !bytes.Equal(top, certs) {
		t.Errorf(".krew.yaml differs from krew/certs.yaml: copy krew/certs.yaml to .krew.yaml")
	}
	for _, p := range plugins {
		t.Run(p.name, func(t *testing.T) {
			file := filepath.Join(r.root, "krew", p.name+".yaml")
			values := struct{ TagName, Version string }{r.version, botVersion(r.version)}
			tmpl := template.New(filepath.Base(file)).Funcs(template.FuncMap{
				"indent": func(spaces int, v string) string {
					v = strings.ReplaceAll(v, "    sha256:", "sha256:")
					pad := strings.Repeat(" ", spaces)
					return strings.TrimSpace(pad + strings.ReplaceAll(v, "\n", "\n"+pad))
				},
				"addURIAndSha": func(url, tag string) (string, error) {
					var buf bytes.Buffer
					ut, err := template.New("url").Parse(url)
					if err != nil {
						return "", err
					}
					if err := ut.Execute(&buf, struct{ TagName, Version string }{tag, botVersion(tag)}); err != nil {
						return "", err
					}
					u := buf.String()
					if !strings.HasPrefix(u, githubBase+tag+"/") {
						return "", fmt.Errorf("URL %s is not a release asset of %s", u, homepage)
					}
					return fmt.Sprintf("uri: %s\n    sha256: %s", u, sha256File(t, filepath.Join(r.dist, path.Base(u)))), nil
				},
			})
			if _, err := tmpl.ParseFiles(file); err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := tmpl.Execute(&out, values); err != nil {
				t.Fatal(err)
			}
			got := strings.ReplaceAll(out.String(), githubBase+r.version, r.baseURL)
			rendered, err := os.ReadFile(filepath.Join(r.dist, "krew", p.name+".yaml"))
			if err != nil {
				t.Fatal(err)
			}
			if got != string(rendered) {
				t.Errorf("krew-release-bot would render %s as\n%s\nmake dist rendered\n%s", file, got, rendered)
			}
		})
	}
}

var botVersionRE = regexp.MustCompile(`\d+(\.\d+)+`)

func botVersion(tag string) string {
	if v := botVersionRE.FindString(tag); v != "" {
		return v
	}
	return tag
}

// TestKrewInstallThroughKubectl installs this machine's archives into a layout
// like krew's (~/.krew/store/<plugin>/<version>/, a symlink per plugin in
// ~/.krew/bin) and runs them through the real kubectl: version, plugin list,
// and completion once the helper is copied as the manifest's caveats say.
func TestKrewInstallThroughKubectl(t *testing.T) {
	r := setup(t)
	here := platform{runtime.GOOS, runtime.GOARCH}
	if !slices.Contains(platforms, here) || here.os == "windows" {
		t.Skipf("no archive runs on %s", here)
	}
	kubectl := os.Getenv("KUBECERTS_KUBECTL")
	if kubectl == "" {
		var err error
		if kubectl, err = exec.LookPath("kubectl"); err != nil {
			t.Fatalf("kubectl: %v", err)
		}
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Fatal(err)
	}
	cp, err := exec.LookPath("cp")
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	krewRoot := filepath.Join(home, ".krew")
	binDir := filepath.Join(krewRoot, "bin")
	// PATH: krew's bin, then kubectl, sh (the helpers' #!/usr/bin/env sh) and
	// cp (the caveats' command), so that no other kubectl-* on this machine's
	// PATH is found.
	tools := filepath.Join(home, "tools")
	for _, d := range []string{binDir, tools} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for name, target := range map[string]string{"kubectl": kubectl, "sh": sh, "cp": cp} {
		if err := os.Symlink(target, filepath.Join(tools, name)); err != nil {
			t.Fatal(err)
		}
	}
	env := append(os.Environ(),
		"HOME="+home,
		"KUBECONFIG="+filepath.Join(home, "no-kubeconfig"),
		"KREW_ROOT="+krewRoot,
		"PATH="+binDir+string(os.PathListSeparator)+tools,
	)
	run := func(t *testing.T, name string, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env, cmd.Dir = env, home
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}

	manifests := map[string]*manifest{}
	for _, p := range plugins {
		m := readManifest(t, filepath.Join(r.dist, "krew", p.name+".yaml"))
		manifests[p.name] = m
		var ps *platformSpec
		for i := range m.Spec.Platforms {
			if pl, err := selectorPlatform(m.Spec.Platforms[i].Selector); err == nil && pl == here {
				ps = &m.Spec.Platforms[i]
			}
		}
		if ps == nil {
			t.Fatalf("%s: no platform for %s", p.name, here)
		}
		staging := t.TempDir()
		extract(t, readArchive(t, filepath.Join(r.dist, path.Base(ps.URI)), here, r.date), staging)
		install := filepath.Join(krewRoot, "store", p.name, m.Spec.Version)
		if err := applyFileOps(staging, install, ps.Files); err != nil {
			t.Fatalf("%s: %v", p.name, err)
		}
		// krew's link: kubectl-<name, dashes as underscores>, relative to the store.
		link := filepath.Join(binDir, "kubectl-"+strings.ReplaceAll(m.Metadata.Name, "-", "_"))
		rel, err := filepath.Rel(binDir, filepath.Join(install, filepath.FromSlash(ps.Bin)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(rel, link); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("plugin list", func(t *testing.T) {
		stdout, stderr := run(t, kubectl, "plugin", "list")
		var listed []string
		for l := range strings.Lines(stdout) {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "/") {
				listed = append(listed, l)
			}
		}
		var want []string
		for _, p := range plugins {
			want = append(want, filepath.Join(binDir, p.binary))
		}
		sort.Strings(listed)
		sort.Strings(want)
		if !slices.Equal(listed, want) {
			t.Errorf("kubectl plugin list shows %v, want %v\n%s", listed, want, stdout)
		}
		if out := stdout + stderr; strings.Contains(strings.ToLower(out), "warning") {
			t.Errorf("kubectl plugin list warns:\n%s", out)
		}
	})

	for _, p := range plugins {
		t.Run(p.name+" version", func(t *testing.T) {
			stdout, _ := run(t, kubectl, p.name, "version")
			if !strings.Contains(stdout, r.version) {
				t.Errorf("kubectl %s version does not print %s:\n%s", p.name, r.version, stdout)
			}
			stdout, _ = run(t, kubectl, p.name, "version", "-o", "json")
			var v struct{ Plugin, Version, BuildDate, Platform string }
			if err := json.Unmarshal([]byte(stdout), &v); err != nil {
				t.Fatalf("kubectl %s version -o json: %v\n%s", p.name, err, stdout)
			}
			if v.Plugin != p.name || v.Version != manifests[p.name].Spec.Version || v.Platform != here.String() {
				t.Errorf("kubectl %s version -o json = %+v, want plugin %s, version %s, platform %s",
					p.name, v, p.name, manifests[p.name].Spec.Version, here)
			}
		})
	}

	t.Run("completion", func(t *testing.T) {
		for _, p := range plugins {
			// The caveats' command, as a user would paste it.
			var cp string
			for l := range strings.Lines(manifests[p.name].Spec.Caveats) {
				if l = strings.TrimSpace(l); strings.HasPrefix(l, "cp ") {
					cp = l
				}
			}
			if cp == "" {
				t.Fatalf("%s: the caveats have no cp command for the completion helper", p.name)
			}
			run(t, sh, "-c", cp)
			if _, err := os.Stat(filepath.Join(binDir, helperName(p.binary, here))); err != nil {
				t.Fatalf("%s: after the caveats' %q: %v", p.name, cp, err)
			}
		}
		cases := []struct {
			args []string
			want string
		}{
			{[]string{"certs", "ch"}, "check"},
			{[]string{"certs", ""}, "version"},
			{[]string{"ca-trust", ""}, "version"},
			{[]string{"rotate", ""}, "version"},
			{[]string{"certs", "version", "--out"}, "--output"},
		}
		for _, c := range cases {
			stdout, stderr := run(t, kubectl, append([]string{"__complete"}, c.args...)...)
			if !slices.Contains(completions(stdout), c.want) {
				t.Errorf("kubectl __complete %q offers %q, want %q among them\nstderr:\n%s", c.args, completions(stdout), c.want, stderr)
			}
		}
	})
}

// completions are the candidates of cobra's __complete output: one per line,
// "candidate<TAB>description", then ":<directive>".
func completions(out string) []string {
	var cs []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		if strings.HasPrefix(l, ":") || l == "" {
			continue
		}
		c, _, _ := strings.Cut(l, "\t")
		cs = append(cs, c)
	}
	return cs
}

// TestReproducible packs the release again from the same binaries and checks
// every file is byte-identical, then builds this machine's kubectl-certs again
// with make dist's flags and checks it is the same binary.
func TestReproducible(t *testing.T) {
	r := setup(t)
	if len(r.flags) == 0 {
		t.Skip("KUBECERTS_DIST_FLAGS is not set")
	}
	t.Run("archives and manifests", func(t *testing.T) {
		out := t.TempDir()
		cmd := exec.Command("go", append(append([]string{"run", "./hack/dist"}, r.flags...), "-out="+out)...)
		cmd.Dir = r.root
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, b)
		}
		files, _ := filepath.Glob(filepath.Join(out, "*"))
		manifests, _ := filepath.Glob(filepath.Join(out, "krew", "*"))
		files = append(files, manifests...)
		if len(files) != len(plugins)*len(platforms)+1+1+len(plugins) { // archives, sha256sums.txt, krew/, manifests
			t.Errorf("packing again wrote %d files: %v", len(files), files)
		}
		for _, f := range files {
			if fi, err := os.Stat(f); err != nil || fi.IsDir() {
				continue
			}
			rel, _ := filepath.Rel(out, f)
			if rel == "sha256sums.txt" { // dist's also lists the image's tar, which hack/dist does not write
				got, _ := os.ReadFile(f)
				if want := sumsWithoutImage(t, filepath.Join(r.dist, rel)); string(got) != want {
					t.Errorf("sha256sums.txt packed again:\n%s\nin dist (without the image's line):\n%s", got, want)
				}
				continue
			}
			if a, b := sha256File(t, f), sha256File(t, filepath.Join(r.dist, rel)); a != b {
				t.Errorf("%s: sha256 %s packed again, %s in dist", rel, a, b)
			}
		}
	})
	t.Run("binary", func(t *testing.T) {
		if r.ldflags == "" || r.binDir == "" {
			t.Skip("KUBECERTS_DIST_LDFLAGS or the -bin of KUBECERTS_DIST_FLAGS is not set")
		}
		here := platform{runtime.GOOS, runtime.GOARCH}
		if !slices.Contains(platforms, here) {
			here = platforms[0]
		}
		out := filepath.Join(t.TempDir(), "kubectl-certs"+here.exe())
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", r.ldflags, "-o", out, "./cmd/kubectl-certs")
		cmd.Dir = r.root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+here.os, "GOARCH="+here.arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", cmd.Args, err, b)
		}
		distBin := filepath.Join(r.binDir, here.os+"_"+here.arch, "kubectl-certs"+here.exe())
		if a, b := sha256File(t, out), sha256File(t, distBin); a != b {
			t.Errorf("kubectl-certs for %s built again: sha256 %s, make dist's %s (did the sources change since make dist?)", here, a, b)
		}
	})
}
