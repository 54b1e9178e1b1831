package codegen

import (
	"context"
	"strings"
	"testing"
)

func TestSecurityNotices(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string // "path: text" of each notice, in order
	}{{
		// doc30 names an OAuth2 scheme and an API key scheme, and no
		// operation says anything about security.
		name: "api key scheme, no requirement",
		doc:  doc30(prodTop, ""),
		want: []string{
			"no security requirement is declared, yet every resource requires a JWT bearer token",
		},
	}, {
		name: "a requirement at the top, basic and mutual TLS",
		doc: strings.Replace(doc30(prodTop, ""), "    key:\n      type: apiKey\n      name: X-Key\n      in: header\n",
			"    basic:\n      type: http\n      scheme: basic\n    digest:\n      type: http\n      scheme: Digest\n    bearer:\n      type: http\n      scheme: Bearer\n    oidc:\n      type: openIdConnect\n      openIdConnectUrl: https://idp.example/.well-known/openid-configuration\n", 1) +
			"security:\n  - oauth: [read]\n  - {}\n  - digest: []\n",
		want: []string{
			"$.components.securitySchemes.digest: micro-gw cannot check http Digest credentials: an alternative that requires this scheme is left out",
			"$.security[1]: an empty requirement makes security optional in OpenAPI; micro-gw grants no anonymous access",
		},
	}, {
		name: "security disabled on the operation",
		doc:  strings.Replace(doc30(prodTop, "x-wso2-disable-security: true\n"), "    key:\n      type: apiKey\n      name: X-Key\n      in: header\n", "", 1),
		want: nil,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := LoadDefinition(context.Background(), writeDef(t, "api.yaml", tt.doc))
			if err != nil {
				t.Fatal(err)
			}
			got := d.securityNotices()
			if len(got) != len(tt.want) {
				t.Fatalf("got %d notices %v, want %d %q", len(got), got, len(tt.want), tt.want)
			}
			for i, w := range tt.want {
				if s := got[i].Error(); !strings.Contains(s, w) {
					t.Errorf("notice %d = %q, want it to say %q", i, s, w)
				}
			}
		})
	}
}
