package cluster

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
)

// Op is one member-to-member operation that is not about a single process (those are the actors
// package's operations, routed to the process's owner): an item lookup, a status, a broadcast.
// It is declared once, where its rule lives, with its name on the wire, its protobuf request and
// reply, and what the member that receives it does; who is asked is the method the caller picks:
//
//   - Call: one member (an owner the caller resolved itself);
//   - Any: every other member at once, the first answer that holds what was asked wins;
//   - All: every member (this one served here, without the wire), each member's answer kept, for
//     the caller to merge;
//   - Others: All without this member.
//
// Serve answers from the receiving member's own state and never asks further members, so no
// operation loops through the cluster.
type Op[Req, Rep proto.Message] struct {
	Name  string
	Serve func(ctx context.Context, req Req) (Rep, error)
}

// Answer is one member's part of a fan-out.
type Answer[Rep proto.Message] struct {
	Member Member
	Rep    Rep
	Err    error
}

// Register installs o's receiving side on f.
func (o *Op[Req, Rep]) Register(f *Forwarder) {
	f.Handle(o.Name, func(ctx context.Context, body []byte) (proto.Message, error) {
		req := newMessage[Req]()
		if err := proto.Unmarshal(body, req); err != nil {
			return nil, fmt.Errorf("%s: request: %w", o.Name, err)
		}
		return o.Serve(ctx, req)
	})
}

// Call runs o on member m.
func (o *Op[Req, Rep]) Call(ctx context.Context, f *Forwarder, m Member, req Req) (Rep, error) {
	rep := newMessage[Rep]()
	if err := f.Call(ctx, m, o.Name, req, rep); err != nil {
		var zero Rep
		return zero, err
	}
	return rep, nil
}

// All runs o on every member of v at once, this member included (served directly), each bounded
// by each (0: by ctx alone) so that one member cut off by a partition holds nobody up. The answers
// are in v.Members' order.
func (o *Op[Req, Rep]) All(ctx context.Context, v *View, f *Forwarder, req Req, each time.Duration) []Answer[Rep] {
	return o.fanOut(ctx, v, f, req, each, true)
}

// Others is All without this member.
func (o *Op[Req, Rep]) Others(ctx context.Context, v *View, f *Forwarder, req Req, each time.Duration) []Answer[Rep] {
	return o.fanOut(ctx, v, f, req, each, false)
}

func (o *Op[Req, Rep]) fanOut(ctx context.Context, v *View, f *Forwarder, req Req, each time.Duration, self bool) []Answer[Rep] {
	out := make([]Answer[Rep], 0, len(v.Members))
	for _, m := range v.Members {
		if self || !v.IsSelf(m) {
			out = append(out, Answer[Rep]{Member: m})
		}
	}
	var wg sync.WaitGroup
	for i := range out {
		wg.Go(func() {
			a := &out[i]
			cctx, cancel := ctx, context.CancelFunc(func() {})
			if each > 0 {
				cctx, cancel = context.WithTimeout(ctx, each)
			}
			defer cancel()
			if v.IsSelf(a.Member) {
				a.Rep, a.Err = o.Serve(cctx, req)
			} else {
				a.Rep, a.Err = o.Call(cctx, f, a.Member, req)
			}
		})
	}
	wg.Wait()
	return out
}

// Any asks every other member of v at once and returns the first answer found accepts, cancelling
// the rest. Without one it returns ok false and the first error that was not a plain "not held"
// (notHeld tells them apart; nil counts every error), so that a lookup can tell "nobody holds it"
// from "somebody could not be asked".
func (o *Op[Req, Rep]) Any(ctx context.Context, v *View, f *Forwarder, req Req, found func(Rep) bool, notHeld func(error) bool) (rep Rep, ok bool, err error) {
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan Answer[Rep], len(v.Members))
	asked := 0
	for _, m := range v.Members {
		if v.IsSelf(m) {
			continue
		}
		asked++
		go func() {
			r, err := o.Call(cctx, f, m, req)
			ch <- Answer[Rep]{Member: m, Rep: r, Err: err}
		}()
	}
	// Every goroutine sends once into a buffer that holds them all, so none outlives its send,
	// and the cancel above ends the calls still running once an answer is found.
	for range asked {
		a := <-ch
		switch {
		case a.Err == nil && (found == nil || found(a.Rep)):
			return a.Rep, true, nil
		case a.Err != nil && (notHeld == nil || !notHeld(a.Err)) && err == nil:
			err = a.Err
		}
	}
	return rep, false, err
}

// newMessage makes an empty message of the type M names (a pointer to a generated struct).
func newMessage[M proto.Message]() M {
	var m M
	return m.ProtoReflect().Type().New().Interface().(M)
}
