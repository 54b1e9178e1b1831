package deployconfig

import (
	"slices"
	"strings"
	"testing"
)

// The original's default file, with the image, the deployment and the
// ConfigMap switched on.
const original = `[docker]
  [docker.dockerConfig]
    enable = true
    name = "petstore"
    registry = 'registry.example/team'
    tag = 'v1'
    #buildImage = ''
    dockerHost = 'unix:///var/run/docker.sock'
    baseImage = 'wso2/wso2micro-gw:3.2.0'
  [docker.dockerCopyFiles]
    enable = true
    [[docker.dockerCopyFiles.files]]
        source = 'extensions/revoked_tokens.txt'
        target = 'extensions/revoked_tokens.txt'
        isBallerinaConf = false
[kubernetes]
  [kubernetes.kubernetesDeployment]
    enable = true
    replicas = 3
    namespace = "gateways"
    labels = { team = "pets" }
    env = { MGW_TOKENREVOCATIONCONFIG_PERSISTENT_ENDPOINTS = '["https://etcd-0.etcd:2379"]' }
    memoryLimit = "1Gi"
    periodSeconds = 5
  [kubernetes.kubernetesService]
    enable = true
    serviceType = 'NodePort'
  [kubernetes.kubernetesIngress]
    enable = false
    hostname = 'gw.example.com'
  [kubernetes.kubernetesConfigMap]
    enable = true
    ballerinaConf = 'conf/micro-gw.conf'
`

func TestParseOriginal(t *testing.T) {
	c, notes, err := Parse("deployment-config.toml", []byte(original))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Image(); got != "registry.example/team/petstore:v1" {
		t.Errorf("image %q", got)
	}
	d := c.Kubernetes.Deployment
	if !d.Enable || d.Replicas != 3 || d.Namespace != "gateways" || d.Labels["team"] != "pets" || d.MemoryLimit != "1Gi" ||
		d.Env["MGW_TOKENREVOCATIONCONFIG_PERSISTENT_ENDPOINTS"] == "" {
		t.Errorf("deployment %+v", d)
	}
	if c.Kubernetes.Service.ServiceType != "NodePort" {
		t.Errorf("service %+v", c.Kubernetes.Service)
	}
	if files := c.CopyFiles(); len(files) != 1 || files[0].Source != "extensions/revoked_tokens.txt" {
		t.Errorf("copy files %+v", files)
	}
	want := []string{
		"deployment-config.toml: docker.dockerConfig.baseImage has no effect in micro-gw",
		"deployment-config.toml: docker.dockerConfig.dockerHost has no effect in micro-gw",
		"deployment-config.toml: kubernetes.kubernetesDeployment.periodSeconds has no effect in micro-gw",
	}
	if !slices.Equal(notes, want) {
		t.Errorf("notes:\n%s", strings.Join(notes, "\n"))
	}
}

func TestParseErrors(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"unknown key": {"[docker.dockerConfig]\nenable = true\nname = \"x\"\nregistyr = \"r\"\n",
			"f.toml:4: docker.dockerConfig.registyr: unknown key"},
		"wrong type": {"[kubernetes.kubernetesDeployment]\n\nreplicas = \"three\"\n",
			"f.toml:3: kubernetes.kubernetesDeployment.replicas:"},
		"ingress": {"[kubernetes.kubernetesIngress]\nenable = true\n",
			"f.toml: kubernetes.kubernetesIngress.enable: micro-gw does not generate this"},
		"password": {"[docker.dockerConfig]\npassword = \"hunter2\"\n",
			"registry credentials are not read from the deployment config"},
		"no name": {"[docker.dockerConfig]\nenable = true\n", "docker.dockerConfig.name: the image needs a name"},
		"two confs": {"[docker.dockerCopyFiles]\nenable = true\n[[docker.dockerCopyFiles.files]]\nsource='a'\ntarget='b'\nisBallerinaConf=true\n" +
			"[[docker.dockerCopyFiles.files]]\nsource='c'\ntarget='d'\nisBallerinaConf=true\n", "more than one file"},
		"not toml": {"[docker\n", "f.toml:1"},
	} {
		_, _, err := Parse("f.toml", []byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(original))
	f.Add([]byte("[kubernetes.kubernetesHpa]\nenable = true\n"))
	f.Add([]byte("[docker.dockerConfig]\nenable = 1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, _, err := Parse("f.toml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "f.toml") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		_ = c.Image()
		_ = c.CopyFiles()
	})
}
