// Command backend is the demo's stand-in for https://petstore.swagger.io/v2:
// a few pets in memory behind the paths of the petstore sample, so that the
// demo and the quickstart run without the internet.
//
//	go run ./demo/backend -addr 127.0.0.1:8280
//
// GET /v2/pet/findByStatus?status=available lists pets, GET /v2/pet/{id}
// gives one; any other request gets a JSON echo of what arrived (method,
// path, query and whether an Authorization header came through), which shows
// what the gateway forwards.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type pet struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

var pets = []pet{
	{ID: 1, Name: "doggie", Status: "available"},
	{ID: 2, Name: "kitty", Status: "available"},
	{ID: 3, Name: "goldie", Status: "pending"},
	{ID: 4, Name: "rex", Status: "sold"},
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8280", "address to listen on")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))

	srv := &http.Server{Addr: *addr, Handler: handler(), ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Error("listen", "error", err)
		os.Exit(1)
	}
	log.Info("petstore backend listening", "addr", l.Addr().String())
	if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "error", err)
		os.Exit(1)
	}
}

func handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/pet/findByStatus", func(w http.ResponseWriter, r *http.Request) {
		want := map[string]bool{}
		for _, s := range r.URL.Query()["status"] {
			for _, part := range strings.Split(s, ",") {
				want[strings.TrimSpace(part)] = true
			}
		}
		found := []pet{}
		for _, p := range pets {
			if want[p.Status] {
				found = append(found, p)
			}
		}
		writeJSON(w, http.StatusOK, found)
	})
	mux.HandleFunc("GET /v2/pet/{id}", func(w http.ResponseWriter, r *http.Request) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "invalid ID supplied"})
			return
		}
		for _, p := range pets {
			if p.ID == id {
				writeJSON(w, http.StatusOK, p)
				return
			}
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"code": 404, "message": fmt.Sprintf("pet %d not found", id)})
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			"method":                r.Method,
			"path":                  r.URL.Path,
			"query":                 r.URL.RawQuery,
			"authorizationReceived": r.Header.Get("Authorization") != "",
		})
	})
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
