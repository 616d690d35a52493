package e2e_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/kubecerts/kubecerts/test/e2e/framework"
)

// TestKubeletServingCSRIsIssued walks the kubelet serving certificate flow:
// a node asks for a certificate, an admin approves it, and
// kube-controller-manager signs it with the cluster CA.
func TestKubeletServingCSRIsIssued(t *testing.T) {
	c := framework.Shared(t)
	ctx := t.Context()
	admin := c.Clientset()
	const nodeName = "worker-1"
	nodeIP := net.ParseIP("10.240.0.11")

	node := createNode(t, admin, nodeName, nodeIP)
	if got := internalIP(node); !got.Equal(nodeIP) {
		t.Fatalf("node %s has InternalIP %v, want %v", nodeName, got, nodeIP)
	}

	kubeconfig, err := c.NodeKubeconfig(nodeName)
	if err != nil {
		t.Fatal(err)
	}
	kubelet, err := framework.ClientsetFromKubeconfig(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	subject := pkix.Name{CommonName: "system:node:" + nodeName, Organization: []string{"system:nodes"}}
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{
		Subject:     subject,
		DNSNames:    []string{nodeName},
		IPAddresses: []net.IP{nodeIP},
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	csr, err := kubelet.CertificatesV1().CertificateSigningRequests().Create(ctx, &certificatesv1.CertificateSigningRequest{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "e2e-kubelet-serving-" + nodeName + "-"},
		Spec: certificatesv1.CertificateSigningRequestSpec{
			Request:    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: der}),
			SignerName: certificatesv1.KubeletServingSignerName,
			Usages: []certificatesv1.KeyUsage{
				certificatesv1.UsageDigitalSignature,
				certificatesv1.UsageKeyEncipherment,
				certificatesv1.UsageServerAuth,
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating the CSR as system:node:%s: %v", nodeName, err)
	}
	t.Cleanup(func() {
		_ = admin.CertificatesV1().CertificateSigningRequests().Delete(context.Background(), csr.Name, metav1.DeleteOptions{})
	})
	if want := "system:node:" + nodeName; csr.Spec.Username != want {
		t.Errorf("CSR username = %q, want %q", csr.Spec.Username, want)
	}
	if !slices.Contains(csr.Spec.Groups, "system:nodes") {
		t.Errorf("CSR groups = %q, want system:nodes among them", csr.Spec.Groups)
	}

	csr.Status.Conditions = append(csr.Status.Conditions, certificatesv1.CertificateSigningRequestCondition{
		Type:    certificatesv1.CertificateApproved,
		Status:  corev1.ConditionTrue,
		Reason:  "KubecertsE2E",
		Message: "approved by the kubecerts e2e test",
	})
	if _, err := admin.CertificatesV1().CertificateSigningRequests().UpdateApproval(ctx, csr.Name, csr, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("approving %s: %v", csr.Name, err)
	}

	// The kubelet polls for its certificate with its own credentials.
	var issued []byte
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := kubelet.CertificatesV1().CertificateSigningRequests().Get(ctx, csr.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		for _, cond := range got.Status.Conditions {
			if cond.Type == certificatesv1.CertificateFailed || cond.Type == certificatesv1.CertificateDenied {
				return false, fmt.Errorf("CSR %s is %s: %s: %s", csr.Name, cond.Type, cond.Reason, cond.Message)
			}
		}
		issued = got.Status.Certificate
		return len(issued) > 0, nil
	})
	if err != nil {
		t.Fatalf("waiting for kube-controller-manager to sign %s: %v", csr.Name, err)
	}

	block, _ := pem.Decode(issued)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("status.certificate is not a PEM certificate:\n%s", issued)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if err := cert.CheckSignatureFrom(c.CACert); err != nil {
		t.Errorf("issued certificate is not signed by the test CA: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(c.CACert)
	for _, host := range []string{nodeName, nodeIP.String()} {
		if _, err := cert.Verify(x509.VerifyOptions{
			Roots:     roots,
			DNSName:   host,
			KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}); err != nil {
			t.Errorf("issued certificate does not verify as a serving certificate for %s: %v", host, err)
		}
	}
	if !slices.Equal(cert.DNSNames, []string{nodeName}) {
		t.Errorf("DNS SANs = %q, want [%s]", cert.DNSNames, nodeName)
	}
	if len(cert.IPAddresses) != 1 || !cert.IPAddresses[0].Equal(nodeIP) {
		t.Errorf("IP SANs = %v, want [%v]", cert.IPAddresses, nodeIP)
	}
	if cert.Subject.CommonName != subject.CommonName || !slices.Equal(cert.Subject.Organization, subject.Organization) {
		t.Errorf("subject = %v, want %v", cert.Subject, subject)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("issued certificate is not for the requested key")
	}
}
