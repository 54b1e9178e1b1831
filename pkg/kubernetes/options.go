// Package kubernetes writes the Kubernetes manifests of a gateway (docs/deploy.md): a Deployment, a Service, a ConfigMap holding micro-gw.conf, a
// Secret holding the TLS pair, a PodDisruptionBudget and the
// kustomization.yaml that lists them. Every object is a typed k8s.io/api
// value, marshalled with sigs.k8s.io/yaml; no YAML is written by hand.
package kubernetes

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Defaults of the generated manifests. The drain is the gateway's own
// (runtime.drainTimeout): SIGTERM lets in-flight requests finish within 30
// s. The grace period adds the preStop pause and a margin, so the kubelet
// never kills a gateway that is still draining.
const (
	DefaultReplicas      = 2
	DrainSeconds         = 30
	PreStopSeconds       = 5
	GracePeriodSeconds   = PreStopSeconds + DrainSeconds + 10
	DefaultCPURequest    = "250m"
	DefaultMemoryRequest = "128Mi"
	DefaultMemoryLimit   = "512Mi"
)

// Where the image keeps the project (image.Root) and where the pod mounts
// what replaces the image's own files.
const (
	ConfMountPath = "/gateway/conf"
	TLSMountPath  = "/gateway/tls"
	ConfKey       = "micro-gw.conf"
)

// Ports are the gateway's listeners as its conf sets them; 0 is off.
type Ports struct {
	HTTP, HTTPS, Admin int32
}

// DefaultPorts are the listeners' default ports (docs/configuration.md).
var DefaultPorts = Ports{HTTP: 9090, HTTPS: 9095, Admin: 9096}

// Options say what the manifests of one gateway hold.
type Options struct {
	// Name is the project's name; the objects are named after it in the
	// form Kubernetes allows (Name).
	Name      string
	Namespace string
	// Image is the image reference the pods run.
	Image           string
	ImagePullPolicy corev1.PullPolicy
	Replicas        int32
	// Conf is micro-gw.conf, for the ConfigMap.
	Conf []byte
	// TLSCert and TLSKey are the HTTPS listener's pair, for the Secret.
	TLSCert, TLSKey []byte
	// Ports are the listeners of Conf.
	Ports Ports
	// Env is added to the container's environment (MGW_* overrides).
	Env map[string]string
	// Labels are added to every object and to the pods.
	Labels map[string]string
	// ServiceType is the Service's type; ClusterIP when empty.
	ServiceType corev1.ServiceType
	// Resources of the container; the defaults above fill what is unset.
	CPURequest, MemoryRequest, CPULimit, MemoryLimit string
}

var notName = regexp.MustCompile(`[^a-z0-9-]+`)

// ObjectName is name in the form of a Kubernetes object name (an RFC 1123
// label, at most 63 characters less the longest suffix added to it):
// lower case, runs of other characters as one "-".
func ObjectName(name string) (string, error) {
	n := strings.Trim(notName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(n) > 63-len("-conf") {
		n = strings.TrimRight(n[:63-len("-conf")], "-")
	}
	if errs := validation.IsDNS1123Label(n); len(errs) > 0 {
		return "", fmt.Errorf("project name %q gives no Kubernetes object name: %s", name, strings.Join(errs, "; "))
	}
	return n, nil
}

// check refuses options the objects could not carry.
func (o *Options) check() error {
	if o.Image == "" {
		return fmt.Errorf("no image: give --image REF or [kubernetes.kubernetesDeployment] image")
	}
	if o.Namespace != "" {
		if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
			return fmt.Errorf("namespace %q: %s", o.Namespace, strings.Join(errs, "; "))
		}
	}
	if o.Replicas < 0 {
		return fmt.Errorf("replicas %d: must not be negative", o.Replicas)
	}
	for k, v := range o.Labels {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			return fmt.Errorf("label %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return fmt.Errorf("label %s=%q: %s", k, v, strings.Join(errs, "; "))
		}
	}
	for k := range o.Env {
		if errs := validation.IsEnvVarName(k); len(errs) > 0 {
			return fmt.Errorf("environment variable %q: %s", k, strings.Join(errs, "; "))
		}
	}
	for what, q := range map[string]string{"cpuRequest": o.CPURequest, "memoryRequest": o.MemoryRequest,
		"cpuLimit": o.CPULimit, "memoryLimit": o.MemoryLimit} {
		if q == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q); err != nil {
			return fmt.Errorf("%s %q: %w", what, q, err)
		}
	}
	switch o.ServiceType {
	case "", corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort, corev1.ServiceTypeLoadBalancer:
	default:
		return fmt.Errorf("serviceType %q: want ClusterIP, NodePort or LoadBalancer", o.ServiceType)
	}
	switch o.ImagePullPolicy {
	case "", corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever:
	default:
		return fmt.Errorf("imagePullPolicy %q: want Always, IfNotPresent or Never", o.ImagePullPolicy)
	}
	if o.Ports.HTTP == 0 && o.Ports.HTTPS == 0 {
		return fmt.Errorf("the conf switches both the HTTP and the HTTPS listener off: a Service would have no port")
	}
	if o.Ports.Admin == 0 {
		return fmt.Errorf("the conf switches the admin listener off: the probes need /health/ready and /health/live")
	}
	return nil
}
