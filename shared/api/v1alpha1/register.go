package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// GroupName is the API group of every kind kubecerts prints.
const GroupName = "kubecerts.io"

// SchemeGroupVersion is the group and version of the kinds in this package.
var SchemeGroupVersion = schema.GroupVersion{Group: GroupName, Version: "v1alpha1"}

var (
	// SchemeBuilder registers the kinds of this package.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)
	// AddToScheme adds the kinds of this package to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
	// Scheme knows the kinds of this package; printers use it to set
	// apiVersion and kind.
	Scheme = newScheme()
)

func newScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := AddToScheme(s); err != nil {
		panic(err) // only on a programming error in addKnownTypes
	}
	return s
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion,
		&Version{},
		&CertificateReport{},
		&StagedFiles{},
		&CAVerification{},
		&KubeconfigCAChange{},
		&RotationPlan{},
		&CATrustList{},
		&CATrustChange{},
		&CATrustValidation{},
		&CATrustMigration{},
		&CSRReviewList{},
		&RenewalResult{},
	)
	metav1.AddToGroupVersion(scheme, SchemeGroupVersion)
	return nil
}
