// Command image assembles the container image of the kubectl plugins without a
// container daemon, with go-containerregistry; `make image` runs it after
// cross-compiling the linux binaries.
//
// For each platform (linux only) it builds an image from scratch: the static
// binaries BIN/<os>_<arch>/<binary> at /usr/local/bin/, the CA certificates
// (-ca-certs) at /etc/ssl/certs/ca-certificates.crt, LICENSE at
// /usr/share/doc/kubecerts/LICENSE, /etc/passwd and /etc/group with root and
// nonroot (65532:65532, home /home/nonroot) and /tmp. The config runs
// /usr/local/bin/kubectl-certs as 65532:65532 in /, PATH holding
// /usr/local/bin, SSL_CERT_FILE the certificates, and the OCI labels
// org.opencontainers.image.* (title, description, source, version, revision,
// created, licenses). Two layers: the files every platform shares (the same
// blob for all), then the binaries.
//
// It writes OUT/image/, an OCI image layout whose index.json holds one image
// index, for all the platforms, annotated org.opencontainers.image.ref.name =
// the tag; OUT/kubecerts-image_<version>.oci.tar, a tar of that layout (what
// `skopeo copy oci-archive:` reads); and the tar's line in OUT/sha256sums.txt,
// the other lines (hack/dist's) kept. The image's reference is
// ghcr.io/kubecerts/kubecerts:<tag>, the tag the version with '+' (semantic
// version build metadata, which a tag cannot hold) as '-':
// v0.0.0-dev+a83fd6b-dirty is tagged v0.0.0-dev-a83fd6b-dirty.
//
// The output is reproducible: layer entries sorted by name, owner 0:0 without
// names (but /home/nonroot, 65532:65532), every time the commit's date (-date),
// which is also the config's created time; gzip without name or time; the
// layout's tar sorted, 0:0, modes 0755/0644, the same time. The same binaries
// and certificates give the same digests and bytes.
//
// Everything is written into a temporary directory beside OUT/image and
// renamed into place at the end: an error leaves OUT as it was.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/x509"
	"debug/elf"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/kubecerts/kubecerts/shared/atomicfile"
	"github.com/kubecerts/kubecerts/shared/fserr"
)

const (
	// repository is where the release's image is pushed; the plugins'
	// --print-manifests default to repository:<tag>.
	repository = "ghcr.io/kubecerts/kubecerts"
	source     = "https://github.com/kubecerts/kubecerts"
	license    = "Apache-2.0" // LICENSE

	binDir     = "/usr/local/bin"
	caFile     = "/etc/ssl/certs/ca-certificates.crt"
	docDir     = "/usr/share/doc/kubecerts"
	nonroot    = 65532
	entrypoint = "kubectl-certs"
	// refName is the annotation of index.json naming a manifest's tag.
	refName = "org.opencontainers.image.ref.name"
)

type options struct {
	version   string
	revision  string
	date      string
	binDir    string
	binaries  []string
	platforms []platform
	caCerts   string
	license   string
	out       string
}

type platform struct{ os, arch string }

func (p platform) String() string { return p.os + "/" + p.arch }

func main() {
	var o options
	var binaries, platforms string
	flag.StringVar(&o.version, "version", "", "release version, a semantic version with a leading v (make dist's)")
	flag.StringVar(&o.revision, "revision", "", "the commit built, for the org.opencontainers.image.revision label")
	flag.StringVar(&o.date, "date", "", "time of every file and of the config, RFC 3339 (the commit's date); empty: 1980-01-01T00:00:00Z")
	flag.StringVar(&o.binDir, "bin", "dist/bin", "directory of the binaries: BIN/<os>_<arch>/<binary>")
	flag.StringVar(&binaries, "binaries", "kubectl-certs,kubectl-ca_trust,kubectl-rotate", "binaries to put in /usr/local/bin, comma-separated; kubectl-certs is the entrypoint")
	flag.StringVar(&platforms, "platforms", "linux/amd64,linux/arm64", "platforms, comma-separated os/arch; linux only")
	flag.StringVar(&o.caCerts, "ca-certs", "/etc/ssl/certs/ca-certificates.crt", "PEM bundle of CA certificates put at "+caFile)
	flag.StringVar(&o.license, "license", "LICENSE", "license file put at "+docDir+"/LICENSE")
	flag.StringVar(&o.out, "out", "dist", "output directory: OUT/image/, OUT/kubecerts-image_<version>.oci.tar, OUT/sha256sums.txt")
	flag.Parse()
	if flag.NArg() > 0 {
		fail(fmt.Errorf("unexpected arguments %q", flag.Args()))
	}
	o.binaries = splitList(binaries)
	for _, p := range splitList(platforms) {
		osName, arch, ok := strings.Cut(p, "/")
		if !ok || osName == "" || arch == "" || strings.Contains(arch, "/") {
			fail(fmt.Errorf("-platforms: %q is not os/arch", p))
		}
		o.platforms = append(o.platforms, platform{osName, arch})
	}
	ref, err := run(o)
	if err != nil {
		fail(err)
	}
	fmt.Println(ref)
}

func fail(err error) {
	// One line: a wrapped error may hold several (errors.Join).
	fmt.Fprintln(os.Stderr, "image: "+strings.ReplaceAll(err.Error(), "\n", "; "))
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

var (
	semverRE = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`)
	// tagRE is a tag as the OCI distribution spec has it.
	tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)
)

// tagOf is the image's tag for a release version: the version, with '+' as '-'.
// A tag cannot hold '+', which a semantic version uses for build metadata
// (v0.0.0-dev+a83fd6b-dirty, make dist's version of an untagged tree).
func tagOf(version string) (string, error) {
	if !semverRE.MatchString(version) {
		return "", fmt.Errorf("-version %q: want a semantic version with a leading v (v1.2.3, v1.2.3-rc.1), make dist's", version)
	}
	tag := strings.ReplaceAll(version, "+", "-")
	if !tagRE.MatchString(tag) {
		return "", fmt.Errorf("-version %q: tag %q is not a valid image tag (at most 128 characters)", version, tag)
	}
	if _, err := name.NewTag(repository+":"+tag, name.StrictValidation); err != nil {
		return "", fmt.Errorf("-version %q: %v", version, err)
	}
	return tag, nil
}

// archiveName is the OCI layout's tar in OUT: kubecerts-image_<version>.oci.tar.
func archiveName(version string) string { return "kubecerts-image_" + version + ".oci.tar" }

// The build's inputs, read and checked before anything is written.
type inputs struct {
	tag     string
	mtime   time.Time
	caCerts []byte
	license []byte
	bins    map[platform][]file // per platform, the binaries in -binaries order
}

// file is an entry of a layer: a directory when data is nil and mode has
// fs.ModeDir.
type file struct {
	name     string // absolute: /usr/local/bin/kubectl-certs
	mode     fs.FileMode
	uid, gid int
	data     []byte
}

func read(o options) (*inputs, error) {
	in := &inputs{bins: map[platform][]file{}}
	var err error
	if in.tag, err = tagOf(o.version); err != nil {
		return nil, err
	}
	in.mtime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	if o.date != "" {
		t, err := time.Parse(time.RFC3339, o.date)
		if err != nil {
			return nil, fmt.Errorf("-date %q: not RFC 3339", o.date)
		}
		in.mtime = t.UTC()
	}
	if len(o.binaries) == 0 || len(o.platforms) == 0 {
		return nil, errors.New("nothing to build: -binaries or -platforms is empty")
	}
	if o.binaries[0] != entrypoint {
		return nil, fmt.Errorf("-binaries %q: the first must be %s, the entrypoint", strings.Join(o.binaries, ","), entrypoint)
	}
	seen := map[string]bool{}
	for _, b := range o.binaries {
		if !strings.HasPrefix(b, "kubectl-") || strings.ContainsAny(b, `/\`) || seen[b] {
			return nil, fmt.Errorf("-binaries: %q is not a kubectl plugin's binary (kubectl-<name>, once)", b)
		}
		seen[b] = true
	}
	seenPlatform := map[platform]bool{}
	for _, p := range o.platforms {
		if p.os != "linux" {
			return nil, fmt.Errorf("-platforms: %s: images are built for linux only", p)
		}
		if elfMachine[p.arch] == 0 {
			return nil, fmt.Errorf("-platforms: %s: unknown architecture (want one of amd64, arm64, arm, ppc64le, s390x, riscv64)", p)
		}
		if seenPlatform[p] {
			return nil, fmt.Errorf("-platforms: %s twice", p)
		}
		seenPlatform[p] = true
	}
	if in.caCerts, err = os.ReadFile(o.caCerts); err != nil {
		return nil, fmt.Errorf("-ca-certs %s: %v", o.caCerts, fserr.Cause(err))
	}
	if !x509.NewCertPool().AppendCertsFromPEM(in.caCerts) {
		return nil, fmt.Errorf("-ca-certs %s: no PEM certificate in it", o.caCerts)
	}
	if in.license, err = os.ReadFile(o.license); err != nil {
		return nil, fmt.Errorf("-license %s: %v", o.license, fserr.Cause(err))
	}
	if fi, err := os.Stat(o.binDir); err != nil {
		return nil, fmt.Errorf("-bin %s: %v", o.binDir, fserr.Cause(err))
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("-bin %s: not a directory", o.binDir)
	}
	for _, p := range o.platforms {
		for _, b := range o.binaries {
			path := filepath.Join(o.binDir, p.os+"_"+p.arch, b)
			data, err := os.ReadFile(path)
			if err != nil {
				return nil, fmt.Errorf("binary %s: %v", path, fserr.Cause(err))
			}
			if err := checkBinary(data, p); err != nil {
				return nil, fmt.Errorf("binary %s: %v", path, err)
			}
			in.bins[p] = append(in.bins[p], file{name: binDir + "/" + b, mode: 0o755, data: data})
		}
	}
	return in, nil
}

var elfMachine = map[string]elf.Machine{
	"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM,
	"ppc64le": elf.EM_PPC64, "s390x": elf.EM_S390, "riscv64": elf.EM_RISCV,
}

// checkBinary checks that data is a static executable of the platform: the
// image has no dynamic loader or libc.
func checkBinary(data []byte, p platform) error {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("not a linux (ELF) executable: %v", err)
	}
	defer f.Close()
	if f.Machine != elfMachine[p.arch] {
		return fmt.Errorf("built for %v, not %s", f.Machine, p)
	}
	for _, prog := range f.Progs {
		if prog.Type == elf.PT_INTERP {
			return errors.New("dynamically linked (build with CGO_ENABLED=0)")
		}
	}
	return nil
}

// baseFiles are the files every platform's image shares.
func baseFiles(in *inputs) []file {
	const dir = fs.ModeDir | 0o755
	return []file{
		{name: "/etc", mode: dir},
		{name: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "/etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "/etc/ssl", mode: dir},
		{name: "/etc/ssl/certs", mode: dir},
		{name: caFile, mode: 0o644, data: in.caCerts},
		{name: "/home", mode: dir},
		{name: "/home/nonroot", mode: fs.ModeDir | 0o700, uid: nonroot, gid: nonroot},
		{name: "/root", mode: fs.ModeDir | 0o700},
		{name: "/tmp", mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{name: "/usr", mode: dir},
		{name: "/usr/share", mode: dir},
		{name: "/usr/share/doc", mode: dir},
		{name: docDir, mode: dir},
		{name: docDir + "/LICENSE", mode: 0o644, data: in.license},
	}
}

// binaryFiles are a platform's binaries and their directories.
func binaryFiles(bins []file) []file {
	const dir = fs.ModeDir | 0o755
	return append([]file{{name: "/usr", mode: dir}, {name: "/usr/local", mode: dir}, {name: binDir, mode: dir}}, bins...)
}

// layerTar is a layer's tar: entries sorted by name (a directory before what
// it holds), relative names, USTAR headers with numeric owners only, every
// time mtime.
func layerTar(files []file, mtime time.Time) ([]byte, error) {
	files = append([]file(nil), files...)
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for i, f := range files {
		if !strings.HasPrefix(f.name, "/") || f.name != filepath.ToSlash(filepath.Clean(f.name)) || f.name == "/" {
			return nil, fmt.Errorf("layer entry %q: want a clean absolute path", f.name)
		}
		if i > 0 && files[i-1].name == f.name {
			return nil, fmt.Errorf("layer entry %q twice", f.name)
		}
		hdr := &tar.Header{
			Name:    strings.TrimPrefix(f.name, "/"),
			Mode:    int64(f.mode.Perm()),
			Uid:     f.uid,
			Gid:     f.gid,
			ModTime: mtime,
			Format:  tar.FormatUSTAR,
		}
		if f.mode&fs.ModeSticky != 0 {
			hdr.Mode |= 0o1000
		}
		if f.mode.IsDir() {
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		} else {
			hdr.Typeflag, hdr.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer entry %s: %v", f.name, err)
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// layer is a gzipped OCI layer of files. The gzip header has neither name nor
// time, so the same files give the same digest.
func layer(files []file, mtime time.Time) (v1.Layer, error) {
	t, err := layerTar(files, mtime)
	if err != nil {
		return nil, err
	}
	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.DefaultCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(t); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	compressed := gz.Bytes()
	// The opener gives gzip, which tarball takes as the compressed form as is.
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(compressed)), nil
	}, tarball.WithMediaType(types.OCILayer))
}

// labels are the image's OCI labels, also the index's annotations.
func labels(version, revision string, created time.Time) map[string]string {
	l := map[string]string{
		"org.opencontainers.image.title":       "kubecerts",
		"org.opencontainers.image.description": "kubectl-certs, kubectl-ca_trust and kubectl-rotate: check, trust and rotate a Kubernetes cluster's certificates",
		"org.opencontainers.image.source":      source,
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.created":     created.UTC().Format(time.RFC3339),
		"org.opencontainers.image.licenses":    license,
	}
	if revision != "" {
		l["org.opencontainers.image.revision"] = revision
	}
	return l
}

// env is the image's environment.
var env = []string{"PATH=/usr/local/bin:/usr/bin:/bin", "SSL_CERT_FILE=" + caFile}

// image is one platform's image.
func image(o options, in *inputs, base v1.Layer, p platform) (v1.Image, error) {
	bins, err := layer(binaryFiles(in.bins[p]), in.mtime)
	if err != nil {
		return nil, err
	}
	created := v1.Time{Time: in.mtime}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	img, err = mutate.ConfigFile(img, &v1.ConfigFile{
		Architecture: p.arch,
		OS:           p.os,
		Created:      created,
		Config: v1.Config{
			User:       fmt.Sprintf("%d:%d", nonroot, nonroot),
			WorkingDir: "/",
			Env:        env,
			Entrypoint: []string{binDir + "/" + entrypoint},
			Labels:     labels(o.version, o.revision, in.mtime),
		},
		RootFS: v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(img,
		mutate.Addendum{Layer: base, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "hack/image: /etc (passwd, group, CA certificates), /home/nonroot, /tmp, LICENSE",
		}},
		mutate.Addendum{Layer: bins, MediaType: types.OCILayer, History: v1.History{
			Created: created, CreatedBy: "hack/image: " + binDir + "/{" + strings.Join(o.binaries, ",") + "} for " + p.String(),
		}},
	)
}

// buildIndex is the image index of every platform's image, annotated with the
// labels.
func buildIndex(o options, in *inputs) (v1.ImageIndex, error) {
	base, err := layer(baseFiles(in), in.mtime)
	if err != nil {
		return nil, err
	}
	imgs := make([]v1.Image, len(o.platforms))
	errs := make([]error, len(o.platforms))
	var wg sync.WaitGroup
	for i, p := range o.platforms { // compressing the binaries is the slow part
		wg.Go(func() { imgs[i], errs[i] = image(o, in, base, p) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for i, p := range o.platforms {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        imgs[i],
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: p.os, Architecture: p.arch}},
		})
	}
	return mutate.Annotations(idx, labels(o.version, o.revision, in.mtime)).(v1.ImageIndex), nil
}

// run builds the image and writes it; it returns the image's reference with
// the index's digest.
func run(o options) (string, error) {
	in, err := read(o)
	if err != nil {
		return "", err
	}
	idx, err := buildIndex(o, in)
	if err != nil {
		return "", err
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return "", fmt.Errorf("-out %s: %v", o.out, fserr.Cause(err))
	}
	tmp, err := os.MkdirTemp(o.out, ".image.")
	if err != nil {
		return "", fmt.Errorf("-out %s: %v", o.out, fserr.Cause(err))
	}
	defer os.RemoveAll(tmp)

	dir := filepath.Join(tmp, "image")
	lp, err := layout.Write(dir, empty.Index)
	if err != nil {
		return "", err
	}
	if err := lp.AppendIndex(idx, layout.WithAnnotations(map[string]string{refName: in.tag})); err != nil {
		return "", err
	}
	archive := filepath.Join(tmp, archiveName(o.version))
	sum, err := writeLayoutTar(dir, archive, in.mtime)
	if err != nil {
		return "", err
	}

	// Into place: the layout, its tar, the tar's sha256.
	outDir := filepath.Join(o.out, "image")
	old := filepath.Join(tmp, "old")
	if err := os.Rename(outDir, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	if err := os.Rename(dir, outDir); err != nil {
		return "", err
	}
	if err := os.Rename(archive, filepath.Join(o.out, archiveName(o.version))); err != nil {
		return "", err
	}
	if err := updateSums(filepath.Join(o.out, "sha256sums.txt"), archiveName(o.version), sum); err != nil {
		return "", err
	}
	stale, err := filepath.Glob(filepath.Join(o.out, archiveName("*")))
	if err != nil {
		return "", err
	}
	for _, f := range stale {
		if filepath.Base(f) != archiveName(o.version) {
			if err := os.Remove(f); err != nil {
				return "", err
			}
		}
	}
	return repository + ":" + in.tag + "@" + digest.String(), nil
}

// writeLayoutTar normalizes the modes of the layout in dir (0755, 0644: the
// layout package writes 0777 less the umask) and writes it as a tar to file:
// sorted, owner 0:0 without names, every time mtime. It returns the tar's
// sha256.
func writeLayoutTar(dir, file string, mtime time.Time) (string, error) {
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		mode := fs.FileMode(0o644)
		if d.IsDir() {
			mode = 0o755
		} else if !d.Type().IsRegular() {
			return fmt.Errorf("%s: not a regular file", path)
		}
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		if path != dir {
			names = append(names, path)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	f, err := os.Create(file)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	bw := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	tw := tar.NewWriter(bw)
	for _, path := range names {
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return "", err
		}
		fi, err := os.Stat(path)
		if err != nil {
			return "", err
		}
		hdr := &tar.Header{Name: filepath.ToSlash(rel), ModTime: mtime, Format: tar.FormatUSTAR}
		if fi.IsDir() {
			hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, hdr.Name+"/", 0o755
		} else {
			hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, fi.Size()
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return "", fmt.Errorf("%s: %v", rel, err)
		}
		if !fi.IsDir() {
			src, err := os.Open(path)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(tw, src)
			src.Close()
			if err != nil {
				return "", err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return "", err
	}
	if err := bw.Flush(); err != nil {
		return "", err
	}
	if err := f.Close(); err != nil {
		return "", err
	}
	if err := os.Chmod(file, 0o644); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// updateSums puts `<sum>  <name>` in the sha256sums file (sha256sum -c reads
// it), in place of any image archive's line, keeping the others (hack/dist's
// archives) and the order by name. A missing file is created.
func updateSums(file, name, sum string) error {
	data, err := os.ReadFile(file)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	lines := []string{sum + "  " + name}
	for l := range strings.Lines(string(data)) {
		l = strings.TrimSuffix(l, "\n")
		s, n, ok := strings.Cut(l, "  ")
		if !ok || len(s) != 64 || n == "" {
			return fmt.Errorf("%s: line %q is not `<sha256>  <file>`", file, l)
		}
		if matched, _ := filepath.Match(archiveName("*"), n); !matched {
			lines = append(lines, l)
		}
	}
	sort.Slice(lines, func(i, j int) bool { return lines[i][66:] < lines[j][66:] })
	return writeFile(file, []byte(strings.Join(lines, "\n")+"\n"))
}

// writeFile replaces name with data, mode 0644, through a temporary file in
// the same directory, so that a reader never sees half a file.
func writeFile(name string, data []byte) error {
	return atomicfile.Write(name, data, 0o644)
}
