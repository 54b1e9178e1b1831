package kubernetes

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

func testOptions() Options {
	return Options{
		Name:    "Pet_Store",
		Image:   "registry.example/team/petstore:1.0",
		Conf:    []byte("[log]\nlevel = \"INFO\"\n"),
		TLSCert: []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
		TLSKey:  []byte("-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n"),
		Ports:   DefaultPorts,
		Env:     map[string]string{"MGW_TOKENREVOCATIONCONFIG_PERSISTENT_ENDPOINTS": `["https://etcd-0:2379"]`},
		Labels:  map[string]string{"team": "pets"},
	}
}

// strict decodes a file into its k8s.io/api type; a field the type does not
// have is an error.
func strict[T any](t *testing.T, file string) *T {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	v := new(T)
	if err := yaml.UnmarshalStrict(data, v); err != nil {
		t.Fatalf("%s does not decode strictly into %T: %v", filepath.Base(file), v, err)
	}
	return v
}

func writeManifests(t *testing.T, o Options) string {
	t.Helper()
	objs, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "target", "kubernetes")
	if err := Write(dir, objs); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestManifests(t *testing.T) {
	dir := writeManifests(t, testOptions())

	d := strict[appsv1.Deployment](t, filepath.Join(dir, DeploymentFile))
	if d.APIVersion != "apps/v1" || d.Kind != "Deployment" || d.Name != "pet-store" {
		t.Fatalf("deployment %s %s %s", d.APIVersion, d.Kind, d.Name)
	}
	if *d.Spec.Replicas != DefaultReplicas || d.Spec.Strategy.RollingUpdate.MaxUnavailable.IntValue() != 0 {
		t.Errorf("replicas %d, strategy %+v", *d.Spec.Replicas, d.Spec.Strategy.RollingUpdate)
	}
	pod := d.Spec.Template.Spec
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Error("enableServiceLinks is not false: a Service named mgw would inject MGW_PORT")
	}
	if *pod.SecurityContext.RunAsNonRoot != true || *pod.SecurityContext.RunAsUser == 0 {
		t.Error("pod may run as root")
	}
	if grace := *pod.TerminationGracePeriodSeconds; grace <= DrainSeconds+PreStopSeconds {
		t.Errorf("grace period %d s is not longer than the preStop pause and the drain", grace)
	}
	aa := pod.Affinity.PodAntiAffinity.PreferredDuringSchedulingIgnoredDuringExecution
	if len(aa) != 1 || aa[0].PodAffinityTerm.TopologyKey != "kubernetes.io/hostname" {
		t.Errorf("anti-affinity across nodes: %+v", aa)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != "registry.example/team/petstore:1.0" {
		t.Errorf("image %q", c.Image)
	}
	sc := c.SecurityContext
	if !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Errorf("container security context %+v", sc)
	}
	if c.ReadinessProbe.HTTPGet.Path != "/health/ready" || c.LivenessProbe.HTTPGet.Path != "/health/live" ||
		c.ReadinessProbe.HTTPGet.Port.StrVal != "admin" {
		t.Errorf("probes: %+v %+v", c.ReadinessProbe.HTTPGet, c.LivenessProbe.HTTPGet)
	}
	if c.Lifecycle.PreStop.Sleep.Seconds != PreStopSeconds {
		t.Errorf("preStop %+v", c.Lifecycle.PreStop)
	}
	if c.Resources.Requests.Cpu().String() != DefaultCPURequest || c.Resources.Limits.Memory().String() != DefaultMemoryLimit {
		t.Errorf("resources %+v", c.Resources)
	}
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["MGW_LISTENERCONFIG_CERTFILE"] != "/gateway/tls/tls.crt" || env["MGW_LISTENERCONFIG_KEYFILE"] != "/gateway/tls/tls.key" ||
		env["MGW_TOKENREVOCATIONCONFIG_PERSISTENT_ENDPOINTS"] != `["https://etcd-0:2379"]` {
		t.Errorf("env %v", env)
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["conf"] != "/gateway/conf" || mounts["tls"] != "/gateway/tls" {
		t.Errorf("mounts %v", mounts)
	}
	if d.Spec.Template.Labels["team"] != "pets" || d.Spec.Template.Annotations["micro-gw.io/config-sha256"] == "" {
		t.Errorf("template labels %v annotations %v", d.Spec.Template.Labels, d.Spec.Template.Annotations)
	}

	svc := strict[corev1.Service](t, filepath.Join(dir, ServiceFile))
	if svc.Spec.Type != corev1.ServiceTypeClusterIP || len(svc.Spec.Ports) != 2 || svc.Spec.Selector["app.kubernetes.io/name"] != "pet-store" {
		t.Errorf("service %+v", svc.Spec)
	}
	cm := strict[corev1.ConfigMap](t, filepath.Join(dir, ConfigMapFile))
	if cm.Name != "pet-store-conf" || cm.Data[ConfKey] != "[log]\nlevel = \"INFO\"\n" {
		t.Errorf("configmap %s %q", cm.Name, cm.Data)
	}
	sec := strict[corev1.Secret](t, filepath.Join(dir, SecretFile))
	if sec.Type != corev1.SecretTypeTLS || !bytes.Contains(sec.Data["tls.key"], []byte("PRIVATE KEY")) {
		t.Errorf("secret %s %v", sec.Type, sec.Data)
	}
	if fi, _ := os.Stat(filepath.Join(dir, SecretFile)); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.yaml is %v; it holds a private key", fi.Mode().Perm())
	}
	pdb := strict[policyv1.PodDisruptionBudget](t, filepath.Join(dir, PDBFile))
	if pdb.Spec.MaxUnavailable.IntValue() != 1 || pdb.Spec.Selector.MatchLabels["app.kubernetes.io/name"] != "pet-store" {
		t.Errorf("pdb %+v", pdb.Spec)
	}
	k := strict[Kustomization](t, filepath.Join(dir, KustomizationFile))
	if len(k.Resources) != 5 {
		t.Errorf("kustomization resources %v", k.Resources)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, DeploymentFile))
	if bytes.Contains(raw, []byte("creationTimestamp")) || bytes.Contains(raw, []byte("status:")) {
		t.Errorf("deployment.yaml carries empty fields:\n%s", raw)
	}
}

// One replica: no anti-affinity (nothing to spread), and the PDB still lets
// a node drain.
func TestOneReplica(t *testing.T) {
	o := testOptions()
	o.Replicas = 1
	o.Namespace = "gateways"
	objs, err := Build(o)
	if err != nil {
		t.Fatal(err)
	}
	if objs.Deployment.Spec.Template.Spec.Affinity != nil {
		t.Errorf("affinity for one replica: %+v", objs.Deployment.Spec.Template.Spec.Affinity)
	}
	if objs.Service.Namespace != "gateways" || objs.Secret.Namespace != "gateways" {
		t.Error("namespace not set on every object")
	}
}

func TestOptionErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		edit func(*Options)
		want string
	}{
		"no image":      {func(o *Options) { o.Image = "" }, "no image"},
		"bad namespace": {func(o *Options) { o.Namespace = "Prod_1" }, `namespace "Prod_1"`},
		"bad label":     {func(o *Options) { o.Labels = map[string]string{"team": "a b"} }, `label team="a b"`},
		"bad env":       {func(o *Options) { o.Env = map[string]string{"1X": "y"} }, `environment variable "1X"`},
		"bad quantity":  {func(o *Options) { o.MemoryLimit = "lots" }, `memoryLimit "lots"`},
		"bad service":   {func(o *Options) { o.ServiceType = "ExternalName" }, `serviceType "ExternalName"`},
		"no admin":      {func(o *Options) { o.Ports.Admin = 0 }, "admin listener off"},
		"bad name":      {func(o *Options) { o.Name = "___" }, `project name "___"`},
	} {
		o := testOptions()
		tc.edit(&o)
		if _, err := Build(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// kubectl's own kustomize renders the folder, and what it renders decodes
// strictly again. kubectl ships on the project's machines; a machine
// without it skips, CI (CI=true) does not.
func TestKubectlKustomize(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("kubectl is not installed; CI needs it (docs/testing.md)")
		}
		t.Skip("kubectl is not installed")
	}
	o := testOptions()
	o.Namespace = "gateways"
	dir := writeManifests(t, o)
	out, err := exec.Command(kubectl, "kustomize", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v\n%s", err, out)
	}
	docs := strings.Split(string(out), "\n---\n")
	kinds := map[string]bool{}
	for _, doc := range docs {
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Namespace string `json:"namespace"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatal(err)
		}
		kinds[meta.Kind] = true
		if meta.Metadata.Namespace != "gateways" {
			t.Errorf("%s rendered in namespace %q", meta.Kind, meta.Metadata.Namespace)
		}
		var target any
		switch meta.Kind {
		case "Deployment":
			target = &appsv1.Deployment{}
		case "Service":
			target = &corev1.Service{}
		case "ConfigMap":
			target = &corev1.ConfigMap{}
		case "Secret":
			target = &corev1.Secret{}
		case "PodDisruptionBudget":
			target = &policyv1.PodDisruptionBudget{}
		default:
			t.Fatalf("kustomize rendered an unexpected %q", meta.Kind)
		}
		if err := yaml.UnmarshalStrict([]byte(doc), target); err != nil {
			t.Errorf("rendered %s: %v", meta.Kind, err)
		}
	}
	if len(kinds) != 5 {
		t.Errorf("rendered kinds %v", kinds)
	}
}
