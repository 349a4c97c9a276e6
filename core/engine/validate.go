package engine

import (
	"slices"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// checkable is a typed Trustly request that lists what Trustly would refuse.
type checkable interface {
	Problems(env trustly.Environment) trustly.ValidationErrors
}

// validate checks req as Trustly would in the configured environment. It
// runs before anything is stored, so a request Trustly would refuse leaves
// no order behind. ours names the fields the engine fills in itself after
// validating (an account from the store): they are not the caller's to get
// right. A problem is an *Error of KindInvalid wrapping the
// trustly.ValidationErrors, so errors.As finds the first *trustly.Error
// and its Field.
func (e *Engine) validate(req checkable, ours ...string) error {
	var problems trustly.ValidationErrors
	for _, p := range req.Problems(e.cfg.Environment) {
		if !slices.Contains(ours, p.Field) {
			problems = append(problems, p)
		}
	}
	if len(problems) == 0 {
		return nil
	}
	msgs := make([]string, len(problems))
	for i, p := range problems {
		msgs[i] = p.Field + ": " + strings.TrimPrefix(p.Message, p.Code.Name()+": ")
	}
	return errf(KindInvalid, CodeInvalidRequest, problems, "Trustly would refuse this request: %s", strings.Join(msgs, "; "))
}
