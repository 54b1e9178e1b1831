package runtime

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// EndpointOverrides are the WSO2 API Microgateway's own -e forms for the
// endpoints named in x-wso2-endpoints, which are no configuration paths:
//
//	-e <name>_prod_endpoint_<i>=URL     URL i of the endpoint where it is a production endpoint
//	-e <name>_sand_endpoint_<i>=URL     ... where it is a sandbox endpoint
//	-e <name>_prod_basic_username=U     the Basic credentials sent to it (also _sand_)
//	-e <name>_prod_basic_password=P
//
// Claim takes them while the configuration loads; New applies them.
type EndpointOverrides struct {
	roles map[endpointRole]*namedOverride
}

// endpointRole is a named endpoint in one of its two uses.
type endpointRole struct {
	name    string
	sandbox bool
}

func (r endpointRole) String() string {
	if r.sandbox {
		return r.name + "_sand"
	}
	return r.name + "_prod"
}

// namedOverride is what -e said of one endpoint role.
type namedOverride struct {
	urls               map[int]string
	username, password *string
}

// namedKey reads the -e forms; the name is what comes before the role.
var namedKey = regexp.MustCompile(`^(.+)_(prod|sand)_(?:endpoint_(0|[1-9][0-9]{0,2})|basic_(username|password))$`)

// Claim returns the config.OverrideClaim that takes these -e forms for the
// named endpoints of spec. A key of the form that names no endpoint, or a
// role the endpoint does not have, is an error rather than unknown, so
// that a misspelt name is reported as such.
func (o *EndpointOverrides) Claim(spec Spec) config.OverrideClaim {
	roles := spec.namedRoles()
	return func(key, value string) (bool, error) {
		m := namedKey.FindStringSubmatch(key)
		if m == nil {
			return false, nil
		}
		role := endpointRole{name: m[1], sandbox: m[2] == "sand"}
		if !roles[role] {
			return true, unknownNamed(roles, role)
		}
		value, err := config.ExpandEnv(value)
		if err != nil {
			return true, err
		}
		if o.roles == nil {
			o.roles = map[endpointRole]*namedOverride{}
		}
		no := o.roles[role]
		if no == nil {
			no = &namedOverride{urls: map[int]string{}}
			o.roles[role] = no
		}
		switch {
		case m[3] != "":
			u, err := config.CheckEndpointURL(value)
			if err != nil {
				return true, err
			}
			i, _ := strconv.Atoi(m[3])
			no.urls[i] = u
		case m[4] == "username":
			if err := config.CheckBasicUsername(value); err != nil {
				return true, err
			}
			no.username = &value
		default:
			no.password = &value
		}
		return true, nil
	}
}

// unknownNamed says why role is not one of roles.
func unknownNamed(roles map[endpointRole]bool, role endpointRole) error {
	var names []string
	other := false
	for r := range roles {
		names = append(names, r.String())
		other = other || r.name == role.name
	}
	sort.Strings(names)
	use := "production"
	if role.sandbox {
		use = "sandbox"
	}
	switch {
	case other:
		return fmt.Errorf("the endpoint %q of x-wso2-endpoints is not used as a %s endpoint", role.name, use)
	case len(names) == 0:
		return errors.New("no definition of this gateway names an endpoint in x-wso2-endpoints")
	}
	return fmt.Errorf("no endpoint named %q in x-wso2-endpoints (the gateway's are %s)", role.name, strings.Join(names, ", "))
}

// namedRoles are the uses of the named endpoints of s.
func (s *Spec) namedRoles() map[endpointRole]bool {
	roles := map[endpointRole]bool{}
	add := func(ep *Endpoint, sandbox bool) {
		if ep != nil && ep.Name != "" {
			roles[endpointRole{ep.Name, sandbox}] = true
		}
	}
	for _, api := range s.APIs {
		add(api.Production, false)
		add(api.Sandbox, true)
		for _, r := range api.Resources {
			add(r.Production, false)
			add(r.Sandbox, true)
		}
	}
	return roles
}

// urls returns ep's URLs with the -e URLs of its role: URL i replaces the
// compiled one, or comes after the last; a gap is an error.
func (o *EndpointOverrides) urls(ep *Endpoint, sandbox bool) ([]string, error) {
	no := o.of(ep, sandbox)
	if no == nil || len(no.urls) == 0 {
		return ep.URLs, nil
	}
	indexes := make([]int, 0, len(no.urls))
	for i := range no.urls {
		indexes = append(indexes, i)
	}
	slices.Sort(indexes)
	urls := slices.Clone(ep.URLs)
	for _, i := range indexes {
		switch {
		case i < len(urls):
			urls[i] = no.urls[i]
		case i == len(urls):
			urls = append(urls, no.urls[i])
		default:
			role := endpointRole{ep.Name, sandbox}
			return nil, fmt.Errorf("%s_endpoint_%d: the endpoint has %d URL(s), so the next one is %s_endpoint_%d: give the indexes in order", role, i, len(urls), role, len(urls))
		}
	}
	return urls, nil
}

// credentials are the -e user name and password of ep's role, nil where
// -e gives none.
func (o *EndpointOverrides) credentials(ep *Endpoint, sandbox bool) (username, password *string) {
	if no := o.of(ep, sandbox); no != nil {
		return no.username, no.password
	}
	return nil, nil
}

// of is what -e said of ep's role, nil for nothing.
func (o *EndpointOverrides) of(ep *Endpoint, sandbox bool) *namedOverride {
	if o == nil || ep.Name == "" {
		return nil
	}
	return o.roles[endpointRole{ep.Name, sandbox}]
}
