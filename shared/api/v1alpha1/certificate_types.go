package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// CertificateStatus is the verdict on one certificate's validity period.
type CertificateStatus string

// The statuses, from best to worst. The exit status of a command that
// reports certificates follows the worst one: WARNING gives 2; CRITICAL,
// EXPIRED and NOT_YET_VALID give 3.
const (
	StatusOK          CertificateStatus = "OK"
	StatusWarning     CertificateStatus = "WARNING"
	StatusCritical    CertificateStatus = "CRITICAL"
	StatusExpired     CertificateStatus = "EXPIRED"
	StatusNotYetValid CertificateStatus = "NOT_YET_VALID"
)

// Statuses lists every status in the order of severity.
var Statuses = []CertificateStatus{StatusOK, StatusWarning, StatusCritical, StatusExpired, StatusNotYetValid}

// Certificate describes one X.509 certificate and where it was found.
type Certificate struct {
	// Source names the kind of place it came from: kubeconfig, apiserver,
	// endpoint, file, pki-dir, k3s-dir, secrets, csr, webhooks, configmaps, nodes.
	Source string `json:"source"`
	// Location is where in that source: a file path, kubeconfig user or
	// cluster, endpoint and chain position, secret/<ns>/<name>/<key>, ….
	Location string `json:"location"`
	// Name is the certificate's name where the source has one: kubeadm's
	// (apiserver, etcd-server, admin.conf, ca, …) or k3s's file name.
	Name string `json:"name,omitempty"`
	// AlsoAt lists further locations of the same certificate (same
	// fingerprint) when a report deduplicates.
	AlsoAt []string `json:"alsoAt,omitempty"`

	Subject        string   `json:"subject"`
	Issuer         string   `json:"issuer"`
	DNSNames       []string `json:"dnsNames"`
	IPAddresses    []string `json:"ipAddresses"`
	EmailAddresses []string `json:"emailAddresses,omitempty"`
	URIs           []string `json:"uris,omitempty"`
	// SerialNumber in lower-case hex.
	SerialNumber string `json:"serialNumber"`
	// SHA256Fingerprint of the DER encoding, lower-case hex without colons.
	SHA256Fingerprint string `json:"sha256Fingerprint"`
	// KeyAlgorithm of the public key: RSA-2048, ECDSA-P256, Ed25519, ….
	KeyAlgorithm string      `json:"keyAlgorithm"`
	NotBefore    metav1.Time `json:"notBefore"`
	NotAfter     metav1.Time `json:"notAfter"`
	// ResidualSeconds is the time left until NotAfter when the report was
	// made; negative once expired.
	ResidualSeconds int64 `json:"residualSeconds"`
	IsCA            bool  `json:"isCA"`
	// CAName is the name of the CA that signed it, where the source knows it
	// (kubeadm's ca, etcd-ca, front-proxy-ca; k3s's server-ca, …).
	CAName string `json:"caName"`
	// ExternallyManaged is true when the signing CA's key is absent, as in
	// kubeadm's external CA mode: kubecerts cannot renew it.
	ExternallyManaged bool              `json:"externallyManaged"`
	Status            CertificateStatus `json:"status"`
	// SignerName and Requestor are set for certificates issued through a
	// CertificateSigningRequest (source csr).
	SignerName string `json:"signerName,omitempty"`
	Requestor  string `json:"requestor,omitempty"`
	// Object is the Kubernetes object the certificate was read from, for
	// the in-cluster sources (a Secret, a CertificateSigningRequest, a
	// webhook configuration, …) and the Node of node and kubelet
	// certificates; unset for files and endpoints.
	Object *ObjectReference `json:"object,omitempty"`
	// Chain is set for certificates a TLS server presented.
	Chain *ChainInfo `json:"chain,omitempty"`
	// Kubelet is set for the certificates a kubelet serves (source
	// kubelets).
	Kubelet *KubeletInfo `json:"kubelet,omitempty"`
	// PodCertificate is set for the certificates issued through a
	// PodCertificateRequest (source podcerts).
	PodCertificate *PodCertificateInfo `json:"podCertificate,omitempty"`
	// Notes are findings about this certificate for people: what was unusual
	// in how it was stored, what to do about it.
	Notes []string `json:"notes,omitempty"`
}

// ObjectReference names the Kubernetes object a certificate was read from,
// and where in it.
type ObjectReference struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Namespace  string    `json:"namespace,omitempty"`
	Name       string    `json:"name"`
	UID        types.UID `json:"uid,omitempty"`
	// FieldPath is the field that holds the certificate, as in an
	// ObjectReference: data[tls.crt], status.certificate,
	// webhooks[NAME].clientConfig.caBundle, spec.caBundle, …; empty when
	// the certificate is not in the object (a Node's files, its kubelet's
	// serving certificate).
	FieldPath string `json:"fieldPath,omitempty"`
}

// KubeletInfo is what kubectl certs check --source kubelets learned of the
// kubelet serving a certificate.
type KubeletInfo struct {
	// Node is the Node's name.
	Node string `json:"node"`
	// Address is the address dialled, AddressType its type in the Node's
	// status (Hostname, InternalDNS, InternalIP, ExternalDNS, ExternalIP),
	// Port the kubelet's (status.daemonEndpoints.kubeletEndpoint.Port).
	Address     string `json:"address"`
	AddressType string `json:"addressType"`
	Port        int32  `json:"port"`
	// SelfSigned is true when the serving certificate signs itself: the
	// kubelet's own kubelet.crt, which nothing renews.
	SelfSigned bool `json:"selfSigned"`
	// MissingAddresses are the Node's addresses the API server could dial
	// (of --kubelet-address-types) that the certificate's SANs do not
	// cover: a client dialling one fails to verify it.
	MissingAddresses []string `json:"missingAddresses"`
}

// PodCertificateInfo is what kubectl certs check --source podcerts reports
// of the PodCertificateRequest a certificate was issued through.
type PodCertificateInfo struct {
	Namespace      string `json:"namespace"`
	Pod            string `json:"pod"`
	ServiceAccount string `json:"serviceAccount,omitempty"`
	Node           string `json:"node,omitempty"`
	// BeginRefreshAt is when the kubelet should start refreshing it.
	BeginRefreshAt *metav1.Time `json:"beginRefreshAt,omitempty"`
	// PastRefresh is true when BeginRefreshAt has passed.
	PastRefresh bool `json:"pastRefresh"`
}

// ChainInfo places a certificate in the chain a TLS server presented and
// says whether that chain verifies.
type ChainInfo struct {
	// Endpoint is the host:port or URL connected to.
	Endpoint string `json:"endpoint"`
	// ServerName is the name verified against (SNI / tls-server-name).
	ServerName string `json:"serverName"`
	// Position is 0 for the server's own certificate, 1 for the next, ….
	Position int `json:"position"`
	// Verified is true when the whole chain verifies against the CA the
	// kubeconfig trusts (or the system roots when it names none) for
	// ServerName.
	Verified bool `json:"verified"`
	// VerifyError is the x509 error when Verified is false.
	VerifyError string `json:"verifyError,omitempty"`
}
