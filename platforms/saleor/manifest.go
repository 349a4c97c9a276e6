package saleor

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// The app manifest Saleor reads when a person installs the app by its URL
// (saleor/app/manifest_schema.py: camelCase fields id, version, name,
// about, permissions, appUrl, tokenTargetUrl, requiredSaleorVersion,
// webhooks[{name, targetUrl, query, isActive, asyncEvents, syncEvents}];
// docs: developer/extending/apps/architecture/manifest). No webhook has a
// secretKey, so Saleor signs them with its JWS.
type manifest struct {
	ID                    string            `json:"id"`
	Version               string            `json:"version"`
	Name                  string            `json:"name"`
	About                 string            `json:"about"`
	Permissions           []string          `json:"permissions"`
	TokenTargetURL        string            `json:"tokenTargetUrl"`
	RequiredSaleorVersion string            `json:"requiredSaleorVersion"`
	Author                string            `json:"author"`
	Webhooks              []manifestWebhook `json:"webhooks"`
}

type manifestWebhook struct {
	Name       string   `json:"name"`
	TargetURL  string   `json:"targetUrl"`
	Query      string   `json:"query"`
	IsActive   bool     `json:"isActive"`
	SyncEvents []string `json:"syncEvents"`
}

// baseURL is where Saleor reaches the adapter: the host's public base URL
// of the route (TRUSTLY_SIDECAR_PUBLIC_BASE_URL + /platform/saleor), else
// the configured one.
func (a *Adapter) baseURL(req adapter.Request) string {
	return strings.TrimSuffix(or(req.BaseURL, a.cfg.PublicURL), "/")
}

// Manifest is the app manifest for the public base URL base.
func (a *Adapter) Manifest(base string) any {
	m := manifest{
		ID: a.cfg.AppID, Version: Version, Name: "Trustly",
		About:       "Bank payments through Trustly, by trustly-sidecar.",
		Permissions: []string{"HANDLE_PAYMENTS"}, TokenTargetURL: base + "/register",
		// Transactions API with idempotencyKey on TransactionEvent and the
		// session webhooks' fields used in the queries.
		RequiredSaleorVersion: ">=3.20",
		Author:                "trustly-sidecar",
	}
	for _, w := range webhooks {
		m.Webhooks = append(m.Webhooks, manifestWebhook{
			Name: "Trustly " + strings.ToLower(strings.ReplaceAll(w.Event, "_", " ")), TargetURL: base + w.Path,
			Query: w.Query, IsActive: true, SyncEvents: []string{w.Event},
		})
	}
	return m
}

func (a *Adapter) manifestResponse(req adapter.Request) (adapter.Response, error) {
	base := a.baseURL(req)
	if base == "" {
		return jsonResponse(http.StatusServiceUnavailable, map[string]string{
			"error": "the app's public URL is unknown: set TRUSTLY_SIDECAR_PUBLIC_BASE_URL or " + EnvPublicURL})
	}
	return jsonResponse(http.StatusOK, a.Manifest(base))
}

// Saleor installs the app by POSTing {"auth_token": …} to tokenTargetUrl
// with the headers Saleor-Domain and Saleor-Api-Url, and expects a 2xx; on
// an error it shows error.message of the JSON answer
// (saleor/app/installation_utils.py send_app_token and
// validate_app_install_response). The post itself is not signed, so the
// token is checked by using it: Saleor answers query { app { id } } only
// for a live app token (app-sdk's register handler does the same).
type registration struct {
	AuthToken string `json:"auth_token"`
}

const appIDQuery = `query TrustlyAppID { app { id } }`

// registration checks what Translate can without calling out: the Saleor
// instance and the body's shape.
func (a *Adapter) registration(req adapter.Request) (registration, error) {
	if req.Method != http.MethodPost {
		return registration{}, fmt.Errorf("%w: registration is POSTed", adapter.ErrInvalid)
	}
	if got := req.Header.Get("Saleor-Api-Url"); !sameURL(got, a.cfg.APIURL) {
		return registration{}, fmt.Errorf("%w: registration from Saleor %.200q, this app serves %s", adapter.ErrUnauthenticated, got, a.cfg.APIURL)
	}
	var r registration
	if err := json.Unmarshal(req.Body, &r); err != nil || r.AuthToken == "" {
		return registration{}, fmt.Errorf("%w: registration body is not {\"auth_token\": …}", adapter.ErrInvalid)
	}
	return r, nil
}

// register checks the token against Saleor and keeps it. The token is
// never logged.
func (a *Adapter) register(ctx context.Context, req adapter.Request) adapter.Response {
	refuse := func(status int, code, msg string) adapter.Response {
		resp, _ := jsonResponse(status, map[string]any{"success": false, "error": map[string]string{"code": code, "message": msg}})
		return resp
	}
	r, err := a.registration(req)
	if err != nil {
		return refuse(http.StatusForbidden, "REGISTRATION_REFUSED", err.Error())
	}
	var out struct {
		App *struct {
			ID string `json:"id"`
		} `json:"app"`
	}
	if err := a.graphql(ctx, r.AuthToken, appIDQuery, nil, &out); err != nil || out.App == nil || out.App.ID == "" {
		a.log.Warn("registration refused: Saleor did not accept the token", "saleor", a.cfg.APIURL, "err", err)
		return refuse(http.StatusForbidden, "TOKEN_REFUSED", "Saleor did not accept the app token")
	}
	if err := a.tokens.put(storedToken{SaleorAPIURL: a.cfg.APIURL, AppID: out.App.ID, Token: r.AuthToken}); err != nil {
		a.log.Error("registration: the app token could not be kept", "saleor", a.cfg.APIURL, "err", err)
		return refuse(http.StatusInternalServerError, "TOKEN_NOT_KEPT", "the app could not keep its token: see the sidecar's log")
	}
	// Warm the key set so the first webhook does not wait for it.
	if err := a.keys.fetch(ctx); err != nil {
		a.log.Warn("registration: JWKS not fetched yet", "saleor", a.cfg.APIURL, "err", err)
	}
	a.log.Info("app registered", "saleor", a.cfg.APIURL, "app_id", out.App.ID)
	resp, _ := jsonResponse(http.StatusOK, map[string]bool{"success": true})
	return resp
}
