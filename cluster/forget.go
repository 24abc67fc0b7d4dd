package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/actorweave/actorweave/cluster/clusterpb"
)

// Forgetting members: the known members are a quorum's denominator (Quorum), so a member that
// leaves for good must be forgotten by every member, not only by the one that was told. A graceful
// leave forgets itself (the node's drain); an operator forgets dead members that will not come
// back (POST /cluster/forget) so that the survivors regain a quorum.

// OpForget asks a member to drop names from its known members. Its wire name predates this
// package (it was a node op) and is kept so that members of different versions understand it.
const OpForget = "node.forget"

// ErrForgetAlive: a member asked to be forgotten is alive in this node's view. It would count again
// at its next view, so it must be stopped first.
var ErrForgetAlive = errors.New("member is alive")

// ForgetResult is what POST /cluster/forget answers: per member of the view, the names it dropped,
// or why it could not be asked.
type ForgetResult struct {
	Members map[string]ForgetOutcome `json:"members"`
}

// ForgetOutcome is one member's part of a ForgetResult.
type ForgetOutcome struct {
	Forgotten []string `json:"forgotten"`
	Error     string   `json:"error,omitempty"`
}

// CheckForgettable refuses (ErrForgetAlive) names of members still in v: an operator forgets only
// members that are gone.
func CheckForgettable(v *View, names []string) error {
	for _, name := range names {
		for _, m := range v.Members {
			if m.Name == name {
				return aliveError(name)
			}
		}
	}
	return nil
}

type aliveError string

func (e aliveError) Error() string {
	return fmt.Sprintf("member %s is alive in this node's view: stop it before forgetting it", string(e))
}
func (e aliveError) Unwrap() error { return ErrForgetAlive }

// forgetOp drops names from the receiving member's known members (q, its quorum; nil: it keeps
// none, and says so).
func forgetOp(q *Quorum) *Op[*clusterpb.Names, *clusterpb.Names] {
	return &Op[*clusterpb.Names, *clusterpb.Names]{Name: OpForget,
		Serve: func(ctx context.Context, req *clusterpb.Names) (*clusterpb.Names, error) {
			if q == nil {
				return nil, errors.New("this node keeps no quorum")
			}
			gone, err := q.Forget(req.Names...)
			if err != nil {
				return nil, err
			}
			return &clusterpb.Names{Names: gone}, nil
		}}
}

// BroadcastForget drops names from q (this member's known members) and from those of every other
// member of v, asked over f in parallel. A member that cannot be asked keeps counting the names
// until it is asked again; its outcome says why.
func BroadcastForget(ctx context.Context, v *View, f *Forwarder, q *Quorum, names []string) *ForgetResult {
	out := &ForgetResult{Members: map[string]ForgetOutcome{}}
	for _, a := range forgetOp(q).All(ctx, v, f, &clusterpb.Names{Names: names}, 0) {
		o := ForgetOutcome{Forgotten: []string{}}
		if a.Err != nil {
			o.Error = a.Err.Error()
		} else if a.Rep.Names != nil {
			o.Forgotten = a.Rep.Names
		}
		out.Members[a.Member.Name] = o
	}
	return out
}

// ServeForget registers the member side of BroadcastForget on f: it drops the names from q (nil:
// this member keeps no quorum, and says so).
func ServeForget(f *Forwarder, q *Quorum) { forgetOp(q).Register(f) }
