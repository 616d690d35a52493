// Package kubeadm is what kubecerts knows of kubeadm's layout: where its
// files are, the names it gives its CAs and certificates
// (certsphase.GetDefaultCertList), which CA signs each, the kubeconfig
// files whose client certificates it renews, and the static pods that use
// them. Plugins that read or renew a kubeadm PKI share it.
package kubeadm

import "path/filepath"

// Where kubeadm and the kubelet keep their files.
const (
	DefaultPKIDir        = "/etc/kubernetes/pki"
	DefaultKubeconfigDir = "/etc/kubernetes"
	DefaultKubeletPKIDir = "/var/lib/kubelet/pki"
	DefaultManifestsDir  = "/etc/kubernetes/manifests"
)

// CA is one of kubeadm's CAs.
type CA struct {
	// Name in kubeadm's output: ca, front-proxy-ca, etcd-ca.
	Name string
	// BaseName is the file's path under the certificates directory without
	// .crt or .key: ca, front-proxy-ca, etcd/ca.
	BaseName string
}

// Leaf is a certificate kubeadm issues from one of its CAs into the
// certificates directory.
type Leaf struct {
	// Name in kubeadm's output and commands: apiserver, etcd-server, ….
	Name string
	// BaseName is the file's path under the certificates directory without
	// .crt or .key: apiserver, etcd/server, ….
	BaseName string
	// CA is the Name of the CA that signs it.
	CA string
	// StaticPod is the control-plane static pod that uses it, if any.
	StaticPod string
}

// Kubeconfig is a kubeconfig file whose embedded client certificate kubeadm
// checks and renews; ca signs them all.
type Kubeconfig struct {
	// Name is the file's name under the kubeconfig directory, which is
	// also its name in kubeadm's output: admin.conf, ….
	Name string
	// StaticPod is the control-plane static pod that uses it, if any.
	StaticPod string
}

// The static pods of a kubeadm control plane, by the name of their
// manifest under the manifests directory (without .yaml).
const (
	KubeAPIServer         = "kube-apiserver"
	KubeControllerManager = "kube-controller-manager"
	KubeScheduler         = "kube-scheduler"
	Etcd                  = "etcd"
)

// KubeconfigCA is the CA that signs the client certificates of the
// kubeconfig files.
const KubeconfigCA = "ca"

// kubeadm's certificate tree, in the order of kubeadm's own list.
var (
	CAs = []CA{
		{"ca", "ca"},
		{"front-proxy-ca", "front-proxy-ca"},
		{"etcd-ca", "etcd/ca"},
	}
	Leaves = []Leaf{
		{"apiserver", "apiserver", "ca", KubeAPIServer},
		{"apiserver-kubelet-client", "apiserver-kubelet-client", "ca", KubeAPIServer},
		{"front-proxy-client", "front-proxy-client", "front-proxy-ca", KubeAPIServer},
		{"etcd-server", "etcd/server", "etcd-ca", Etcd},
		{"etcd-peer", "etcd/peer", "etcd-ca", Etcd},
		{"etcd-healthcheck-client", "etcd/healthcheck-client", "etcd-ca", Etcd},
		{"apiserver-etcd-client", "apiserver-etcd-client", "etcd-ca", KubeAPIServer},
	}
	// Kubeconfigs leave out kubelet.conf, whose certificate the kubelet
	// rotates itself.
	Kubeconfigs = []Kubeconfig{
		{"admin.conf", ""},
		{"super-admin.conf", ""},
		{"controller-manager.conf", KubeControllerManager},
		{"scheduler.conf", KubeScheduler},
	}
)

// CAByName returns the CA of that name.
func CAByName(name string) (CA, bool) {
	for _, ca := range CAs {
		if ca.Name == name {
			return ca, true
		}
	}
	return CA{}, false
}

// KubeconfigNames are the names of Kubeconfigs.
func KubeconfigNames() []string {
	names := make([]string, 0, len(Kubeconfigs))
	for _, k := range Kubeconfigs {
		names = append(names, k.Name)
	}
	return names
}

// CertPath is the certificate file of a base name under dir.
func CertPath(dir, base string) string { return filepath.Join(dir, base+".crt") }

// KeyPath is the key file of a base name under dir.
func KeyPath(dir, base string) string { return filepath.Join(dir, base+".key") }

// ManifestPath is a static pod's manifest under dir.
func ManifestPath(dir, pod string) string { return filepath.Join(dir, pod+".yaml") }
