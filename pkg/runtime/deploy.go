package runtime

import (
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// deployedSpec is spec with the endpoints this deployment gives
// (docs/runtime.md, "Endpoints at deploy time"), so that one binary serves
// dev, staging and production:
//
//   - [apiEndpoints."<basePath>"] production, sandbox and type replace the
//     API's own endpoints (x-wso2-*-endpoints at API level, or servers),
//     which every operation without an endpoint of its own uses;
//   - the -e forms of named endpoints (EndpointOverrides) change a named
//     endpoint wherever it is used in that role; [apiEndpoints] wins over
//     them for the API's own endpoints;
//   - the Basic credentials of an endpoint come from [apiEndpoints]
//     basicUsername/basicPassword (sandboxBasic... for the sandbox one), else
//     -e <name>_prod_basic_*, else securityConfig, whose ${NAME} password is
//     resolved now. Past this point BasicAuth.Password is the password.
//
// An [apiEndpoints] table that names no API, an API left without a
// production endpoint, and credentials without a password are refused,
// naming the API (title and base path) and the key; never a secret.
func deployedSpec(spec Spec, cfg *config.Config, o *EndpointOverrides) (Spec, error) {
	byBase := map[string]bool{}
	for _, api := range spec.APIs {
		byBase[api.BasePath] = true
	}
	for _, bp := range slices.Sorted(maps.Keys(cfg.Endpoints)) {
		if !byBase[bp] {
			return spec, cfg.Fault(config.APIEndpointsKey(bp, ""), fmt.Errorf("names no API of this gateway: the base paths of its APIs are %s",
				strings.Join(slices.Sorted(maps.Keys(byBase)), ", ")))
		}
	}
	d := deployer{cfg: cfg, o: o, memo: map[memoKey]*Endpoint{}}
	out := spec
	out.APIs = make([]API, len(spec.APIs))
	for i, api := range spec.APIs {
		dep, err := d.api(api)
		if err != nil {
			return spec, err
		}
		out.APIs[i] = dep
	}
	return out, nil
}

// deployer makes the deployed copy of a spec's endpoints.
type deployer struct {
	cfg  *config.Config
	o    *EndpointOverrides
	memo map[memoKey]*Endpoint
}

// memoKey is a compiled endpoint of an operation in one role: its deployed
// copy is shared by every operation that shares it.
type memoKey struct {
	ep      *Endpoint
	sandbox bool
}

// api deploys one API's endpoints.
func (d *deployer) api(api API) (API, error) {
	conf := d.cfg.Endpoints[api.BasePath]
	var err error
	if api.Production, err = d.apiEndpoint(api, api.Production, false, conf); err != nil {
		return api, err
	}
	if api.Sandbox, err = d.apiEndpoint(api, api.Sandbox, true, conf); err != nil {
		return api, err
	}
	api.Resources = slices.Clone(api.Resources)
	var missing []string
	for j := range api.Resources {
		r := &api.Resources[j]
		if r.Production, err = d.operationEndpoint(api, r.Production, false); err != nil {
			return api, err
		}
		if r.Sandbox, err = d.operationEndpoint(api, r.Sandbox, true); err != nil {
			return api, err
		}
		if r.Production == nil && api.Production == nil {
			missing = append(missing, r.Method+" "+r.Path)
		}
	}
	if len(missing) > 0 {
		what := "has no production endpoint"
		if len(missing) < len(api.Resources) {
			what += " for " + strings.Join(missing, ", ")
		}
		return api, d.cfg.Fault(config.APIEndpointsKey(api.BasePath, "production"),
			fmt.Errorf("API %s %s (neither the definition nor the configuration gives one): give it with %s",
				api.name(), what, config.APIEndpointsHint(api.BasePath)))
	}
	return api, nil
}

// apiEndpoint deploys the API's own production or sandbox endpoint: the
// compiled one (nil when there is none), changed by -e when it is named,
// then by the API's [apiEndpoints] table.
func (d *deployer) apiEndpoint(api API, compiled *Endpoint, sandbox bool, conf config.APIEndpoints) (*Endpoint, error) {
	urls, username, password := conf.Production, conf.BasicUsername, conf.BasicPassword
	if sandbox {
		urls, username, password = conf.Sandbox, conf.SandboxBasicUsername, conf.SandboxBasicPassword
	}
	ep := &Endpoint{Type: EndpointLoadBalance}
	if compiled != nil {
		c := *compiled
		ep = &c
		var err error
		if ep.URLs, err = d.o.urls(ep, sandbox); err != nil {
			return nil, d.cfg.OverrideFault(ep.Name, err)
		}
	}
	if urls != nil {
		ep.URLs = make([]string, len(urls))
		for i, u := range urls {
			// Checked when the configuration was loaded.
			ep.URLs[i], _ = config.CheckEndpointURL(u)
		}
	}
	if conf.Type != "" {
		ep.Type = conf.Type
	}
	if len(ep.URLs) == 0 {
		return nil, nil // no endpoint, or sandbox = []
	}
	key := "basicPassword"
	if sandbox {
		key = "sandboxBasicPassword"
	}
	c := given{username: username, password: password}
	if err := d.credentials(api, ep, sandbox, c, config.APIEndpointsKey(api.BasePath, key)); err != nil {
		return nil, err
	}
	return ep, nil
}

// operationEndpoint deploys an operation's own endpoint: -e changes it
// when it is named; [apiEndpoints] is the API's and leaves it alone.
func (d *deployer) operationEndpoint(api API, compiled *Endpoint, sandbox bool) (*Endpoint, error) {
	if compiled == nil {
		return nil, nil
	}
	k := memoKey{compiled, sandbox}
	if ep, ok := d.memo[k]; ok {
		return ep, nil
	}
	c := *compiled
	ep := &c
	var err error
	if ep.URLs, err = d.o.urls(ep, sandbox); err != nil {
		return nil, d.cfg.OverrideFault(ep.Name, err)
	}
	if err := d.credentials(api, ep, sandbox, given{}, ""); err != nil {
		return nil, err
	}
	d.memo[k] = ep
	return ep, nil
}

// given are credentials from [apiEndpoints]; "" is not given.
type given struct{ username, password string }

// credentials settles ep's Basic credentials: conf over -e over the
// definition's securityConfig, whose ${NAME} password is resolved here
// (the others are the configuration's, already resolved). key is where
// conf gives a password, "" for an operation's endpoint.
func (d *deployer) credentials(api API, ep *Endpoint, sandbox bool, conf given, key string) error {
	var b BasicAuth
	fromDefinition := false
	if ep.Basic != nil {
		b, fromDefinition = *ep.Basic, ep.Basic.Password != ""
	}
	user, pass := d.o.credentials(ep, sandbox)
	if user != nil {
		b.Username = *user
	}
	if pass != nil {
		b.Password, fromDefinition = *pass, false
	}
	if conf.username != "" {
		b.Username = conf.username
	}
	if conf.password != "" {
		b.Password, fromDefinition = conf.password, false
	}
	if ep.Basic == nil && b == (BasicAuth{}) {
		return nil
	}
	where := ep.describe(api, sandbox)
	ways := ep.passwordKeys(sandbox, key)
	if fromDefinition {
		p, err := config.ExpandEnv(b.Password)
		if err != nil {
			return d.fault(key, fmt.Errorf("%s: securityConfig.password: %w (or give the password with %s)", where, err, ways))
		}
		b.Password = p
	}
	if b.Password == "" {
		return d.fault(key, fmt.Errorf("%s sends Basic credentials and has no password: give it with %s, or as ${NAME} in securityConfig.password", where, ways))
	}
	if err := config.CheckBasicUsername(b.Username); err != nil {
		return d.fault(key, fmt.Errorf("%s: %w", where, err))
	}
	ep.Basic = &b
	return nil
}

// fault is an error about credentials: placed at key where there is one.
func (d *deployer) fault(key string, err error) error {
	if key == "" {
		return err
	}
	return d.cfg.Fault(key, err)
}

// describe names ep for an error: its API, its role and its name.
func (ep *Endpoint) describe(api API, sandbox bool) string {
	role := "production"
	if sandbox {
		role = "sandbox"
	}
	s := fmt.Sprintf("API %s: the %s endpoint", api.name(), role)
	if ep.Name != "" {
		s += fmt.Sprintf(" %q", ep.Name)
	}
	return s
}

// passwordKeys says where the password of ep can be given.
func (ep *Endpoint) passwordKeys(sandbox bool, key string) string {
	var ways []string
	if key != "" {
		ways = append(ways, key)
	}
	if ep.Name != "" {
		ways = append(ways, "-e "+endpointRole{ep.Name, sandbox}.String()+"_basic_password=...")
	}
	if len(ways) == 0 {
		return "${NAME} in securityConfig.password"
	}
	return strings.Join(ways, " or ")
}

// basicHeader is the Authorization value for b (RFC 7617), "" for nil.
func basicHeader(b *BasicAuth) string {
	if b == nil {
		return ""
	}
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(b.Username+":"+b.Password))
}
