package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestAPIEndpointsKeyAndVariable(t *testing.T) {
	for _, tc := range []struct{ key, variable string }{
		{APIEndpointsKey("/acc/v1", "production"), "MGW_APIENDPOINTS__ACC_V1_PRODUCTION"},
		{APIEndpointsKey("/", "basicPassword"), "MGW_APIENDPOINTS___BASICPASSWORD"},
		{"jwtTokenConfig[0].issuer", "MGW_JWTTOKENCONFIG_0_ISSUER"},
		{"listenerConfig.httpPort", "MGW_LISTENERCONFIG_HTTPPORT"},
		{`a."unterminated`, ""},
	} {
		if got := Variable(tc.key); got != tc.variable {
			t.Errorf("Variable(%s) = %q, want %q", tc.key, got, tc.variable)
		}
	}
	if got := APIEndpointsKey("/acc/v1", "production"); got != `apiEndpoints."/acc/v1".production` {
		t.Errorf("APIEndpointsKey = %s", got)
	}
}

// An API's endpoints are set by the file, by an MGW_ variable for a base
// path the gateway names (Sources.Keys) and by -e, each over the one
// below; a variable for a base path nobody names is an error naming it.
func TestAPIEndpointsLayers(t *testing.T) {
	file, _ := writeConf(t, minimal+`
[apiEndpoints."/petstore/v1"]
production = ["https://file/v2"]
type = "failover"
`)
	keys := APIEndpointsKeys([]string{"/petstore/v1", "/acc/v1"})
	c, err := LoadSources(Sources{File: file, Keys: keys,
		Env: []string{"MGW_APIENDPOINTS__ACC_V1_PRODUCTION=https://env/v2", "MGW_APIENDPOINTS__PETSTORE_V1_BASICPASSWORD=pw"},
		Overrides: []string{`apiEndpoints."/petstore/v1".production=["https://a/v2","https://b/v2"]`,
			`apiEndpoints."/acc/v1".sandbox=https://s/v2`}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]APIEndpoints{
		"/petstore/v1": {Production: []string{"https://a/v2", "https://b/v2"}, Type: "failover", BasicPassword: "pw"},
		"/acc/v1":      {Production: []string{"https://env/v2"}, Sandbox: []string{"https://s/v2"}},
	}
	if !reflect.DeepEqual(c.Endpoints, want) {
		t.Errorf("apiEndpoints = %+v", c.Endpoints)
	}

	_, err = LoadSources(Sources{File: file, Keys: keys, Env: []string{"MGW_APIENDPOINTS__ORDERS_V1_PRODUCTION=https://x"}})
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "MGW_APIENDPOINTS__ORDERS_V1_PRODUCTION") || !strings.Contains(err.Error(), "names no entry of apiEndpoints") {
		t.Errorf("unknown base path: %v", err)
	}
}
