package runtime

import (
	"net/http"
	"testing"
)

func testRouter(t *testing.T) *router {
	t.Helper()
	rt := &router{root: newNode()}
	add := func(base, path, method string) {
		t.Helper()
		r := &route{api: &API{Title: base}, resource: &Resource{Method: method, Path: path}, template: method + " " + base + path}
		if err := rt.add(base, path, method, r); err != nil {
			t.Fatalf("add %s %s%s: %v", method, base, path, err)
		}
	}
	add("/petstore/v1", "/pet", "POST")
	add("/petstore/v1", "/pet", "PUT")
	add("/petstore/v1", "/pet/{petId}", "GET")
	add("/petstore/v1", "/pet/{petId}", "DELETE")
	add("/petstore/v1", "/pet/findByStatus", "GET")
	add("/petstore/v1", "/pet/{petId}/uploadImage", "POST")
	add("/petstore/v1", "/files/{name}.json", "GET")
	add("/gh", "/compare/{base}...{head}", "GET")
	add("/gh", "/compare/v{major}.{minor}", "GET")
	add("/petstore/v1", "/", "GET")
	add("/", "/health", "GET")
	add("/", "/", "POST")
	add("/store/v2", "/order/{id}", "GET")
	add("/store/v2", "/order/{id}", "HEAD")
	add("/enc", "/a b", "GET")
	return rt
}

func TestRouterMatch(t *testing.T) {
	rt := testRouter(t)
	tests := []struct {
		method, path string
		want         string // the matched template, "" for none
		allow        string // the Allow header of a 405
	}{
		{"GET", "/petstore/v1/pet/1", "GET /petstore/v1/pet/{petId}", ""},
		{"GET", "/petstore/v1/pet/1/", "GET /petstore/v1/pet/{petId}", ""},
		{"DELETE", "/petstore/v1/pet/1", "DELETE /petstore/v1/pet/{petId}", ""},
		{"GET", "/petstore/v1/pet/findByStatus", "GET /petstore/v1/pet/findByStatus", ""},
		// A literal that lacks the method falls back to the parameter.
		{"DELETE", "/petstore/v1/pet/findByStatus", "DELETE /petstore/v1/pet/{petId}", ""},
		// Literal first, and back to the parameter when the literal branch ends.
		{"POST", "/petstore/v1/pet/findByStatus/uploadImage", "POST /petstore/v1/pet/{petId}/uploadImage", ""},
		{"GET", "/petstore/v1/pet/1/uploadImage", "", "POST"},
		{"PATCH", "/petstore/v1/pet/1", "", "DELETE, GET, HEAD"},
		{"GET", "/petstore/v1/pet", "", "POST, PUT"},
		{"HEAD", "/petstore/v1/pet/1", "GET /petstore/v1/pet/{petId}", ""},
		{"HEAD", "/store/v2/order/7", "HEAD /store/v2/order/{id}", ""},
		{"GET", "/petstore/v1/files/a.json", "GET /petstore/v1/files/{name}.json", ""},
		{"GET", "/petstore/v1/files/.json", "", ""},
		{"GET", "/petstore/v1/files/a.xml", "", ""},
		// Several parameters in a segment, each one byte or more; the
		// pattern with more literal text is tried first.
		{"GET", "/gh/compare/main...feature", "GET /gh/compare/{base}...{head}", ""},
		{"GET", "/gh/compare/a.b...c...d", "GET /gh/compare/{base}...{head}", ""},
		{"GET", "/gh/compare/v1.2", "GET /gh/compare/v{major}.{minor}", ""},
		{"GET", "/gh/compare/v1...2", "GET /gh/compare/{base}...{head}", ""},
		{"GET", "/gh/compare/...feature", "", ""},
		{"GET", "/gh/compare/main...", "", ""},
		{"GET", "/gh/compare/....", "", ""},
		{"GET", "/gh/compare/.....", "GET /gh/compare/{base}...{head}", ""},
		{"GET", "/gh/compare/v.2", "", ""},
		{"GET", "/gh/compare/main..feature", "", ""},
		{"GET", "/petstore/v1", "GET /petstore/v1/", ""},
		{"GET", "/petstore/v1/", "GET /petstore/v1/", ""},
		{"GET", "/health", "GET //health", ""},
		{"GET", "/petstore/v1/pet/1/2", "", ""},
		{"GET", "/petstore/v2/pet/1", "", ""},
		{"GET", "/", "", "POST"},
		{"POST", "/", "POST //", ""},
		{"GET", "//", "", ""},
		{"GET", "//health", "", ""},
		{"GET", "", "", ""},
		// Encoded characters: a segment is decoded on its own.
		{"GET", "/petstore/v1/pet/a%20b", "GET /petstore/v1/pet/{petId}", ""},
		{"GET", "/pet%73tore/v1/pet/1", "GET /petstore/v1/pet/{petId}", ""},
		{"GET", "/enc/a%20b", "GET /enc/a b", ""},
		// Nothing that a backend could read as another path.
		{"GET", "/petstore/v1/pet/a%2Fb", "", ""},
		{"GET", "/petstore/v1/pet/a%2f..%2f..%2fadmin", "", ""},
		{"GET", "/petstore/v1/pet/a%5Cb", "", ""},
		{"GET", "/petstore/v1/pet/a\\b", "", ""},
		{"GET", "/petstore/v1/pet/%00", "", ""},
		{"GET", "/petstore/v1/pet/..", "", ""},
		{"GET", "/petstore/v1/pet/%2e%2e", "", ""},
		{"GET", "/petstore/v1/pet/.", "", ""},
		{"GET", "/petstore/v1/x/../pet/1", "", ""},
		{"GET", "/petstore/v1//pet/1", "", ""},
		{"GET", "/petstore/v1/pet/1//", "", ""},
		{"GET", "/petstore/v1/pet/%zz", "", ""},
	}
	for _, tc := range tests {
		m := rt.match(tc.method, tc.path)
		got := ""
		if m.route != nil {
			got = m.route.template
		}
		if got != tc.want || m.allow != tc.allow {
			t.Errorf("%s %q: matched %q allow %q, want %q allow %q", tc.method, tc.path, got, m.allow, tc.want, tc.allow)
		}
	}
}

// With allowEncodedSlash, a parameter's value may hold %2F (GitHub's refs,
// heads%2Fmain), but never a dot segment or an empty one, never as a
// literal, and never when a backend that decodes %2F would read the path as
// another resource of the gateway.
func TestRouterEncodedSlash(t *testing.T) {
	rt := testRouter(t)
	rt.encodedSlash = true
	tests := []struct {
		method, path string
		want         string
	}{
		{"GET", "/petstore/v1/pet/heads%2Fmain", "GET /petstore/v1/pet/{petId}"},
		{"GET", "/petstore/v1/pet/a%2fb%2Fc", "GET /petstore/v1/pet/{petId}"},
		{"GET", "/gh/compare/main...feat%2Fx", "GET /gh/compare/{base}...{head}"},
		{"GET", "/store/v2/order/a%2Fb/", "GET /store/v2/order/{id}"},
		// What a decoding backend would take for another resource.
		{"POST", "/petstore/v1/pet/1%2FuploadImage", ""},
		{"GET", "/petstore/v1/pet/1%2FuploadImage", ""}, // POST /pet/{petId}/uploadImage exists
		{"GET", "/petstore/v1/files/x%2Fa.json", "GET /petstore/v1/files/{name}.json"},
		// Traversal and empty segments, encoded.
		{"GET", "/petstore/v1/pet/a%2f..%2f..%2fadmin", ""},
		{"GET", "/petstore/v1/pet/..%2Fadmin", ""},
		{"GET", "/petstore/v1/pet/a%2F.", ""},
		{"GET", "/petstore/v1/pet/a%2F%2Fb", ""},
		{"GET", "/petstore/v1/pet/%2Fb", ""},
		{"GET", "/petstore/v1/pet/a%2F", ""},
		{"GET", "/petstore/v1/pet/a%5Cb", ""},
		// A literal segment is never matched by a value with a slash.
		{"GET", "/petstore%2Fv1/pet/1", ""},
		{"GET", "/health%2F", ""},
	}
	for _, tc := range tests {
		m := rt.match(tc.method, tc.path)
		got := ""
		if m.route != nil {
			got = m.route.template
		}
		if got != tc.want {
			t.Errorf("%s %q: matched %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
	// Off (the default), every encoded slash is refused.
	rt.encodedSlash = false
	if m := rt.match("GET", "/petstore/v1/pet/heads%2Fmain"); m.route != nil {
		t.Errorf("an encoded slash matched %s with allowEncodedSlash off", m.route.template)
	}
}

func TestRouterRejectsDuplicates(t *testing.T) {
	rt := &router{root: newNode()}
	r := &route{api: &API{Source: "a.yaml"}, template: "/x/{id}"}
	if err := rt.add("/x", "/{id}", "GET", r); err != nil {
		t.Fatal(err)
	}
	if err := rt.add("/x", "/{other}", "GET", r); err == nil {
		t.Fatal("the same method on the same template twice was accepted")
	}
	for _, bad := range []string{"/{a}{b}", "/{a}}", "/a}", "/{}", "/{a{b}}"} {
		if err := (&router{root: newNode()}).add("/x", bad, "GET", r); err == nil {
			t.Errorf("the template %s was accepted", bad)
		}
	}
}

func TestBackendPath(t *testing.T) {
	tests := []struct {
		path string
		base int
		want string
	}{
		{"/petstore/v1/pet/1", 2, "/pet/1"},
		{"/petstore/v1/pet/1/", 2, "/pet/1/"},
		{"/petstore/v1", 2, "/"},
		{"/petstore/v1/", 2, "/"},
		{"/health", 0, "/health"},
		{"/petstore/v1/pet/a%20b", 2, "/pet/a%20b"},
	}
	for _, tc := range tests {
		if got := backendPath(tc.path, tc.base); got != tc.want {
			t.Errorf("backendPath(%q, %d) = %q, want %q", tc.path, tc.base, got, tc.want)
		}
	}
}

func BenchmarkRouterMatch(b *testing.B) {
	rt := testRouter(&testing.T{})
	b.ReportAllocs()
	for b.Loop() {
		if m := rt.match(http.MethodGet, "/petstore/v1/pet/12345"); m.route == nil {
			b.Fatal("no match")
		}
	}
}
