package codegen

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// LoadAll tells which files a definition's $refs made it read: init copies
// them with the definition.
func TestLoadAllParts(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"api.yaml":               withParamRef("./schemas/id.yaml#/PetId"),
		"schemas/id.yaml":        "PetId:\n  $ref: './more/base.yaml#/Base'\n",
		"schemas/more/base.yaml": "Base: {type: string}\n",
		"schemas/unused.yaml":    "Unused: {type: string}\n",
	})
	loaded, err := LoadAll(context.Background(), []string{filepath.Join(dir, "api.yaml")})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(dir, "schemas", "id.yaml"), filepath.Join(dir, "schemas", "more", "base.yaml")}
	if got := loaded[0].Parts; !reflect.DeepEqual(got, want) {
		t.Fatalf("parts %v, want %v", got, want)
	}
}

// A $ref to a file that does not exist is reported at the line of the $ref,
// in the definition or in the part that holds it.
func TestMissingReferenceLine(t *testing.T) {
	def := withParamRef("./schemas/id.yaml#/PetId")
	refLine := 0
	for i, l := range strings.Split(def, "\n") {
		if strings.Contains(l, "$ref") {
			refLine = i + 1
		}
	}
	dir := writeTree(t, map[string]string{"api.yaml": def})
	_, err := LoadAll(context.Background(), []string{filepath.Join(dir, "api.yaml")})
	want := filepath.Join(dir, "api.yaml") + ":" + strconv.Itoa(refLine) + ": "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "schemas/id.yaml: no such file") {
		t.Fatalf("got %v, want an error starting %q naming the file", err, want)
	}

	dir = writeTree(t, map[string]string{
		"api.yaml":        def,
		"schemas/id.yaml": "# a part\nPetId:\n  $ref: 'more/base.yaml#/Base'\n",
	})
	_, err = LoadAll(context.Background(), []string{filepath.Join(dir, "api.yaml")})
	want = filepath.Join(dir, "schemas", "id.yaml") + ":3: "
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.Contains(err.Error(), "more/base.yaml: no such file") {
		t.Fatalf("got %v, want an error starting %q", err, want)
	}
}

const bom = "\xef\xbb\xbf"

// A leading UTF-8 byte order mark is skipped, in JSON and YAML, in a
// definition and in a part.
func TestByteOrderMark(t *testing.T) {
	jsonDef := `{"openapi": "3.0.0", "info": {"title": "T", "version": "1"},
 "x-wso2-production-endpoints": {"urls": ["http://b"]},
 "paths": {"/p": {"get": {"responses": {"200": {"$ref": "parts/ok.json"}}}}}}`
	dir := writeTree(t, map[string]string{
		"a.json":        bom + jsonDef,
		"parts/ok.json": bom + `{"description": "ok"}`,
		"b.yaml":        bom + defWithPaths("/b", "  /p:\n"+op("get")),
	})
	for _, name := range []string{"a.json", "b.yaml"} {
		if _, err := LoadAll(context.Background(), []string{filepath.Join(dir, name)}); err != nil {
			t.Errorf("%s with a byte order mark: %v", name, err)
		}
	}
}

// A file over the limit is refused with what to do about it.
func TestTooLargeSaysWhatToDo(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.json")
	if err := os.WriteFile(file, make([]byte, maxDefinitionSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadAll(context.Background(), []string{file})
	if err == nil || !strings.Contains(err.Error(), "larger than 32 MiB") || !strings.Contains(err.Error(), "use the definition with its $refs") {
		t.Fatalf("got %v", err)
	}
}
