package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/actorweave/actorweave/ans104"
)

// The subset of the Arweave gateway GraphQL schema that AO clients use: transactions by ids,
// owners, recipients and tags. Items are the ones the node holds; an item's block is the height
// and time at which the node scheduled or stored it (aos picks the newest of modules of one name by
// block.timestamp), null only for an item the node holds without either. blocks answers with the
// node's current block only (the node is not an Arweave node: it knows the height it follows, not
// the history).
const gqlSchema = `
schema { query: Query }
type Query {
  transaction(id: ID!): Transaction
  transactions(ids: [ID!], owners: [String!], recipients: [String!], tags: [TagFilter!], bundledIn: [ID!],
               first: Int = 10, after: String, sort: SortOrder = HEIGHT_DESC): TransactionConnection!
  blocks(ids: [ID!], height: BlockFilter, first: Int = 10, after: String, sort: SortOrder = HEIGHT_DESC): BlockConnection!
}
input BlockFilter { min: Int, max: Int }
type BlockConnection { pageInfo: PageInfo!, edges: [BlockEdge!]! }
type BlockEdge { cursor: String!, node: Block! }
input TagFilter { name: String!, values: [String!]!, op: TagOperator = EQ }
enum TagOperator { EQ NEQ }
enum SortOrder { HEIGHT_ASC HEIGHT_DESC }
type TransactionConnection { pageInfo: PageInfo!, edges: [TransactionEdge!]! }
type TransactionEdge { cursor: String!, node: Transaction! }
type PageInfo { hasNextPage: Boolean! }
type Transaction {
  id: ID!
  anchor: String!
  signature: String!
  recipient: String!
  owner: Owner!
  fee: Amount!
  quantity: Amount!
  data: MetaData!
  tags: [Tag!]!
  block: Block
  bundledIn: Bundle
}
type Owner { address: String!, key: String! }
type Amount { winston: String!, ar: String! }
type MetaData { size: String!, type: String }
type Tag { name: String!, value: String! }
type Block { id: ID!, timestamp: Int!, height: Int!, previous: ID! }
type Bundle { id: ID! }
`

// maxGraphQLFirst bounds one page, as gateways do.
const maxGraphQLFirst = 1000

type gqlRoot struct{ b Backend }

// gqlBudgetKey carries a request's remaining GraphQL budget (*gqlBudget) in its context.
type gqlBudgetKey struct{}

// gqlBudget is what one GraphQL request may still cost: every transactions field costs
// first × (1 + the fields selected under it), every transaction field 1 + its selected fields,
// charged before anything is loaded. Aliases repeat fields, so they add up: thousands of aliased
// transactions(first: 1000) are refused instead of loading gigabytes.
type gqlBudget struct {
	mu        sync.Mutex
	left, max int
	over      bool
}

// errGraphQLBudget marks a request refused for its cost (HTTP 400).
var errGraphQLBudget = errors.New("GraphQL query over budget")

func charge(ctx context.Context, cost int) error {
	b, _ := ctx.Value(gqlBudgetKey{}).(*gqlBudget)
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if cost > b.left {
		b.over = true
		return fmt.Errorf("%w: the query costs more than its budget of %d (aliases × first × selected fields, --graphql-budget)", errGraphQLBudget, b.max)
	}
	b.left -= cost
	return nil
}

type gqlTagFilter struct {
	Name   string
	Values []string
	Op     string
}

type gqlTransactionsArgs struct {
	IDs        *[]graphql.ID
	Owners     *[]string
	Recipients *[]string
	Tags       *[]gqlTagFilter
	BundledIn  *[]graphql.ID
	First      int32
	After      *string
	Sort       string
}

func (r *gqlRoot) Transaction(ctx context.Context, args struct{ ID graphql.ID }) (*gqlTx, error) {
	id, err := ans104.ParseID(string(args.ID))
	if err != nil {
		return nil, badRequest(err.Error())
	}
	if err := charge(ctx, 1+len(graphql.SelectedFieldNames(ctx))); err != nil {
		return nil, err
	}
	page, err := r.b.QueryItems(ctx, ItemQuery{IDs: []ans104.ID{id}, First: 1})
	if err != nil || len(page.Items) == 0 {
		return nil, err
	}
	return &gqlTx{it: page.Items[0]}, nil
}

func (r *gqlRoot) Transactions(ctx context.Context, args gqlTransactionsArgs) (*gqlConn, error) {
	q := ItemQuery{First: int(args.First), Desc: args.Sort != "HEIGHT_ASC"}
	if q.First < 0 || q.First > maxGraphQLFirst {
		return nil, badRequest("first must be between 0 and " + strconv.Itoa(maxGraphQLFirst))
	}
	if err := charge(ctx, max(q.First, 1)*(1+len(graphql.SelectedFieldNames(ctx)))); err != nil {
		return nil, err
	}
	if args.After != nil {
		q.After = *args.After
	}
	if args.BundledIn != nil && len(*args.BundledIn) > 0 {
		// The node holds no bundles it did not make; nothing is bundled in a given id.
		return &gqlConn{page: &ItemPage{}}, nil
	}
	if args.IDs != nil {
		for _, s := range *args.IDs {
			id, err := ans104.ParseID(string(s))
			if err != nil {
				return nil, badRequest(err.Error())
			}
			q.IDs = append(q.IDs, id)
		}
		if len(q.IDs) == 0 {
			return &gqlConn{page: &ItemPage{}}, nil
		}
	}
	if args.Owners != nil {
		q.Owners = *args.Owners
	}
	if args.Recipients != nil {
		q.Recipients = *args.Recipients
	}
	if args.Tags != nil {
		for _, t := range *args.Tags {
			if t.Op == "NEQ" {
				return nil, &apiError{msg: "tag filter op NEQ is not supported", kind: ErrUnsupported}
			}
			q.Tags = append(q.Tags, TagFilter{Name: t.Name, Values: t.Values})
		}
	}
	page, err := r.b.QueryItems(ctx, q)
	if err != nil {
		return nil, err
	}
	return &gqlConn{page: page}, nil
}

type gqlConn struct{ page *ItemPage }

func (c *gqlConn) PageInfo() *gqlPageInfo { return &gqlPageInfo{c.page.HasMore} }
func (c *gqlConn) Edges() []*gqlEdge {
	out := make([]*gqlEdge, len(c.page.Items))
	for i := range c.page.Items {
		cursor := ""
		if i < len(c.page.Cursors) {
			cursor = c.page.Cursors[i]
		}
		out[i] = &gqlEdge{cursor: cursor, tx: &gqlTx{it: c.page.Items[i]}}
	}
	return out
}

type gqlPageInfo struct{ more bool }

func (p *gqlPageInfo) HasNextPage() bool { return p.more }

type gqlEdge struct {
	cursor string
	tx     *gqlTx
}

func (e *gqlEdge) Cursor() string { return e.cursor }
func (e *gqlEdge) Node() *gqlTx   { return e.tx }

type gqlTx struct{ it StoredItem }

func (t *gqlTx) ID() graphql.ID       { return graphql.ID(t.it.Item.ID().String()) }
func (t *gqlTx) Anchor() string       { return anchorString(t.it.Item) }
func (t *gqlTx) Signature() string    { return ans104.EncodeB64(t.it.Item.Signature) }
func (t *gqlTx) Recipient() string    { return targetOf(t.it.Item) }
func (t *gqlTx) Owner() *gqlOwner     { return &gqlOwner{t.it.Item} }
func (t *gqlTx) Fee() *gqlAmount      { return &gqlAmount{} }
func (t *gqlTx) Quantity() *gqlAmount { return &gqlAmount{} }
func (t *gqlTx) Data() *gqlMeta       { return &gqlMeta{t.it.Item} }
func (t *gqlTx) Tags() []*gqlTag {
	out := make([]*gqlTag, len(t.it.Item.Tags))
	for i, tag := range t.it.Item.Tags {
		out[i] = &gqlTag{tag}
	}
	return out
}
func (t *gqlTx) Block() *gqlBlock {
	if t.it.BlockHeight == 0 && t.it.Timestamp == 0 {
		return nil
	}
	return &gqlBlock{height: t.it.BlockHeight, timestamp: t.it.Timestamp / 1000}
}
func (t *gqlTx) BundledIn() *gqlBundle { return nil }

func anchorString(d *ans104.DataItem) string {
	if a := anchorOf(d, false); a != nil {
		return *a
	}
	return ""
}

type gqlOwner struct{ d *ans104.DataItem }

func (o *gqlOwner) Address() string { return o.d.OwnerAddress() }
func (o *gqlOwner) Key() string     { return ans104.EncodeB64(o.d.Owner) }

type gqlAmount struct{}

func (gqlAmount) Winston() string { return "0" }
func (gqlAmount) Ar() string      { return "0" }

type gqlMeta struct{ d *ans104.DataItem }

func (m *gqlMeta) Size() string { return strconv.Itoa(len(m.d.Data)) }
func (m *gqlMeta) Type() *string {
	if v, ok := m.d.Tags.Get("Content-Type"); ok {
		return &v
	}
	return nil
}

type gqlTag struct{ t ans104.Tag }

func (t *gqlTag) Name() string  { return t.t.Name }
func (t *gqlTag) Value() string { return t.t.Value }

// gqlBlock is a block by height and time (s); the node knows no block ids.
type gqlBlock struct {
	height    uint64
	timestamp int64
}

func (b *gqlBlock) ID() graphql.ID       { return "" }
func (b *gqlBlock) Timestamp() int32     { return int32(b.timestamp) }
func (b *gqlBlock) Height() int32        { return int32(b.height) }
func (b *gqlBlock) Previous() graphql.ID { return "" }

type gqlBlockFilter struct{ Min, Max *int32 }

type gqlBlocksArgs struct {
	IDs    *[]graphql.ID
	Height *gqlBlockFilter
	First  int32
	After  *string
	Sort   string
}

// Blocks answers with the node's current block when it matches the filter.
func (r *gqlRoot) Blocks(ctx context.Context, args gqlBlocksArgs) (*gqlBlockConn, error) {
	if args.First < 0 || args.First > maxGraphQLFirst {
		return nil, badRequest("first must be between 0 and " + strconv.Itoa(maxGraphQLFirst))
	}
	ts, h := r.b.Clock()
	cur := &gqlBlock{height: h, timestamp: ts / 1000}
	match := args.First > 0 && args.After == nil && (args.IDs == nil || len(*args.IDs) == 0)
	if f := args.Height; f != nil {
		match = match && (f.Min == nil || int64(*f.Min) <= int64(h)) && (f.Max == nil || int64(*f.Max) >= int64(h))
	}
	if !match {
		return &gqlBlockConn{}, nil
	}
	return &gqlBlockConn{edges: []*gqlBlockEdge{{cursor: strconv.FormatUint(h, 10), node: cur}}}, nil
}

type gqlBlockConn struct{ edges []*gqlBlockEdge }

func (c *gqlBlockConn) PageInfo() *gqlPageInfo { return &gqlPageInfo{} }
func (c *gqlBlockConn) Edges() []*gqlBlockEdge { return c.edges }

type gqlBlockEdge struct {
	cursor string
	node   *gqlBlock
}

func (e *gqlBlockEdge) Cursor() string  { return e.cursor }
func (e *gqlBlockEdge) Node() *gqlBlock { return e.node }

type gqlBundle struct{}

func (gqlBundle) ID() graphql.ID { return "" }

// GraphQLLimits bound one GraphQL request. Every field has a default and a flag.
type GraphQLLimits struct {
	Budget        int // see gqlBudget
	MaxQueryBytes int // the query text
	MaxDepth      int // field nesting
}

// DefaultGraphQLLimits: 20,000 (e.g. two pages of 1,000 with nine fields each; aoconnect's
// queries cost a few hundred), 16 KiB of query, depth 10.
func DefaultGraphQLLimits() GraphQLLimits {
	return GraphQLLimits{Budget: 20_000, MaxQueryBytes: 16 << 10, MaxDepth: 10}
}

func newGraphQL(b Backend, l GraphQLLimits) (*graphql.Schema, error) {
	return graphql.ParseSchema(gqlSchema, &gqlRoot{b: b}, graphql.UseFieldResolvers(), graphql.MaxDepth(l.MaxDepth),
		graphql.MaxQueryLength(l.MaxQueryBytes), graphql.MaxParallelism(4))
}

type gqlRequest struct {
	Query         string                 `json:"query"`
	OperationName string                 `json:"operationName"`
	Variables     map[string]interface{} `json:"variables"`
}

func (s *Server) handleGraphQL(w http.ResponseWriter, r *http.Request) error {
	var req gqlRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, int64(s.cfg.GraphQL.MaxQueryBytes)+64<<10)).Decode(&req); err != nil {
		return badRequest("GraphQL body must be JSON {query, variables}: " + err.Error())
	}
	if len(req.Query) > s.cfg.GraphQL.MaxQueryBytes {
		return badRequest(fmt.Sprintf("GraphQL query of %d bytes is over the %d-byte limit (--graphql-max-query-bytes)", len(req.Query), s.cfg.GraphQL.MaxQueryBytes))
	}
	ctx, cancel := s.ctx(r)
	defer cancel()
	budget := &gqlBudget{left: s.cfg.GraphQL.Budget, max: s.cfg.GraphQL.Budget}
	resp := s.gql.Exec(context.WithValue(ctx, gqlBudgetKey{}, budget), req.Query, req.OperationName, req.Variables)
	budget.mu.Lock()
	over := budget.over
	budget.mu.Unlock()
	if over {
		return badRequest(fmt.Sprintf("GraphQL query over its budget of %d (aliases × first × selected fields, --graphql-budget)", s.cfg.GraphQL.Budget))
	}
	if ctx.Err() != nil {
		return &apiError{msg: fmt.Sprintf("GraphQL query not answered within %s (--request-timeout)", s.cfg.RequestTimeout), kind: ErrTimeout}
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
