package saleor

import (
	"net/http"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
)

// uninstall acts on a verified APP_DELETED (see appDeleted): the app token
// of this Saleor is deleted so nothing is reported with a dead token, and
// later status reports fail permanently, saying so, instead of being
// retried for ever. A hand-made token (TRUSTLY_SALEOR_APP_TOKEN) is the
// operator's: it cannot be deleted here, so it is set aside (by digest, in
// the token directory when there is one, else until the process ends) and
// the log asks for it to be removed; another hand-made token works again.
// An APP_DELETED about another installation than the one whose token is
// kept (an old one, after a reinstall) changes nothing. Saleor only needs
// a 2xx; an error is 500, which Saleor delivers again.
func (a *Adapter) uninstall(ev event) (adapter.Response, error) {
	appID := ev.App.ID
	what, err := a.tokens.uninstalled(a.cfg.APIURL, appID, ev.IssuedAt)
	if err != nil {
		a.log.Error("app uninstalled, but its token could not be deleted: Saleor will deliver APP_DELETED again",
			"saleor", a.cfg.APIURL, "app_id", appID, "err", err)
		return jsonResponse(http.StatusInternalServerError, map[string]string{"message": "the app could not forget its token: see the sidecar's log"})
	}
	switch what {
	case "other":
		a.log.Warn("APP_DELETED for another installation than the one whose token is kept: nothing changes",
			"saleor", a.cfg.APIURL, "app_id", appID)
	case "hand-made":
		a.log.Error("app uninstalled: its token is set by hand, remove "+EnvAppToken+" (or _FILE); status reports for this Saleor now fail until the app is installed again or another token is set",
			"saleor", a.cfg.APIURL, "app_id", appID)
	default:
		a.log.Warn("app uninstalled: its token is deleted; status reports for this Saleor now fail until the app is installed again",
			"saleor", a.cfg.APIURL, "app_id", appID, "kept_token", what)
	}
	return jsonResponse(http.StatusOK, map[string]bool{"success": true})
}
