//go:build e2e_services

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/micro-gw/micro-gw/internal/syncbuf"
)

// svcOTLPSink builds e2e/otlpsink (its own module: the OpenTelemetry Collector's otlpreceiver
// and its dependencies stay out of micro-gw's go.mod) and runs it on a free loopback port. It
// returns the address and the sink's stdout: one line of OTLP JSON per export it accepted.
func svcOTLPSink(t *testing.T) (addr string, exports func() []string) {
	t.Helper()
	bin := filepath.Join(svcWorkspace(t), "bin", "otlpsink")
	start := time.Now()
	if out, err := runTimed(filepath.Join(moduleRoot(t), "e2e", "otlpsink"), 15*time.Minute,
		[]string{"GOWORK=off"}, "go", "build", "-o", bin, "."); err != nil {
		t.Fatalf("build e2e/otlpsink: %v\n%s", err, out)
	}
	t.Logf("e2e/otlpsink built in %v", time.Since(start).Round(time.Millisecond))
	cmd := exec.Command(bin, "-grpc", "127.0.0.1:0")
	stdout := &syncbuf.Buffer{}
	cmd.Stdout = stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	})
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if a, ok := strings.CutPrefix(lines.Text(), "otlpsink: listening on "); ok {
			addr = a
			break
		}
		t.Log(lines.Text())
	}
	if addr == "" {
		t.Fatal("otlpsink did not start")
	}
	go func() {
		for lines.Scan() {
		}
	}()
	return addr, func() []string {
		var lines []string
		for _, l := range strings.Split(stdout.String(), "\n") {
			if strings.TrimSpace(l) != "" {
				lines = append(lines, l)
			}
		}
		return lines
	}
}

// otlpSpan is what the test reads of a span in OTLP JSON.
type otlpSpan struct {
	TraceID      string `json:"traceId"`
	SpanID       string `json:"spanId"`
	ParentSpanID string `json:"parentSpanId"`
	Name         string `json:"name"`
	Attributes   []struct {
		Key   string `json:"key"`
		Value struct {
			String string `json:"stringValue"`
			Int    string `json:"intValue"`
		} `json:"value"`
	} `json:"attributes"`
}

func (s otlpSpan) attr(key string) string {
	for _, a := range s.Attributes {
		if a.Key == key {
			return a.Value.String + a.Value.Int
		}
	}
	return ""
}

// TestServicesTracingOTLP: a gateway with [tracing] on exports the span of a request to the
// OpenTelemetry Collector's OTLP receiver, with the route, the method and the status, in the
// client's trace, and no part of the token the request carried (in its header and its query).
func TestServicesTracingOTLP(t *testing.T) {
	p := svcSharedProject(t)
	addr, exports := svcOTLPSink(t)
	conf := p.writeConf(t, "tracing", svcConf{})
	f, err := os.OpenFile(conf, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "\n[tracing]\nenabled = true\nendpoint = %q\n", addr)
	f.Close()
	gw := p.startGateway(t, "traced", conf)

	token := p.issueToken(t, svcJTI("traced"))
	const traceID = "0af7651916cd43dd8448eb211c80319c"
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet,
		fmt.Sprintf("http://127.0.0.1:%d/svc/v1/pets/42?access_token=%s", gw.HTTP, token), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Traceparent", "00-"+traceID+"-b7ad6b7169203331-01")
	resp, err := gw.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// SIGTERM's drain flushes the batch.
	gw.Stop()

	var span *otlpSpan
	svcPoll(t, "the span at the OTLP receiver", 30*time.Second, func() (bool, string) {
		for _, line := range exports() {
			var td struct {
				ResourceSpans []struct {
					ScopeSpans []struct {
						Spans []otlpSpan `json:"spans"`
					} `json:"scopeSpans"`
				} `json:"resourceSpans"`
			}
			if err := json.Unmarshal([]byte(line), &td); err != nil {
				return false, err.Error()
			}
			for _, rs := range td.ResourceSpans {
				for _, ss := range rs.ScopeSpans {
					for i, s := range ss.Spans {
						if strings.EqualFold(s.TraceID, traceID) {
							span = &ss.Spans[i]
						}
					}
				}
			}
		}
		return span != nil, fmt.Sprintf("%d exports", len(exports()))
	})
	if span.Name != "GET /svc/v1/pets/{petId}" || span.attr("http.route") != "/svc/v1/pets/{petId}" ||
		span.attr("http.response.status_code") != "200" || span.attr("http.request.method") != "GET" ||
		!strings.EqualFold(span.ParentSpanID, "b7ad6b7169203331") {
		t.Errorf("span %+v", *span)
	}
	all := strings.Join(exports(), "\n")
	for _, part := range append(strings.Split(token, "."), "access_token") {
		if strings.Contains(all, part) {
			t.Fatalf("an exported span holds %q", part)
		}
	}
}
