package pluginhost

import (
	"context"
	"fmt"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// Adapter is the supervised adapter as an adapter.Adapter. It stays valid
// across restarts: each call goes to whichever process is running. While
// none is, calls fail at once with adapter.ErrPluginDead (retryable) rather
// than queue behind a restart; the caller's retry policy decides.
func (h *Host) Adapter() adapter.Adapter { return supervised{h} }

type supervised struct{ h *Host }

var _ adapter.Adapter = supervised{}

// call runs f against the current plugin with a bounded context.
func (s supervised) call(ctx context.Context, f func(context.Context, adapter.Adapter) error) error {
	inst := s.h.current()
	if inst == nil {
		return fmt.Errorf("adapter %s: %w", s.h.src.Name, adapter.ErrPluginDead)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.h.opts.CallTimeout)
		defer cancel()
	}
	err := f(ctx, inst.adapter)
	if err == nil {
		return nil
	}
	if adapter.Classify(err) == adapter.ClassRetryable {
		// The plugin may have died under the call: have the supervisor
		// look now instead of at the next tick.
		select {
		case s.h.check <- struct{}{}:
		default:
		}
		if inst.client.Exited() {
			return fmt.Errorf("adapter %s: %w: %w", s.h.src.Name, adapter.ErrPluginDead, err)
		}
	}
	return err
}

func (s supervised) Describe(ctx context.Context) (d adapter.Description, err error) {
	err = s.call(ctx, func(ctx context.Context, a adapter.Adapter) (err error) { d, err = a.Describe(ctx); return err })
	return d, err
}

func (s supervised) Translate(ctx context.Context, req adapter.Request) (cmds []adapter.Command, err error) {
	err = s.call(ctx, func(ctx context.Context, a adapter.Adapter) (err error) {
		cmds, err = a.Translate(ctx, req)
		return err
	})
	return cmds, err
}

func (s supervised) Answer(ctx context.Context, req adapter.Request, results []adapter.Result) (r adapter.Response, err error) {
	err = s.call(ctx, func(ctx context.Context, a adapter.Adapter) (err error) {
		r, err = a.Answer(ctx, req, results)
		return err
	})
	return r, err
}

func (s supervised) ApplyStatus(ctx context.Context, ch adapter.StatusChange) error {
	return s.call(ctx, func(ctx context.Context, a adapter.Adapter) error { return a.ApplyStatus(ctx, ch) })
}
