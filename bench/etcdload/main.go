// Command etcdload writes N synthetic revocations under an etcd key prefix
// (key <prefix>bench-<i>, value = ttl in seconds, no lease: the layout of
// docs/revocation.md), in transactions of 128 puts sent by several
// workers, so that a million keys load in tens of seconds instead of the
// hours that one etcdctl put per key would take. It first counts the keys
// already there and writes only when the count differs.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

func main() {
	endpoint := flag.String("endpoint", "127.0.0.1:2379", "etcd endpoint (loopback)")
	prefix := flag.String("prefix", "jti/", "key prefix")
	n := flag.Int("n", 1000000, "how many keys")
	ttl := flag.String("ttl", "86400", "the value of each key (ttl in seconds, informational)")
	workers := flag.Int("workers", 8, "concurrent transactions")
	batch := flag.Int("batch", 128, "puts per transaction (etcd's default limit is 128)")
	list := flag.Int64("list", -1, "instead of writing: list the prefix keys-only in pages of this many keys (0: one Get), as the gateway's etcd source does, and report the time")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{*endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		fail(err)
	}
	defer cli.Close()
	if *list >= 0 {
		listPrefix(ctx, cli, *prefix, *list)
		return
	}
	have, err := cli.Get(ctx, *prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		fail(err)
	}
	if have.Count == int64(*n) {
		fmt.Printf("etcdload: %d keys already under %q\n", have.Count, *prefix)
		return
	}
	if have.Count > 0 {
		if _, err := cli.Delete(ctx, *prefix, clientv3.WithPrefix()); err != nil {
			fail(err)
		}
	}
	start := time.Now()
	next := make(chan int)
	var done atomic.Int64
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ops := make([]clientv3.Op, 0, *batch)
			for from := range next {
				ops = ops[:0]
				for i := from; i < from+*batch && i < *n; i++ {
					ops = append(ops, clientv3.OpPut(fmt.Sprintf("%sbench-%07d", *prefix, i), *ttl))
				}
				if _, err := cli.Txn(ctx).Then(ops...).Commit(); err != nil {
					once.Do(func() { firstErr = err; cancel() })
					return
				}
				done.Add(int64(len(ops)))
			}
		}()
	}
	for from := 0; from < *n && ctx.Err() == nil; from += *batch {
		select {
		case next <- from:
		case <-ctx.Done():
		}
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		fail(firstErr)
	}
	fmt.Printf("etcdload: wrote %d keys under %q in %.1f s\n", done.Load(), *prefix, time.Since(start).Seconds())
}

// listPrefix reads every key under prefix, keys only, page by page at the
// revision of the first page: what a gateway's etcd source does at start. On
// etcd 3.4 each page of a range with a limit walks the index from its start
// key to the end of the range, so the cost of the whole list grows with
// keys^2/page.
func listPrefix(ctx context.Context, cli *clientv3.Client, prefix string, page int64) {
	start := time.Now()
	end := clientv3.GetPrefixRangeEnd(prefix)
	key, rev, n, pages := prefix, int64(0), 0, 0
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithKeysOnly()}
		if page > 0 {
			opts = append(opts, clientv3.WithLimit(page))
		}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := cli.Get(ctx, key, opts...)
		if err != nil {
			fail(err)
		}
		pages++
		if rev == 0 {
			rev = resp.Header.Revision
		}
		n += len(resp.Kvs)
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		key = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	fmt.Printf("etcdload: listed %d keys under %q in %d pages of %d in %.2f s\n", n, prefix, pages, page, time.Since(start).Seconds())
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "etcdload:", err)
	os.Exit(1)
}
