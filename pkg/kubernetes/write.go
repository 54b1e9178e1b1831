package kubernetes

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"sigs.k8s.io/yaml"
)

// The files Write makes, in the order kustomization.yaml lists them.
const (
	DeploymentFile    = "deployment.yaml"
	ServiceFile       = "service.yaml"
	ConfigMapFile     = "configmap.yaml"
	SecretFile        = "secret.yaml"
	PDBFile           = "poddisruptionbudget.yaml"
	KustomizationFile = "kustomization.yaml"
)

// Kustomization is the part of kustomize's Kustomization (the
// kustomize.config.k8s.io/v1beta1 kind) that the generated one sets; an
// overlay of the operator's adds the rest.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources"`
}

// Write writes objs and their kustomization.yaml to dir, replacing what an
// earlier build left there: the folder is filled under a temporary name and
// renamed into place. The Secret's file holds the TLS private key and is
// readable by its owner only.
func Write(dir string, objs *Objects) error {
	files := []struct {
		name string
		obj  any
		perm os.FileMode
	}{
		{DeploymentFile, objs.Deployment, 0o644},
		{ServiceFile, objs.Service, 0o644},
		{ConfigMapFile, objs.ConfigMap, 0o644},
		{SecretFile, objs.Secret, 0o600},
		{PDBFile, objs.PodDisruptionBudget, 0o644},
	}
	k := Kustomization{APIVersion: "kustomize.config.k8s.io/v1beta1", Kind: "Kustomization",
		Namespace: objs.Deployment.Namespace}
	for _, f := range files {
		k.Resources = append(k.Resources, f.name)
	}
	files = append(files, struct {
		name string
		obj  any
		perm os.FileMode
	}{KustomizationFile, k, 0o644})

	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return fmt.Errorf("write kubernetes manifests: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+"-")
	if err != nil {
		return fmt.Errorf("write kubernetes manifests: %w", err)
	}
	defer os.RemoveAll(tmp) // a no-op once renamed
	for _, f := range files {
		data, err := Marshal(f.obj)
		if err != nil {
			return fmt.Errorf("write %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(tmp, f.name), data, f.perm); err != nil {
			return fmt.Errorf("write kubernetes manifests: %w", err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("write kubernetes manifests: %w", err)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("write kubernetes manifests: %w", err)
	}
	return nil
}

// Marshal is obj as YAML, through its JSON form (the field names and
// omissions of its json tags), without the fields a typed object carries
// empty but no one writes: "creationTimestamp: null" and "status: {}".
func Marshal(obj any) ([]byte, error) {
	j, err := json.Marshal(obj)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(j, &m); err != nil {
		return nil, err
	}
	if s, ok := m["status"].(map[string]any); ok && len(s) == 0 {
		delete(m, "status")
	}
	dropNullTimestamps(m)
	return yaml.Marshal(m)
}

func dropNullTimestamps(v any) {
	switch v := v.(type) {
	case map[string]any:
		if t, ok := v["creationTimestamp"]; ok && t == nil {
			delete(v, "creationTimestamp")
		}
		for _, e := range v {
			dropNullTimestamps(e)
		}
	case []any:
		for _, e := range v {
			dropNullTimestamps(e)
		}
	}
}
