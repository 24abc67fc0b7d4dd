package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/actorweave/actorweave/ans104"
)

// statusOf maps an error to an HTTP status: the caller's mistakes are 4xx, ours 5xx.
func statusOf(err error) int {
	var (
		trunc   *ans104.TruncatedError
		format  *ans104.FormatError
		limit   *ans104.LimitError
		unknown *ans104.UnknownSignatureTypeError
		tag     *ans104.TagError
	)
	switch {
	case errors.Is(err, errSlowBody):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrTooLarge), errors.As(err, &limit):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupported):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrOverloaded):
		return http.StatusTooManyRequests
	case errors.Is(err, ErrNotImplemented):
		return http.StatusNotImplemented
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return http.StatusGatewayTimeout
	case errors.Is(err, ErrBadRequest), errors.Is(err, ans104.ErrBadSignature),
		errors.As(err, &trunc), errors.As(err, &format), errors.As(err, &unknown), errors.As(err, &tag):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

func writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	if status >= 500 {
		slog.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// badRequest wraps a message as an ErrBadRequest.
func badRequest(msg string) error { return &apiError{msg: msg, kind: ErrBadRequest} }

type apiError struct {
	msg  string
	kind error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.kind }
