// Command propagation measures how long a revocation takes to reach a
// running gateway: for each of N tokens it issues the token (pkg/issuer,
// the project's development issuer key), calls the gateway once (200, and
// the token is now in the gateway's cache), then publishes the revocation —
// to the broker topic over STOMP or AMQP 0-9-1 (pkg/revocation's
// publisher, what `micro-gw revoke` uses), or as a put of the key in etcd —
// and calls the gateway again and again until it answers 401. The latency
// is from just before the publish to the first 401. It prints p50/p90/p99/max
// over the N revocations. With -kind block it publishes a blocking condition
// on the token's user instead (a message on the topic, or the key
// blocking/user/<sub> in etcd) and waits for the 403.
//
// Bounded: N revocations, each given up after -timeout; loopback only.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"time"

	"github.com/micro-gw/micro-gw/bench/internal/gwbench"
	"github.com/micro-gw/micro-gw/pkg/issuer"
	"github.com/micro-gw/micro-gw/pkg/revocation"
	clientv3 "go.etcd.io/etcd/client/v3"
)

type result struct {
	Via, Kind           string
	N, Refused, Timeout int
	P50, P90, P99, Max  float64 // ms, publish -> first 401
	PublishP50          float64 // ms, until the broker confirmed (or etcd answered the put)
	PublishP99          float64 // the same, p99: the tail the path to the gateway starts from
	PollP50             float64 // ms, one call to the gateway
}

func main() {
	gf := gwbench.AddFlags(1000, 5*time.Second)
	via := flag.String("via", "stomp", "stomp, amqp or etcd")
	brokerURL := flag.String("broker", "stomp://127.0.0.1:61613", "jmsConnectionProviderUrl of the publisher (stomp, amqp)")
	user := flag.String("user", "guest", "broker user")
	pass := flag.String("pass", "guest", "broker password")
	topic := flag.String("topic", "tokenRevocation", "the topic")
	etcdEP := flag.String("etcd", "127.0.0.1:2379", "etcd endpoint (etcd)")
	prefix := flag.String("prefix", "jti/", "etcd key prefix (etcd)")
	kind := flag.String("kind", "revoke", "revoke (a jti; 401) or block (a blocking condition on the token's user; 403)")
	blockingPrefix := flag.String("blocking-prefix", revocation.DefaultBlockingPrefix, "etcd prefix of blocking conditions (etcd, -kind block)")
	flag.Parse()
	n, timeout, kid := gf.N, gf.Timeout, gf.KID

	key, err := gf.Key()
	if err != nil {
		fail(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(*n+10)*(*timeout))
	defer cancel()

	if *kind != "revoke" && *kind != "block" {
		fail(fmt.Errorf("-kind must be revoke or block"))
	}
	block := *kind == "block"
	want := http.StatusUnauthorized
	if block {
		want = http.StatusForbidden
	}
	run := fmt.Sprintf("prop-%s-%d-", *via, time.Now().UnixNano())
	// publish revokes the jti, or blocks the user of the same name.
	var publish func(ctx context.Context, jti string) error
	switch *via {
	case "stomp", "amqp":
		p, err := revocation.DialBrokerPublisher(ctx, revocation.BrokerConfig{URL: *brokerURL, Username: *user, Password: *pass, Topic: *topic})
		if err != nil {
			fail(err)
		}
		defer p.Close()
		publish = func(ctx context.Context, jti string) error {
			if block {
				return p.PublishBlock(ctx, revocation.BlockNotice{Kind: revocation.BlockUser, Value: jti, Enabled: true, TTL: time.Hour})
			}
			return p.Publish(ctx, revocation.Notice{JTI: jti, TTL: time.Hour})
		}
	case "etcd":
		cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*etcdEP}, DialTimeout: 5 * time.Second})
		if err != nil {
			fail(err)
		}
		defer func() {
			// Leave the store as it was: the keys of this run go (a delete
			// un-revokes, and the tokens are not used again).
			_, _ = cli.Delete(context.Background(), *prefix+run, clientv3.WithPrefix())
			_, _ = cli.Delete(context.Background(), *blockingPrefix+revocation.BlockEtcdKey(revocation.BlockUser, run), clientv3.WithPrefix())
			cli.Close()
		}()
		publish = func(ctx context.Context, jti string) error {
			key := *prefix + jti
			if block {
				key = *blockingPrefix + revocation.BlockEtcdKey(revocation.BlockUser, jti)
			}
			_, err := cli.Put(ctx, key, "3600")
			return err
		}
	default:
		fail(fmt.Errorf("-via must be stomp, amqp or etcd"))
	}

	call := gwbench.Caller(ctx, *gf.URL)

	var lat, pubLat, pollLat []time.Duration
	res := result{Via: *via, Kind: *kind, N: *n}
	for i := range *n {
		jti := fmt.Sprintf("%s%d", run, i)
		tok, err := issuer.Sign(key, *kid, issuer.Claims{JTI: jti, Subject: jti, TTL: time.Hour})
		if err != nil {
			fail(err)
		}
		if code, err := call(tok); err != nil || code != http.StatusOK {
			fail(fmt.Errorf("token %d before its revocation: status %d, %v", i, code, err))
		}
		pubDone := make(chan error, 1)
		t0 := time.Now()
		go func() {
			err := publish(ctx, jti)
			if err == nil {
				pubLat = append(pubLat, time.Since(t0))
			}
			pubDone <- err
		}()
		refused := false
		for time.Since(t0) < *timeout {
			c0 := time.Now()
			code, err := call(tok)
			if err != nil {
				fail(err)
			}
			if len(pollLat) < 100000 {
				pollLat = append(pollLat, time.Since(c0))
			}
			if code == want {
				lat = append(lat, time.Since(t0))
				refused = true
				break
			}
		}
		if err := <-pubDone; err != nil {
			fail(err)
		}
		if refused {
			res.Refused++
		} else {
			res.Timeout++
		}
	}
	res.P50, res.P90, res.P99, res.Max = pct(lat, .5), pct(lat, .9), pct(lat, .99), pct(lat, 1)
	res.PublishP50, res.PublishP99, res.PollP50 = pct(pubLat, .5), pct(pubLat, .99), pct(pollLat, .5)
	if *gf.JSON {
		_ = json.NewEncoder(os.Stdout).Encode(res)
	} else {
		fmt.Printf("%s: %d revocations, %d refused, %d timed out; publish -> 401 ms: p50 %.3f p90 %.3f p99 %.3f max %.3f (publish p50 %.3f p99 %.3f, one call p50 %.3f)\n",
			res.Via, res.N, res.Refused, res.Timeout, res.P50, res.P90, res.P99, res.Max, res.PublishP50, res.PublishP99, res.PollP50)
	}
	if res.Timeout > 0 {
		os.Exit(1)
	}
}

// pct is the q-quantile of d in milliseconds (d is sorted in place).
func pct(d []time.Duration, q float64) float64 {
	slices.Sort(d)
	return gwbench.Millis(d, q)
}

func fail(err error) { gwbench.Fail("propagation", err) }
