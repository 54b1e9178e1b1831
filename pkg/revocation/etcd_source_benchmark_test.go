package revocation

import (
	"fmt"
	"runtime"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

// BenchmarkEtcdSourceLoad measures the initial list of the etcd source: a
// paged Get of 100,000 keys into a revoked Set, as at a gateway's start.
//
// Beside the time it reports what the load leaves on the heap for the life
// of the gateway, per key (heap-B/key): the Set, and whatever the source
// keeps of what it revoked (nothing per key, since the Set marks what the
// source's Holding holds). Live bytes after a full GC, so the embedded etcd
// in the same process adds a little noise.
func BenchmarkEtcdSourceLoad(b *testing.B) {
	endpoint, cli := etcdtest.Start(b)
	const n = 100_000
	// Each jti is 36 bytes, as long as the UUIDs that most issuers use.
	etcdPutKeys(b, cli, "jti/6c1f5a3e-0b2d-4c1e-9f3a-00", n)

	for _, pageSize := range []int64{1000, defaultEtcdPageSize} {
		b.Run(fmt.Sprintf("page=%d", pageSize), func(b *testing.B) {
			src, _ := newTestEtcdSource(b, endpoint, nil)
			src.pageSize = pageSize
			ctx := storeTestCtx(b)
			c, err := clientv3.New(src.clientConfig(ctx))
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			b.ReportAllocs()
			var set *Set
			for b.Loop() {
				set = NewSet()
				src.holding(set)
				if _, err := src.load(ctx, c, set); err != nil {
					b.Fatal(err)
				}
				if set.Len() != n {
					b.Fatalf("loaded %d, want %d", set.Len(), n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")

			held := liveHeap()
			runtime.KeepAlive(set)
			set = nil
			src.held = nil
			empty := liveHeap()
			b.ReportMetric(float64(int64(held)-int64(empty))/n, "heap-B/key")
		})
	}
}

// liveHeap is the bytes of live objects on the heap. It collects twice:
// what sync.Pools hold survives the first collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
