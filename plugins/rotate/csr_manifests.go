package rotate

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/utils/ptr"

	"github.com/kubecerts/kubecerts/plugins/rotate/csrcheck"
	"github.com/kubecerts/kubecerts/shared/duration"
)

// csrManifestParams are what the manifests of watch depend on.
type csrManifestParams struct {
	// Namespace of the ServiceAccount, Role, RoleBinding, Deployment and Lease.
	Namespace string
	// Name of every object and of the Lease.
	Name string
	// Image with kubectl-rotate on PATH.
	Image string
	// Signers approved: the ClusterRole may approve these and no others.
	Signers []string
	// Args are further arguments of kubectl-rotate csr watch.
	Args []string
}

// printManifests prints the objects that run watch in the cluster as one
// YAML stream.
func (o *CSRWatchOptions) printManifests() error {
	p := &printers.YAMLPrinter{}
	for _, obj := range approverManifests(o.toManifestParams()) {
		if err := p.PrintObj(obj, o.Out); err != nil {
			return err
		}
	}
	return nil
}

// csrManifestParams carries the flags given to watch over to the Deployment.
func (o *CSRWatchOptions) toManifestParams() csrManifestParams {
	p := csrManifestParams{Namespace: o.Namespace, Name: o.LeaseName, Image: o.Image, Signers: o.Signers}
	for _, s := range o.Signers {
		p.Args = append(p.Args, "--signer="+s)
	}
	changed := func(name string) bool {
		if o.flag == nil {
			return false
		}
		f := o.flag(name)
		return f != nil && f.Changed
	}
	if changed("max-duration") {
		p.Args = append(p.Args, "--max-duration="+duration.Format(o.Review.MaxDuration))
	}
	if o.Review.AllowDNS != "" {
		p.Args = append(p.Args, "--allow-dns="+o.Review.AllowDNS)
	}
	for _, c := range o.Review.nodeCIDRs {
		p.Args = append(p.Args, "--node-cidr="+c.String())
	}
	if o.Review.TrustNodeAddresses {
		p.Args = append(p.Args, "--trust-node-addresses")
	}
	for _, c := range o.Review.serviceCIDRs {
		p.Args = append(p.Args, "--service-cidr="+c.String())
	}
	if changed("cluster-domain") {
		p.Args = append(p.Args, "--cluster-domain="+o.Review.ClusterDomain)
	}
	if o.Review.ResolveDNS {
		p.Args = append(p.Args, "--resolve-dns")
	}
	if changed("resync") {
		p.Args = append(p.Args, "--resync="+duration.Format(o.Resync))
	}
	for _, name := range []string{"lease-duration", "renew-deadline", "retry-period"} {
		if changed(name) {
			p.Args = append(p.Args, "--"+name+"="+o.flag(name).Value.String())
		}
	}
	if o.DryRun {
		p.Args = append(p.Args, "--dry-run")
	}
	return p
}

// approverManifests are a ServiceAccount; a ClusterRole that may read CSRs,
// Nodes and ServiceCIDRs, approve CSRs of the given signers and (for the
// client signer) create SubjectAccessReviews, and nothing else; a Role on
// Leases in the namespace (create, and get and update of its own); a Role in
// default that may get the kubernetes Service and EndpointSlice; Roles that
// may get kubeadm's cluster-info (kube-public) and kubeadm-config
// (kube-system) ConfigMaps; the bindings; and a Deployment of 2 replicas
// that elect a leader.
func approverManifests(p csrManifestParams) []runtime.Object {
	labels := map[string]string{
		"app.kubernetes.io/name":      p.Name,
		"app.kubernetes.io/part-of":   "kubecerts",
		"app.kubernetes.io/component": "csr-approver",
	}
	meta := func(namespaced bool) metav1.ObjectMeta {
		m := metav1.ObjectMeta{Name: p.Name, Labels: labels}
		if namespaced {
			m.Namespace = p.Namespace
		}
		return m
	}
	subject := []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: p.Name, Namespace: p.Namespace}}

	sa := &corev1.ServiceAccount{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: meta(true),
	}
	clusterRole := &rbacv1.ClusterRole{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRole"},
		ObjectMeta: meta(false),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"certificatesigningrequests/approval"}, Verbs: []string{"update"}},
			{APIGroups: []string{"certificates.k8s.io"}, Resources: []string{"signers"}, ResourceNames: p.Signers, Verbs: []string{"approve"}},
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{networkingv1.GroupName}, Resources: []string{"servicecidrs"}, Verbs: []string{"list"}},
		},
	}
	if slices.Contains(p.Signers, csrcheck.KubeletClient) {
		clusterRole.Rules = append(clusterRole.Rules, rbacv1.PolicyRule{
			APIGroups: []string{authorizationv1.GroupName}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}})
	}
	clusterRoleBinding := &rbacv1.ClusterRoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "ClusterRoleBinding"},
		ObjectMeta: meta(false),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: p.Name},
		Subjects:   subject,
	}
	leases := coordinationv1.GroupName
	role := &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: meta(true),
		Rules: []rbacv1.PolicyRule{
			// create cannot be limited to a name: the name is not known
			// when authorizing a create.
			{APIGroups: []string{leases}, Resources: []string{"leases"}, Verbs: []string{"create"}},
			{APIGroups: []string{leases}, Resources: []string{"leases"}, ResourceNames: []string{p.Name}, Verbs: []string{"get", "update"}},
		},
	}
	roleBinding := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: meta(true),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: p.Name},
		Subjects:   subject,
	}

	args := append([]string{"csr", "watch", "--leader-elect", "--lease-namespace=$(POD_NAMESPACE)", "--lease-name=" + p.Name, "--log-format=json"}, p.Args...)
	deployment := &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: appsv1.SchemeGroupVersion.String(), Kind: "Deployment"},
		ObjectMeta: meta(true),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](2),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": p.Name}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName: p.Name,
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](65532),
						RunAsGroup:     ptr.To[int64](65532),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					// Spread the replicas over nodes, so that one node going
					// down leaves a replica to take the lease over.
					Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
						PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
							Weight: 100,
							PodAffinityTerm: corev1.PodAffinityTerm{
								TopologyKey:   corev1.LabelHostname,
								LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": p.Name}},
							},
						}},
					}},
					// It may run on control-plane nodes: kubelets whose serving
					// certificates wait for it may be all there is.
					Tolerations: []corev1.Toleration{{Key: "node-role.kubernetes.io/control-plane", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule}},
					Containers: []corev1.Container{{
						Name:    "approver",
						Image:   p.Image,
						Command: []string{"kubectl-rotate"},
						Args:    args,
						Env: []corev1.EnvVar{{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"},
						}}},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("32Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
						},
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	// The API server's own Service and EndpointSlice, in default: the
	// Service ranges' fallback and the API server's addresses.
	factsMeta := metav1.ObjectMeta{Name: p.Name + "-apiserver", Namespace: apiServerNamespace, Labels: labels}
	factsRole := &rbacv1.Role{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
		ObjectMeta: factsMeta,
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services"}, ResourceNames: []string{apiServerService}, Verbs: []string{"get"}},
			{APIGroups: []string{discoveryv1.GroupName}, Resources: []string{"endpointslices"}, ResourceNames: []string{apiServerService}, Verbs: []string{"get"}},
		},
	}
	factsBinding := &rbacv1.RoleBinding{
		TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
		ObjectMeta: factsMeta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: factsMeta.Name},
		Subjects:   subject,
	}
	objs := []runtime.Object{sa, clusterRole, clusterRoleBinding, role, roleBinding, factsRole, factsBinding}
	// kubeadm's ConfigMaps that name the endpoint clients reach the API
	// server by (cluster-info's server, controlPlaneEndpoint), by name, read
	// only: in an HA cluster a load balancer's or VIP's address in the node
	// network, refused as a SAN.
	for _, cm := range []struct{ namespace, name string }{
		{clusterInfoNamespace, clusterInfoConfigMap}, {kubeadmNamespace, kubeadmConfigMap},
	} {
		m := metav1.ObjectMeta{Name: p.Name + "-" + cm.name, Namespace: cm.namespace, Labels: labels}
		objs = append(objs, &rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"},
			ObjectMeta: m,
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{cm.name}, Verbs: []string{"get"}}},
		}, &rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"},
			ObjectMeta: m,
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: m.Name},
			Subjects:   subject,
		})
	}
	return append(objs, deployment)
}
