package arweave

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/everFinance/goar"
	goartypes "github.com/everFinance/goar/types"
	goarutils "github.com/everFinance/goar/utils"

	"github.com/actorweave/actorweave/ans104"
)

// L1 posts uploads as Arweave L1 bundle transactions: the items in one ANS-104 binary bundle, the
// bundle inline as the data of a format-2 transaction signed by an RSA wallet, POST {gateway}/tx.
//
// Inline data, not goar's chunk uploader: arlocal assigns chunk offsets in arrival order (goar's
// default 50 parallel chunk posts scramble a multi-chunk bundle, docs/design.md §6), and an
// inline post is one request that the gateway either has or has not, which keeps Landed simple.
//
// A bundle whose size would make Arweave nodes and arlocal disagree on its data_root (over 256 KiB,
// size mod 256 KiB under 32 KiB: dataroot.go) gets a padding item signed by the wallet.
type L1 struct {
	Gateway string
	wallet  *goar.Signer
	rsa     *ans104.RSASigner // the same key, to sign padding items
	address string
	hc      *http.Client
	// ExtraTags are added to every transaction (after Bundle-Format/Version and App-Name).
	ExtraTags []ans104.Tag
}

// NewL1 builds the L1 path. wallet must be an RSA key (an Arweave wallet JWK loaded with
// ans104.LoadKeyFile, which keeps the primes: goar's own JWK loader drops them and then signs ~10x
// slower).
func NewL1(gateway string, wallet ans104.Signer) (*L1, error) {
	rs, ok := wallet.(*ans104.RSASigner)
	if !ok {
		return nil, fmt.Errorf("arweave: the L1 path needs an RSA Arweave wallet (a JWK with kty RSA), not a %s key", wallet.SignatureType())
	}
	if gateway == "" {
		return nil, errors.New("arweave: the L1 path needs a gateway URL")
	}
	s := goar.NewSignerByPrivateKey(rs.PrivateKey())
	return &L1{Gateway: strings.TrimRight(gateway, "/"), wallet: s, rsa: rs, address: s.Address, hc: newHTTPClient()}, nil
}

// Address is the wallet's address (it pays for the transactions).
func (l *L1) Address() string { return l.address }

// Name implements Poster.
func (l *L1) Name() string { return "l1 " + l.Gateway }

// Prepare bundles the items (plus a padding item when the size needs one, see dataroot.go) and
// signs the transaction (reward from GET /price, anchor from GET /tx_anchor, data_root computed
// as an Arweave node computes it for inline data). The Upload's Items and IDs are items only, not
// the padding; Bytes is the whole bundle.
func (l *L1) Prepare(ctx context.Context, items []*ans104.DataItem) (*Upload, error) {
	if len(items) == 0 {
		return nil, errors.New("arweave: nothing to upload")
	}
	bundle := ans104.EncodeBundle(items)
	if chunkingDiffers(len(bundle)) {
		pad, err := l.padding(len(bundle))
		if err != nil {
			return nil, err
		}
		bundle = ans104.EncodeBundle(append(items[:len(items):len(items)], pad))
		if chunkingDiffers(len(bundle)) {
			return nil, fmt.Errorf("arweave: padded bundle of %d bytes still needs padding", len(bundle))
		}
	}
	root := dataRoot(bundle)
	priceB, err := do(ctx, l.hc, http.MethodGet, fmt.Sprintf("%s/price/%d", l.Gateway, len(bundle)), "", nil)
	if err != nil {
		return nil, err
	}
	reward, err := strconv.ParseUint(strings.TrimSpace(string(priceB)), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("arweave: GET /price answered %q", priceB)
	}
	anchor, err := do(ctx, l.hc, http.MethodGet, l.Gateway+"/tx_anchor", "", nil)
	if err != nil {
		return nil, err
	}
	tags := []goartypes.Tag{{Name: "Bundle-Format", Value: "binary"}, {Name: "Bundle-Version", Value: "2.0.0"},
		{Name: TagAppName, Value: AppName}}
	for _, t := range l.ExtraTags {
		tags = append(tags, goartypes.Tag{Name: t.Name, Value: t.Value})
	}
	tx := &goartypes.Transaction{
		Format:   2,
		Quantity: "0",
		Tags:     goarutils.TagsEncode(tags),
		Data:     goarutils.Base64Encode(bundle),
		DataSize: strconv.Itoa(len(bundle)),
		DataRoot: goarutils.Base64Encode(root),
		// Set, so that goar signs this root instead of computing its own (goar's rebalancing of
		// the last two chunks is neither a node's nor arlocal's).
		Chunks: &goartypes.Chunks{DataRoot: root},
		Reward: strconv.FormatUint(reward, 10),
		LastTx: strings.TrimSpace(string(anchor)),
		Owner:  l.wallet.Owner(),
	}
	if err := l.wallet.SignTx(tx); err != nil {
		return nil, fmt.Errorf("arweave: signing the L1 transaction: %w", err)
	}
	js, err := json.Marshal(tx)
	if err != nil {
		return nil, err
	}
	u := &Upload{TxID: tx.ID, Tx: js, Bytes: len(bundle)}
	for _, it := range items {
		u.Items = append(u.Items, it.Bytes())
		u.IDs = append(u.IDs, it.ID())
	}
	return u, nil
}

// padding returns an item that takes a bundle of size bytes to at least unambiguousSize(size) (a
// little more when the gap is smaller than an empty item): FORMAT.md §5.
func (l *L1) padding(size int) (*ans104.DataItem, error) {
	tags := []ans104.Tag{{Name: TagAppName, Value: AppName}, {Name: TagType, Value: TypePadding}}
	probe := &ans104.DataItem{SignatureType: l.rsa.SignatureType(), Signature: make([]byte, l.rsa.SignatureType().SignatureLen()),
		Owner: l.rsa.Owner(), Tags: tags}
	n := max(0, unambiguousSize(size)-size-64-probe.Size()) // 64: the item's entry in the bundle header
	pad := ans104.NewItem(make([]byte, n), nil, nil, tags)
	if err := pad.Sign(l.rsa); err != nil {
		return nil, fmt.Errorf("arweave: signing a padding item: %w", err)
	}
	return pad, nil
}

// Post sends the signed transaction as it was recorded. A refusal is a *StatusError (the
// gateway's status and answer), with the transaction and its size added.
func (l *L1) Post(ctx context.Context, u *Upload) error {
	if u.TxID == "" || len(u.Tx) == 0 {
		return errors.New("arweave: not an L1 upload (no transaction)")
	}
	_, err := do(ctx, l.hc, http.MethodPost, l.Gateway+"/tx", "application/json", bytes.NewReader(u.Tx))
	if err != nil {
		return fmt.Errorf("%w (L1 transaction %s, %d-byte bundle of %d items)", err, u.TxID, u.Bytes, len(u.IDs))
	}
	return nil
}

// Landed asks the gateway for the transaction: 200 (or 202, pending on a real node) means it has it.
func (l *L1) Landed(ctx context.Context, u *Upload) (bool, error) {
	_, err := do(ctx, l.hc, http.MethodGet, l.Gateway+"/tx/"+u.TxID+"/status", "", nil)
	var se *StatusError
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &se) && se.Code == http.StatusAccepted:
		return true, nil
	case errors.As(err, &se) && se.Code == http.StatusNotFound:
		return false, nil
	}
	return false, err
}
