package runtime

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net/http"
	"sync/atomic"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/credentials"

	"github.com/micro-gw/micro-gw/pkg/runtime/config"
)

// tracing is the gateway's part in distributed traces ([tracing],
// docs/deploy.md): W3C trace context in and out, one server span per request
// exported over OTLP/gRPC. Nothing of it is global: the provider, the
// tracer and the propagator belong to the Server.
type tracing struct {
	provider *sdktrace.TracerProvider
	tracer   trace.Tracer
	prop     propagation.TraceContext
}

// newTracing sets tracing up when [tracing] enabled = true; nil otherwise,
// and the request path then has no tracing stage at all. exp replaces the
// OTLP exporter (tests); roots are the TLS roots of an https:// endpoint.
func newTracing(cfg config.Tracing, spec Spec, exp sdktrace.SpanExporter, roots *x509.CertPool, logger *slog.Logger) (*tracing, error) {
	if !cfg.Enabled {
		return nil, nil
	}
	if exp == nil {
		hostport, secure, err := cfg.Target()
		if err != nil {
			return nil, err
		}
		opts := []otlptracegrpc.Option{otlptracegrpc.WithEndpoint(hostport)}
		if secure {
			opts = append(opts, otlptracegrpc.WithTLSCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12})))
		} else {
			opts = append(opts, otlptracegrpc.WithInsecure())
		}
		// The connection is made on the first export, not here: a
		// receiver that is down never keeps the gateway from starting.
		if exp, err = otlptracegrpc.New(context.Background(), opts...); err != nil {
			return nil, err
		}
	}
	provider := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(&loggedExporter{SpanExporter: exp, logger: logger, endpoint: cfg.Endpoint}),
		sdktrace.WithResource(resource.NewSchemaless(semconv.ServiceName(spec.Name))),
		// A caller that decided not to sample is followed; a trace the
		// gateway starts is sampled.
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.AlwaysSample())),
	)
	return &tracing{provider: provider, tracer: provider.Tracer("github.com/micro-gw/micro-gw/pkg/runtime")}, nil
}

// shutdown exports what is still buffered, within ctx.
func (t *tracing) shutdown(ctx context.Context) error {
	if t == nil {
		return nil
	}
	return t.provider.Shutdown(ctx)
}

// trace is the first stage of the request path when tracing is on: it
// continues the client's trace (traceparent, tracestate) or starts one,
// makes the request carry the gateway's span as the backend's parent, and
// ends the span with the route and the status. Neither headers nor the
// query go into the span: they may hold credentials.
func (s *Server) trace(next stage) stage {
	t := s.tracing
	if t == nil {
		return next
	}
	return func(x *exchange, r *http.Request) {
		ctx := t.prop.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		method := spanMethod(r.Method)
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		ctx, span := t.tracer.Start(ctx, method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(method), semconv.URLScheme(scheme)))
		defer func() {
			status := x.status
			if status == 0 {
				status = http.StatusOK
			}
			if x.route != nil {
				span.SetName(method + " " + x.route.template)
				span.SetAttributes(semconv.HTTPRoute(x.route.template))
			}
			span.SetAttributes(semconv.HTTPResponseStatusCode(status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.End()
		}()
		// What the backend receives: the gateway's span as its parent.
		r.Header.Del("Traceparent")
		r.Header.Del("Tracestate")
		t.prop.Inject(ctx, propagation.HeaderCarrier(r.Header))
		next(x, r.WithContext(ctx))
	}
}

// spanMethod is the method as the span names it: one of HTTP's, else
// "_OTHER" (OpenTelemetry's rule), so that a client cannot fill the
// tracing backend with names of its making.
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "_OTHER"
}

// loggedExporter says through the gateway's log when export starts and
// stops failing (once each, not once a batch), and keeps the failure from
// OpenTelemetry's global error handler, which would print every batch.
type loggedExporter struct {
	sdktrace.SpanExporter
	logger   *slog.Logger
	endpoint string
	failing  atomic.Bool
}

func (e *loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		if !e.failing.Swap(true) {
			e.logger.Warn("tracing: the OTLP receiver does not take spans; they are dropped until it does",
				"endpoint", e.endpoint, "err", err)
		}
		return nil
	}
	if e.failing.Swap(false) {
		e.logger.Info("tracing: the OTLP receiver takes spans again", "endpoint", e.endpoint)
	}
	return nil
}
