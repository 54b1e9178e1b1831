package runtime

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
)

const clientTraceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

// Tracing off: no stage, the client's trace context reaches the backend as
// any header does, and none is made up.
func TestTracingOffPassesTraceContextThrough(t *testing.T) {
	b := newBackend(t, "prod")
	srv := startServer(t, petstore(ep(b.URL), nil), testConfig(t), Options{})
	if srv.tracing != nil {
		t.Fatal("tracing set up while [tracing] is off")
	}
	do(t, "GET", srv.testURL("http", "/petstore/v1/pet/findByStatus"), nil, "Traceparent", clientTraceparent, "Tracestate", "v=1")
	if got := b.lastRequest().Header; got.Get("Traceparent") != clientTraceparent || got.Get("Tracestate") != "v=1" {
		t.Errorf("backend got traceparent %q tracestate %q", got.Get("Traceparent"), got.Get("Tracestate"))
	}
	do(t, "GET", srv.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
	if got := b.lastRequest().Header.Get("Traceparent"); got != "" {
		t.Errorf("backend got a traceparent the client did not send: %q", got)
	}
}

func TestTracingSpans(t *testing.T) {
	b := newBackend(t, "prod")
	iss, cfg := issuerConfig(t)
	cfg.Tracing.Enabled = true
	exp := tracetest.NewInMemoryExporter()
	srv := startServer(t, petstore(ep(b.URL), nil), cfg, Options{SpanExporter: exp})
	token := iss.Token(t, map[string]any{"jti": "traced-jti"})

	// The client's trace is continued; the backend's parent is the gateway's span.
	resp, _ := do(t, "GET", srv.testURL("http", "/petstore/v1/pet/7"), nil,
		"Authorization", "Bearer "+token, "Traceparent", clientTraceparent, "Tracestate", "v=1")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	up := b.lastRequest().Header
	// A request without trace context starts a trace.
	do(t, "GET", srv.testURL("http", "/petstore/v1/pet/findByStatus?api_key="+token), nil)
	started := b.lastRequest().Header.Get("Traceparent")
	// No route: a span named by the method alone.
	do(t, "GET", srv.testURL("http", "/nowhere"), nil, "Authorization", "Bearer "+token)
	// A failed credential: the span says 401.
	do(t, "GET", srv.testURL("http", "/petstore/v1/pet/8"), nil, "Authorization", "Bearer "+token+"x")

	if err := srv.tracing.provider.ForceFlush(context.Background()); err != nil {
		t.Fatal(err)
	}
	spans := exp.GetSpans()
	if len(spans) != 4 {
		t.Fatalf("%d spans, want one per request", len(spans))
	}
	first := spans[0]
	if first.Name != "GET /petstore/v1/pet/{petId}" || first.SpanKind != trace.SpanKindServer {
		t.Errorf("span %q kind %v", first.Name, first.SpanKind)
	}
	if first.Parent.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" || first.Parent.SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("parent %v, want the client's span", first.Parent)
	}
	want := "00-4bf92f3577b34da6a3ce929d0e0e4736-" + first.SpanContext.SpanID().String() + "-01"
	if got := up.Get("Traceparent"); got != want || up.Get("Tracestate") != "v=1" {
		t.Errorf("backend got traceparent %q tracestate %q, want %q", got, up.Get("Tracestate"), want)
	}
	attrs := map[string]string{}
	for _, a := range first.Attributes {
		attrs[string(a.Key)] = a.Value.String()
	}
	if attrs["http.route"] != "/petstore/v1/pet/{petId}" || attrs["http.response.status_code"] != "200" || attrs["http.request.method"] != "GET" {
		t.Errorf("attributes %v", attrs)
	}

	second := spans[1]
	if second.Parent.IsValid() || started != "00-"+second.SpanContext.TraceID().String()+"-"+second.SpanContext.SpanID().String()+"-01" {
		t.Errorf("a started trace: parent %v, backend got %q, span %v", second.Parent, started, second.SpanContext)
	}
	if spans[2].Name != "GET" || !hasAttr(spans[2], "http.response.status_code", "404") {
		t.Errorf("unmatched route: %q %v", spans[2].Name, spans[2].Attributes)
	}
	if !hasAttr(spans[3], "http.response.status_code", "401") {
		t.Errorf("refused token: %v", spans[3].Attributes)
	}

	// Never a token, in any form, anywhere in what is exported.
	all, _ := json.Marshal(spans)
	for _, secret := range []string{token, strings.Split(token, ".")[1], strings.Split(token, ".")[2], "api_key"} {
		if strings.Contains(string(all), secret) {
			t.Fatalf("a span holds %q", secret)
		}
	}
}

func hasAttr(s tracetest.SpanStub, key, value string) bool {
	for _, a := range s.Attributes {
		if string(a.Key) == key && a.Value.String() == value {
			return true
		}
	}
	return false
}

// otlpReceiver is an OTLP/gRPC trace receiver: the protocol's own service
// definition (go.opentelemetry.io/proto/otlp) on a loopback port.
type otlpReceiver struct {
	coltrace.UnimplementedTraceServiceServer
	mu   sync.Mutex
	reqs []*coltrace.ExportTraceServiceRequest
}

func (o *otlpReceiver) Export(_ context.Context, req *coltrace.ExportTraceServiceRequest) (*coltrace.ExportTraceServiceResponse, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.reqs = append(o.reqs, req)
	return &coltrace.ExportTraceServiceResponse{}, nil
}

// The gateway's own exporter, over gRPC in plain text to tracing.endpoint,
// flushed by Shutdown (the drain).
func TestTracingExportsOverOTLP(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	recv := &otlpReceiver{}
	gs := grpc.NewServer()
	coltrace.RegisterTraceServiceServer(gs, recv)
	go gs.Serve(lis)
	defer gs.Stop()

	b := newBackend(t, "prod")
	cfg := testConfig(t)
	cfg.Tracing.Enabled = true
	cfg.Tracing.Endpoint = lis.Addr().String()
	srv := startServer(t, petstore(ep(b.URL), nil), cfg, Options{})
	do(t, "GET", srv.testURL("http", "/petstore/v1/pet/findByStatus"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	recv.mu.Lock()
	defer recv.mu.Unlock()
	if len(recv.reqs) == 0 {
		t.Fatal("no export reached the receiver")
	}
	rs := recv.reqs[0].ResourceSpans[0]
	if v := rs.Resource.Attributes[0]; v.Key != "service.name" || v.Value.GetStringValue() != "petstore" {
		t.Errorf("resource %v", rs.Resource.Attributes)
	}
	span := rs.ScopeSpans[0].Spans[0]
	if span.Name != "GET /petstore/v1/pet/findByStatus" {
		t.Errorf("span %q", span.Name)
	}
}
