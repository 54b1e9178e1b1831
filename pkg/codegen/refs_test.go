package codegen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// writeTree writes files (path relative to a new temporary folder: content)
// and returns the folder.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// withParamRef is doc30 with the petId parameter's schema a $ref to ref.
func withParamRef(ref string) string {
	return strings.Replace(doc30(prodTop, ""), "            type: string\n", "            $ref: '"+ref+"'\n", 1)
}

func TestLocalReferences(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"api.yaml":               withParamRef("./schemas/id.yaml#/PetId"),
		"schemas/id.yaml":        "PetId:\n  $ref: './more/base.yaml#/Base'\n",
		"schemas/more/base.yaml": "Base:\n  type: string\n  maxLength: 36\n",
	})
	d, err := LoadDefinition(context.Background(), filepath.Join(dir, "api.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	schema := d.Doc.Paths.Value("/pet/{petId}").Get.Parameters[0].Value.Schema.Value
	if schema == nil || schema.MaxLength == nil || *schema.MaxLength != 36 {
		t.Fatalf("the referenced schema was not resolved: %+v", schema)
	}
}

// A part that gives a key twice is refused as a definition would be, and
// its lines do not pass for lines of the definition.
func TestReferencedPartWithDuplicateKey(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"api.yaml":        withParamRef("./schemas/id.yaml#/PetId"),
		"schemas/id.yaml": "PetId:\n  type: string\n  maxLength: 36\n  maxLength: 8\n",
	})
	file := filepath.Join(dir, "api.yaml")
	_, err := LoadDefinition(context.Background(), file)
	var de *DefinitionError
	if !errors.As(err, &de) || de.File != file {
		t.Fatalf("got %v, want a *DefinitionError for %s", err, file)
	}
	if want := `schemas/id.yaml: the key "maxLength" is given twice in the same mapping (lines 3 and 4)`; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not say %q", err, want)
	}
	if de.Line == 4 {
		t.Errorf("the part's line 4 is given as the definition's: %v", err)
	}
}

func TestReferencesRefused(t *testing.T) {
	outside := writeTree(t, map[string]string{"secret.yaml": "Secret:\n  type: string\n"})
	tests := []struct {
		name, ref, want string
	}{
		{"parent folder", "../secret.yaml#/Secret", "outside the folder of the definition"},
		{"absolute path", filepath.Join(outside, "secret.yaml") + "#/Secret", "outside the folder of the definition"},
		{"http URL", "http://169.254.169.254/latest/meta-data#/x", "never URLs"},
		{"file URL", "file:///etc/passwd#/x", "never URLs"},
		{"symbolic link out", "./link.yaml#/Secret", "outside the folder of the definition"},
		{"missing file", "./nope.yaml#/X", "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, map[string]string{"defs/api.yaml": withParamRef(tt.ref)})
			if err := os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte("Secret:\n  type: string\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(filepath.Join(outside, "secret.yaml"), filepath.Join(dir, "defs", "link.yaml")); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "defs", "api.yaml")
			_, err := LoadDefinition(context.Background(), file)
			var de *DefinitionError
			if !errors.As(err, &de) || de.File != file {
				t.Fatalf("got %v, want a *DefinitionError for %s", err, file)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not say %q", err, tt.want)
			}
		})
	}
}

func TestSymlinkInsideFolderFollowed(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"api.yaml":          withParamRef("./link.yaml#/Id"),
		"shared/types.yaml": "Id:\n  type: string\n  minLength: 3\n",
	})
	if err := os.Symlink(filepath.Join(dir, "shared", "types.yaml"), filepath.Join(dir, "link.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDefinition(context.Background(), filepath.Join(dir, "api.yaml")); err != nil {
		t.Fatal(err)
	}
}

func TestLenientValidationWarns(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"bad example", "            type: integer\n            example: not-a-number\n", "invalid example"},
		{"pattern Go cannot compile", "            type: string\n            pattern: '^[a-z]{0,4096}$'\n", "invalid repeat count"},
		{"bad default", "            type: integer\n            default: nope\n", "invalid default"},
		{"unknown type", "            type: integr\n", "unsupported 'type' value"},
		{"array without items", "            type: array\n", "'items' must be non-null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := writeDef(t, "api.yaml", strings.Replace(doc30(prodTop, ""), "            type: string\n", tt.schema, 1))
			loaded, err := LoadAll(context.Background(), []string{file})
			if err != nil {
				t.Fatalf("the build stops on a fault the gateway does not use: %v", err)
			}
			w := loaded[0].Warnings
			if len(w) == 0 || !strings.Contains(w[0].Error(), tt.want) || w[0].File != file {
				t.Fatalf("warnings %v, want one saying %q", w, tt.want)
			}
			if strings.Contains(w[0].Error(), "\n") {
				t.Errorf("warning spans lines: %q", w[0].Error())
			}
		})
	}
	// A fault in what the gateway uses still fails, even after one it
	// overlooks: a security requirement naming no scheme.
	bad := strings.Replace(doc30(prodTop, "security: [{nope: []}]"), "            type: string\n", "            type: integr\n", 1)
	if _, err := LoadAll(context.Background(), []string{writeDef(t, "api.yaml", bad)}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("a security requirement of no scheme: %v", err)
	}
}

func TestSwagger2EmptyPaths(t *testing.T) {
	file := writeDef(t, "api.yaml", "swagger: '2.0'\ninfo: {title: t, version: '1'}\nx-wso2-production-endpoints: {urls: ['http://b']}\npaths: {}\n")
	api, err := loadAPI(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	if len(api.Resources) != 0 {
		t.Fatalf("resources %v", api.Resources)
	}
}

func TestPartFileHint(t *testing.T) {
	file := writeDef(t, "parts.yaml", "Pet:\n  type: object\n")
	_, err := loadAPI(context.Background(), file)
	if err == nil || !strings.Contains(err.Error(), "go in a subfolder of api_definitions/") {
		t.Fatalf("got %v", err)
	}
}

func TestUnusedByGatewayCodes(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("example: %w", &openapi3.SchemaError{Reason: "got string, want integer"}), true},
		{&openapi3.SchemaItemsRequired{}, true},
		{&openapi3.ExclusiveBoundBooleanBefore31{}, true},
		{&openapi3.SecurityRequirementSchemeUndefinedError{}, false},
		{errors.New("an uncoded fault"), false},
	} {
		if got := unusedByGateway(tc.err); got != tc.want {
			t.Errorf("unusedByGateway(%T) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
