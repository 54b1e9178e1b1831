package runtime

import (
	"reflect"
	"testing"
)

func TestFindRouteConflict(t *testing.T) {
	res := func(method, p string) Resource { return Resource{Method: method, Path: p} }
	tests := []struct {
		name string
		spec Spec
		want *RouteConflict
	}{
		{"none", Spec{APIs: []API{{BasePath: "/a", Resources: []Resource{res("GET", "/p/{id}"), res("POST", "/p/{name}"), res("GET", "/p")}}}}, nil},
		{"trailing slash", Spec{APIs: []API{{BasePath: "/a", Resources: []Resource{res("GET", "/x"), res("GET", "/p"), res("GET", "/p/")}}}},
			&RouteConflict{FirstAPI: 0, FirstResource: 1, SecondAPI: 0, SecondResource: 2}},
		{"parameter names", Spec{APIs: []API{{BasePath: "/a", Resources: []Resource{res("GET", "/p/{id}.json")}}, {BasePath: "/a/p", Resources: []Resource{res("GET", "/{n}.json")}}}},
			&RouteConflict{FirstAPI: 0, FirstResource: 0, SecondAPI: 1, SecondResource: 0}},
		{"a bad template is no conflict", Spec{APIs: []API{{BasePath: "/a", Resources: []Resource{res("GET", "/p/{a}{b}")}}}}, nil},
	}
	for _, tt := range tests {
		got := tt.spec.FindRouteConflict()
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: got %+v, want %+v", tt.name, got, tt.want)
		}
		if (got != nil) != (tt.spec.CheckRoutes() != nil) && tt.name != "a bad template is no conflict" {
			t.Errorf("%s: FindRouteConflict and CheckRoutes disagree", tt.name)
		}
	}
}
