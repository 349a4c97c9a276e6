package storecheck

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
)

func node(policy string, aof bool, fsync string) store.ServerReport {
	return store.ServerReport{Nodes: []store.NodeReport{{Addr: "r:6379", Via: "config", Policy: policy, AOF: aof, Fsync: fsync}}}
}

func TestDecide(t *testing.T) {
	unknown := store.ServerReport{Nodes: []store.NodeReport{{Addr: "r:6379", Err: errors.New("NOPERM")}}}
	for _, tc := range []struct {
		name     string
		report   store.ServerReport
		live     bool
		allow    bool
		refused  bool
		warnings int
	}{
		{"as required, LIVE", node("noeviction", true, "always"), true, false, false, 0},
		{"evicting, LIVE", node("allkeys-lru", true, "always"), true, false, true, 0},
		{"evicting, LIVE, allowed", node("allkeys-lru", true, "always"), true, true, false, 1},
		{"evicting, TEST", node("volatile-lru", true, "always"), false, false, false, 1},
		{"no AOF, LIVE", node("noeviction", false, ""), true, false, false, 1},
		{"fsync everysec, LIVE", node("noeviction", true, "everysec"), true, false, false, 1},
		{"evicting and no AOF, LIVE: refused, the AOF warned", node("allkeys-lfu", false, ""), true, false, true, 1},
		{"nothing known, LIVE: warnings only", unknown, true, false, false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			warnings, err := Decide(tc.report, tc.live, tc.allow, "ALLOW")
			if refused := errors.Is(err, ErrEvicting); refused != tc.refused {
				t.Errorf("refused %t (%v), want %t", refused, err, tc.refused)
			}
			if err != nil && !strings.Contains(err.Error(), "ALLOW=true") {
				t.Errorf("the refusal does not name the override: %v", err)
			}
			if len(warnings) != tc.warnings {
				t.Errorf("warnings %v, want %d", warnings, tc.warnings)
			}
		})
	}
}

// fakeStore is a store whose marker a test sets.
type fakeStore struct {
	marker *store.Marker
	down   bool
}

func (f *fakeStore) CheckServer(context.Context) (store.ServerReport, error) {
	return node("noeviction", true, "always"), nil
}

func (f *fakeStore) EnsureMarker(_ context.Context, now time.Time) (store.Marker, bool, error) {
	if f.marker != nil {
		return *f.marker, false, nil
	}
	f.marker = &store.Marker{ID: "m-1", Created: now}
	return *f.marker, true, nil
}

func (f *fakeStore) Marker(context.Context) (store.Marker, bool, error) {
	if f.down {
		return store.Marker{}, false, store.ErrUnavailable
	}
	if f.marker == nil {
		return store.Marker{}, false, nil
	}
	return *f.marker, true, nil
}

type gauges struct {
	lost       bool
	durability map[string]bool
}

func (g *gauges) SetRedisDurability(check string, ok bool) { g.durability[check] = ok }
func (g *gauges) SetRedisDataLost(lost bool)               { g.lost = lost }

// The marker's life as the guard sees it: written at start, lost, lost
// still (one ERROR), Redis down (no verdict), restored.
func TestGuardFollowsTheMarker(t *testing.T) {
	db := &fakeStore{}
	var logs bytes.Buffer
	m := &gauges{durability: map[string]bool{}}
	g := New(db, Options{Log: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: m})
	ctx := t.Context()
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "new store, marker written") || !m.durability["fsync"] {
		t.Fatalf("start: %s %v", logs.String(), m.durability)
	}
	kept := *db.marker
	steps := []struct {
		name   string
		change func()
		want   error
		lost   bool
	}{
		{"unchanged", func() {}, nil, false},
		{"flushed", func() { db.marker = nil }, ErrDataLost, true},
		{"still empty", func() {}, ErrDataLost, true},
		{"Redis down", func() { db.down = true }, store.ErrUnavailable, true},
		{"another store's marker", func() { db.down = false; db.marker = &store.Marker{ID: "m-2"} }, ErrDataLost, true},
		{"restored from a backup", func() { db.marker = &kept }, nil, false},
	}
	for _, s := range steps {
		s.change()
		if err := g.CheckData(ctx); !errors.Is(err, s.want) || (s.want == nil && err != nil) {
			t.Errorf("%s: %v, want %v", s.name, err, s.want)
		}
		if m.lost != s.lost {
			t.Errorf("%s: metric lost %t", s.name, m.lost)
		}
	}
	if n := strings.Count(logs.String(), "level=ERROR"); n != 1 {
		t.Errorf("%d ERROR lines, want one for the one detection:\n%s", n, logs.String())
	}
	if db.marker.ID != "m-1" {
		t.Errorf("the guard wrote the marker while running: %+v", db.marker)
	}
	if !strings.Contains(logs.String(), "marker is back") {
		t.Errorf("no INFO when the marker came back:\n%s", logs.String())
	}
}
