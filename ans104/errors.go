package ans104

import (
	"errors"
	"fmt"
)

// The typed errors of this package. Every error a caller can get from parsing or verifying input
// is one of these (wrapped with detail), so that an HTTP layer maps them to a 4xx with a message a
// person can act on, and tests can tell the causes apart with errors.As / errors.Is.

// ErrTruncated: the input ends before a field the layout requires.
var ErrTruncated = errors.New("ans104: data item is truncated")

// TruncatedError says which field ran past the end of the input.
type TruncatedError struct {
	Field string
	Need  int // bytes the field needs
	Have  int // bytes left
}

func (e *TruncatedError) Error() string {
	return fmt.Sprintf("ans104: data item is truncated: %s needs %d bytes, %d left", e.Field, e.Need, e.Have)
}

// Is makes errors.Is(err, ErrTruncated) true.
func (e *TruncatedError) Is(target error) bool { return target == ErrTruncated }

// FormatError: a field has a value the layout does not allow (presence byte not 0/1, Avro that
// does not decode, a count that disagrees with the bytes).
type FormatError struct {
	Field  string
	Reason string
}

func (e *FormatError) Error() string { return fmt.Sprintf("ans104: bad %s: %s", e.Field, e.Reason) }

// LimitError: the input exceeds a configured limit (item size, tag count, tag name or value size).
type LimitError struct {
	What   string
	Detail string
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("ans104: %s over limit: %s", e.What, e.Detail)
}

// UnknownSignatureTypeError: the signature type is not one this package knows the layout of, or
// (for verification and signing) not one it supports.
type UnknownSignatureTypeError struct {
	Type SignatureType
	Op   string // "parse", "verify" or "sign"
}

func (e *UnknownSignatureTypeError) Error() string {
	return fmt.Sprintf("ans104: cannot %s signature type %d (%s); supported for %s: %s", e.Op, uint16(e.Type), e.Type, e.Op, supportedFor(e.Op))
}

func supportedFor(op string) string {
	switch op {
	case "verify":
		return "1 (arweave), 2 (ed25519), 3 (ethereum)"
	case "sign":
		return "1 (arweave), 2 (ed25519)"
	}
	return "1 (arweave), 2 (ed25519), 3 (ethereum), 4 (solana), 5 (injectedAptos), 6 (multiAptos), 7 (typedEthereum)"
}

// ErrBadSignature: the signature does not verify against the owner and the signed fields.
var ErrBadSignature = errors.New("ans104: signature verification failed")

// SignatureError says why a signature did not verify.
type SignatureError struct {
	Type   SignatureType
	Reason string
}

func (e *SignatureError) Error() string {
	return fmt.Sprintf("ans104: signature verification failed (%s): %s", e.Type, e.Reason)
}

// Is makes errors.Is(err, ErrBadSignature) true.
func (e *SignatureError) Is(target error) bool { return target == ErrBadSignature }

// TagError: an AO item lacks a tag its kind requires, or a tag has a value that is not allowed.
// The message names the item kind and the tag, e.g. "Process item lacks the Module tag".
type TagError struct {
	Kind   string // Process, Message, Module, Assignment, Checkpoint, or "data item"
	Tag    string
	Reason string // empty for a missing tag
}

func (e *TagError) Error() string {
	if e.Reason == "" {
		return fmt.Sprintf("%s item lacks the %s tag", e.Kind, e.Tag)
	}
	return fmt.Sprintf("%s item has a bad %s tag: %s", e.Kind, e.Tag, e.Reason)
}
