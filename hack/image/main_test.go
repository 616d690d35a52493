package main

import (
	"archive/tar"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"debug/elf"
	"encoding/binary"
	"encoding/pem"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
)

func TestTagOf(t *testing.T) {
	tests := []struct {
		version, want, err string
	}{
		{"v1.2.3", "v1.2.3", ""},
		{"v1.2.3-rc.1", "v1.2.3-rc.1", ""},
		{"v0.0.0-dev+676d747-dirty", "v0.0.0-dev-676d747-dirty", ""},
		{"v1.2.3+build.5", "v1.2.3-build.5", ""},
		{"1.2.3", "", "semantic version"},
		{"v1.2", "", "semantic version"},
		{"", "", "semantic version"},
		{"v1.2.3+a+b", "", "semantic version"},
		{"v1.2.3-" + strings.Repeat("a", 130), "", "at most 128"},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			got, err := tagOf(tt.version)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("tagOf(%q) = %q, %v; want an error containing %q", tt.version, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("tagOf(%q) = %q, %v; want %q", tt.version, got, err, tt.want)
			}
		})
	}
}

func TestLayerTar(t *testing.T) {
	mtime := time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)
	files := []file{
		{name: "/usr/local/bin/kubectl-certs", mode: 0o755, data: []byte("certs")},
		{name: "/tmp", mode: fs.ModeDir | fs.ModeSticky | 0o777},
		{name: "/usr", mode: fs.ModeDir | 0o755},
		{name: "/home/nonroot", mode: fs.ModeDir | 0o700, uid: 65532, gid: 65532},
		{name: "/etc/passwd", mode: 0o644, data: []byte("root\n")},
		{name: "/usr/local/bin", mode: fs.ModeDir | 0o755},
	}
	data, err := layerTar(files, mtime)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct {
		name     string
		typ      byte
		mode     int64
		uid, gid int
		data     string
	}
	want := []entry{
		{"etc/passwd", tar.TypeReg, 0o644, 0, 0, "root\n"},
		{"home/nonroot/", tar.TypeDir, 0o700, 65532, 65532, ""},
		{"tmp/", tar.TypeDir, 0o1777, 0, 0, ""},
		{"usr/", tar.TypeDir, 0o755, 0, 0, ""},
		{"usr/local/bin/", tar.TypeDir, 0o755, 0, 0, ""},
		{"usr/local/bin/kubectl-certs", tar.TypeReg, 0o755, 0, 0, "certs"},
	}
	var got []entry
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got = append(got, entry{h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, string(b)})
		if !h.ModTime.Equal(mtime) || h.Uname != "" || h.Gname != "" || h.Format != tar.FormatUSTAR {
			t.Errorf("%s: mtime %v, owner %q:%q, format %v; want %v, no names, USTAR", h.Name, h.ModTime, h.Uname, h.Gname, h.Format, mtime)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("entries\n%v\nwant\n%v", got, want)
	}
	again, err := layerTar(reversed(files), mtime)
	if err != nil || !bytes.Equal(again, data) {
		t.Errorf("the files in another order give another tar (err %v)", err)
	}

	for _, bad := range []struct{ name, err string }{
		{"etc/passwd", "clean absolute path"},
		{"/etc/../passwd", "clean absolute path"},
		{"/", "clean absolute path"},
		{"/etc/passwd", "twice"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := layerTar(append(slices.Clone(files), file{name: bad.name, mode: 0o644}), mtime)
			if err == nil || !strings.Contains(err.Error(), bad.err) {
				t.Errorf("layerTar with %q: %v, want an error containing %q", bad.name, err, bad.err)
			}
		})
	}
}

func reversed(files []file) []file {
	r := slices.Clone(files)
	slices.Reverse(r)
	return r
}

func TestUpdateSums(t *testing.T) {
	const (
		a = "1111111111111111111111111111111111111111111111111111111111111111"
		b = "2222222222222222222222222222222222222222222222222222222222222222"
		c = "3333333333333333333333333333333333333333333333333333333333333333"
	)
	tests := []struct {
		name     string
		existing *string
		want     string
		err      string
	}{
		{"no file", nil, c + "  kubecerts-image_v1.0.0.oci.tar\n", ""},
		{"hack/dist's", ptr(a + "  kubectl-certs_linux_amd64.tar.gz\n" + b + "  kubectl-rotate_windows_amd64.zip\n"),
			c + "  kubecerts-image_v1.0.0.oci.tar\n" + a + "  kubectl-certs_linux_amd64.tar.gz\n" + b + "  kubectl-rotate_windows_amd64.zip\n", ""},
		{"an earlier image's replaced", ptr(a + "  kubecerts-image_v0.9.0.oci.tar\n" + b + "  kubectl-certs_linux_amd64.tar.gz\n"),
			c + "  kubecerts-image_v1.0.0.oci.tar\n" + b + "  kubectl-certs_linux_amd64.tar.gz\n", ""},
		{"malformed", ptr("not a sum\n"), "", "is not `<sha256>  <file>`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "sha256sums.txt")
			if tt.existing != nil {
				if err := os.WriteFile(file, []byte(*tt.existing), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := updateSums(file, "kubecerts-image_v1.0.0.oci.tar", c)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("updateSums: %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := os.ReadFile(file); string(got) != tt.want {
				t.Errorf("sha256sums.txt\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func ptr(s string) *string { return &s }

// fakeELF is the header of an ELF executable for machine, then filler; with
// interp, a PT_INTERP program header (a dynamically linked executable).
func fakeELF(t *testing.T, machine elf.Machine, interp bool, filler string) []byte {
	t.Helper()
	h := elf.Header64{
		Type: uint16(elf.ET_EXEC), Machine: uint16(machine), Version: uint32(elf.EV_CURRENT),
		Ehsize: 64, Phentsize: 56,
	}
	copy(h.Ident[:], elf.ELFMAG)
	h.Ident[elf.EI_CLASS], h.Ident[elf.EI_DATA], h.Ident[elf.EI_VERSION] = byte(elf.ELFCLASS64), byte(elf.ELFDATA2LSB), byte(elf.EV_CURRENT)
	if interp {
		h.Phoff, h.Phnum = 64, 1
	}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, h); err != nil {
		t.Fatal(err)
	}
	if interp {
		if err := binary.Write(&buf, binary.LittleEndian, elf.Prog64{Type: uint32(elf.PT_INTERP)}); err != nil {
			t.Fatal(err)
		}
	}
	buf.WriteString(filler)
	return buf.Bytes()
}

// fixture writes the inputs of a build: binaries for linux/amd64 and
// linux/arm64, a CA bundle, a license. It returns the options.
func fixture(t *testing.T) options {
	t.Helper()
	dir := t.TempDir()
	o := options{
		version: "v1.2.3-rc.1+abc", revision: "0123456789abcdef0123456789abcdef01234567", date: "2026-05-04T03:02:01Z",
		binDir: filepath.Join(dir, "bin"), binaries: []string{"kubectl-certs", "kubectl-ca_trust", "kubectl-rotate"},
		platforms: []platform{{"linux", "amd64"}, {"linux", "arm64"}},
		caCerts:   filepath.Join(dir, "ca-certificates.crt"), license: filepath.Join(dir, "LICENSE"),
		out: filepath.Join(dir, "out"),
	}
	for _, p := range o.platforms {
		d := filepath.Join(o.binDir, p.os+"_"+p.arch)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, b := range o.binaries {
			if err := os.WriteFile(filepath.Join(d, b), fakeELF(t, elfMachine[p.arch], false, b+" "+p.String()), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true, BasicConstraintsValid: true,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.caCerts, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(o.license, []byte("Apache License\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestRun builds from fake binaries twice, into two directories, and reads the
// layout back: the same digests and bytes, the platforms, the config, the
// files.
func TestRun(t *testing.T) {
	o := fixture(t)
	ref, err := run(o)
	if err != nil {
		t.Fatal(err)
	}
	if want := "ghcr.io/kubecerts/kubecerts:v1.2.3-rc.1-abc@sha256:"; !strings.HasPrefix(ref, want) {
		t.Errorf("reference %q, want %s…", ref, want)
	}
	first := o.out
	o.out = filepath.Join(t.TempDir(), "again")
	if _, err := run(o); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"kubecerts-image_v1.2.3-rc.1+abc.oci.tar", "sha256sums.txt", "image/index.json"} {
		a, _ := os.ReadFile(filepath.Join(first, f))
		b, _ := os.ReadFile(filepath.Join(o.out, f))
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("%s differs between two builds (or is empty)", f)
		}
	}
	entries, _ := os.ReadDir(first)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := []string{"image", "kubecerts-image_v1.2.3-rc.1+abc.oci.tar", "sha256sums.txt"}; !slices.Equal(names, want) {
		t.Errorf("out holds %v, want %v (no temporary files)", names, want)
	}

	top, err := layout.ImageIndexFromPath(filepath.Join(first, "image"))
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(tm.Manifests) != 1 || tm.Manifests[0].Annotations[refName] != "v1.2.3-rc.1-abc" {
		t.Fatalf("index.json %+v: want one index annotated %s=v1.2.3-rc.1-abc", tm.Manifests, refName)
	}
	idx, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var plats []string
	for _, d := range im.Manifests {
		plats = append(plats, d.Platform.String())
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != d.Platform.String() || cf.Config.User != "65532:65532" || cf.Config.Labels["org.opencontainers.image.version"] != o.version ||
			!cf.Created.Equal(time.Date(2026, 5, 4, 3, 2, 1, 0, time.UTC)) {
			t.Errorf("%s: config %+v", d.Platform, cf)
		}
		files := filesOf(t, img)
		certs, _ := os.ReadFile(o.caCerts)
		if files["etc/ssl/certs/ca-certificates.crt"] != string(certs) || files["usr/share/doc/kubecerts/LICENSE"] != "Apache License\n" {
			t.Errorf("%s: the CA certificates or LICENSE differ from the inputs", d.Platform)
		}
		for _, b := range o.binaries {
			want, _ := os.ReadFile(filepath.Join(o.binDir, strings.ReplaceAll(d.Platform.String(), "/", "_"), b))
			if files["usr/local/bin/"+b] != string(want) {
				t.Errorf("%s: /usr/local/bin/%s differs from the input", d.Platform, b)
			}
		}
	}
	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(plats, want) {
		t.Errorf("platforms %v, want %v", plats, want)
	}

	// A new version replaces the old archive and its line.
	o.out, o.version = first, "v1.2.4"
	if _, err := run(o); err != nil {
		t.Fatal(err)
	}
	if old, _ := filepath.Glob(filepath.Join(first, "kubecerts-image_*")); len(old) != 1 || filepath.Base(old[0]) != "kubecerts-image_v1.2.4.oci.tar" {
		t.Errorf("after building v1.2.4, archives %v", old)
	}
	if sums, _ := os.ReadFile(filepath.Join(first, "sha256sums.txt")); strings.Count(string(sums), "\n") != 1 || !strings.Contains(string(sums), "kubecerts-image_v1.2.4.oci.tar") {
		t.Errorf("after building v1.2.4, sha256sums.txt:\n%s", sums)
	}
}

// filesOf is an image's file system: name → content.
func filesOf(t *testing.T, img v1.Image) map[string]string {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	files := map[string]string{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name] = string(b)
	}
}

// TestRunBadInput: one line naming the input, and the output directory as it
// was.
func TestRunBadInput(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, o *options)
		err    string
	}{
		{"missing binary directory", func(t *testing.T, o *options) { o.binDir += "-missing" }, "-bin " + "BIN-missing: no such file or directory"},
		{"missing binary", func(t *testing.T, o *options) {
			os.Remove(filepath.Join(o.binDir, "linux_arm64", "kubectl-rotate"))
		}, "binary BIN/linux_arm64/kubectl-rotate: no such file or directory"},
		{"binary of another platform", func(t *testing.T, o *options) {
			os.WriteFile(filepath.Join(o.binDir, "linux_arm64", "kubectl-rotate"), fakeELF(t, elf.EM_X86_64, false, ""), 0o755)
		}, "binary BIN/linux_arm64/kubectl-rotate: built for EM_X86_64, not linux/arm64"},
		{"dynamically linked binary", func(t *testing.T, o *options) {
			os.WriteFile(filepath.Join(o.binDir, "linux_amd64", "kubectl-certs"), fakeELF(t, elf.EM_X86_64, true, ""), 0o755)
		}, "binary BIN/linux_amd64/kubectl-certs: dynamically linked (build with CGO_ENABLED=0)"},
		{"not an executable", func(t *testing.T, o *options) {
			os.WriteFile(filepath.Join(o.binDir, "linux_amd64", "kubectl-certs"), []byte("#!/bin/sh\n"), 0o755)
		}, "binary BIN/linux_amd64/kubectl-certs: not a linux (ELF) executable"},
		{"missing CA certificates", func(t *testing.T, o *options) { o.caCerts += ".missing" }, "-ca-certs CA.missing: no such file or directory"},
		{"CA file without certificates", func(t *testing.T, o *options) {
			os.WriteFile(o.caCerts, []byte("nothing\n"), 0o644)
		}, "-ca-certs CA: no PEM certificate in it"},
		{"missing license", func(t *testing.T, o *options) { o.license += ".missing" }, ".missing: no such file or directory"},
		{"darwin", func(t *testing.T, o *options) { o.platforms = append(o.platforms, platform{"darwin", "arm64"}) }, "-platforms: darwin/arm64: images are built for linux only"},
		{"windows", func(t *testing.T, o *options) { o.platforms = []platform{{"windows", "amd64"}} }, "-platforms: windows/amd64: images are built for linux only"},
		{"unknown architecture", func(t *testing.T, o *options) { o.platforms = []platform{{"linux", "mips"}} }, "-platforms: linux/mips: unknown architecture"},
		{"platform twice", func(t *testing.T, o *options) { o.platforms = append(o.platforms, platform{"linux", "amd64"}) }, "-platforms: linux/amd64 twice"},
		{"no platforms", func(t *testing.T, o *options) { o.platforms = nil }, "nothing to build"},
		{"entrypoint not first", func(t *testing.T, o *options) { o.binaries = []string{"kubectl-rotate", "kubectl-certs"} }, "the first must be kubectl-certs"},
		{"not a plugin", func(t *testing.T, o *options) { o.binaries = append(o.binaries, "sh") }, `-binaries: "sh" is not a kubectl plugin's binary`},
		{"version", func(t *testing.T, o *options) { o.version = "1.2.3" }, `-version "1.2.3": want a semantic version`},
		{"date", func(t *testing.T, o *options) { o.date = "yesterday" }, `-date "yesterday": not RFC 3339`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := fixture(t)
			if err := os.MkdirAll(o.out, 0o755); err != nil {
				t.Fatal(err)
			}
			const sums = "1111111111111111111111111111111111111111111111111111111111111111  kubectl-certs_linux_amd64.tar.gz\n"
			if err := os.WriteFile(filepath.Join(o.out, "sha256sums.txt"), []byte(sums), 0o644); err != nil {
				t.Fatal(err)
			}
			bin, ca := o.binDir, o.caCerts
			tt.change(t, &o)
			_, err := run(o)
			if err == nil {
				t.Fatal("run succeeded")
			}
			msg := strings.NewReplacer(bin, "BIN", ca, "CA").Replace(err.Error())
			if !strings.Contains(msg, tt.err) || strings.Contains(msg, "\n") {
				t.Errorf("error %q, want one line containing %q", msg, tt.err)
			}
			entries, _ := os.ReadDir(o.out)
			if len(entries) != 1 {
				t.Errorf("out holds %v after the error, want sha256sums.txt alone", entries)
			}
			if got, _ := os.ReadFile(filepath.Join(o.out, "sha256sums.txt")); string(got) != sums {
				t.Errorf("sha256sums.txt changed:\n%s", got)
			}
		})
	}
}
