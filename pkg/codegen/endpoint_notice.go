package codegen

import (
	"fmt"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime"
	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// endpointNotice warns about an API whose operations, or some of them,
// have no production endpoint: no x-wso2-production-endpoints and no
// absolute http(s) URL in servers, as many published definitions are
// (servers: [{url: /v1}], or none). Such a definition builds; the gateway
// refuses to start until the endpoint is given at deploy time, and this
// says how, naming the API by its title and base path.
func (d *Definition) endpointNotice(api runtime.API) []*DefinitionError {
	if api.Production != nil {
		return nil
	}
	var missing []string
	for _, r := range api.Resources {
		if r.Production == nil {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	what := "has no endpoint: no " + extProduction + " and no absolute http(s) URL in servers"
	if len(missing) < len(api.Resources) {
		what = "has no production endpoint for " + listSome(missing, 3)
	}
	var at jsonPath
	if len(d.Doc.Servers) > 0 {
		at = jsonPath{"servers"}
	}
	return []*DefinitionError{d.wrap(at, &NoEndpointError{Title: api.Title, BasePath: api.BasePath, what: what})}
}

// NoEndpointError is the Err of the warning about an API without a
// production endpoint (for all its operations, or some), which `micro-gw
// init` prints too.
type NoEndpointError struct {
	Title, BasePath string
	what            string
}

func (e *NoEndpointError) Error() string {
	return fmt.Sprintf("API %q (%s) %s; it builds, but the gateway will not start until one is given: %s",
		e.Title, e.BasePath, e.what, config.APIEndpointsHint(e.BasePath))
}

// listSome is the first n of items, joined, and how many more there are.
func listSome(items []string, n int) string {
	if len(items) <= n {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:n], ", "), len(items)-n)
}
