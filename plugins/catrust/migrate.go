package catrust

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/kubectl/pkg/util/templates"

	api "github.com/kubecerts/kubecerts/shared/api/v1alpha1"
	"github.com/kubecerts/kubecerts/shared/az"
	"github.com/kubecerts/kubecerts/shared/azname"
	"github.com/kubecerts/kubecerts/shared/certificate"
	"github.com/kubecerts/kubecerts/shared/cli"
	"github.com/kubecerts/kubecerts/shared/cmdutil"
)

// PoolAPIVersion is the last API version of AKS agent pools that shows the
// retired property enableCustomCATrust; migrate reads and clears it there.
const PoolAPIVersion = "2025-08-02-preview"

// armEndpoint is Azure Resource Manager's, which az rest is given.
const armEndpoint = "https://management.azure.com"

var (
	migrateLong = cli.LongDesc(`
		Move an AKS cluster off the retired custom-ca-trust-secret to the managed
		cluster's own CA list (securityProfile.customCATrustCertificates).

		Node pools read the trust secret only while their preview property
		enableCustomCATrust is true, and Azure retired that property on 14
		September 2026: it no longer enables anything, and pools that still carry
		it may fail to scale or to update certificates. migrate reads the secret
		(--secret, -n), the cluster's list, and the node pools (at api-version
		2025-08-02-preview, the last that shows the property), then plans:

		1. set-ca-list: the cluster's list becomes the union, by SHA-256
		   fingerprint, of the list and the secret's CAs (at most 10: more is an
		   error naming them). A secret certificate that is not a CA (unless
		   --allow-non-ca), expired (unless --allow-expired) or unreadable is left
		   out and listed. AKS then replaces every Linux node.
		2. per node pool, disable-custom-ca-trust: az resource update --ids POOL
		   --api-version 2025-08-02-preview --set properties.enableCustomCATrust=false,
		   and verify: the pool reads back false with provisioningState Succeeded.
		3. delete-secret, with --delete-secret, once every other step succeeded;
		   else the secret is kept.

		Without --yes the plan is printed and nothing is done (exit 1);
		--dry-run=client prints it and exits 0. A step already done (by an
		earlier run or by someone else) is skipped, so a run that failed halfway
		is finished by running it again. When a step fails, the later ones are
		not run and the exit status is 1.`)

	migrateExample = templates.Examples(`
		# See what would change
		kubectl ca-trust migrate

		# Do it, then delete the secret nothing reads any more
		kubectl ca-trust migrate --yes --delete-secret

		# A cluster az cannot find by the kubeconfig's API server
		kubectl ca-trust migrate --aks-resource-group rg-prod --aks-name aks-prod --yes -o yaml`)
)

// MigrateOptions is kubectl ca-trust migrate.
type MigrateOptions struct {
	writeOptions
	DeleteSecret bool
	AllowNonCA   bool
	AllowExpired bool
}

// NewMigrateOptions returns the defaults.
func NewMigrateOptions(streams genericiooptions.IOStreams) *MigrateOptions {
	return &MigrateOptions{writeOptions: newWriteOptions(streams)}
}

// NewCmdMigrate is kubectl ca-trust migrate.
func NewCmdMigrate(f cmdutil.Factory, streams genericiooptions.IOStreams) *cobra.Command {
	return newCmdMigrate(f, NewMigrateOptions(streams))
}

func newCmdMigrate(f cmdutil.Factory, o *MigrateOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:                   "migrate [--yes] [--delete-secret] [flags]",
		DisableFlagsInUseLine: true,
		Short:                 "Move an AKS cluster's custom CAs from the retired trust secret to the cluster's own list",
		Long:                  migrateLong,
		Example:               migrateExample,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.UsageErrorf(cmd, "unexpected argument %q; migrate takes none", args[0])
			}
			if cmd.Flags().Changed("store") {
				return cli.UsageErrorf(cmd, "--store: migrate reads the trust secret and writes the AKS cluster's list; it takes no --store")
			}
			o.Store = storeAKS
			if err := o.complete(f, cmd); err != nil {
				return err
			}
			o.storeReason = "migrate"
			if err := o.Validate(cmd); err != nil {
				return err
			}
			return o.Run(cmd)
		},
	}
	o.addFlags(cmd)
	if fl := cmd.Flags().Lookup("store"); fl != nil {
		fl.Hidden = true
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.DeleteSecret, "delete-secret", false, "Delete the trust secret once every other step succeeded.")
	fl.BoolVar(&o.AllowNonCA, "allow-non-ca", false, "Carry over the secret's certificates that are not CAs.")
	fl.BoolVar(&o.AllowExpired, "allow-expired", false, "Carry over the secret's expired certificates.")
	return cmd
}

// Validate checks the flags: migrate works on both the secret and the
// AKS cluster's list, so --store is not its to choose.
func (o *MigrateOptions) Validate(cmd *cobra.Command) error {
	if o.dryRun == cmdutil.DryRunServer {
		return cli.UsageErrorf(cmd, "--dry-run=server: AKS has no server-side dry run; use --dry-run=client to see the plan")
	}
	if o.NoWait {
		return cli.UsageErrorf(cmd, "--no-wait: migrate waits for each step, as the next one depends on it")
	}
	return o.secretOptions.validate(cmd)
}

// agentPool is what migrate reads of an agent pool through az rest.
type agentPool struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		EnableCustomCATrust *bool  `json:"enableCustomCATrust"`
		ProvisioningState   string `json:"provisioningState"`
		OSType              string `json:"osType"`
	} `json:"properties"`
}

func (p *agentPool) enabled() bool {
	return p.Properties.EnableCustomCATrust != nil && *p.Properties.EnableCustomCATrust
}

// migration is one run of migrate.
type migration struct {
	o       *MigrateOptions
	out     *api.CATrustMigration
	secret  *corev1.Secret
	carry   []*input
	pools   []agentPool
	confirm bool
}

// Run reads both sides, plans, and with --yes runs the steps.
func (o *MigrateOptions) Run(cmd *cobra.Command) error {
	ctx := cmd.Context()
	limit, limitName := o.aksDeadline()
	if limit > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	m := &migration{o: o, confirm: o.Yes && o.dryRun != cmdutil.DryRunClient}
	if err := m.read(ctx); err != nil {
		return aksDeadlineError(ctx, err, o.aks, limit, limitName)
	}
	runErr := m.run(ctx)
	if runErr != nil {
		runErr = aksDeadlineError(ctx, runErr, o.aks, limit, limitName)
	}
	if err := o.printer.PrintObj(m.out, o.Out); err != nil {
		return err
	}
	switch {
	case runErr != nil:
		return runErr
	case m.out.Failed():
		return errors.New("a migration step failed (see its message); fix it and run kubectl ca-trust migrate again: steps already done are skipped")
	case m.out.Planned:
		return fmt.Errorf("not run: migrating %s makes AKS replace every Linux node when the list changes; run again with --yes (--dry-run=client shows the plan alone)", o.aks.ref)
	}
	if !o.PrintFlags.Machine() && o.dryRun == cmdutil.DryRunClient {
		fmt.Fprintln(o.ErrOut, "note: --dry-run=client: nothing was changed")
	}
	return nil
}

// read reads the secret, the cluster and its node pools, and sorts the
// secret's certificates into those carried over and those left out.
func (m *migration) read(ctx context.Context) error {
	o := m.o
	sec, err := o.getSecret(ctx)
	if err != nil {
		return err
	}
	if sec == nil {
		if err := o.checkNamespace(ctx); err != nil {
			return err
		}
	}
	m.secret = sec
	mc, err := o.aks.show(ctx)
	if err != nil {
		return err
	}
	m.out = &api.CATrustMigration{
		Secret: o.ref, SecretExists: sec != nil, Cluster: o.aks.ref, DryRun: dryRunName(o.dryRun),
		Certificates: []api.CATrustChangeItem{}, LeftOut: []api.CATrustChangeItem{}, Pools: []api.CATrustMigrationPool{}, Steps: []api.CATrustMigrationStep{},
	}
	now := o.now()
	for _, kc := range readKeys(sec) {
		if kc.err != nil {
			m.out.LeftOut = append(m.out.LeftOut, api.CATrustChangeItem{Key: kc.key, Reason: "does not hold a readable certificate: " + kc.err.Error()})
		}
		in := &input{name: fmt.Sprintf("secret %s key %s", o.ref, kc.key)}
		for _, c := range kc.certs {
			switch {
			case !isCA(c) && !o.AllowNonCA:
				m.out.LeftOut = append(m.out.LeftOut, changeItem(kc.key, c, "not a CA (--allow-non-ca carries it over)"))
			case now.After(c.NotAfter) && !o.AllowExpired:
				m.out.LeftOut = append(m.out.LeftOut, changeItem(kc.key, c, "expired (--allow-expired carries it over)"))
			default:
				in.certs = append(in.certs, c)
			}
		}
		if len(in.certs) > 0 {
			m.carry = append(m.carry, in)
		}
	}
	if err := m.checkUnion(mc); err != nil {
		return err
	}
	clusterID, err := azname.ParseManagedClusterID(o.aks.ref.ID)
	if err != nil {
		return fmt.Errorf("az aks show: %w", err)
	}
	var pools struct {
		Value []agentPool `json:"value"`
	}
	url := fmt.Sprintf("%s%s/agentPools?api-version=%s", armEndpoint, clusterID, PoolAPIVersion)
	if err := o.aks.read.JSON(ctx, &pools, "rest", "--method", "get", "--url", url, "-o", "json"); err != nil {
		return fmt.Errorf("reading the node pools of AKS cluster %s: %w", o.aks.ref, err)
	}
	for _, p := range pools.Value {
		name, err := azname.AgentPoolID(clusterID, p.ID)
		if err != nil {
			return fmt.Errorf("az rest: %w", err)
		}
		p.Name = name
		m.pools = append(m.pools, p)
		m.out.Pools = append(m.out.Pools, api.CATrustMigrationPool{Name: name, ID: p.ID, EnableCustomCATrust: p.enabled(),
			OSType: p.Properties.OSType, ProvisioningState: p.Properties.ProvisioningState})
	}
	return nil
}

// checkUnion refuses a union of the cluster's list and the certificates
// carried over that AKS cannot hold, naming them all.
func (m *migration) checkUnion(mc *managedCluster) error {
	seen := map[string]bool{}
	var names []string
	add := func(where string, c *x509.Certificate) {
		if fp := certificate.Fingerprint(c); !seen[fp] {
			seen[fp] = true
			names = append(names, fmt.Sprintf("%s (sha256 %s, %s)", certName(c), api.ShortFingerprint(fp), where))
		}
	}
	for _, kc := range readKeys(listAsSecret(mc.cas())) {
		for _, c := range kc.certs {
			add("cluster "+kc.key, c)
		}
	}
	for _, in := range m.carry {
		for _, c := range in.certs {
			add(in.name, c)
		}
	}
	if len(names) > AKSMax {
		return fmt.Errorf("the cluster's list and the secret's CAs hold %d distinct certificates together, over AKS's limit of %d: %s; "+
			"remove some (kubectl ca-trust remove --store secret, or --store aks) and run migrate again; nothing was done",
			len(names), AKSMax, strings.Join(names, "; "))
	}
	return nil
}

// run plans or runs the steps in order, stopping at the first failure.
func (m *migration) run(ctx context.Context) error {
	o := m.o
	if !m.confirm {
		m.out.Planned = o.dryRun != cmdutil.DryRunClient
	}
	var progress io.Writer
	if !o.PrintFlags.Machine() {
		progress = o.ErrOut
	}
	// 1. The cluster's list: the union.
	step := api.CATrustMigrationStep{Name: "set-ca-list", Target: "managedcluster/" + o.aks.ref.Name}
	change, err := o.aks.apply(ctx, m.unionMutation(), false, func(mc *managedCluster, c *api.CATrustChange) error {
		step.Message = fmt.Sprintf("add %d CA(s) of the secret to the cluster's list; %s", len(c.Added), mc.replaced())
		if !m.confirm {
			return errPlanOnly
		}
		if progress != nil {
			fmt.Fprintf(progress, "note: updating %s: %s; waiting for it to finish\n", o.aks, mc.replaced())
		}
		return nil
	}, progress)
	switch {
	case err != nil:
		step.Outcome, step.Message = api.MigrationFailed, err.Error()
	case !change.Changed():
		step.Outcome, step.Message = api.MigrationAlreadyDone, "the cluster's list holds every CA of the secret"
	case !m.confirm:
		step.Outcome = api.MigrationPlanned
	case change.ProvisioningState == "Failed":
		step.Outcome, step.Message = api.MigrationFailed, "AKS accepted the new list but its update ended Failed: see az aks show "+strings.Join(o.aks.args(), " ")
	default:
		step.Outcome, step.Message = api.MigrationDone, fmt.Sprintf("added %d CA(s) of the secret; provisioningState %s", len(change.Added), change.ProvisioningState)
	}
	if change != nil {
		m.recordUnion(change)
	}
	m.out.Steps = append(m.out.Steps, step)
	// 2. Each pool: clear the property, then read it back.
	for i := range m.pools {
		m.poolSteps(ctx, &m.pools[i], progress)
	}
	// 3. The secret.
	m.secretStep(ctx)
	return nil
}

// failedBefore reports whether a step already failed: later steps are not
// run.
func (m *migration) failedBefore() bool { return m.out.Failed() }

// unionMutation adds the secret's carried certificates the list lacks.
func (m *migration) unionMutation() mutation {
	return func(current *corev1.Secret) (*corev1.Secret, *api.CATrustChange, error) {
		desired := current.DeepCopy()
		change := &api.CATrustChange{Operation: "migrate"}
		stored, err := m.o.keepAll(readKeys(current), desired, change)
		if err != nil {
			return nil, nil, err
		}
		for _, in := range m.carry {
			for _, c := range in.certs {
				fp := certificate.Fingerprint(c)
				if where, ok := stored[fp]; ok {
					change.Skipped = append(change.Skipped, changeItem(in.name, c, where))
					continue
				}
				key := nextFreeKey(desired.Data)
				desired.Data[key] = encodePEM(c)
				stored[fp] = "given twice; added as " + key
				change.Added = append(change.Added, changeItem(in.name, c, ""))
			}
		}
		return desired, change, nil
	}
}

// recordUnion lists the certificates the cluster holds (or is to hold)
// after the first step, each once, saying where it came from. A secret's
// certificate skipped as already in the list is that list's entry: it is
// not listed again.
func (m *migration) recordUnion(c *api.CATrustChange) {
	for _, it := range append(append([]api.CATrustChangeItem{}, c.Kept...), c.Reencoded...) {
		if it.SHA256Fingerprint != "" {
			it.Key, it.Reason = "cluster "+it.Key, ""
			m.out.Certificates = append(m.out.Certificates, it)
		}
	}
	m.out.Certificates = append(m.out.Certificates, c.Added...)
}

// poolSteps clears enableCustomCATrust on one pool and reads it back.
func (m *migration) poolSteps(ctx context.Context, p *agentPool, progress io.Writer) {
	target := "agentpool/" + p.Name
	disable := api.CATrustMigrationStep{Name: "disable-custom-ca-trust", Target: target}
	verify := api.CATrustMigrationStep{Name: "verify", Target: target}
	needed := p.enabled() || strings.EqualFold(p.Properties.ProvisioningState, "Failed")
	switch {
	case m.failedBefore():
		disable.Outcome, verify.Outcome = api.MigrationNotRun, api.MigrationNotRun
	case !needed:
		disable.Outcome, disable.Message = api.MigrationAlreadyDone, "enableCustomCATrust is not set"
		verify.Outcome, verify.Message = api.MigrationAlreadyDone, "provisioningState "+p.Properties.ProvisioningState
	case !m.confirm:
		disable.Outcome, disable.Message = api.MigrationPlanned, "az resource update --ids "+p.ID+" --api-version "+PoolAPIVersion+" --set properties.enableCustomCATrust=false"
		verify.Outcome, verify.Message = api.MigrationPlanned, "read back: enableCustomCATrust false, provisioningState Succeeded"
	default:
		if err := m.disablePool(ctx, p, progress); err != nil {
			disable.Outcome, disable.Message = api.MigrationFailed, err.Error()
			verify.Outcome = api.MigrationNotRun
			break
		}
		disable.Outcome, disable.Message = api.MigrationDone, "enableCustomCATrust set to false"
		got, err := m.readPool(ctx, p.ID)
		switch {
		case err != nil:
			verify.Outcome, verify.Message = api.MigrationFailed, err.Error()
		case got.enabled() || !strings.EqualFold(got.Properties.ProvisioningState, "Succeeded"):
			verify.Outcome, verify.Message = api.MigrationFailed, fmt.Sprintf("reads back enableCustomCATrust %t, provisioningState %s; want false, Succeeded", got.enabled(), got.Properties.ProvisioningState)
		default:
			verify.Outcome, verify.Message = api.MigrationDone, "enableCustomCATrust false, provisioningState Succeeded"
		}
	}
	m.out.Steps = append(m.out.Steps, disable, verify)
}

// disablePool clears the property, waiting for an operation in the way.
func (m *migration) disablePool(ctx context.Context, p *agentPool, progress io.Writer) error {
	a := m.o.aks
	args := []string{"resource", "update", "--ids", p.ID, "--api-version", PoolAPIVersion, "--set", "properties.enableCustomCATrust=false", "-o", "json"}
	idle, etag := 0, ""
	if a.last != nil {
		etag = a.last.ETag
	}
	for {
		_, err := a.write.Run(ctx, args...)
		var azErr *az.Error
		if errors.As(err, &azErr) && azErr.Kind == az.KindOperationNotAllowed {
			a.blocker = azErr
			if progress != nil {
				fmt.Fprintf(progress, "note: another operation is running on AKS cluster %s; waiting for it to end (%s)\n", a.ref, azErr.Message)
			}
			if err := a.waitOut(ctx, azErr, etag, &idle); err != nil {
				return err
			}
			etag = a.last.ETag
			continue
		}
		return err
	}
}

// readPool reads one pool at PoolAPIVersion.
func (m *migration) readPool(ctx context.Context, id string) (*agentPool, error) {
	var p agentPool
	url := fmt.Sprintf("%s%s?api-version=%s", armEndpoint, id, PoolAPIVersion)
	if err := m.o.aks.read.JSON(ctx, &p, "rest", "--method", "get", "--url", url, "-o", "json"); err != nil {
		return nil, err
	}
	return &p, nil
}

// secretStep deletes the secret with --delete-secret, once every other
// step succeeded; the delete is conditional on the secret read (UID and
// resourceVersion), so a secret someone changed since is not deleted.
func (m *migration) secretStep(ctx context.Context) {
	o := m.o
	step := api.CATrustMigrationStep{Name: "delete-secret", Target: "secret/" + o.ref.String()}
	switch {
	case m.secret == nil:
		step.Outcome, step.Message = api.MigrationAlreadyDone, "the secret does not exist"
	case !o.DeleteSecret:
		step.Outcome, step.Message = api.MigrationKept, "left in place; --delete-secret deletes it once every other step succeeded"
	case m.failedBefore():
		step.Outcome = api.MigrationNotRun
	case !m.confirm:
		step.Outcome, step.Message = api.MigrationPlanned, "delete the secret: nothing reads it once the pools no longer carry enableCustomCATrust"
	default:
		c, err := o.clientset()
		if err == nil {
			uid, rv := m.secret.UID, m.secret.ResourceVersion
			err = c.CoreV1().Secrets(o.ref.Namespace).Delete(ctx, o.ref.Name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid, ResourceVersion: &rv}})
		}
		switch {
		case apierrors.IsNotFound(err):
			step.Outcome, step.Message = api.MigrationAlreadyDone, "the secret was deleted meanwhile"
		case apierrors.IsConflict(err):
			step.Outcome, step.Message = api.MigrationFailed, "the secret changed since it was read: not deleted; run migrate again to carry its new CAs over"
		case err != nil:
			step.Outcome, step.Message = api.MigrationFailed, fmt.Sprintf("deleting secret %s: %v", o.ref, err)
		default:
			step.Outcome, step.Message = api.MigrationDone, "deleted"
		}
	}
	m.out.Steps = append(m.out.Steps, step)
}
