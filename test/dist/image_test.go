package dist_test

// The container image make dist-test builds with hack/image from make dist's
// binaries, checked by reading its OCI layout back. Besides the variables of
// dist_test.go these tests need
//
//	KUBECERTS_IMAGE_FLAGS the flags make gave hack/image (version, revision, date, …)
//
// and skip without it.

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

const (
	imageRepository     = "ghcr.io/kubecerts/kubecerts"
	imageArchivePattern = "kubecerts-image_*.oci.tar"
	refNameAnnotation   = "org.opencontainers.image.ref.name"
)

// The image's platforms: the linux ones of the release.
var imagePlatforms = []platform{{"linux", "amd64"}, {"linux", "arm64"}}

type imageBuild struct {
	*release
	flags    []string
	version  string
	tag      string // the version, '+' as '-'
	revision string
	date     time.Time
	caCerts  string
}

func setupImage(t *testing.T) *imageBuild {
	t.Helper()
	r := setup(t)
	b := &imageBuild{release: r, flags: strings.Fields(os.Getenv("KUBECERTS_IMAGE_FLAGS")), caCerts: "/etc/ssl/certs/ca-certificates.crt"}
	if len(b.flags) == 0 {
		t.Skip("KUBECERTS_IMAGE_FLAGS is not set: make dist-test builds the image and runs these tests")
	}
	for _, f := range b.flags {
		name, value, _ := strings.Cut(strings.TrimLeft(f, "-"), "=")
		switch name {
		case "version":
			b.version = value
		case "revision":
			b.revision = value
		case "ca-certs":
			b.caCerts = value
		case "date":
			d, err := time.Parse(time.RFC3339, value)
			if err != nil {
				t.Fatalf("KUBECERTS_IMAGE_FLAGS -date: %v", err)
			}
			b.date = d
		}
	}
	if b.version != r.version || b.date.IsZero() {
		t.Fatalf("KUBECERTS_IMAGE_FLAGS=%q: want -version %s, as make dist, and -date", os.Getenv("KUBECERTS_IMAGE_FLAGS"), r.version)
	}
	b.tag = strings.ReplaceAll(b.version, "+", "-")
	return b
}

func imageArchive(version string) string { return "kubecerts-image_" + version + ".oci.tar" }

// sumsWithoutImage is a sha256sums.txt without the image's line.
func sumsWithoutImage(t *testing.T, file string) string {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for l := range strings.Lines(string(data)) {
		if _, name, _ := strings.Cut(strings.TrimSuffix(l, "\n"), "  "); !matches(imageArchivePattern, name) {
			out.WriteString(l)
		}
	}
	return out.String()
}

func matches(pattern, name string) bool {
	ok, _ := filepath.Match(pattern, name)
	return ok
}

// layerFile is a file of an image's file system.
type layerFile struct {
	hdr  *tar.Header
	data []byte
}

// TestImage reads dist/image back: it validates (digests, sizes, diff IDs);
// one index tagged with the release's tag,
// holding an image for each linux platform; each image's config and layers;
// the binaries are make dist's, and this machine's runs; the layout's tar and
// its sha256.
func TestImage(t *testing.T) {
	b := setupImage(t)
	top, err := layout.ImageIndexFromPath(filepath.Join(b.dist, "image"))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 {
		t.Fatalf("index.json lists %d manifests, want one index", len(tm.Manifests))
	}
	if d := tm.Manifests[0]; d.MediaType != types.OCIImageIndex || d.Annotations[refNameAnnotation] != b.tag {
		t.Errorf("index.json: %s annotated %v; want an OCI index, %s=%s", d.MediaType, d.Annotations, refNameAnnotation, b.tag)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if im.Annotations["org.opencontainers.image.version"] != b.version || im.Annotations["org.opencontainers.image.revision"] != b.revision {
		t.Errorf("index annotations %v: want version %s, revision %s", im.Annotations, b.version, b.revision)
	}
	if digest, err := idx.Digest(); err == nil {
		t.Logf("%s:%s@%s", imageRepository, b.tag, digest)
	}
	// What a registry checks on a push: every digest, size and diff ID.
	if err := validate.Index(top); err != nil {
		t.Errorf("the layout does not validate: %v", err)
	}

	var seen []platform
	baseLayers := map[v1.Hash]bool{}
	for _, d := range im.Manifests {
		if d.Platform == nil || d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("manifest %s: media type %s, platform %v; want an OCI image manifest with a platform", d.Digest, d.MediaType, d.Platform)
			continue
		}
		pl := platform{d.Platform.OS, d.Platform.Architecture}
		seen = append(seen, pl)
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(pl.os+"_"+pl.arch, func(t *testing.T) {
			files := checkImage(t, b, img, pl)
			if layers, err := img.Layers(); err == nil && len(layers) > 0 {
				h, _ := layers[0].Digest()
				baseLayers[h] = true
			}
			checkImageFiles(t, b, files, pl)
		})
	}
	sort.Slice(seen, func(i, j int) bool { return seen[i].String() < seen[j].String() })
	if !slices.Equal(seen, imagePlatforms) {
		t.Errorf("index platforms %v, want exactly %v", seen, imagePlatforms)
	}
	if len(baseLayers) != 1 {
		t.Errorf("the platforms' first layers are %d blobs, want one shared", len(baseLayers))
	}

	t.Run("archive", func(t *testing.T) { checkImageArchive(t, b) })
}

// checkImage checks an image's manifest, config and layers' form, and returns
// its file system.
func checkImage(t *testing.T, b *imageBuild, img v1.Image, pl platform) map[string]layerFile {
	t.Helper()
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 {
		t.Errorf("manifest: config %s, %d layers; want %s, 2 layers", m.Config.MediaType, len(m.Layers), types.OCIConfigJSON)
	}
	for _, l := range m.Layers {
		if l.MediaType != types.OCILayer {
			t.Errorf("layer %s: media type %s, want %s", l.Digest, l.MediaType, types.OCILayer)
		}
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := cf.Config
	if cf.OS != pl.os || cf.Architecture != pl.arch || !cf.Created.Time.Equal(b.date) {
		t.Errorf("config: %s/%s created %v; want %s, %v", cf.OS, cf.Architecture, cf.Created.Time, pl, b.date)
	}
	if !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/kubectl-certs"}) || len(c.Cmd) != 0 || c.User != "65532:65532" || c.WorkingDir != "/" {
		t.Errorf("config: entrypoint %q, cmd %q, user %q, working dir %q; want [/usr/local/bin/kubectl-certs], none, 65532:65532, /",
			c.Entrypoint, c.Cmd, c.User, c.WorkingDir)
	}
	if want := []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}; !slices.Equal(c.Env, want) {
		t.Errorf("config: env %q, want %q", c.Env, want)
	}
	wantLabels := map[string]string{
		"org.opencontainers.image.title":       "kubecerts",
		"org.opencontainers.image.source":      homepage,
		"org.opencontainers.image.version":     b.version,
		"org.opencontainers.image.revision":    b.revision,
		"org.opencontainers.image.created":     b.date.UTC().Format(time.RFC3339),
		"org.opencontainers.image.licenses":    "Apache-2.0",
		"org.opencontainers.image.description": c.Labels["org.opencontainers.image.description"],
	}
	if b.revision == "" {
		delete(wantLabels, "org.opencontainers.image.revision")
	}
	if !mapsEqual(c.Labels, wantLabels) || c.Labels["org.opencontainers.image.description"] == "" {
		t.Errorf("config: labels %v, want %v and a description", c.Labels, wantLabels)
	}
	for _, h := range cf.History {
		if !h.Created.Time.Equal(b.date) {
			t.Errorf("history %q: created %v, want %v", h.CreatedBy, h.Created.Time, b.date)
		}
	}

	// Each layer's tar: sorted, numeric owners, every time the commit's date.
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]layerFile{}
	for i, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(rc)
		var names []string
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			names = append(names, h.Name)
			owner := 0
			if h.Name == "home/nonroot/" {
				owner = 65532
			}
			if h.Uid != owner || h.Gid != owner || h.Uname != "" || h.Gname != "" || !h.ModTime.Equal(b.date) || strings.HasPrefix(h.Name, "/") {
				t.Errorf("layer %d: %s: owner %d:%d (%q:%q), time %v; want %d:%d without names, %v, a relative name",
					i, h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.ModTime, owner, owner, b.date)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			files[strings.TrimSuffix(h.Name, "/")] = layerFile{h, data}
		}
		rc.Close()
		if !sort.StringsAreSorted(names) {
			t.Errorf("layer %d: entries not sorted: %v", i, names)
		}
	}
	return files
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkImageFiles checks the image's files and runs this machine's binaries.
func checkImageFiles(t *testing.T, b *imageBuild, files map[string]layerFile, pl platform) {
	t.Helper()
	want := map[string]struct {
		typ  byte
		mode int64
	}{
		"etc/passwd":                        {tar.TypeReg, 0o644},
		"etc/group":                         {tar.TypeReg, 0o644},
		"etc/ssl/certs/ca-certificates.crt": {tar.TypeReg, 0o644},
		"usr/share/doc/kubecerts/LICENSE":   {tar.TypeReg, 0o644},
		"usr/local/bin":                     {tar.TypeDir, 0o755},
		"home/nonroot":                      {tar.TypeDir, 0o700},
		"tmp":                               {tar.TypeDir, 0o1777},
	}
	for _, p := range plugins {
		want["usr/local/bin/"+p.binary] = struct {
			typ  byte
			mode int64
		}{tar.TypeReg, 0o755}
	}
	for name, w := range want {
		f, ok := files[name]
		if !ok {
			t.Errorf("/%s is not in the image", name)
			continue
		}
		if f.hdr.Typeflag != w.typ || f.hdr.Mode != w.mode {
			t.Errorf("/%s: type %q mode %o, want %q %o", name, f.hdr.Typeflag, f.hdr.Mode, w.typ, w.mode)
		}
	}
	for name, f := range files {
		if f.hdr.Typeflag != tar.TypeReg && f.hdr.Typeflag != tar.TypeDir {
			t.Errorf("/%s: type %q, want regular files and directories only", name, f.hdr.Typeflag)
		}
		if strings.HasPrefix(name, "usr/local/bin/") {
			if _, ok := want[name]; !ok {
				t.Errorf("/%s: not a binary of the release", name)
			}
		}
	}
	passwd := string(files["etc/passwd"].data)
	if !slices.Contains(strings.Split(passwd, "\n"), "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin") ||
		!strings.HasPrefix(passwd, "root:x:0:0:") {
		t.Errorf("/etc/passwd lacks root or nonroot 65532:65532:\n%s", passwd)
	}
	if group := string(files["etc/group"].data); !slices.Contains(strings.Split(group, "\n"), "nonroot:x:65532:") {
		t.Errorf("/etc/group lacks nonroot 65532:\n%s", group)
	}
	if want, err := os.ReadFile(b.caCerts); err != nil {
		t.Error(err)
	} else if !bytes.Equal(files["etc/ssl/certs/ca-certificates.crt"].data, want) {
		t.Errorf("/etc/ssl/certs/ca-certificates.crt differs from %s", b.caCerts)
	}
	if want, _ := os.ReadFile(filepath.Join(b.root, "LICENSE")); !bytes.Equal(files["usr/share/doc/kubecerts/LICENSE"].data, want) {
		t.Errorf("/usr/share/doc/kubecerts/LICENSE differs from the repository's")
	}

	here := platform{runtime.GOOS, runtime.GOARCH}
	dir := t.TempDir()
	for _, p := range plugins {
		data := files["usr/local/bin/"+p.binary].data
		if b.binDir != "" {
			if distBin, err := os.ReadFile(filepath.Join(b.binDir, pl.os+"_"+pl.arch, p.binary)); err != nil || !bytes.Equal(data, distBin) {
				t.Errorf("/usr/local/bin/%s differs from make dist's (%v)", p.binary, err)
			}
		}
		file := filepath.Join(dir, p.binary)
		if err := os.WriteFile(file, data, 0o755); err != nil {
			t.Fatal(err)
		}
		checkBinary(t, file, p.binary, pl)
		if pl != here {
			continue
		}
		// The binary taken out of the image runs, and is the release's.
		cmd := exec.Command(file, "version", "-o", "json")
		cmd.Env = []string{"HOME=" + dir, "KUBECONFIG=" + filepath.Join(dir, "no-kubeconfig"), "PATH=/nonexistent"}
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("/usr/local/bin/%s version -o json: %v\n%s", p.binary, err, out)
		}
		var v struct{ Plugin, Version, GitCommit, BuildDate, Platform string }
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("/usr/local/bin/%s version -o json: %v\n%s", p.binary, err, out)
		}
		if v.Plugin != p.name || v.Version != b.version || v.GitCommit != b.revision || v.Platform != pl.String() || v.BuildDate != b.date.UTC().Format(time.RFC3339) {
			t.Errorf("/usr/local/bin/%s version -o json = %+v, want plugin %s, version %s, commit %s, date %s, platform %s",
				p.binary, v, p.name, b.version, b.revision, b.date.UTC().Format(time.RFC3339), pl)
		}
	}
}

// checkImageArchive checks dist/kubecerts-image_<version>.oci.tar: the layout
// of dist/image, sorted, owner 0, modes 0755/0644, every time the commit's
// date, and its line in sha256sums.txt.
func checkImageArchive(t *testing.T, b *imageBuild) {
	name := imageArchive(b.version)
	file := filepath.Join(b.dist, name)
	if sums := readSums(t, b.release); sums[name] != sha256File(t, file) {
		t.Errorf("sha256sums.txt says %q for %s, its sha256 is %s", sums[name], name, sha256File(t, file))
	}
	others, _ := filepath.Glob(filepath.Join(b.dist, imageArchivePattern))
	if len(others) != 1 {
		t.Errorf("dist holds image archives %v, want %s alone", others, name)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		mode := int64(0o644)
		if h.Typeflag == tar.TypeDir {
			mode = 0o755
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" || h.Mode != mode || !h.ModTime.Equal(b.date) {
			t.Errorf("%s: %s: owner %d:%d (%q:%q), mode %o, time %v; want 0:0 without names, %o, %v", name, h.Name, h.Uid, h.Gid, h.Uname, h.Gname, h.Mode, h.ModTime, mode, b.date)
		}
		if h.Typeflag == tar.TypeReg {
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if onDisk, err := os.ReadFile(filepath.Join(b.dist, "image", filepath.FromSlash(h.Name))); err != nil || !bytes.Equal(data, onDisk) {
				t.Errorf("%s: %s differs from dist/image's (%v)", name, h.Name, err)
			}
		}
	}
	if !sort.StringsAreSorted(names) {
		t.Errorf("%s: entries not sorted: %v", name, names)
	}
	var onDisk []string
	filepath.WalkDir(filepath.Join(b.dist, "image"), func(path string, d os.DirEntry, err error) error {
		if rel, _ := filepath.Rel(filepath.Join(b.dist, "image"), path); err == nil && rel != "." {
			if d.IsDir() {
				rel += "/"
			}
			onDisk = append(onDisk, filepath.ToSlash(rel))
		}
		return err
	})
	sort.Strings(onDisk)
	if !slices.Equal(names, onDisk) {
		t.Errorf("%s holds %v, dist/image %v", name, names, onDisk)
	}
}

// TestImageReproducible builds the image again from the same binaries into
// another directory: the same index digest, the same bytes.
func TestImageReproducible(t *testing.T) {
	b := setupImage(t)
	out := t.TempDir()
	start := time.Now()
	cmd := exec.Command("go", append(append([]string{"run", "./hack/image"}, b.flags...), "-out="+out)...)
	cmd.Dir = b.root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	ref, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd.Args, err, stderr.Bytes())
	}
	t.Logf("built again in %v: %s", time.Since(start).Round(time.Second), bytes.TrimSpace(ref))
	digest := func(dir string) v1.Hash {
		t.Helper()
		idx, err := layout.ImageIndexFromPath(dir)
		if err != nil {
			t.Fatal(err)
		}
		m, err := idx.IndexManifest()
		if err != nil || len(m.Manifests) != 1 {
			t.Fatalf("%s: %v, %d manifests", dir, err, len(m.Manifests))
		}
		return m.Manifests[0].Digest
	}
	a, again := digest(filepath.Join(b.dist, "image")), digest(filepath.Join(out, "image"))
	if a != again {
		t.Errorf("index digest %s in dist, %s built again", a, again)
	}
	if want := imageRepository + ":" + b.tag + "@" + a.String(); strings.TrimSpace(string(ref)) != want {
		t.Errorf("hack/image printed %q, want %q", bytes.TrimSpace(ref), want)
	}
	name := imageArchive(b.version)
	if x, y := sha256File(t, filepath.Join(b.dist, name)), sha256File(t, filepath.Join(out, name)); x != y {
		t.Errorf("%s: sha256 %s in dist, %s built again", name, x, y)
	}
}
