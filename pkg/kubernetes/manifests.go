package kubernetes

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Objects are the manifests of one gateway.
type Objects struct {
	Deployment          *appsv1.Deployment
	Service             *corev1.Service
	ConfigMap           *corev1.ConfigMap
	Secret              *corev1.Secret
	PodDisruptionBudget *policyv1.PodDisruptionBudget
}

// names of the objects and of what the pod refers to.
type names struct {
	base, conf, tls, env string
}

func namesOf(base string) names {
	return names{base: base, conf: base + "-conf", tls: base + "-tls", env: base + "-env"}
}

// Build makes the objects of o.
func Build(o Options) (*Objects, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	base, err := ObjectName(o.Name)
	if err != nil {
		return nil, err
	}
	n := namesOf(base)
	selector := map[string]string{"app.kubernetes.io/name": base}
	labels := map[string]string{}
	maps.Copy(labels, o.Labels)
	maps.Copy(labels, selector)
	labels["app.kubernetes.io/managed-by"] = "micro-gw"
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: labels}
	}
	return &Objects{
		Deployment: deployment(o, n, meta(n.base), selector, labels),
		Service:    service(o, meta(n.base), selector),
		ConfigMap: &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: meta(n.conf),
			Data:       map[string]string{ConfKey: string(o.Conf)},
		},
		Secret: &corev1.Secret{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Secret"},
			ObjectMeta: meta(n.tls),
			Type:       corev1.SecretTypeTLS,
			Data:       map[string][]byte{corev1.TLSCertKey: o.TLSCert, corev1.TLSPrivateKeyKey: o.TLSKey},
		},
		PodDisruptionBudget: &policyv1.PodDisruptionBudget{
			TypeMeta:   metav1.TypeMeta{APIVersion: "policy/v1", Kind: "PodDisruptionBudget"},
			ObjectMeta: meta(n.base),
			Spec: policyv1.PodDisruptionBudgetSpec{
				// One at a time, whatever the replica count: a node drain
				// is never blocked (as minAvailable 1 of 1 would), and a
				// fleet never loses more than one gateway to it.
				MaxUnavailable: ptr(intstr.FromInt32(1)),
				Selector:       &metav1.LabelSelector{MatchLabels: selector},
			},
		},
	}, nil
}

func deployment(o Options, n names, meta metav1.ObjectMeta, selector, labels map[string]string) *appsv1.Deployment {
	replicas := o.Replicas
	if replicas == 0 {
		replicas = DefaultReplicas
	}
	// A change of the conf or the TLS pair changes the pod template, so
	// that applying the manifests rolls the gateways (they read both at start).
	sum := sha256.New()
	sum.Write(o.Conf)
	sum.Write(o.TLSCert)
	sum.Write(o.TLSKey)
	annotations := map[string]string{
		"micro-gw.io/config-sha256": hex.EncodeToString(sum.Sum(nil)),
		"prometheus.io/scrape":      "true",
		"prometheus.io/port":        strconv.Itoa(int(o.Ports.Admin)),
		"prometheus.io/path":        "/metrics",
	}
	pod := corev1.PodSpec{
		// No MGW_PORT and kin from a Service named mgw: an MGW_ variable
		// that names no key stops the gateway (docs/deploy.md).
		EnableServiceLinks: ptr(false),
		// The gateway never talks to the Kubernetes API.
		AutomountServiceAccountToken:  ptr(false),
		TerminationGracePeriodSeconds: ptr(int64(GracePeriodSeconds)),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(65532)),
			RunAsGroup:     ptr(int64(65532)),
			FSGroup:        ptr(int64(65532)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{container(o, n)},
		Volumes: []corev1.Volume{
			{Name: "conf", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
				LocalObjectReference: corev1.LocalObjectReference{Name: n.conf},
			}}},
			{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
				SecretName: n.tls, DefaultMode: ptr(int32(0o440)),
			}}},
		},
	}
	if replicas > 1 {
		pod.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			// Preferred, not required: a cluster with fewer nodes than
			// replicas (or a rolling update's extra pod) still schedules.
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
				Weight: 100,
				PodAffinityTerm: corev1.PodAffinityTerm{
					LabelSelector: &metav1.LabelSelector{MatchLabels: selector},
					TopologyKey:   corev1.LabelHostname,
				},
			}},
		}}
	}
	return &appsv1.Deployment{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Strategy: appsv1.DeploymentStrategy{
				Type: appsv1.RollingUpdateDeploymentStrategyType,
				// A new gateway takes traffic only once ready, that is once
				// it has loaded the revoked tokens and subscribed to the
				// broker; an old one leaves only then. No revocation gap,
				// no capacity dip.
				RollingUpdate: &appsv1.RollingUpdateDeployment{
					MaxUnavailable: ptr(intstr.FromInt32(0)),
					MaxSurge:       ptr(intstr.FromInt32(1)),
				},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: annotations},
				Spec:       pod,
			},
		},
	}
}

func container(o Options, n names) corev1.Container {
	var ports []corev1.ContainerPort
	for _, p := range []struct {
		name string
		port int32
	}{{"http", o.Ports.HTTP}, {"https", o.Ports.HTTPS}, {"admin", o.Ports.Admin}} {
		if p.port != 0 {
			ports = append(ports, corev1.ContainerPort{Name: p.name, ContainerPort: p.port, Protocol: corev1.ProtocolTCP})
		}
	}
	// The TLS pair comes from the Secret, mounted beside the image's own.
	env := []corev1.EnvVar{
		{Name: "MGW_LISTENERCONFIG_CERTFILE", Value: TLSMountPath + "/" + corev1.TLSCertKey},
		{Name: "MGW_LISTENERCONFIG_KEYFILE", Value: TLSMountPath + "/" + corev1.TLSPrivateKeyKey},
	}
	for _, k := range slices.Sorted(maps.Keys(o.Env)) {
		env = append(env, corev1.EnvVar{Name: k, Value: o.Env[k]})
	}
	probe := func(path string, period, failures int32) *corev1.Probe {
		return &corev1.Probe{
			ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: path, Port: intstr.FromString("admin"),
			}},
			PeriodSeconds:    period,
			TimeoutSeconds:   2,
			FailureThreshold: failures,
		}
	}
	pull := o.ImagePullPolicy
	if pull == "" {
		pull = corev1.PullIfNotPresent
	}
	return corev1.Container{
		Name:            "gateway",
		Image:           o.Image,
		ImagePullPolicy: pull,
		Ports:           ports,
		Env:             env,
		// Values of ${ENV} in the conf and further MGW_* overrides that
		// are secret (etcd and broker passwords) come from a Secret the
		// operator makes; optional, so a gateway that needs none starts.
		EnvFrom: []corev1.EnvFromSource{{SecretRef: &corev1.SecretEnvSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: n.env},
			Optional:             ptr(true),
		}}},
		Resources: resources(o),
		// Readiness waits for the revocation sources' first load and
		// subscription; liveness is the process answering at all.
		ReadinessProbe: probe("/health/ready", 5, 2),
		LivenessProbe:  probe("/health/live", 10, 3),
		Lifecycle: &corev1.Lifecycle{
			// Keep serving while the endpoints controller and the proxies
			// take the pod out of the Service, then SIGTERM drains.
			PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: PreStopSeconds}},
		},
		VolumeMounts: []corev1.VolumeMount{
			{Name: "conf", MountPath: ConfMountPath, ReadOnly: true},
			{Name: "tls", MountPath: TLSMountPath, ReadOnly: true},
		},
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		},
	}
}

func resources(o Options) corev1.ResourceRequirements {
	or := func(v, def string) string {
		if v == "" {
			return def
		}
		return v
	}
	r := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(or(o.CPURequest, DefaultCPURequest)),
			corev1.ResourceMemory: resource.MustParse(or(o.MemoryRequest, DefaultMemoryRequest)),
		},
		// No CPU limit unless asked: throttling a gateway adds latency to
		// every request it holds.
		Limits: corev1.ResourceList{
			corev1.ResourceMemory: resource.MustParse(or(o.MemoryLimit, DefaultMemoryLimit)),
		},
	}
	if o.CPULimit != "" {
		r.Limits[corev1.ResourceCPU] = resource.MustParse(o.CPULimit)
	}
	return r
}

func service(o Options, meta metav1.ObjectMeta, selector map[string]string) *corev1.Service {
	var ports []corev1.ServicePort
	for _, p := range []struct {
		name string
		port int32
	}{{"http", o.Ports.HTTP}, {"https", o.Ports.HTTPS}} {
		if p.port != 0 {
			ports = append(ports, corev1.ServicePort{Name: p.name, Port: p.port,
				TargetPort: intstr.FromString(p.name), Protocol: corev1.ProtocolTCP})
		}
	}
	typ := o.ServiceType
	if typ == "" {
		typ = corev1.ServiceTypeClusterIP
	}
	// The admin port (metrics, health) is not on the Service: it is for
	// the kubelet and the scraper, which reach pods directly.
	return &corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta,
		Spec:       corev1.ServiceSpec{Type: typ, Selector: selector, Ports: ports},
	}
}

func ptr[T any](v T) *T { return &v }
