package engine

import (
	"context"
	"slices"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

// RetainGrace is the least time Retain leaves an old key before it expires,
// however long ago its retention ran out.
const RetainGrace = 24 * time.Hour

// Retain gives the keys written while nothing expired (before retention
// existed) the TTL their next write would give them (store.Retain): a
// settled order, one in a state that is neither open nor kept, expires the
// retention after its last change.
func (e *Engine) Retain(ctx context.Context, dryRun bool) (store.RetainReport, error) {
	r, err := e.store.Retain(ctx, settled, e.now(), RetainGrace, dryRun)
	return r, storeErr(err)
}

// settled reports whether an order of flow in state awaits nothing: the
// states the transitions give a TTL (keepStates, openStates).
func settled(flow, state string) bool {
	f := Flow(flow)
	m, err := MachineFor(f)
	if err != nil {
		return false // a flow this version does not know: keep it
	}
	if _, known := m.Rank[State(state)]; !known {
		return false
	}
	return !slices.Contains(openStates(f), state) && !slices.Contains(keepStates(f), state)
}
