package revocation

import (
	"fmt"
	"testing"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/micro-gw/micro-gw/pkg/revocation/etcdtest"
)

// BenchmarkEtcdSourceLoad measures the initial list of the etcd source: a
// paged Get of 100,000 keys into a revoked Set, as at a gateway's start.
func BenchmarkEtcdSourceLoad(b *testing.B) {
	endpoint, cli := etcdtest.Start(b)
	const n = 100_000
	etcdPutKeys(b, cli, "jti/", n)

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
			for b.Loop() {
				src.known = map[string]struct{}{}
				set := NewSet()
				if _, err := src.load(ctx, c, set); err != nil {
					b.Fatal(err)
				}
				if set.Len() != n {
					b.Fatalf("loaded %d, want %d", set.Len(), n)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "keys/s")
		})
	}
}
