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

type tokenStore struct {
	dir   string
	fixed string
}

type storedToken struct {
	SaleorAPIURL string `json:"saleorApiUrl"`
	AppID        string `json:"appId"`
	Token        string `json:"token"`
}

func (s tokenStore) path(apiURL string) string {
	sum := sha256.Sum256([]byte(apiURL))
	return filepath.Join(s.dir, "saleor-app-token-"+hex.EncodeToString(sum[:8])+".json")
}

// get is the token for apiURL: the stored one (the latest installation)
// before a fixed one.
func (s tokenStore) get(apiURL string) (string, error) {
	if s.dir != "" {
		b, err := os.ReadFile(s.path(apiURL))
		switch {
		case err == nil:
			var t storedToken
			if err := json.Unmarshal(b, &t); err != nil || t.Token == "" {
				return "", fmt.Errorf("%w: stored app token %s is unreadable", adapter.ErrRetryable, s.path(apiURL))
			}
			return t.Token, nil
		case !errors.Is(err, fs.ErrNotExist):
			return "", fmt.Errorf("%w: app token: %w", adapter.ErrRetryable, err)
		}
	}
	if s.fixed != "" {
		return s.fixed, nil
	}
	return "", fmt.Errorf("%w: %w", adapter.ErrRetryable, errNoToken)
}

// put keeps the token of an installation, replacing an earlier one.
func (s tokenStore) put(t storedToken) error {
	if s.dir == "" {
		return fmt.Errorf("no %s to keep the app token in", EnvTokenDir)
	}
	b, err := json.Marshal(t)
	if err != nil {
		return err
	}
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
	if err := os.Rename(tmp, s.path(t.SaleorAPIURL)); err != nil {
		return fmt.Errorf("app token: %w", err)
	}
	return nil
}
