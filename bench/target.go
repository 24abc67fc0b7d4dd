package bench

import (
	"context"
	"os"

	"github.com/actorweave/actorweave/node"
)

// target is the node a scenario runs against: the one at url, or (url == "") a fresh node
// started in-process in a temporary folder, adjusted by tweak. close stops and removes it.
type target struct {
	url   string
	node  *node.Node // nil for a remote node
	close func()
}

func startTarget(ctx context.Context, url, tmpPrefix string, tweak func(*node.Config)) (*target, error) {
	if url != "" {
		return &target{url: url, close: func() {}}, nil
	}
	dir, err := os.MkdirTemp("", tmpPrefix)
	if err != nil {
		return nil, err
	}
	cfg := node.DefaultConfig()
	cfg.DataDir, cfg.Listen = dir, "127.0.0.1:0"
	if tweak != nil {
		tweak(&cfg)
	}
	n, err := node.Start(ctx, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return &target{url: n.URL(), node: n, close: func() {
		n.Close(context.Background())
		os.RemoveAll(dir)
	}}, nil
}
