package codegen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"go.yaml.in/yaml/v3"
)

// maxDefinitionSize bounds what is read of one definition file: a definition
// is untrusted input, and a real one is far smaller.
const maxDefinitionSize = 32 << 20

// Definition is one API definition, loaded and validated, as OpenAPI 3.
type Definition struct {
	// File is the definition's path as given, for messages.
	File string
	Doc  *openapi3.T
	// root is the parsed YAML (or JSON) document, to find the line of a
	// JSON path.
	root *yaml.Node
	// warnings are faults of the definition that do not stop the build.
	warnings []*DefinitionError
	// swagger2 is set when the file is Swagger 2.0: Doc is its conversion,
	// and faults found in Doc are named in 2.0 terms (v2Path, toV2Error).
	swagger2 bool
}

// LoadDefinition reads an OpenAPI 2.0 or 3.x definition, YAML or JSON, and
// validates it with kin-openapi. 2.0 is converted to 3.0 (openapi2conv).
// Every error is a *DefinitionError naming file and, where known, the line
// and JSON path. A $ref may name files in the definition's folder and below
// (localRefReader); URLs and files elsewhere are refused, so a definition
// cannot make the build read the network or the rest of the disk.
func LoadDefinition(ctx context.Context, file string) (*Definition, error) {
	switch strings.ToLower(filepath.Ext(file)) {
	case ".yaml", ".yml", ".json":
	default:
		return nil, &DefinitionError{File: file, Err: errors.New("not an API definition: the name must end in .yaml, .yml or .json")}
	}
	data, err := readLimited(file)
	if err != nil {
		return nil, &DefinitionError{File: file, Err: err}
	}
	d := &Definition{File: file}
	openapiVersion, swaggerVersion, err := d.parse(data, strings.EqualFold(filepath.Ext(file), ".json"))
	if err != nil {
		return nil, err
	}

	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	loader.ReadFromURIFunc = localRefReader(filepath.Dir(file))
	location := &url.URL{Path: filepath.ToSlash(file)}
	switch {
	case strings.HasPrefix(openapiVersion, "3."):
		d.Doc, err = loader.LoadFromDataWithPath(data, location)
		if err != nil {
			e := d.errorf(nil, "cannot load OpenAPI %s definition: %w", openapiVersion, err)
			if line := lineInMessage(err); line > 0 {
				e.Line = line
			} else if line := quotedRefLine(d.root, e.Err.Error()); line > 0 {
				e.Line = line
			}
			return nil, e
		}
	case swaggerVersion == "2.0":
		d.Doc, err = d.convertV2(loader, data, location)
		if err != nil {
			return nil, err
		}
	case openapiVersion != "":
		return nil, d.errorf(jsonPath{"openapi"}, "OpenAPI version %q is not supported: use 2.0 or 3.x", openapiVersion)
	default:
		return nil, d.errorf(nil, "not an OpenAPI definition: it has neither an openapi nor a swagger: \"2.0\" field%s", partHint)
	}

	if d.Doc.Paths == nil {
		// Swagger 2.0 with `paths: {}` converts to no paths at all, which
		// 3.0 calls invalid; it is the same empty API as 3.0's `paths: {}`.
		d.Doc.Paths = openapi3.NewPaths()
	}
	if err := d.validate(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// pathLayers returns the document as one or more documents, so that no
// layer holds two paths that differ only in the names of their parameters
// (/orgs/{org}/x/{id} and /orgs/{org}/x/{digest}). kin-openapi calls such
// paths conflicting and stops there, yet real definitions (GitHub's own)
// have them, with different methods; the router tells them apart by method,
// and CheckRoutes refuses the same method twice. The first layer is the
// whole document with its share of the paths; a later one holds only its
// paths and what validating them needs (info, and the security schemes the
// operations name), so that the rest is validated, and warned about, once.
// A definition without such paths is one layer: itself.
func (d *Definition) pathLayers() []*openapi3.T {
	var layers []*openapi3.T
	seen := map[string]int{} // shape -> how many paths of that shape so far
	for _, p := range d.Doc.Paths.InMatchingOrder() {
		shape := pathShape(p)
		i := seen[shape]
		seen[shape] = i + 1
		if i == len(layers) {
			layers = append(layers, d.pathsOnly(i == 0))
		}
		layers[i].Paths.Set(p, d.Doc.Paths.Value(p))
	}
	if len(layers) <= 1 {
		return []*openapi3.T{d.Doc}
	}
	return layers
}

// pathsOnly is a layer of pathLayers with no paths yet: the whole document
// when whole, else only what its operations are validated against.
func (d *Definition) pathsOnly(whole bool) *openapi3.T {
	if whole {
		layer := *d.Doc
		layer.Paths = openapi3.NewPaths()
		return &layer
	}
	layer := &openapi3.T{OpenAPI: d.Doc.OpenAPI, Info: d.Doc.Info, Paths: openapi3.NewPaths()}
	if d.Doc.Components != nil {
		layer.Components = &openapi3.Components{SecuritySchemes: d.Doc.Components.SecuritySchemes}
	}
	return layer
}

// pathShape is p with every {name} replaced by {}.
func pathShape(p string) string {
	var b strings.Builder
	for {
		open := strings.IndexByte(p, '{')
		if open < 0 {
			break
		}
		closing := strings.IndexByte(p[open:], '}')
		if closing < 0 {
			break
		}
		b.WriteString(p[:open+1])
		p = p[open+closing:]
	}
	b.WriteString(p)
	return b.String()
}

// partHint ends the error about a file of api_definitions/ that is no
// definition: most often it is a part that definitions $ref.
const partHint = " (files that definitions reference with $ref go in a subfolder of api_definitions/)"

// parse checks the syntax of data, keeps the parsed document for the lines
// of later faults, and returns the openapi and swagger fields. JSON is read
// with encoding/json: yaml.v3 refuses some valid JSON (the escape \/), so
// for JSON the YAML tree is only a best effort for line numbers.
func (d *Definition) parse(data []byte, isJSON bool) (openapiVersion, swaggerVersion string, err error) {
	root := &yaml.Node{}
	yamlErr := yaml.Unmarshal(data, root)
	if yamlErr == nil {
		d.root = root
		if key, line, first, ok := duplicateKey(root); ok {
			return "", "", d.duplicateKeyError(key, line, first)
		}
	}
	if isJSON {
		var v any
		if err := json.Unmarshal(data, &v); err != nil {
			return "", "", &DefinitionError{File: d.File, Line: jsonErrorLine(data, err), Err: fmt.Errorf("not valid JSON: %w", err)}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return "", "", &DefinitionError{File: d.File, Err: fmt.Errorf("not an OpenAPI definition: the document is not an object%s", partHint)}
		}
		if d.root != nil && len(d.root.Content) > 0 {
			if err := d.checkInfoVersion(d.root.Content[0]); err != nil {
				return "", "", err
			}
		}
		o, _ := m["openapi"].(string)
		s, _ := m["swagger"].(string)
		return o, s, nil
	}
	if yamlErr != nil {
		line, err := syntaxError(data, yamlErr)
		return "", "", &DefinitionError{File: d.File, Line: line, Err: fmt.Errorf("not valid YAML or JSON: %w", err)}
	}
	top := root
	if top.Kind == yaml.DocumentNode && len(top.Content) > 0 {
		top = top.Content[0]
	}
	if top.Kind != yaml.MappingNode {
		return "", "", &DefinitionError{File: d.File, Line: top.Line, Err: errors.New("not an OpenAPI definition: the document is not a mapping")}
	}
	if err := d.checkInfoVersion(top); err != nil {
		return "", "", err
	}
	return topScalar(top, "openapi"), topScalar(top, "swagger"), nil
}

// checkInfoVersion refuses an info.version that YAML reads as a number
// (version: 1.0): the loaders would fail on it with a type error that names
// neither the key nor its line.
func (d *Definition) checkInfoVersion(top *yaml.Node) *DefinitionError {
	info, _ := childNode(top, "info")
	if info == nil || info.Kind != yaml.MappingNode {
		return nil
	}
	v, line := childNode(info, "version")
	if v == nil || v.Kind != yaml.ScalarNode || v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		return nil
	}
	if tag := v.ShortTag(); tag == "!!int" || tag == "!!float" {
		return &DefinitionError{File: d.File, Line: line, Path: "$.info.version", Err: fmt.Errorf(
			"the version %s is read as a number, and it must be a string: quote it (%q)", v.Value, v.Value)}
	}
	return nil
}

// jsonErrorLine is the line of a JSON syntax error, 0 when unknown.
func jsonErrorLine(data []byte, err error) int {
	var syntax *json.SyntaxError
	if !errors.As(err, &syntax) || syntax.Offset > int64(len(data)) {
		return 0
	}
	return bytes.Count(data[:syntax.Offset], []byte("\n")) + 1
}

// convertV2 reads a Swagger 2.0 document and converts it to OpenAPI 3.
func (d *Definition) convertV2(loader *openapi3.Loader, data []byte, location *url.URL) (*openapi3.T, error) {
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		// YAML refuses a little valid JSON; encoding/json reads that.
		if jsonErr := json.Unmarshal(data, &v); jsonErr != nil {
			line, err := syntaxError(data, err)
			return nil, &DefinitionError{File: d.File, Line: line, Err: err}
		}
	}
	jsonData, err := json.Marshal(jsonValue(v))
	if err != nil {
		return nil, d.errorf(nil, "cannot read Swagger 2.0 definition: %w", err)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(jsonData, &doc2); err != nil {
		return nil, d.errorf(nil, "cannot read Swagger 2.0 definition: %w", err)
	}
	d.swagger2 = true
	doc3, err := openapi2conv.ToV3WithLoader(&doc2, loader, location)
	if err != nil {
		// The converter's faults name no path; most name a $ref.
		e := d.errorf(nil, "cannot convert Swagger 2.0 definition to OpenAPI 3: %w", err)
		if line := quotedRefLine(d.root, e.Err.Error()); line > 0 {
			e.Line = line
		}
		return nil, e
	}
	return doc3, nil
}

// errorf makes a DefinitionError at path, with the line of path.
func (d *Definition) errorf(path jsonPath, format string, a ...any) *DefinitionError {
	return d.wrap(path, fmt.Errorf(format, a...))
}

// wrap makes a DefinitionError at path, with the line of path. For a
// Swagger 2.0 definition, path (of its OpenAPI 3 conversion) and the $refs
// that err quotes are named as in the 2.0 file.
func (d *Definition) wrap(path jsonPath, err error) *DefinitionError {
	if d.swagger2 {
		path, err = v2Path(d.root, path), toV2Error(err)
	}
	e := &DefinitionError{File: d.File, Line: lineOf(d.root, path), Err: err}
	if len(path) > 0 {
		e.Path = path.String()
	}
	return e
}

// topScalar returns the value of a scalar key of a mapping node, "" if absent.
func topScalar(m *yaml.Node, key string) string {
	n, _ := childNode(m, key)
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}

// jsonValue turns what yaml.v3 decodes (maps with non-string keys, such as
// the integer response codes of unquoted `200:`) into values encoding/json
// accepts.
func jsonValue(v any) any {
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			t[k] = jsonValue(e)
		}
		return t
	case map[any]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[fmt.Sprint(k)] = jsonValue(e)
		}
		return m
	case []any:
		for i, e := range t {
			t[i] = jsonValue(e)
		}
		return t
	}
	return v
}

func readLimited(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(f, maxDefinitionSize+1))
	if err != nil {
		return nil, err
	}
	if n > maxDefinitionSize {
		return nil, fmt.Errorf("larger than %d MiB, the most micro-gw reads of one file: a definition this large is usually bundled or dereferenced (every $ref replaced by what it names); use the definition with its $refs instead, or split it into parts in a subfolder", maxDefinitionSize>>20)
	}
	// A UTF-8 byte order mark, which some editors write, is no part of the
	// document: encoding/json refuses it, yaml.v3 skips it.
	return bytes.TrimPrefix(buf.Bytes(), []byte("\xef\xbb\xbf")), nil
}
