/*
Copyright 2026 The Fivesafes Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

// Package manager wires the Fivesafes controllers, webhooks, health checks and metrics into a
// controller-runtime manager. cmd/manager only parses flags and calls Run.
package manager

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	vaultapi "github.com/hashicorp/vault/api"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	fivesafesv1alpha1 "github.com/fivesafes/fivesafes/api/v1alpha1"
	"github.com/fivesafes/fivesafes/controllers"
	"github.com/fivesafes/fivesafes/internal/agreement"
	"github.com/fivesafes/fivesafes/internal/audit"
	"github.com/fivesafes/fivesafes/internal/egress"
	"github.com/fivesafes/fivesafes/internal/extractworker"
	"github.com/fivesafes/fivesafes/internal/metrics"
	"github.com/fivesafes/fivesafes/internal/optoutcache"
	"github.com/fivesafes/fivesafes/internal/policy"
	"github.com/fivesafes/fivesafes/internal/pseudonym"
	"github.com/fivesafes/fivesafes/internal/scheme"
	"github.com/fivesafes/fivesafes/internal/storage"
	"github.com/fivesafes/fivesafes/internal/webhooks"
)

// Options are the manager's settings, bound to command-line flags.
type Options struct {
	MetricsAddr             string
	MetricsSecure           bool
	ProbeAddr               string
	LeaderElection          bool
	LeaderElectionNamespace string
	WebhookHost             string
	WebhookPort             int
	WebhookCertDir          string
	EnableWebhooks          bool
	EnableHTTP2             bool
	// WebhookCerts say whether the manager issues its own webhook certificate.
	WebhookCerts WebhookCertOptions

	// CommitteeGroup is the group whose members' agreement approvals count.
	CommitteeGroup string
	// CheckersGroup is the group whose members may review outputs.
	CheckersGroup string
	// Quorum is how many distinct committee members must approve an agreement.
	Quorum int
	// ExpiryWarning is how long before its end an agreement reports ExpiringSoon.
	ExpiryWarning time.Duration
	// RetentionDays is how long a suspended workspace's data is kept before it is destroyed.
	RetentionDays int
	// OptOutList is the OptOutList applied to datasets whose opt-outs are Honoured.
	OptOutList string
	// DownloadExpiry is how long download URLs for released outputs work.
	DownloadExpiry time.Duration
	// ReviewCopyExpiry is how long output checkers' URLs of a checked snapshot work.
	ReviewCopyExpiry time.Duration
	// PolicyConfigMap names a ConfigMap (in the leader election namespace) of Rego overrides.
	PolicyConfigMap string
	// Governance are the platform's settings for the agreement policy.
	Governance agreement.Params

	// Concurrency is how many dataset copies are made at once in the manager: each streams,
	// parses and pseudonymises a dataset, so it uses CPU and memory.
	Concurrency int
	// ProvisioningConcurrency is how many agreements, and how many workspaces, are reconciled at
	// once. Their loops spend nearly all their time waiting on the API server, the object store
	// and Vault, so many run at once without using much of the manager.
	ProvisioningConcurrency int
	// WithoutExtractor and WithoutOutputs leave the DatasetExtract and OutputRequest controllers
	// out, for test suites that drive those reconcilers themselves. Not flags.
	WithoutExtractor, WithoutOutputs bool
	// Clock tells the controllers the time; nil means the real clock. Tests inject a fake one.
	Clock clock.PassiveClock

	// Storage is the object store holding the catalogue, workspace, egress and audit buckets.
	Storage StorageOptions
	// Vault holds the per-agreement pseudonymisation keys.
	Vault VaultOptions
	// Audit says where the audit log lives.
	Audit AuditOptions
	// Network says what workspace pods may reach.
	Network controllers.NetworkSettings
	// ExtractJobs say when copies run as indexed Jobs.
	ExtractJobs ExtractJobOptions
}

// ExtractJobOptions say when and how dataset copies run as indexed Jobs of the manager image.
type ExtractJobOptions struct {
	// Image is the manager image the workers run; empty makes every copy in the manager.
	Image string
	// Threshold is the source size in bytes from which a copy runs as a Job.
	Threshold int64
	// Parallelism is how many parts of one copy run at once.
	Parallelism int
	// StorageSecret, in the manager's namespace, holds the object store credentials for the
	// workers under accessKey and secretKey.
	StorageSecret string
	// VaultCASecret, in the manager's namespace, holds ca.crt, the CA of Vault's TLS server.
	VaultCASecret string
	// ImagePullSecrets, in the manager's namespace, let the workers pull the image.
	ImagePullSecrets []string
}

// StorageOptions locate the S3-compatible object store. Credentials come from the environment
// (FIVESAFES_STORAGE_ACCESS_KEY, FIVESAFES_STORAGE_SECRET_KEY), never from flags.
type StorageOptions struct {
	// EgressBucket receives released outputs and the staging snapshots of requested ones.
	EgressBucket string
	Endpoint     string
	Secure       bool
	AccessKey    string
	SecretKey    string
}

// VaultOptions locate Vault. The token comes from VAULT_TOKEN or --vault-token-file.
type VaultOptions struct {
	Address     string
	Token       string
	TokenFile   string
	TransitPath string
	// TokenTTL is how long each agreement's extraction token lives before it is replaced.
	TokenTTL time.Duration
}

// DefaultOptions returns the settings used when no flag is given.
func DefaultOptions() Options {
	return Options{
		MetricsAddr:             ":8443",
		MetricsSecure:           true,
		ProbeAddr:               ":8081",
		LeaderElection:          true,
		LeaderElectionNamespace: "fivesafes-system",
		WebhookPort:             9443,
		EnableWebhooks:          true,
		WebhookCerts: WebhookCertOptions{ //nolint:gosec // names of a Secret, a Service and webhook configurations
			Secret:     "fivesafes-webhook-cert",
			Service:    "fivesafes-webhook-service",
			Mutating:   "fivesafes-mutating-webhook-configuration",
			Validating: "fivesafes-validating-webhook-configuration",
		},
		Concurrency:             4,
		ProvisioningConcurrency: 32,
		CommitteeGroup:          "fivesafes:committee",
		CheckersGroup:           "fivesafes:output-checkers",
		Quorum:                  2,
		ExpiryWarning:           30 * 24 * time.Hour,
		RetentionDays:           30,
		OptOutList:              "national-data-opt-out",
		DownloadExpiry:          15 * time.Minute,
		ReviewCopyExpiry:        controllers.DefaultReviewCopyExpiry,
		Governance:              agreement.DefaultParams(),
		Storage: StorageOptions{
			EgressBucket: "fivesafes-egress",
			AccessKey:    os.Getenv("FIVESAFES_STORAGE_ACCESS_KEY"),
			SecretKey:    os.Getenv("FIVESAFES_STORAGE_SECRET_KEY"),
		},
		Vault: VaultOptions{Token: os.Getenv("VAULT_TOKEN"), Address: os.Getenv("VAULT_ADDR"), TransitPath: "transit", TokenTTL: 7 * 24 * time.Hour},
		Network: controllers.NetworkSettings{
			DNSNamespace: "kube-system",
			DNSPodLabels: map[string]string{"k8s-app": "kube-dns"},
		},
		ExtractJobs: ExtractJobOptions{Threshold: 1 << 30, Parallelism: 4, StorageSecret: "fivesafes-storage"},
		Audit:       AuditOptions{Bucket: "fivesafes-audit", RetentionMode: audit.RetentionCompliance, RetentionDays: 2557, FlushInterval: 30 * time.Second},
	}
}

// BindFlags binds the options to flags in fs.
func (o *Options) BindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.MetricsAddr, "metrics-bind-address", o.MetricsAddr, "Address the metrics endpoint binds to; \"0\" disables it.")
	fs.BoolVar(&o.MetricsSecure, "metrics-secure", o.MetricsSecure, "Serve metrics over HTTPS, authenticated and authorised by the API server.")
	fs.StringVar(&o.ProbeAddr, "health-probe-bind-address", o.ProbeAddr, "Address the health and readiness probes bind to.")
	fs.BoolVar(&o.LeaderElection, "leader-elect", o.LeaderElection, "Elect a leader so only one manager acts at a time.")
	fs.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", o.LeaderElectionNamespace, "Namespace of the leader election lease.")
	fs.IntVar(&o.WebhookPort, "webhook-port", o.WebhookPort, "Port the admission webhook server listens on.")
	fs.StringVar(&o.WebhookCertDir, "webhook-cert-dir", o.WebhookCertDir, "Directory with tls.crt and tls.key for the webhook server.")
	fs.BoolVar(&o.EnableWebhooks, "enable-webhooks", o.EnableWebhooks, "Serve the admission webhooks.")
	fs.BoolVar(&o.WebhookCerts.Rotation, "webhook-cert-rotation", o.WebhookCerts.Rotation, "Issue and rotate the webhook serving certificate and its CA, and inject the CA into the webhook configurations.")
	fs.StringVar(&o.WebhookCerts.Secret, "webhook-cert-secret", o.WebhookCerts.Secret, "Secret in the manager's namespace holding the webhook CA and certificate (with --webhook-cert-rotation).")
	fs.StringVar(&o.WebhookCerts.Service, "webhook-service", o.WebhookCerts.Service, "Service in front of the webhook server; the certificate names <service>.<namespace>.svc.")
	fs.StringVar(&o.WebhookCerts.Mutating, "mutating-webhook-configuration", o.WebhookCerts.Mutating, "MutatingWebhookConfiguration whose caBundle is kept current (with --webhook-cert-rotation).")
	fs.StringVar(&o.WebhookCerts.Validating, "validating-webhook-configuration", o.WebhookCerts.Validating, "ValidatingWebhookConfiguration whose caBundle is kept current (with --webhook-cert-rotation).")
	fs.BoolVar(&o.EnableHTTP2, "enable-http2", o.EnableHTTP2, "Allow HTTP/2 on the metrics and webhook servers (off by default: CVE-2023-44487).")
	fs.StringVar(&o.CommitteeGroup, "committee-group", o.CommitteeGroup, "Group whose members' approvals of agreements count.")
	fs.IntVar(&o.Concurrency, "max-concurrent-reconciles", o.Concurrency, "How many dataset copies the manager makes at once.")
	fs.IntVar(&o.ProvisioningConcurrency, "max-concurrent-provisioning", o.ProvisioningConcurrency, "How many agreements, and how many workspaces, are reconciled at once; their loops mostly wait on the API server, object store and Vault.")
	fs.StringVar(&o.CheckersGroup, "checkers-group", o.CheckersGroup, "Group whose members may review outputs.")
	fs.IntVar(&o.Quorum, "quorum", o.Quorum, "Distinct committee approvals an agreement needs.")
	fs.DurationVar(&o.ExpiryWarning, "expiry-warning", o.ExpiryWarning, "How long before its end an agreement reports ExpiringSoon.")
	fs.IntVar(&o.RetentionDays, "retention-days", o.RetentionDays, "Days a suspended workspace's data is kept before it is destroyed (0 destroys at once).")
	fs.DurationVar(&o.DownloadExpiry, "download-url-expiry", o.DownloadExpiry, "How long download URLs for released outputs work.")
	fs.DurationVar(&o.ReviewCopyExpiry, "review-url-expiry", o.ReviewCopyExpiry, "How long output checkers' URLs of a checked snapshot work; they are renewed while the request awaits review.")
	fs.StringVar(&o.OptOutList, "opt-out-list", o.OptOutList, "OptOutList applied to datasets whose opt-outs are Honoured.")
	fs.StringVar(&o.PolicyConfigMap, "policy-configmap", o.PolicyConfigMap, "ConfigMap in the leader election namespace whose .rego keys override or add policy modules.")
	g := &o.Governance
	fs.Func("minimum-cell-count-floor", fmt.Sprintf("Smallest outputRules.minimumCellCount an agreement may set (default %d).", g.MinimumCellCountFloor), int32Flag(&g.MinimumCellCountFloor))
	fs.Func("max-validity-years", fmt.Sprintf("Longest an agreement may last, in years (default %d).", g.MaxValidityYears), int32Flag(&g.MaxValidityYears))
	fs.Func("opt-out-override-bases", "Comma-separated legal bases that can set the national data opt-out aside (default Section251,Consent).", func(v string) error {
		g.OptOutOverrideBases = nil
		for _, b := range strings.Split(v, ",") {
			g.OptOutOverrideBases = append(g.OptOutOverrideBases, fivesafesv1alpha1.LegalBasis(strings.TrimSpace(b)))
		}
		return nil
	})
	fs.StringVar(&o.ExtractJobs.Image, "extract-job-image", o.ExtractJobs.Image, "Manager image that extraction Jobs run (`manager extract`); empty makes every copy in the manager.")
	fs.Int64Var(&o.ExtractJobs.Threshold, "extract-job-threshold", o.ExtractJobs.Threshold, "Source size in bytes from which a copy runs as an indexed Job, one completion per source object.")
	fs.IntVar(&o.ExtractJobs.Parallelism, "extract-job-parallelism", o.ExtractJobs.Parallelism, "How many parts of one copy an extraction Job runs at once.")
	fs.StringVar(&o.ExtractJobs.VaultCASecret, "extract-job-vault-ca-secret", o.ExtractJobs.VaultCASecret, "Secret in the manager's namespace whose ca.crt is the CA of Vault's TLS server, mounted into extraction Jobs.")
	fs.Func("extract-job-image-pull-secrets", "Comma-separated Secrets in the manager's namespace that extraction Jobs pull the image with.", func(v string) error {
		o.ExtractJobs.ImagePullSecrets = nil
		for _, n := range strings.Split(v, ",") {
			if n = strings.TrimSpace(n); n != "" {
				o.ExtractJobs.ImagePullSecrets = append(o.ExtractJobs.ImagePullSecrets, n)
			}
		}
		return nil
	})
	fs.StringVar(&o.ExtractJobs.StorageSecret, "extract-job-storage-secret", o.ExtractJobs.StorageSecret, "Secret in the manager's namespace with the object store credentials (accessKey, secretKey) for extraction Jobs.")
	fs.StringVar(&o.Storage.Endpoint, "storage-endpoint", o.Storage.Endpoint, "host:port of the S3-compatible object store (credentials from FIVESAFES_STORAGE_ACCESS_KEY and FIVESAFES_STORAGE_SECRET_KEY).")
	fs.BoolVar(&o.Storage.Secure, "storage-secure", o.Storage.Secure, "Use HTTPS to reach the object store.")
	fs.StringVar(&o.Storage.EgressBucket, "egress-bucket", o.Storage.EgressBucket, "Bucket for released outputs and the snapshots of requested ones; no workspace can reach it.")
	fs.StringVar(&o.Audit.Bucket, "audit-bucket", o.Audit.Bucket, "Bucket holding the audit log; created with object lock.")
	fs.StringVar(&o.Audit.RetentionMode, "audit-retention-mode", o.Audit.RetentionMode, "Object-lock retention of sealed audit segments: compliance, governance or none.")
	fs.IntVar(&o.Audit.RetentionDays, "audit-retention-days", o.Audit.RetentionDays, "Days sealed audit segments and checkpoints are locked.")
	fs.DurationVar(&o.Audit.FlushInterval, "audit-flush-interval", o.Audit.FlushInterval, "How often full audit segments are sealed.")
	fs.StringVar(&o.Network.DNSNamespace, "workspace-dns-namespace", o.Network.DNSNamespace, "Namespace of the cluster DNS pods workspaces may query.")
	fs.Func("workspace-dns-labels", "Labels (k=v,...) of the cluster DNS pods (default k8s-app=kube-dns).", func(v string) error {
		o.Network.DNSPodLabels = map[string]string{}
		for _, kv := range strings.Split(v, ",") {
			k, val, ok := strings.Cut(kv, "=")
			if !ok {
				return fmt.Errorf("%q is not key=value", kv)
			}
			o.Network.DNSPodLabels[strings.TrimSpace(k)] = strings.TrimSpace(val)
		}
		return nil
	})
	fs.StringVar(&o.Network.ObjectStoreCIDR, "workspace-object-store-cidr", o.Network.ObjectStoreCIDR, "CIDR of the object store that workspace pods may reach (default: the storage endpoint's address).")
	fs.StringVar(&o.Vault.Address, "vault-address", o.Vault.Address, "Vault's URL (default $VAULT_ADDR).")
	fs.StringVar(&o.Vault.TokenFile, "vault-token-file", o.Vault.TokenFile, "File holding the Vault token (default: $VAULT_TOKEN).")
	fs.StringVar(&o.Vault.TransitPath, "vault-transit-path", o.Vault.TransitPath, "Mount path of Vault's transit secrets engine.")
	fs.DurationVar(&o.Vault.TokenTTL, "vault-token-ttl", o.Vault.TokenTTL, "Lifetime of each agreement's Vault token, confined to its key; it is replaced before it expires.")
}

// networkSettings fills in the object store's address and port from the storage endpoint.
func (o Options) networkSettings() (controllers.NetworkSettings, error) {
	n := o.Network
	host, portText, err := net.SplitHostPort(o.Storage.Endpoint)
	if err != nil {
		return n, fmt.Errorf("--storage-endpoint %q is not host:port: %w", o.Storage.Endpoint, err)
	}
	port, err := strconv.ParseInt(portText, 10, 32)
	if err != nil {
		return n, fmt.Errorf("--storage-endpoint port %q: %w", portText, err)
	}
	n.ObjectStorePort = int32(port)
	if n.ObjectStoreCIDR == "" {
		ip := net.ParseIP(host)
		if ip == nil {
			return n, fmt.Errorf("--workspace-object-store-cidr is required when --storage-endpoint is a name (%s)", host)
		}
		bits := 32
		if ip.To4() == nil {
			bits = 128
		}
		n.ObjectStoreCIDR = fmt.Sprintf("%s/%d", ip, bits)
	}
	return n, nil
}

// client returns a Vault client with the configured token.
func (v VaultOptions) client() (*vaultapi.Client, error) {
	cfg := vaultapi.DefaultConfig()
	if v.Address == "" {
		return nil, errors.New("--vault-address (or VAULT_ADDR) is required: agreements' pseudonymisation keys live in Vault")
	}
	cfg.Address = v.Address
	c, err := vaultapi.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuring the vault client: %w", err)
	}
	token := v.Token
	if v.TokenFile != "" {
		b, err := os.ReadFile(v.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("reading --vault-token-file: %w", err)
		}
		token = strings.TrimSpace(string(b))
	}
	if token == "" {
		return nil, errors.New("a vault token is required in VAULT_TOKEN or --vault-token-file")
	}
	c.SetToken(token)
	return c, nil
}

func (o Options) clock() clock.PassiveClock {
	if o.Clock == nil {
		return clock.RealClock{}
	}
	return o.Clock
}

func int32Flag(p *int32) func(string) error {
	return func(v string) error {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil {
			return fmt.Errorf("not a whole number: %w", err)
		}
		*p = int32(n)
		return nil
	}
}

// Validate checks the options make sense together.
func (o Options) Validate() error {
	switch {
	case o.LeaderElection && o.LeaderElectionNamespace == "":
		return errors.New("--leader-election-namespace is required with --leader-elect")
	case o.PolicyConfigMap != "" && o.LeaderElectionNamespace == "":
		return errors.New("--policy-configmap needs --leader-election-namespace, the namespace it lives in")
	case o.Concurrency < 1:
		return errors.New("--max-concurrent-reconciles must be at least 1")
	case o.ProvisioningConcurrency < 1:
		return errors.New("--max-concurrent-provisioning must be at least 1")
	case o.Quorum < 1:
		return errors.New("--quorum must be at least 1")
	case o.CommitteeGroup == "" || o.CheckersGroup == "":
		return errors.New("--committee-group and --checkers-group must name groups")
	case o.CommitteeGroup == o.CheckersGroup:
		return errors.New("--committee-group and --checkers-group must differ: approving data and checking outputs are separate duties")
	case o.RetentionDays < 0:
		return errors.New("--retention-days cannot be negative")
	case o.Storage.Endpoint == "":
		return errors.New("--storage-endpoint is required: the audit log, workspace buckets and releases live in object storage")
	case o.Storage.AccessKey == "" || o.Storage.SecretKey == "":
		return errors.New("object storage credentials are required in FIVESAFES_STORAGE_ACCESS_KEY and FIVESAFES_STORAGE_SECRET_KEY")
	case o.DownloadExpiry < time.Minute || o.DownloadExpiry > 7*24*time.Hour:
		return errors.New("--download-url-expiry must be between a minute and seven days")
	case o.ReviewCopyExpiry < time.Hour || o.ReviewCopyExpiry > 7*24*time.Hour:
		return errors.New("--review-url-expiry must be between an hour and seven days")
	case o.Vault.TokenTTL < time.Minute:
		return errors.New("--vault-token-ttl must be at least a minute")
	case o.ExtractJobs.Image != "" && (o.ExtractJobs.Threshold < 0 || o.ExtractJobs.Parallelism < 1 || o.ExtractJobs.StorageSecret == ""):
		return errors.New("with --extract-job-image, --extract-job-threshold must not be negative, --extract-job-parallelism must be at least 1 and --extract-job-storage-secret must name a Secret")
	case o.Audit.FlushInterval <= 0:
		return errors.New("--audit-flush-interval must be positive")
	}
	return o.WebhookCerts.validate(o.LeaderElectionNamespace)
}

// extractJobs returns the extract controller's Job settings, nil when copies run in the manager.
func (o Options) extractJobs() *controllers.ExtractJobs {
	j := o.ExtractJobs
	if j.Image == "" {
		return nil
	}
	return &controllers.ExtractJobs{
		Threshold: j.Threshold,
		Storage:   extractworker.Storage{Endpoint: o.Storage.Endpoint, Secure: o.Storage.Secure},
		Options: extractworker.JobOptions{
			Image: j.Image, Parallelism: int32(min(j.Parallelism, 1<<20)), //nolint:gosec // bounded above
			StorageSecret: j.StorageSecret, VaultAddress: o.Vault.Address,
			VaultCASecret: j.VaultCASecret, ImagePullSecrets: j.ImagePullSecrets,
		},
	}
}

// Scheme returns the scheme the manager's clients use.
func Scheme() *runtime.Scheme { return scheme.New() }

// New builds a manager with health checks and metrics, ready for controllers to be added.
func New(cfg *rest.Config, o Options) (ctrl.Manager, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	var tlsOpts []func(*tls.Config)
	if !o.EnableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metrics := metricsserver.Options{BindAddress: o.MetricsAddr, SecureServing: o.MetricsSecure, TLSOpts: tlsOpts}
	if o.MetricsSecure {
		metrics.FilterProvider = filters.WithAuthenticationAndAuthorization
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme: Scheme(),
		Cache: cache.Options{ByObject: map[client.Object]cache.ByObject{
			// The only ConfigMap the manager reads is the policy override in its own namespace.
			&corev1.ConfigMap{}: {Namespaces: map[string]cache.Config{o.LeaderElectionNamespace: {}}},
			// The only Secrets it reads are those it made: it holds no other Secret of the cluster.
			&corev1.Secret{}: {Label: controllers.ManagedSecrets()},
		}},
		Metrics:                       metrics,
		HealthProbeBindAddress:        o.ProbeAddr,
		LeaderElection:                o.LeaderElection,
		LeaderElectionID:              "manager.fivesafes.io",
		LeaderElectionNamespace:       o.LeaderElectionNamespace,
		LeaderElectionReleaseOnCancel: true,
		WebhookServer: webhook.NewServer(webhook.Options{
			Host:    o.WebhookHost,
			Port:    o.WebhookPort,
			CertDir: o.WebhookCertDir,
			TLSOpts: tlsOpts,
		}),
	})
	if err != nil {
		return nil, fmt.Errorf("creating manager: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return nil, fmt.Errorf("adding readiness check: %w", err)
	}
	return mgr, nil
}

// Run builds the manager, adds every controller and webhook, and runs until ctx ends.
func Run(ctx context.Context, cfg *rest.Config, o Options) error {
	mgr, err := New(cfg, o)
	if err != nil {
		return err
	}
	if err := Setup(mgr, o); err != nil {
		return err
	}
	ctrl.LoggerFrom(ctx).Info("Starting manager", "leaderElection", o.LeaderElection, "metrics", o.MetricsAddr)
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running manager: %w", err)
	}
	return nil
}

// +kubebuilder:rbac:groups="",namespace=fivesafes-system,resources=configmaps,verbs=get;list;watch
// +kubebuilder:rbac:groups=coordination.k8s.io,namespace=fivesafes-system,resources=leases,verbs=get;list;watch;create;update;patch;delete

// registerMetrics registers the Fivesafes metrics once per process: the registry is global.
var registerMetrics sync.Once

// Setup adds the controllers and webhooks to mgr.
func Setup(mgr ctrl.Manager, o Options) error {
	ctx := context.Background()
	s3, err := minio.New(o.Storage.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(o.Storage.AccessKey, o.Storage.SecretKey, ""),
		Secure: o.Storage.Secure,
	})
	if err != nil {
		return fmt.Errorf("configuring the object storage client: %w", err)
	}
	// Secrets made before the cache was limited to labelled ones are labelled before any
	// controller looks for them.
	labelCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	n, err := controllers.LabelOwnedSecrets(labelCtx, mgr.GetAPIReader(), mgr.GetClient(), o.LeaderElectionNamespace)
	cancel()
	if err != nil {
		return err
	}
	if n > 0 {
		ctrl.Log.Info("Labelled the Secrets of earlier versions", "secrets", n)
	}
	store, err := storage.New(storage.Options{Endpoint: o.Storage.Endpoint, AccessKey: o.Storage.AccessKey, SecretKey: o.Storage.SecretKey, Secure: o.Storage.Secure})
	if err != nil {
		return fmt.Errorf("configuring object storage administration: %w", err)
	}
	// The audit log writes through the storage client's S3 client, which gives up on a store
	// that is down within a second, so a loop waiting on an append says why at once.
	auditLog := &auditLog{client: store.S3(), o: o.Audit}
	registerMetrics.Do(func() { metrics.Register(mgr.GetClient()) })
	vaultClient, err := o.Vault.client()
	if err != nil {
		return err
	}
	keys, err := pseudonym.NewVault(vaultClient, o.Vault.TransitPath)
	if err != nil {
		return fmt.Errorf("configuring vault transit: %w", err)
	}
	network, err := o.networkSettings()
	if err != nil {
		return err
	}
	if err := mgr.Add(auditLog); err != nil {
		return fmt.Errorf("adding the audit flusher: %w", err)
	}
	policies, err := newPolicySource(ctx, mgr.GetClient(), types.NamespacedName{Namespace: o.LeaderElectionNamespace, Name: o.PolicyConfigMap}, o.Governance)
	if err != nil {
		return err
	}
	if err := (&controllers.DataAccessAgreementReconciler{
		Client:      mgr.GetClient(),
		Scheme:      mgr.GetScheme(),
		Recorder:    mgr.GetEventRecorder("fivesafes-agreement"),
		Clock:       o.clock(),
		Validator:   policies,
		Audit:       auditLog,
		Concurrency: o.ProvisioningConcurrency,
		Settings: controllers.AgreementSettings{
			CommitteeGroup: o.CommitteeGroup,
			Quorum:         o.Quorum,
			ExpiryWarning:  o.ExpiryWarning,
			RetentionDays:  int32(o.RetentionDays), //nolint:gosec // validated as a small non-negative number of days
			OptOutList:     o.OptOutList,
		},
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the agreement controller: %w", err)
	}
	if err := (&controllers.WorkspaceReconciler{
		Client:          mgr.GetClient(),
		APIReader:       mgr.GetAPIReader(),
		Scheme:          mgr.GetScheme(),
		Recorder:        mgr.GetEventRecorder("fivesafes-workspace"),
		Clock:           o.clock(),
		Storage:         store,
		Keys:            keys,
		Vault:           vaultClient,
		TransitMount:    o.Vault.TransitPath,
		SystemNamespace: o.LeaderElectionNamespace,
		TokenTTL:        o.Vault.TokenTTL,
		Audit:           auditLog,
		Network:         network,
		StorageEndpoint: o.Storage.Endpoint,
		Concurrency:     o.ProvisioningConcurrency,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the workspace controller: %w", err)
	}
	optOuts := optoutcache.New()
	if err := (&controllers.OptOutListReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("fivesafes-optoutlist"),
		Clock:    o.clock(),
		S3:       s3,
		Cache:    optOuts,
	}).SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the opt-out list controller: %w", err)
	}
	if !o.WithoutExtractor {
		if err := (&controllers.DatasetExtractReconciler{
			Client:          mgr.GetClient(),
			Scheme:          mgr.GetScheme(),
			Recorder:        mgr.GetEventRecorder("fivesafes-datasetextract"),
			Clock:           o.clock(),
			Store:           s3,
			Vault:           vaultClient,
			TransitMount:    o.Vault.TransitPath,
			SystemNamespace: o.LeaderElectionNamespace,
			OptOuts:         optOuts,
			Audit:           auditLog,
			Concurrency:     o.Concurrency,
			Jobs:            o.extractJobs(),
		}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the dataset extract controller: %w", err)
		}
	}
	egressEngine, err := policy.NewDefaultEngine(ctx, egress.PolicyQuery)
	if err != nil {
		return fmt.Errorf("loading the egress policy: %w", err)
	}
	egressEngine.Observe(metrics.ObservePolicy)
	ectx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := store.EnsureBucket(ectx, o.Storage.EgressBucket, storage.BucketOptions{Versioning: true}); err != nil {
		return fmt.Errorf("ensuring the egress bucket %s: %w", o.Storage.EgressBucket, err)
	}
	if !o.WithoutOutputs {
		if err := (&controllers.OutputRequestReconciler{
			Client:           mgr.GetClient(),
			Scheme:           mgr.GetScheme(),
			Recorder:         mgr.GetEventRecorder("fivesafes-outputrequest"),
			Clock:            o.clock(),
			Storage:          store,
			Policy:           egressEngine,
			Audit:            auditLog,
			EgressBucket:     o.Storage.EgressBucket,
			CheckersGroup:    o.CheckersGroup,
			DownloadExpiry:   o.DownloadExpiry,
			ReviewCopyExpiry: o.ReviewCopyExpiry,
		}).SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the output request controller: %w", err)
		}
	}
	if !o.EnableWebhooks {
		return nil
	}
	register := func() {
		webhooks.Register(mgr, webhooks.Options{CommitteeGroup: o.CommitteeGroup, CheckersGroup: o.CheckersGroup, Validator: policies})
	}
	if !o.WebhookCerts.Rotation {
		register()
		return nil
	}
	certDir := o.WebhookCertDir
	if certDir == "" {
		certDir = defaultWebhookCertDir
	}
	ready, err := addCertRotation(mgr, o.WebhookCerts, o.LeaderElectionNamespace, certDir)
	if err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("webhooks", webhooksReady(mgr, ready)); err != nil {
		return fmt.Errorf("adding the webhook readiness check: %w", err)
	}
	// The webhook server starts once its certificate is on disk: a server without one would fail.
	go func() {
		<-ready
		register()
	}()
	return nil
}
