package cluster

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestErrorTableKeepsEverySentinel: an error crosses as every sentinel of the table it wraps, so
// errors.Is on the caller answers as on the callee whichever sentinel the caller tests first.
func TestErrorTableKeepsEverySentinel(t *testing.T) {
	errSpecific, errOther := errors.New("specific"), errors.New("other")
	table := append(ErrorTable{{"specific", errSpecific}, {"other", errOther}}, BaseErrors()...)
	if err := table.check(); err != nil {
		t.Fatal(err)
	}
	// A forwarded call that timed out wraps both ErrUnreachable and DeadlineExceeded; a fenced
	// owner's refusal wraps ErrNotOwner and a package's own sentinel.
	sent := fmt.Errorf("process p: %w: %w (and %w)", ErrNotOwner, errSpecific,
		fmt.Errorf("%w: b did not answer: %w", ErrUnreachable, context.DeadlineExceeded))
	code, msg := table.encode(sent)
	if code != "specific,not_owner,unreachable,deadline" {
		t.Fatalf("codes %q: want every wrapped sentinel, in table order", code)
	}
	got := table.decode(code, msg)
	if got.Error() != sent.Error() {
		t.Errorf("message %q, want %q", got, sent)
	}
	for _, want := range []error{errSpecific, ErrNotOwner, ErrUnreachable, context.DeadlineExceeded} {
		if !errors.Is(got, want) {
			t.Errorf("errors.Is(%v) false across the wire", want)
		}
	}
	for _, not := range []error{errOther, context.Canceled} {
		if errors.Is(got, not) {
			t.Errorf("errors.Is(%v) true, but the callee's error did not wrap it", not)
		}
	}
	// A sentinel the table does not name arrives as its message alone.
	code, msg = table.encode(errors.New("unlisted"))
	if got := table.decode(code, msg); code != "" || got.Error() != "unlisted" || errors.Unwrap(got) != nil {
		t.Errorf("unlisted error: code %q, decoded %v", code, got)
	}
}

func TestErrorTableRefusesAmbiguity(t *testing.T) {
	e := errors.New("e")
	for name, table := range map[string]ErrorTable{
		"a code twice":     {{"a", e}, {"a", errors.New("f")}},
		"a sentinel twice": {{"a", e}, {"b", e}},
		"a separator":      {{"a,b", e}},
		"the base twice":   append(ErrorTable{{"mine", ErrNotOwner}}, BaseErrors()...),
	} {
		if err := table.check(); err == nil || !strings.Contains(err.Error(), "error table") {
			t.Errorf("%s: check = %v, want a refusal", name, err)
		}
	}
}
