package saleor

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// The app token is the one thing this adapter must keep across restarts:
// Saleor posts it once, at installation. Adapters are stateless and cannot
// reach the sidecar's Redis, so it is kept in a directory the operator
// provides (a persistent volume, mounted only into the sidecar's
// container), one file per Saleor API URL, written 0600 through a rename
// so a crash never leaves half a token. A token made by hand
// (TRUSTLY_SALEOR_APP_TOKEN[_FILE], a mounted Secret) needs no directory.

// errNoToken is a status report before Saleor installed the app: retryable,
// it lands once the app is installed.
var errNoToken = errors.New("no Saleor app token yet: install the app in the dashboard")

// ErrUninstalled is a status report for a Saleor that uninstalled the app
// (APP_DELETED): permanent, since no token will make it land short of a new
// installation, which the report cannot wait for.
var ErrUninstalled = errors.New("the app was uninstalled")

type tokenStore struct {
	dir   string
	fixed string

	// removed is the uninstallation when there is no directory to keep it
	// in (a hand-made token alone): it lasts until the process ends.
	mu      sync.Mutex
	removed *removal
}

// removal is what is kept of an uninstalled app: which app, and a digest of
// the token it had (never the token), so a new hand-made token is told
// apart from the dead one.
type removal struct {
	SaleorAPIURL string    `json:"saleorApiUrl"`
	AppID        string    `json:"appId"`
	TokenSHA256  string    `json:"tokenSha256,omitempty"`
	RemovedAt    time.Time `json:"removedAt"`
}

func tokenDigest(token string) string {
	if token == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

type storedToken struct {
	SaleorAPIURL string `json:"saleorApiUrl"`
	AppID        string `json:"appId"`
	Token        string `json:"token"`
}

func (s *tokenStore) path(apiURL string) string {
	sum := sha256.Sum256([]byte(apiURL))
	return filepath.Join(s.dir, "saleor-app-token-"+hex.EncodeToString(sum[:8])+".json")
}

// removedPath is where an uninstallation is remembered, beside the token
// file it replaced.
func (s *tokenStore) removedPath(apiURL string) string {
	sum := sha256.Sum256([]byte(apiURL))
	return filepath.Join(s.dir, "saleor-app-removed-"+hex.EncodeToString(sum[:8])+".json")
}

// stored is the token file of apiURL; ok false when there is none.
func (s *tokenStore) stored(apiURL string) (storedToken, bool, error) {
	if s.dir == "" {
		return storedToken{}, false, nil
	}
	b, err := os.ReadFile(s.path(apiURL))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return storedToken{}, false, nil
	case err != nil:
		return storedToken{}, false, fmt.Errorf("%w: app token: %w", adapter.ErrRetryable, err)
	}
	var t storedToken
	if err := json.Unmarshal(b, &t); err != nil || t.Token == "" {
		return storedToken{}, false, fmt.Errorf("%w: stored app token %s is unreadable", adapter.ErrRetryable, s.path(apiURL))
	}
	return t, true, nil
}

// removal is the uninstallation of apiURL's app, if one is remembered.
func (s *tokenStore) removal(apiURL string) (*removal, error) {
	s.mu.Lock()
	r := s.removed
	s.mu.Unlock()
	if r != nil && r.SaleorAPIURL == apiURL {
		return r, nil
	}
	if s.dir == "" {
		return nil, nil
	}
	b, err := os.ReadFile(s.removedPath(apiURL))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("%w: app token: %w", adapter.ErrRetryable, err)
	}
	var rm removal
	if err := json.Unmarshal(b, &rm); err != nil {
		return nil, fmt.Errorf("%w: %s is unreadable", adapter.ErrRetryable, s.removedPath(apiURL))
	}
	return &rm, nil
}

// get is the token for apiURL: the stored one (the latest installation)
// before a fixed one. After an uninstallation nothing is, unless the app
// was installed again or the hand-made token is another one.
func (s *tokenStore) get(apiURL string) (string, error) {
	t, ok, err := s.stored(apiURL)
	if err != nil {
		return "", err
	}
	if ok {
		return t.Token, nil
	}
	rm, err := s.removal(apiURL)
	if err != nil {
		return "", err
	}
	if rm != nil && (s.fixed == "" || tokenDigest(s.fixed) == rm.TokenSHA256) {
		msg := fmt.Sprintf("%s from %s (app %s, %s): install it again", ErrUninstalled, apiURL, rm.AppID, rm.RemovedAt.UTC().Format(time.RFC3339))
		if s.fixed != "" {
			msg += " or set another " + EnvAppToken
		}
		return "", fmt.Errorf("%w: %w", adapter.ErrPermanent, errorString{msg, ErrUninstalled})
	}
	if s.fixed != "" {
		return s.fixed, nil
	}
	return "", fmt.Errorf("%w: %w", adapter.ErrRetryable, errNoToken)
}

// errorString is a message that still matches its sentinel.
type errorString struct {
	msg string
	is  error
}

func (e errorString) Error() string { return e.msg }
func (e errorString) Unwrap() error { return e.is }

// uninstalled forgets the token of app appID at apiURL and remembers that
// it is gone. It reports what it did: "deleted" (the registered token),
// "hand-made" (the token is the operator's to remove), "other" (the token
// kept belongs to another installation: nothing changes), "none".
func (s *tokenStore) uninstalled(apiURL, appID string, at time.Time) (string, error) {
	t, ok, err := s.stored(apiURL)
	if err != nil {
		return "", err
	}
	rm := removal{SaleorAPIURL: apiURL, AppID: appID, RemovedAt: at.UTC()}
	what := "none"
	switch {
	case ok && t.AppID != "" && t.AppID != appID:
		// An earlier installation's APP_DELETED (or a replay of one) after
		// the app was installed again: the kept token is alive.
		return "other", nil
	case ok:
		rm.TokenSHA256, what = tokenDigest(t.Token), "deleted"
	case s.fixed != "":
		rm.TokenSHA256, what = tokenDigest(s.fixed), "hand-made"
	}
	s.mu.Lock()
	s.removed = &rm
	s.mu.Unlock()
	if s.dir == "" {
		return what, nil
	}
	b, err := json.Marshal(rm)
	if err != nil {
		return "", err
	}
	// The removal first: a crash between the two leaves a dead token that
	// is never used, never a live-looking one.
	if err := s.writeFile(s.removedPath(apiURL), b); err != nil {
		return "", err
	}
	if err := os.Remove(s.path(apiURL)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("app token: %w", err)
	}
	return what, nil
}

// put keeps the token of an installation, replacing an earlier one and
// an earlier uninstallation.
func (s *tokenStore) put(t storedToken) error {
	if s.dir == "" {
		return fmt.Errorf("no %s to keep the app token in", EnvTokenDir)
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
	if err := s.writeFile(s.path(t.SaleorAPIURL), b); err != nil {
		return err
	}
	s.mu.Lock()
	s.removed = nil
	s.mu.Unlock()
	if err := os.Remove(s.removedPath(t.SaleorAPIURL)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("app token: %w", err)
	}
	return nil
}

// writeFile replaces path with b, 0600, through a rename so a crash never
// leaves half a file.
func (s *tokenStore) writeFile(path string, b []byte) error {
	f, err := os.CreateTemp(s.dir, ".saleor-app-token-*")
	if err != nil {
		return fmt.Errorf("app token: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // gone after the rename; removes a failed attempt
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("app token: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("app token: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("app token: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("app token: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("app token: %w", err)
	}
	return nil
}
