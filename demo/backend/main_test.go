package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, path string, into any) int {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return resp.StatusCode
}

func TestFindByStatus(t *testing.T) {
	srv := httptest.NewServer(handler())
	defer srv.Close()
	var found []pet
	if code := get(t, srv, "/v2/pet/findByStatus?status=available", &found); code != 200 {
		t.Fatalf("status %d", code)
	}
	if len(found) != 2 || found[0].Name != "doggie" || found[1].Name != "kitty" {
		t.Errorf("available pets = %+v", found)
	}
	if get(t, srv, "/v2/pet/findByStatus?status=sold,pending", &found); len(found) != 2 {
		t.Errorf("sold,pending = %+v", found)
	}
	var p pet
	if code := get(t, srv, "/v2/pet/4", &p); code != 200 || p.Name != "rex" {
		t.Errorf("pet 4 = %d %+v", code, p)
	}
	var e map[string]any
	if code := get(t, srv, "/v2/pet/99", &e); code != 404 {
		t.Errorf("pet 99: status %d", code)
	}
	if code := get(t, srv, "/v2/store/inventory?x=1", &e); code != 200 || e["path"] != "/v2/store/inventory" || e["query"] != "x=1" {
		t.Errorf("echo = %d %v", code, e)
	}
}
