package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorweave/actorweave/ans104"
	"github.com/actorweave/actorweave/client"
)

// defaultNodeURL is where `actorweave node` listens by default.
const defaultNodeURL = "http://127.0.0.1:8734"

// clientOpts are the flags the client verbs (module publish, spawn, send, result, dryrun) share.
// Only --node and --wallet read the environment (ACTORWEAVE_NODE, ACTORWEAVE_WALLET): the other
// names (--data, --tag) mean something else to `actorweave node`, whose settings are also taken
// from ACTORWEAVE_* variables.
type clientOpts struct {
	node     string
	wallet   string
	timeout  time.Duration
	tags     []string
	data     string
	dataFile string
}

func (o *clientOpts) bindNode(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.node, "node", defaultNodeURL, "URL of the node (env ACTORWEAVE_NODE)")
	f.DurationVar(&o.timeout, "timeout", 2*time.Minute, "give up after this long")
}

func (o *clientOpts) bindWallet(cmd *cobra.Command, usage string) {
	cmd.Flags().StringVar(&o.wallet, "wallet", "", usage+" (env ACTORWEAVE_WALLET)")
}

func (o *clientOpts) bindMessage(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringArrayVar(&o.tags, "tag", nil, "a tag NAME=VALUE (repeatable)")
	f.StringVar(&o.data, "data", "", "the data, as a string")
	f.StringVar(&o.dataFile, "data-file", "", "read the data from FILE (- for standard input)")
}

// resolve applies the environment to --node and --wallet and checks the node URL.
func (o *clientOpts) resolve(cmd *cobra.Command) error {
	for _, e := range []struct {
		flag, env string
		dst       *string
	}{{"node", "ACTORWEAVE_NODE", &o.node}, {"wallet", "ACTORWEAVE_WALLET", &o.wallet}} {
		if f := cmd.Flags().Lookup(e.flag); f == nil || f.Changed {
			continue
		}
		if v, ok := os.LookupEnv(e.env); ok && v != "" {
			*e.dst = v
		}
	}
	u, err := url.Parse(o.node)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("--node %q is not a node URL like %s", o.node, defaultNodeURL)
	}
	if o.timeout <= 0 {
		return fmt.Errorf("--timeout must be positive")
	}
	return nil
}

// client returns a client of the node; with needWallet it fails when no wallet is given.
func (o *clientOpts) client(needWallet bool) (*client.Client, error) {
	var s ans104.Signer
	if o.wallet == "" {
		if needWallet {
			return nil, errors.New("--wallet FILE is required (a JWK made by `actorweave keygen`; or set ACTORWEAVE_WALLET)")
		}
	} else {
		var err error
		if s, err = ans104.LoadKeyFile(o.wallet); err != nil {
			return nil, fmt.Errorf("--wallet %s: %w", o.wallet, err)
		}
	}
	c := client.New(o.node, s)
	c.HTTP.Timeout = o.timeout
	return c, nil
}

func (o *clientOpts) context(cmd *cobra.Command) (context.Context, context.CancelFunc) {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	return context.WithTimeout(ctx, o.timeout)
}

// messageTags parses the --tag flags.
func (o *clientOpts) messageTags() ([]ans104.Tag, error) {
	out := make([]ans104.Tag, 0, len(o.tags))
	for _, t := range o.tags {
		name, value, ok := strings.Cut(t, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("--tag %q: want NAME=VALUE", t)
		}
		out = append(out, ans104.Tag{Name: name, Value: value})
	}
	return out, nil
}

// messageData reads --data or --data-file (at most one of them).
func (o *clientOpts) messageData(cmd *cobra.Command) ([]byte, error) {
	if cmd.Flags().Changed("data") && o.dataFile != "" {
		return nil, errors.New("give --data or --data-file, not both")
	}
	switch o.dataFile {
	case "":
		return []byte(o.data), nil
	case "-":
		return io.ReadAll(cmd.InOrStdin())
	}
	b, err := os.ReadFile(o.dataFile)
	if err != nil {
		return nil, fmt.Errorf("--data-file: %w", err)
	}
	return b, nil
}

// requireID parses an id flag.
// message reads what send and dryrun share: the resolved flags, the process id, the tags (with
// --action first, when given) and the data.
func (o *clientOpts) message(cmd *cobra.Command, process, action string) (ans104.ID, []ans104.Tag, []byte, error) {
	if err := o.resolve(cmd); err != nil {
		return ans104.ID{}, nil, nil, err
	}
	pid, err := requireID("process", process)
	if err != nil {
		return pid, nil, nil, err
	}
	tags, err := o.messageTags()
	if err != nil {
		return pid, nil, nil, err
	}
	if cmd.Flags().Changed("action") {
		if action == "" {
			return pid, nil, nil, errors.New("--action must not be empty")
		}
		if ans104.Tags(tags).Value("Action") != "" {
			return pid, nil, nil, errors.New("give the Action with --action or with --tag Action=..., not both")
		}
		tags = append([]ans104.Tag{{Name: "Action", Value: action}}, tags...)
	}
	data, err := o.messageData(cmd)
	return pid, tags, data, err
}

func requireID(flag, v string) (ans104.ID, error) {
	if v == "" {
		return ans104.ID{}, fmt.Errorf("--%s is required", flag)
	}
	id, err := ans104.ParseID(v)
	if err != nil {
		return id, fmt.Errorf("--%s %q: %w", flag, v, err)
	}
	return id, nil
}

// nodeError keeps the node's own answer (status and message) and explains a node that cannot be
// reached.
func (o *clientOpts) nodeError(err error) error {
	if err == nil {
		return nil
	}
	var ce *client.Error
	if errors.As(err, &ce) {
		return err
	}
	var ue *url.Error
	if errors.As(err, &ue) && !ue.Timeout() {
		return fmt.Errorf("cannot reach the node at %s: %v (is `actorweave node` running? set --node or ACTORWEAVE_NODE)", o.node, ue.Err)
	}
	return err
}

// printJSON writes a JSON document indented, with a final newline, keeping its key order and with
// Go's HTML escapes (\u003c \u003e \u0026) turned back into the characters.
func printJSON(w io.Writer, raw []byte) error {
	var buf bytes.Buffer
	if err := json.Indent(&buf, unescapeHTML(bytes.TrimSpace(raw)), "", "  "); err != nil {
		return fmt.Errorf("the node answered something that is not JSON: %q", raw)
	}
	buf.WriteByte('\n')
	_, err := w.Write(buf.Bytes())
	return err
}

// unescapeHTML replaces the escapes \u003c, \u003e and \u0026 that Go's encoder writes for <, >
// and & with the characters, which JSON allows as they are. An escape is only one when the
// backslash before it is not itself escaped.
func unescapeHTML(b []byte) []byte {
	if !bytes.Contains(b, []byte(`\u00`)) {
		return b
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			out = append(out, b[i])
			continue
		}
		if i+5 < len(b) && b[i+1] == 'u' {
			switch string(b[i+2 : i+6]) {
			case "003c", "003C":
				out, i = append(out, '<'), i+5
				continue
			case "003e", "003E":
				out, i = append(out, '>'), i+5
				continue
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		// Any other escape: copy the backslash and the character it escapes.
		out = append(out, b[i])
		if i+1 < len(b) {
			out = append(out, b[i+1])
			i++
		}
	}
	return out
}
