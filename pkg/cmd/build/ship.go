package build

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"

	"github.com/micro-gw/micro-gw/pkg/deployconfig"
	"github.com/micro-gw/micro-gw/pkg/image"
	"github.com/micro-gw/micro-gw/pkg/kubernetes"
	"github.com/micro-gw/micro-gw/pkg/project"
)

// shipping is what a build makes besides the executable (docs/deploy.md):
// the image archive, its push, the Kubernetes manifests. It is settled
// from the flags and the deployment config before anything is compiled, so
// that a bad reference fails the build at once.
type shipping struct {
	// tag is the image to build; nil for none.
	tag  *name.Tag
	push bool
	// manifests: write target/kubernetes, with image manifestImage.
	manifests     bool
	manifestImage string
	deploy        *deployconfig.Config
}

// planShipping reads the deployment config (-d) and settles opts: an image
// is built for linux, without cgo (it has no C library).
func planShipping(opts *BuildOptions, wd string) (*shipping, error) {
	s := &shipping{deploy: &deployconfig.Config{}, push: opts.Push, manifests: opts.Kubernetes}
	if opts.DeploymentConfig != "" {
		file := opts.DeploymentConfig
		if !filepath.IsAbs(file) {
			file = filepath.Join(wd, file)
		}
		c, notes, err := deployconfig.Load(file)
		if err != nil {
			return nil, err
		}
		for _, n := range notes {
			fmt.Fprintf(opts.ErrOut, "\tWARNING: %s\n", n)
		}
		s.deploy = c
		s.push = s.push || c.Push()
		s.manifests = s.manifests || c.Kubernetes.Deployment.Enable
	}
	ref := opts.Image
	if ref == "" && s.deploy.Docker.DockerConfig.Enable {
		ref = s.deploy.Image()
	}
	if ref != "" {
		tag, err := image.ParseRef(ref)
		if err != nil {
			return nil, err
		}
		s.tag = &tag
		s.manifestImage = tag.String()
		switch opts.GOOS {
		case "":
			opts.GOOS = "linux"
		case "linux":
		default:
			return nil, fmt.Errorf("--image makes a linux image: --goos %s cannot go into it", opts.GOOS)
		}
		if opts.GOARCH == "" {
			opts.GOARCH = goruntime.GOARCH
		}
	} else if s.push {
		return nil, errors.New("--push needs an image: give --image REF")
	} else {
		s.manifestImage = s.deploy.Kubernetes.Deployment.Image
	}
	if s.manifests && s.manifestImage == "" {
		return nil, errors.New("--kubernetes needs the image the pods run: give --image REF")
	}
	return s, nil
}

// goEnv is the environment of the go command: a gateway for an image is a
// static executable whatever CGO_ENABLED the user has.
func (s *shipping) goEnv(env []string) []string {
	if s.tag == nil {
		return env
	}
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if !strings.HasPrefix(kv, "CGO_ENABLED=") {
			out = append(out, kv)
		}
	}
	return append(out, "CGO_ENABLED=0")
}

// ship makes what s asks for once the executable exe is built.
func (s *shipping) ship(ctx context.Context, opts *BuildOptions, p project.Project, exe, wd string) error {
	if s.tag != nil {
		if err := s.image(ctx, opts, p, exe, wd); err != nil {
			return err
		}
	}
	if s.manifests {
		return s.kubernetes(opts, p, wd)
	}
	return nil
}

func (s *shipping) image(ctx context.Context, opts *BuildOptions, p project.Project, exe, wd string) error {
	fmt.Fprintln(opts.Out, "Building the image")
	files, err := image.ProjectFiles(p)
	if err != nil {
		return err
	}
	files, err = s.copyFiles(p, files)
	if err != nil {
		return err
	}
	created, err := sourceDateEpoch(opts.Getenv)
	if err != nil {
		return err
	}
	img, err := image.Build(image.Spec{
		Name: p.Name, Executable: exe, Files: files, GOARCH: opts.GOARCH, Created: created,
		Labels: map[string]string{
			"org.opencontainers.image.title": p.Name,
			"io.micro-gw.toolkit.version":    opts.Version,
		},
	})
	if err != nil {
		return fmt.Errorf("build the image: %w", err)
	}
	archive := filepath.Join(p.Path(project.TargetDir), p.Name+".image.tar")
	if err := image.WriteArchive(archive, *s.tag, img); err != nil {
		return err
	}
	digest, err := img.Digest()
	if err != nil {
		return err
	}
	id, err := img.ConfigName()
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\t%s: %s\n\timage digest %s, id %s\n", display(wd, archive), s.tag, digest, id)
	if !s.push {
		return nil
	}
	fmt.Fprintf(opts.Out, "Pushing %s\n", s.tag)
	if err := image.Push(ctx, *s.tag, img, opts.Keychain); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\tpushed %s@%s\n", s.tag.Context(), digest)
	return nil
}

// copyFiles adds the deployment config's copied files; one marked
// isBallerinaConf replaces conf/micro-gw.conf.
func (s *shipping) copyFiles(p project.Project, files []image.File) ([]image.File, error) {
	for _, c := range s.deploy.CopyFiles() {
		src := c.Source
		if !filepath.IsAbs(src) {
			src = p.Path(src)
		}
		if c.IsBallerinaConf {
			for i := range files {
				if files[i].Target == project.ConfFile {
					files[i].Source = src
				}
			}
			continue
		}
		files = append(files, image.File{Source: src, Target: filepath.ToSlash(c.Target), Mode: 0o444})
	}
	return files, image.CheckFiles(p, files)
}

// sourceDateEpoch is the image's creation time: SOURCE_DATE_EPOCH (the
// reproducible-builds convention) when set, else Unix time 0, so that the
// same project gives the same digest.
func sourceDateEpoch(getenv func(string) string) (time.Time, error) {
	v := ""
	if getenv != nil {
		v = getenv("SOURCE_DATE_EPOCH")
	}
	if v == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want seconds since 1970", v)
	}
	return time.Unix(n, 0).UTC(), nil
}

func (s *shipping) kubernetes(opts *BuildOptions, p project.Project, wd string) error {
	fmt.Fprintln(opts.Out, "Writing the Kubernetes manifests")
	confFile := p.Path(project.ConfFile)
	if c := s.deploy.Kubernetes.ConfigMap.BallerinaConf; c != "" {
		confFile = c
		if !filepath.IsAbs(c) {
			confFile = p.Path(c)
		}
	}
	conf, err := os.ReadFile(confFile)
	if err != nil {
		return fmt.Errorf("read the conf for the ConfigMap: %w", err)
	}
	cert, err := os.ReadFile(p.Path(project.TLSCertFile))
	if err != nil {
		return fmt.Errorf("read the TLS pair for the Secret: %w", err)
	}
	key, err := os.ReadFile(p.Path(project.TLSKeyFile))
	if err != nil {
		return fmt.Errorf("read the TLS pair for the Secret: %w", err)
	}
	d := s.deploy.Kubernetes.Deployment
	ports, notes, err := kubernetes.ListenerPorts(conf, d.Env)
	if err != nil {
		return fmt.Errorf("%s: %w", display(wd, confFile), err)
	}
	name := p.Name
	if d.Name != "" {
		name = d.Name
	}
	objName, err := kubernetes.ObjectName(name)
	if err != nil {
		return err
	}
	for _, k := range kubernetes.PlainSecrets(conf) {
		notes = append(notes, fmt.Sprintf("%s holds %s in plain text, and goes into a ConfigMap: write it as \"${ENV}\" "+
			"and put the value into the Secret %s-env (docs/deploy.md)", display(wd, confFile), k, objName))
	}
	for _, n := range notes {
		fmt.Fprintf(opts.ErrOut, "\tWARNING: %s\n", n)
	}
	labels := map[string]string{}
	for k, v := range s.deploy.Kubernetes.Service.Labels {
		labels[k] = v
	}
	for k, v := range d.Labels {
		labels[k] = v
	}
	objs, err := kubernetes.Build(kubernetes.Options{
		Name: name, Namespace: d.Namespace, Image: s.manifestImage,
		ImagePullPolicy: corev1.PullPolicy(d.ImagePullPolicy), Replicas: d.Replicas,
		Conf: conf, TLSCert: cert, TLSKey: key, Ports: ports, Env: d.Env, Labels: labels,
		ServiceType: corev1.ServiceType(s.deploy.Kubernetes.Service.ServiceType),
		CPURequest:  d.CPURequest, MemoryRequest: d.MemoryRequest, CPULimit: d.CPULimit, MemoryLimit: d.MemoryLimit,
	})
	if err != nil {
		return fmt.Errorf("kubernetes manifests: %w", err)
	}
	dir := p.Path(project.TargetDir + "/kubernetes")
	if err := kubernetes.Write(dir, objs); err != nil {
		return err
	}
	fmt.Fprintf(opts.Out, "\t%s (kubectl apply -k %s)\n", display(wd, dir), display(wd, dir))
	return nil
}
