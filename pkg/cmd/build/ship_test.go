package build

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"

	"github.com/micro-gw/micro-gw/pkg/cmd/factory"
	"github.com/micro-gw/micro-gw/pkg/project"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// --image and --kubernetes after the (fake) compile: the archive, the
// manifests, and what the build prints; the go command ran for linux and
// without cgo, whatever the environment said.
func TestBuildImageAndManifests(t *testing.T) {
	b := newFakeBuild(t, "../../../samples/petstore_basic.yaml")
	b.opts.GOOS, b.opts.GOARCH = "", ""
	env := b.opts.Environ
	b.opts.Environ = func() []string { return append(env(), "CGO_ENABLED=1") }
	b.opts.Image = "registry.example/team/pets:1.0"
	b.opts.Kubernetes = true
	if err := buildRun(t.Context(), b.opts); err != nil {
		t.Fatalf("%v\n%s", err, b.errOut.String())
	}
	digest := regexp.MustCompile(`sha256:[0-9a-f]{64}`)
	got := digest.ReplaceAllString(regexp.MustCompile(`\(\d[^)]*\)`).ReplaceAllString(b.out.String(), "(D)"), "sha256:X")
	for _, want := range []string{
		"Building the image\n\tpets/target/pets.image.tar: registry.example/team/pets:1.0\n\timage digest sha256:X, id sha256:X\n",
		"Writing the Kubernetes manifests\n\tpets/target/kubernetes (kubectl apply -k pets/target/kubernetes)\nBUILD SUCCESSFUL",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("printed\n%s\nwant\n%s", got, want)
		}
	}
	calls, _ := os.ReadFile(b.goLog)
	if !strings.Contains(string(calls), "GOOS=linux") || strings.Contains(string(calls), "CGO_ENABLED=1") {
		t.Errorf("the image's executable is not a static linux one:\n%s", calls)
	}

	img, err := tarball.ImageFromPath(b.p.Path("target/pets.image.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil || cfg.Config.Entrypoint[0] != "/gateway/target/pets" {
		t.Fatalf("image config %+v %v", cfg, err)
	}
	first, _ := img.Digest()

	data, err := os.ReadFile(b.p.Path("target/kubernetes/deployment.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var d appsv1.Deployment
	if err := yaml.UnmarshalStrict(data, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != "registry.example/team/pets:1.0" {
		t.Errorf("deployment runs %q", c.Image)
	}
	// Every MGW_ variable the Deployment sets names a key of the conf, as
	// the gateway reads them (an unknown one would stop it).
	var podEnv []string
	for _, e := range c.Env {
		podEnv = append(podEnv, e.Name+"="+e.Value)
	}
	conf, err := config.LoadSources(config.Sources{File: b.p.Path(project.ConfFile), Env: podEnv})
	if err != nil {
		t.Fatalf("the Deployment's environment: %v", err)
	}
	if conf.Listener.CertFile != "/gateway/tls/tls.crt" || conf.Listener.KeyFile != "/gateway/tls/tls.key" {
		t.Errorf("TLS pair from the Secret: %s %s", conf.Listener.CertFile, conf.Listener.KeyFile)
	}

	// The same project built again: the same digest.
	b.out.Reset()
	if err := buildRun(t.Context(), b.opts); err != nil {
		t.Fatalf("%v\n%s", err, b.errOut.String())
	}
	again, err := tarball.ImageFromPath(b.p.Path("target/pets.image.tar"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if second, _ := again.Digest(); second != first {
		t.Errorf("a second build gave %s, the first %s", second, first)
	}
}

// The deployment config sets what the flags set; its errors name file,
// line and key; a wrong combination fails before anything compiles.
func TestBuildDeploymentConfig(t *testing.T) {
	b := newFakeBuild(t, "../../../samples/petstore_basic.yaml")
	b.opts.GOOS = ""
	conf := filepath.Join(b.wd, "pets", "conf", "deployment-config.toml")
	write := func(s string) {
		if err := os.WriteFile(conf, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`[docker.dockerConfig]
enable = true
name = "pets"
registry = "registry.example/team"
tag = "2.0"
dockerHost = "unix:///var/run/docker.sock"
[kubernetes.kubernetesDeployment]
enable = true
replicas = 1
`)
	b.opts.DeploymentConfig = "pets/conf/deployment-config.toml"
	if err := buildRun(t.Context(), b.opts); err != nil {
		t.Fatalf("%v\n%s", err, b.errOut.String())
	}
	if !strings.Contains(b.out.String(), "pets/target/pets.image.tar: registry.example/team/pets:2.0") {
		t.Errorf("printed\n%s", b.out.String())
	}
	if !strings.Contains(b.errOut.String(), "WARNING: "+conf+": docker.dockerConfig.dockerHost has no effect") {
		t.Errorf("no warning about dockerHost:\n%s", b.errOut.String())
	}
	data, _ := os.ReadFile(b.p.Path("target/kubernetes/deployment.yaml"))
	if !strings.Contains(string(data), "replicas: 1\n") || strings.Contains(string(data), "podAntiAffinity") {
		t.Errorf("deployment:\n%s", data)
	}

	for _, tc := range []struct {
		conf string
		edit func(*BuildOptions)
		want string
	}{
		{"[docker.dockerConfig]\nenable = true\nnmae = \"x\"\n", nil, conf + ":3: docker.dockerConfig.nmae: unknown key"},
		{"", func(o *BuildOptions) { o.Push = true }, "--push needs an image"},
		{"", func(o *BuildOptions) { o.Kubernetes = true }, "--kubernetes needs the image"},
		{"", func(o *BuildOptions) { o.Image = "Bad Ref" }, `image reference "Bad Ref:latest"`},
		{"", func(o *BuildOptions) { o.Image, o.GOOS = "r/pets", "darwin" }, "--goos darwin cannot go into it"},
		{"[docker.dockerCopyFiles]\nenable = true\n[[docker.dockerCopyFiles.files]]\nsource = \"security/issuer.key\"\ntarget = \"/k\"\n",
			func(o *BuildOptions) { o.Image = "r/pets" }, "never goes into an image"},
	} {
		write(tc.conf)
		opts := *b.opts
		opts.GOOS = ""
		if tc.edit != nil {
			tc.edit(&opts)
		}
		b.errOut.Reset()
		var exitErr *factory.ExitError
		if err := buildRun(t.Context(), &opts); !errors.As(err, &exitErr) || !strings.Contains(b.errOut.String(), tc.want) {
			t.Errorf("%q: %v\n%s\nwant %q", tc.conf, err, b.errOut.String(), tc.want)
		}
	}
	if _, err := os.Stat(b.p.Path(project.IssuerKeyFile)); err != nil {
		t.Fatal(err)
	}
}
