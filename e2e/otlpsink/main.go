// Command otlpsink is an OTLP trace receiver for micro-gw's end-to-end
// tests: the OpenTelemetry Collector's own otlpreceiver, with a consumer
// that prints every export it accepts as one line of OTLP JSON on stdout.
//
// It is a module of its own so that the Collector's large dependency graph
// stays out of micro-gw's go.mod; the e2e suite builds it (see
// docs/testing.md).
//
//	otlpsink -grpc 127.0.0.1:4317
//
// It prints "otlpsink: listening on ADDR" once the receiver is up and
// exits 0 on SIGTERM or SIGINT.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configgrpc"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "otlpsink:", err)
		os.Exit(1)
	}
}

// host is the receiver's host: no extensions.
type host struct{}

func (host) GetExtensions() map[component.ID]component.Component { return nil }

func run() error {
	addr := flag.String("grpc", "127.0.0.1:4317", "the OTLP/gRPC `address` to listen on")
	flag.Parse()
	// The port is taken here and handed to the receiver, so that ":0"
	// works and the address printed is the one in use.
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	bound := l.Addr().String()
	l.Close()

	factory := otlpreceiver.NewFactory()
	cfg := factory.CreateDefaultConfig().(*otlpreceiver.Config)
	grpc := configgrpc.NewDefaultServerConfig()
	grpc.NetAddr.Endpoint = bound
	cfg.Protocols.GRPC = configoptional.Some(grpc)
	cfg.Protocols.HTTP = configoptional.None[otlpreceiver.HTTPConfig]()

	var mu sync.Mutex
	marshaler := &ptrace.JSONMarshaler{}
	traces, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
		line, err := marshaler.MarshalTraces(td)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		_, err = fmt.Printf("%s\n", line)
		return err
	})
	if err != nil {
		return err
	}
	settings := receiver.Settings{
		ID: component.NewID(factory.Type()),
		TelemetrySettings: component.TelemetrySettings{
			Logger:         zap.NewNop(),
			TracerProvider: tracenoop.NewTracerProvider(),
			MeterProvider:  metricnoop.NewMeterProvider(),
			Resource:       pcommon.NewResource(),
		},
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	r, err := factory.CreateTraces(ctx, settings, cfg, traces)
	if err != nil {
		return err
	}
	if err := r.Start(ctx, host{}); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "otlpsink: listening on %s\n", bound)
	<-ctx.Done()
	return r.Shutdown(context.Background())
}
