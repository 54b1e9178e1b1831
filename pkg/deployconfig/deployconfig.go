// Package deployconfig reads the original toolkit's deployment
// configuration (`micro-gw build -d conf/deployment-config.toml`): its
// [docker] and [kubernetes] sections set what --image, --push and
// --kubernetes set, and a few things more (replicas, resources, labels,
// extra environment). Keys of the original that mean nothing for an image
// made without a daemon (dockerHost, baseImage, ...) are accepted and
// reported as having no effect; an unknown key, a wrong type or a section
// of the original that micro-gw does not generate (ingress, HPA, jobs) is
// an error naming the file, the line and the key.
package deployconfig

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/pelletier/go-toml/v2"

	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// Config is a deployment-config.toml.
type Config struct {
	Docker     Docker     `toml:"docker"`
	Kubernetes Kubernetes `toml:"kubernetes"`
}

// Docker is [docker].
type Docker struct {
	DockerConfig    DockerConfig `toml:"dockerConfig"`
	DockerCopyFiles CopyFiles    `toml:"dockerCopyFiles"`
}

// DockerConfig is [docker.dockerConfig]: the image is
// registry/name:tag.
type DockerConfig struct {
	Enable   bool   `toml:"enable"`
	Name     string `toml:"name"`
	Registry string `toml:"registry"`
	Tag      string `toml:"tag"`
	Push     bool   `toml:"push"`
	// The original's registry credentials. Refused when set: a password
	// belongs in ~/.docker/config.json or a credential helper, not in a
	// file of the project.
	Username string `toml:"username"`
	Password string `toml:"password"`
	noEffect
}

// noEffect holds keys of the original that an image made without a daemon
// and from no base image has no use for.
type noEffect struct {
	BuildImage     any `toml:"buildImage"`
	DockerHost     any `toml:"dockerHost"`
	DockerCertPath any `toml:"dockerCertPath"`
	BaseImage      any `toml:"baseImage"`
	EnableDebug    any `toml:"enableDebug"`
	DebugPort      any `toml:"debugPort"`
}

// CopyFiles is [docker.dockerCopyFiles] (and the deployment's copyFiles):
// more files of the project for the image.
type CopyFiles struct {
	Enable bool       `toml:"enable"`
	Files  []CopyFile `toml:"files"`
}

// CopyFile is one [[...files]] table.
type CopyFile struct {
	// Source is relative to the project root, or absolute.
	Source string `toml:"source"`
	// Target is the file's absolute path in the image, or relative to the
	// project's folder there (/gateway).
	Target string `toml:"target"`
	// IsBallerinaConf marks the file that replaces conf/micro-gw.conf.
	IsBallerinaConf bool `toml:"isBallerinaConf"`
}

// Kubernetes is [kubernetes].
type Kubernetes struct {
	Deployment Deployment  `toml:"kubernetesDeployment"`
	Service    Service     `toml:"kubernetesService"`
	ConfigMap  ConfigMap   `toml:"kubernetesConfigMap"`
	Secret     Unsupported `toml:"kubernetesSecret"`
	// Sections of the original that micro-gw does not generate.
	Ingress       Unsupported `toml:"kubernetesIngress"`
	SecureIngress Unsupported `toml:"secureKubernetesIngress"`
	HPA           Unsupported `toml:"kubernetesHpa"`
	PVC           Unsupported `toml:"kubernetesPersistentVolumeClaim"`
	Job           Unsupported `toml:"kubernetesJob"`
	ServiceHTTP   Unsupported `toml:"kubernetesServiceHttp"`
	ServiceHTTPS  Unsupported `toml:"kubernetesServiceHttps"`
}

// Deployment is [kubernetes.kubernetesDeployment].
type Deployment struct {
	Enable          bool              `toml:"enable"`
	Name            string            `toml:"name"`
	Namespace       string            `toml:"namespace"`
	Labels          map[string]string `toml:"labels"`
	Replicas        int32             `toml:"replicas"`
	ImagePullPolicy string            `toml:"imagePullPolicy"`
	Image           string            `toml:"image"`
	// Env is added to the container's environment: MGW_* overrides of
	// micro-gw.conf (etcd and broker endpoints, ...).
	Env           map[string]string `toml:"env"`
	CPURequest    string            `toml:"cpuRequest"`
	MemoryRequest string            `toml:"memoryRequest"`
	CPULimit      string            `toml:"cpuLimit"`
	MemoryLimit   string            `toml:"memoryLimit"`
	Push          bool              `toml:"push"`
	CopyFiles     CopyFiles         `toml:"copyFiles"`
	// The original's probe settings: the generated probes are fixed
	// (docs/deploy.md), these have no effect.
	EnableLiveness      any    `toml:"enableLiveness"`
	InitialDelaySeconds any    `toml:"initialDelaySeconds"`
	PeriodSeconds       any    `toml:"periodSeconds"`
	LivenessPort        any    `toml:"livenessPort"`
	SingleYAML          any    `toml:"singleYAML"`
	Username            string `toml:"username"`
	Password            string `toml:"password"`
	noEffect
}

// Service is [kubernetes.kubernetesService].
type Service struct {
	Enable      bool              `toml:"enable"`
	Name        string            `toml:"name"`
	Labels      map[string]string `toml:"labels"`
	ServiceType string            `toml:"serviceType"`
	Port        any               `toml:"port"`
}

// ConfigMap is [kubernetes.kubernetesConfigMap].
type ConfigMap struct {
	Enable bool `toml:"enable"`
	// BallerinaConf is the conf the ConfigMap holds, relative to the
	// project root; conf/micro-gw.conf when empty.
	BallerinaConf string `toml:"ballerinaConf"`
	ConfigMaps    any    `toml:"configMaps"`
}

// Unsupported is a section of the original that micro-gw does not
// generate: any keys, refused when enable = true.
type Unsupported map[string]any

// Error is a fault of the file: its line where known, and the dotted key;
// the same as a fault of micro-gw.conf.
type Error = config.Error

// maxSize bounds what Load reads: a deployment config is a few hundred bytes.
const maxSize = 1 << 20

// Load reads file. Notes are the keys that have no effect, one line each,
// for the build to print as warnings.
func Load(file string) (*Config, []string, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, &Error{File: file, Err: err}
	}
	return Parse(file, data)
}

// Parse is Load of data read from file.
func Parse(file string, data []byte) (*Config, []string, error) {
	if len(data) > maxSize {
		return nil, nil, &Error{File: file, Err: fmt.Errorf("larger than %d bytes: not a deployment config", maxSize)}
	}
	var c Config
	dec := toml.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, nil, decodeError(file, err)
	}
	var notes []string
	note := func(key string, v any) {
		if v != nil {
			notes = append(notes, fmt.Sprintf("%s: %s has no effect in micro-gw", file, key))
		}
	}
	for prefix, n := range map[string]noEffect{
		"docker.dockerConfig.":             c.Docker.DockerConfig.noEffect,
		"kubernetes.kubernetesDeployment.": c.Kubernetes.Deployment.noEffect,
	} {
		note(prefix+"buildImage", n.BuildImage)
		note(prefix+"dockerHost", n.DockerHost)
		note(prefix+"dockerCertPath", n.DockerCertPath)
		note(prefix+"baseImage", n.BaseImage)
		note(prefix+"enableDebug", n.EnableDebug)
		note(prefix+"debugPort", n.DebugPort)
	}
	d := c.Kubernetes.Deployment
	note("kubernetes.kubernetesDeployment.enableLiveness", d.EnableLiveness)
	note("kubernetes.kubernetesDeployment.initialDelaySeconds", d.InitialDelaySeconds)
	note("kubernetes.kubernetesDeployment.periodSeconds", d.PeriodSeconds)
	note("kubernetes.kubernetesDeployment.livenessPort", d.LivenessPort)
	note("kubernetes.kubernetesDeployment.singleYAML", d.SingleYAML)
	note("kubernetes.kubernetesService.port", c.Kubernetes.Service.Port)
	note("kubernetes.kubernetesConfigMap.configMaps", c.Kubernetes.ConfigMap.ConfigMaps)
	slices.Sort(notes)
	if err := c.check(file); err != nil {
		return nil, nil, err
	}
	return &c, notes, nil
}

func (c *Config) check(file string) error {
	fail := func(key string, err error) error { return &Error{File: file, Key: key, Err: err} }
	for key, creds := range map[string][2]string{
		"docker.dockerConfig":             {c.Docker.DockerConfig.Username, c.Docker.DockerConfig.Password},
		"kubernetes.kubernetesDeployment": {c.Kubernetes.Deployment.Username, c.Kubernetes.Deployment.Password},
	} {
		if creds[0] != "" || creds[1] != "" {
			return fail(key+".username", errors.New("registry credentials are not read from the deployment config: "+
				"log in with `docker login` or `podman login` (~/.docker/config.json), which --push uses"))
		}
	}
	for _, s := range []struct {
		key string
		sec Unsupported
		why string
	}{
		{"kubernetes.kubernetesSecret", c.Kubernetes.Secret, "the TLS pair's Secret is always generated; other secrets go into the Secret <name>-env (docs/deploy.md)"},
		{"kubernetes.kubernetesIngress", c.Kubernetes.Ingress, "add an Ingress in a kustomize overlay (docs/deploy.md)"},
		{"kubernetes.secureKubernetesIngress", c.Kubernetes.SecureIngress, "add an Ingress in a kustomize overlay (docs/deploy.md)"},
		{"kubernetes.kubernetesHpa", c.Kubernetes.HPA, "add a HorizontalPodAutoscaler in a kustomize overlay (docs/deploy.md)"},
		{"kubernetes.kubernetesPersistentVolumeClaim", c.Kubernetes.PVC, "the gateway keeps no state on disk"},
		{"kubernetes.kubernetesJob", c.Kubernetes.Job, "a gateway is a Deployment"},
		{"kubernetes.kubernetesServiceHttp", c.Kubernetes.ServiceHTTP, "the one Service has the http and https ports"},
		{"kubernetes.kubernetesServiceHttps", c.Kubernetes.ServiceHTTPS, "the one Service has the http and https ports"},
	} {
		if on, _ := s.sec["enable"].(bool); on {
			return fail(s.key+".enable", fmt.Errorf("micro-gw does not generate this: %s", s.why))
		}
	}
	if c.Docker.DockerConfig.Enable && c.Docker.DockerConfig.Name == "" {
		return fail("docker.dockerConfig.name", errors.New("the image needs a name"))
	}
	confs := 0
	for _, f := range c.CopyFiles() {
		if f.Source == "" || f.Target == "" {
			return fail("docker.dockerCopyFiles.files", errors.New("every file needs a source and a target"))
		}
		if f.IsBallerinaConf {
			confs++
		}
	}
	if confs > 1 {
		return fail("docker.dockerCopyFiles.files", errors.New("more than one file has isBallerinaConf = true"))
	}
	return nil
}

// Image is the reference [docker.dockerConfig] names when enabled
// (registry/name:tag), else the deployment's image; "" when neither.
func (c *Config) Image() string {
	if d := c.Docker.DockerConfig; d.Enable {
		ref := d.Name
		if d.Registry != "" {
			ref = strings.TrimSuffix(d.Registry, "/") + "/" + ref
		}
		if d.Tag != "" {
			ref += ":" + d.Tag
		}
		return ref
	}
	return c.Kubernetes.Deployment.Image
}

// Push reports whether either section asks for the image to be pushed.
func (c *Config) Push() bool {
	return c.Docker.DockerConfig.Push || c.Kubernetes.Deployment.Push
}

// CopyFiles are the enabled copy lists of both sections.
func (c *Config) CopyFiles() []CopyFile {
	var out []CopyFile
	if c.Docker.DockerCopyFiles.Enable {
		out = append(out, c.Docker.DockerCopyFiles.Files...)
	}
	if c.Kubernetes.Deployment.CopyFiles.Enable {
		out = append(out, c.Kubernetes.Deployment.CopyFiles.Files...)
	}
	return out
}

// decodeError names the line and key of a go-toml error.
func decodeError(file string, err error) error {
	var strict *toml.StrictMissingError
	if errors.As(err, &strict) && len(strict.Errors) > 0 {
		e := strict.Errors[0]
		line, _ := e.Position()
		return &Error{File: file, Line: line, Key: strings.Join(e.Key(), "."), Err: errors.New("unknown key")}
	}
	var de *toml.DecodeError
	if errors.As(err, &de) {
		line, _ := de.Position()
		return &Error{File: file, Line: line, Key: strings.Join(de.Key(), "."),
			Err: errors.New(strings.TrimPrefix(de.Error(), "toml: "))}
	}
	return &Error{File: file, Err: err}
}
