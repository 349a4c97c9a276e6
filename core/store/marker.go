package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Marker is the identity of the data in one Redis: written once, the first
// time a program opens the store there, and never again while that data
// lives. A Redis that comes back empty (no persistence, a FLUSHALL, a
// failover to an empty replica) has lost it; one restored from another
// store's backup has another id. LAYOUT.md says what the sidecar does then.
type Marker struct {
	ID      string    `json:"id"`
	Created time.Time `json:"created"`
}

// EnsureMarker returns the store's marker, writing a new one (SET NX) when
// there is none; created reports that it did. Only a program starting on
// the store calls it: a running one only reads (Marker), so that a lost
// marker stays lost until a person decides.
func (d *DB) EnsureMarker(ctx context.Context, now time.Time) (m Marker, created bool, err error) {
	var id [16]byte
	_, _ = rand.Read(id[:])
	fresh := Marker{ID: hex.EncodeToString(id[:]), Created: now.UTC().Truncate(time.Second)}
	b, err := json.Marshal(fresh)
	if err != nil {
		return Marker{}, false, fmt.Errorf("store: marker: %w", err)
	}
	ok, err := d.rdb.SetNX(ctx, d.keys.Marker(), b, 0).Result()
	if err != nil {
		return Marker{}, false, wrapRedis(ctx, "write marker", err)
	}
	if ok {
		return fresh, true, nil
	}
	m, found, err := d.Marker(ctx)
	if err == nil && !found {
		// Deleted between the SET NX and the GET: as good as lost.
		err = fmt.Errorf("store: marker vanished while it was read: %w", ErrUnavailable)
	}
	return m, false, err
}

// Marker reads the store's marker; found is false when there is none.
func (d *DB) Marker(ctx context.Context) (m Marker, found bool, err error) {
	b, err := d.rdb.Get(ctx, d.keys.Marker()).Bytes()
	if errors.Is(err, redis.Nil) {
		return Marker{}, false, nil
	}
	if err != nil {
		return Marker{}, false, wrapRedis(ctx, "read marker", err)
	}
	if err := json.Unmarshal(b, &m); err != nil || m.ID == "" {
		// Not ours, or damaged: not the marker the program saw.
		return Marker{ID: "unreadable:" + string(b)}, true, nil
	}
	return m, true, nil
}
