package tokenservice

import (
	"context"
	"fmt"
	"time"

	"github.com/micro-gw/micro-gw/pkg/revocation"
)

// BlockSide is a Side that can also carry blocking conditions.
type BlockSide interface {
	Side
	// Block makes the condition n known (n.Enabled) or lifts it, and
	// returns one line saying what it did.
	Block(ctx context.Context, n revocation.BlockNotice) (string, error)
}

// BlockRequest is one blocking condition to set or lift.
type BlockRequest struct {
	Kind  revocation.BlockKind
	Value string
	// Lift lifts the condition instead of setting it.
	Lift bool
	// TTL, when positive, is how long the condition holds; zero holds it
	// until it is lifted.
	TTL time.Duration
}

// BlockResult says what a Block did.
type BlockResult struct {
	Condition revocation.BlockNotice
	// Done has one line per side that did its part, in the order of the sides.
	Done []string
}

// Block sends the condition of req to every side (the broker topic and
// etcd, as a revocation goes), all of them tried even when one fails; the
// error joins the failures (a side of tokens alone, a status list, has no
// part in it). A value that is not a valid condition is an
// *InvalidTokenError and reaches no side; one that is valid but not in its
// canonical form is sent in it (2001:DB8::1 as 2001:db8::1, 10.1.2.3/8 as
// 10.0.0.0/8).
func (r *Revoker) Block(ctx context.Context, req BlockRequest) (BlockResult, error) {
	value, err := revocation.ParseBlockValue(req.Kind, req.Value)
	if err != nil {
		return BlockResult{}, &InvalidTokenError{Err: err}
	}
	n := revocation.BlockNotice{Kind: req.Kind, Value: value, Enabled: !req.Lift}
	if !req.Lift && req.TTL > 0 {
		n.TTL = roundUpToSecond(req.TTL)
	}
	res := BlockResult{Condition: n}
	res.Done, err = toEverySideOf(ctx, r, func(ctx context.Context, s BlockSide) (string, error) {
		return s.Block(ctx, n)
	})
	return res, err
}

// describeBlock is how the sides' reports name a condition.
func describeBlock(n revocation.BlockNotice) string {
	d := fmt.Sprintf("blocking condition %s %s", n.Kind, n.Value)
	if n.TTL > 0 {
		d += fmt.Sprintf(" (ttl %ds)", int64(n.TTL/time.Second))
	}
	return d
}

func (s *brokerSide) Block(ctx context.Context, n revocation.BlockNotice) (string, error) {
	err := s.conn.use(ctx, func(pub *revocation.BrokerPublisher) error {
		return pub.PublishBlock(ctx, n)
	})
	if err != nil {
		return "", err
	}
	verb := "published"
	if !n.Enabled {
		verb = "published the lifting of"
	}
	return fmt.Sprintf("%s %s to %s topic %s", verb, describeBlock(n), s.where, s.topic), nil
}

func (s *etcdSide) Block(ctx context.Context, n revocation.BlockNotice) (string, error) {
	var key string
	err := s.conn.use(ctx, func(pub *revocation.EtcdPublisher) error {
		key = pub.BlockKey(n.Kind, n.Value)
		if !n.Enabled {
			return pub.Unblock(ctx, n.Kind, n.Value)
		}
		return pub.Block(ctx, n)
	})
	if err != nil {
		return "", err
	}
	if !n.Enabled {
		return fmt.Sprintf("deleted etcd key %s at %s", key, s.endpoint), nil
	}
	return fmt.Sprintf("stored %s in etcd key %s at %s", describeBlock(n), key, s.endpoint), nil
}

var (
	_ BlockSide = (*brokerSide)(nil)
	_ BlockSide = (*etcdSide)(nil)
)
