package cors

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func preflight(origin, method string, headers ...string) *http.Request {
	r := httptest.NewRequest(http.MethodOptions, "/p/x", nil)
	if origin != "" {
		r.Header.Set("Origin", origin)
	}
	if method != "" {
		r.Header.Set("Access-Control-Request-Method", method)
	}
	for _, h := range headers {
		r.Header.Add("Access-Control-Request-Headers", h)
	}
	return r
}

func mustNew(t *testing.T, c Config) *Policy {
	t.Helper()
	p, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// allowHeaders are the Access-Control-Allow-* headers of h.
func allowHeaders(h http.Header) http.Header {
	out := http.Header{}
	for k, v := range h {
		if strings.HasPrefix(k, "Access-Control-Allow-") {
			out[k] = v
		}
	}
	return out
}

func TestPreflight(t *testing.T) {
	listed := Config{AllowOrigins: []string{"https://App.example:443"}, AllowMethods: []string{"get", "POST"},
		AllowHeaders: []string{"Authorization", "Content-Type"}}
	withCredentials := listed
	withCredentials.AllowCredentials = true
	anyOrigin := Config{AllowOrigins: []string{"*"}, AllowMethods: []string{"GET"}, AllowHeaders: []string{"Authorization"}}
	wildcards := Config{AllowOrigins: []string{"*"}, AllowCredentials: true, AllowMethods: []string{"*"}, AllowHeaders: []string{"*"}}
	tests := []struct {
		name    string
		c       Config
		r       *http.Request
		allowed bool
		want    http.Header
	}{{
		name: "listed origin, method and headers", c: listed,
		r:       preflight("https://app.example", "POST", "authorization,content-type"),
		allowed: true,
		want: http.Header{"Access-Control-Allow-Origin": {"https://app.example"}, "Access-Control-Allow-Methods": {"GET, POST"},
			"Access-Control-Allow-Headers": {"Authorization, Content-Type"}},
	}, {
		name: "credentials", c: withCredentials,
		r:       preflight("https://app.example", "GET"),
		allowed: true,
		want: http.Header{"Access-Control-Allow-Origin": {"https://app.example"}, "Access-Control-Allow-Methods": {"GET, POST"},
			"Access-Control-Allow-Headers": {"Authorization, Content-Type"}, "Access-Control-Allow-Credentials": {"true"}},
	}, {
		name: "another origin", c: listed, r: preflight("https://evil.example", "GET"), want: http.Header{},
	}, {
		name: "the same host on another scheme", c: listed, r: preflight("http://app.example", "GET"), want: http.Header{},
	}, {
		name: "a method not listed", c: listed, r: preflight("https://app.example", "DELETE"), want: http.Header{},
	}, {
		name: "a header not listed", c: listed, r: preflight("https://app.example", "GET", "authorization, x-debug"), want: http.Header{},
	}, {
		name: "any origin without credentials: *", c: anyOrigin,
		r:       preflight("https://anyone.example", "GET", "authorization"),
		allowed: true,
		want: http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {"GET"},
			"Access-Control-Allow-Headers": {"Authorization"}},
	}, {
		name: "any origin but the opaque null", c: anyOrigin, r: preflight("null", "GET"), want: http.Header{},
	}, {
		name: "wildcards with credentials answer what was asked", c: wildcards,
		r:       preflight("https://anyone.example", "PURGE", "x-a,authorization"),
		allowed: true,
		want: http.Header{"Access-Control-Allow-Origin": {"https://anyone.example"}, "Access-Control-Allow-Methods": {"PURGE"},
			"Access-Control-Allow-Headers": {"x-a,authorization"}, "Access-Control-Allow-Credentials": {"true"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !IsPreflight(tt.r) {
				t.Fatal("not a preflight")
			}
			h := http.Header{}
			if got := mustNew(t, tt.c).Preflight(h, tt.r); got != tt.allowed {
				t.Errorf("allowed = %v", got)
			}
			if got := allowHeaders(h); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("headers %v\nwant %v", got, tt.want)
			}
			if !strings.Contains(h.Get("Vary"), "Origin") {
				t.Errorf("Vary %q", h.Get("Vary"))
			}
		})
	}
	for _, r := range []*http.Request{preflight("", "GET"), preflight("https://a", ""), httptest.NewRequest("GET", "/", nil)} {
		if r.Method = http.MethodOptions; IsPreflight(r) {
			t.Errorf("%v is taken for a preflight", r.Header)
		}
	}
}

func TestResponse(t *testing.T) {
	p := mustNew(t, Config{AllowOrigins: []string{"https://app.example"}, AllowCredentials: true})
	backend := func() http.Header {
		return http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {"DELETE"},
			"Access-Control-Max-Age": {"99999"}, "Access-Control-Expose-Headers": {"X-Total"}, "Vary": {"Accept-Encoding"}}
	}

	h := backend()
	p.Response(h, "https://app.example")
	want := http.Header{"Access-Control-Allow-Origin": {"https://app.example"}, "Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Expose-Headers": {"X-Total"}, "Vary": {"Accept-Encoding", "Origin"}}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("allowed origin: %v\nwant %v", h, want)
	}

	for _, origin := range []string{"https://evil.example", ""} {
		h = backend()
		p.Response(h, origin)
		want = http.Header{"Access-Control-Expose-Headers": {"X-Total"}, "Vary": {"Accept-Encoding", "Origin"}}
		if !reflect.DeepEqual(h, want) {
			t.Errorf("origin %q: %v\nwant %v", origin, h, want)
		}
	}

	h = http.Header{"Vary": {"accept, origin"}}
	p.Response(h, "https://app.example")
	if got := h.Values("Vary"); !reflect.DeepEqual(got, []string{"accept, origin"}) {
		t.Errorf("Vary added twice: %v", got)
	}
}

func TestCheckOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://App.Example:443/": "https://app.example",
		"HTTP://a.example:80":      "http://a.example",
		"http://a.example:8080":    "http://a.example:8080",
		"https://[::1]:8443":       "https://[::1]:8443",
		"capacitor://localhost":    "capacitor://localhost",
		"*":                        "*",
		"null":                     "null",
	} {
		if got, err := CheckOrigin(in); err != nil || got != want {
			t.Errorf("CheckOrigin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "app.example", "https://a/b", "https://a?x", "https://u@a", "https://a#f", "mailto:x@y", "/p"} {
		if got, err := CheckOrigin(bad); err == nil {
			t.Errorf("CheckOrigin(%q) = %q, want an error", bad, got)
		}
	}
}

func TestCheckNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		c     Config
		field string
		index int
	}{
		{Config{AllowOrigins: []string{"*", "a.example"}}, "accessControlAllowOrigins", 1},
		{Config{AllowMethods: []string{"GET", ""}}, "accessControlAllowMethods", 1},
		{Config{AllowHeaders: []string{"X Y"}}, "accessControlAllowHeaders", 0},
	} {
		_, err := New(tc.c)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || fe.Index != tc.index {
			t.Errorf("%+v: %v", tc.c, err)
		}
	}
}

// FuzzPolicy feeds arbitrary settings and request headers through a policy:
// it never panics, and an Access-Control-Allow-Origin is only ever "*" or
// the request's own origin, never "*" with credentials.
func FuzzPolicy(f *testing.F) {
	f.Add("https://a.example,*", "GET,*", "authorization", true, "https://a.example", "GET", "authorization")
	f.Add("null", "PATCH", "*", false, "null", "patch", "x-a, ,b")
	f.Add("https://[::1]:443", "", "", false, "https://[::1]", "", "")
	f.Fuzz(func(t *testing.T, origins, methods, headers string, credentials bool, origin, method, asked string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		p, err := New(Config{AllowOrigins: split(origins), AllowMethods: split(methods), AllowHeaders: split(headers), AllowCredentials: credentials})
		if err != nil {
			return
		}
		r := preflight(origin, method, asked)
		check := func(h http.Header) {
			acao := h.Get("Access-Control-Allow-Origin")
			if acao != "" && acao != "*" && acao != origin {
				t.Fatalf("Access-Control-Allow-Origin %q for origin %q", acao, origin)
			}
			if acao == "*" && credentials {
				t.Fatal("* with credentials")
			}
			if acao == "" && len(allowHeaders(h)) > 0 {
				t.Fatalf("Allow headers without an origin: %v", h)
			}
		}
		if IsPreflight(r) {
			h := http.Header{}
			if !p.Preflight(h, r) && len(allowHeaders(h)) > 0 {
				t.Fatalf("refused with %v", h)
			}
			check(h)
		}
		h := http.Header{"Access-Control-Allow-Origin": {"*"}}
		p.Response(h, origin)
		check(h)
	})
}
