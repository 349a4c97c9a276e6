package paylink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/mux"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/delivery"
)

// formLife is how long a page's Pay button stays valid: a page left open
// longer is shown again with a fresh button rather than acted on.
const formLife = time.Hour

// maxFormBytes bounds the button's POST: one hidden field.
const maxFormBytes = 4 << 10

// Page answers GET /pay/{token}: the link's page. It reads and shows; it
// never calls Deposit, whoever fetches it (a shopper, a link preview, a
// mail scanner).
func (p *Links) Page() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hash, ok := tokenHash(mux.Vars(r)["token"])
		if !ok {
			p.render(w, view{page: pageNotFound})
			return
		}
		p.render(w, p.view(r, hash, ""))
	})
}

// Pay answers the Pay button, POST /pay/{token}: the click that calls
// Deposit (or reuses a usable attempt) and sends the shopper to Trustly.
// The form carries a token bound to the link and its time, so only a page
// this sidecar rendered lately can press it.
func (p *Links) Pay() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hash, ok := tokenHash(mux.Vars(r)["token"])
		if !ok {
			p.render(w, view{page: pageNotFound})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		formOK := r.ParseForm() == nil && p.checkForm(hash, r.PostForm.Get("form")) &&
			r.Header.Get("Sec-Fetch-Site") != "cross-site"
		if !formOK {
			v := p.view(r, hash, noticeStale)
			if v.page == pagePay {
				v.page = pageStale
			}
			p.render(w, v)
			return
		}
		out, err := p.click(r.Context(), hash)
		if err != nil {
			p.Log.ErrorContext(r.Context(), "pay link click failed", "link", linkID(hash), "err", err)
			pg := pageFailed
			if errors.Is(err, store.ErrUnavailable) || engine.KindOf(err) == engine.KindUnavailable {
				pg = pageUnavailable
			}
			p.render(w, p.viewOf(r, hash, pg))
			return
		}
		if out.redirect != "" {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Referrer-Policy", "no-referrer")
			// 303: the browser follows with a GET, as Trustly's checkout
			// URL must be opened.
			http.Redirect(w, r, out.redirect, http.StatusSeeOther)
			return
		}
		p.render(w, p.viewOf(r, hash, out.page))
	})
}

// view is what the link's page shows: one of the pages, in the link's
// language, with the link's details when they are known.
type view struct {
	page   payPage
	link   *store.PayLink
	form   string // the Pay button's token; only on pagePay and pageStale
	notice string
}

const noticeStale = "stale"

// view decides the page of a GET from the link's attempts alone.
func (p *Links) view(r *http.Request, hash, notice string) view {
	ctx := r.Context()
	l, found, err := p.Store.Get(ctx, hash)
	if err != nil {
		p.Log.ErrorContext(ctx, "pay link page failed", "link", linkID(hash), "err", err)
		return view{page: pageUnavailable}
	}
	if !found {
		return view{page: pageNotFound}
	}
	out, done, err := p.decide(ctx, l)
	if err != nil {
		p.Log.ErrorContext(ctx, "pay link page failed", "link", linkID(hash), "err", err)
		return view{page: pageUnavailable, link: &l}
	}
	if done && out.redirect == "" {
		return view{page: out.page, link: &l}
	}
	// Payable: a first visit, or an attempt the button will reuse.
	return view{page: pagePay, link: &l, form: p.newForm(hash), notice: notice}
}

// viewOf is pg for the link behind hash, in its language when it is found.
func (p *Links) viewOf(r *http.Request, hash string, pg payPage) view {
	l, found, err := p.Store.Get(r.Context(), hash)
	if err != nil || !found {
		return view{page: pg}
	}
	return view{page: pg, link: &l}
}

// ---- the button's token ----

// formKey is the key of the Pay button's tokens, derived from the seal key
// so that every replica of the sidecar accepts every other's pages.
func (p *Links) formKey() []byte {
	m := hmac.New(sha256.New, p.SealKey)
	m.Write([]byte("trustly-sidecar pay link form v1"))
	return m.Sum(nil)
}

func (p *Links) formMAC(hash string, issued int64) string {
	m := hmac.New(sha256.New, p.formKey())
	m.Write([]byte(hash + "|" + strconv.FormatInt(issued, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// newForm is a token for the link's Pay button: the time and a MAC of the
// link's hash and that time.
func (p *Links) newForm(hash string) string {
	issued := p.now().Unix()
	return strconv.FormatInt(issued, 10) + "." + p.formMAC(hash, issued)
}

// checkForm accepts a token of newForm for this link, at most formLife old.
func (p *Links) checkForm(hash, form string) bool {
	if len(p.SealKey) == 0 {
		return false
	}
	ts, mac, ok := strings.Cut(form, ".")
	if !ok {
		return false
	}
	issued, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	age := p.now().Sub(time.Unix(issued, 0))
	if age < -time.Minute || age > formLife {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(p.formMAC(hash, issued)))
}

// ---- pages ----

// payPage is one page a link can show; its words are in pageWords.
type payPage struct {
	status int
	name   string
}

var (
	pagePay         = payPage{http.StatusOK, "pay"}
	pageStale       = payPage{http.StatusForbidden, "stale"}
	pageNotFound    = payPage{http.StatusNotFound, "notfound"}
	pageRevoked     = payPage{http.StatusGone, "revoked"}
	pagePaid        = payPage{http.StatusOK, "paid"}
	pageProcessing  = payPage{http.StatusOK, "processing"}
	pageContactShop = payPage{http.StatusConflict, "contactshop"}
	pageBusy        = payPage{http.StatusConflict, "busy"}
	pageUnavailable = payPage{http.StatusServiceUnavailable, "unavailable"}
	pageFailed      = payPage{http.StatusBadGateway, "failed"}
)

// words are one language's texts of the pages: per page a title and a
// message, and the labels of the payable page.
type words struct {
	pages                                          map[string][2]string
	order, amount, validUntil, button, note, stale string
}

// pageWords: one entry per language, the same languages as the messages
// that carry the links (delivery); English for any other.
var pageWords = map[string]words{
	"en": {
		pages: map[string][2]string{
			"pay":         {"Pay your order", ""},
			"stale":       {"Pay your order", ""},
			"notfound":    {"Link not found", "This payment link does not exist or has expired. Ask the shop for a new one."},
			"revoked":     {"Link withdrawn", "The shop has withdrawn this payment link. Ask the shop for a new one if you still want to pay."},
			"paid":        {"Already paid", "This order has been paid. Thank you! There is nothing more to do."},
			"processing":  {"Payment in progress", "Your bank has accepted this payment; it is being completed. There is nothing more to do."},
			"contactshop": {"Cannot pay with this link", "This payment was returned by the bank. Please contact the shop."},
			"busy":        {"One moment", "This payment is being prepared in another window. Reload this page in a few seconds."},
			"unavailable": {"Try again shortly", "The payment service is busy. Please reload this page in a minute."},
			"failed":      {"Payment could not start", "The payment could not be started. Please try again later or contact the shop."},
		},
		order: "Order", amount: "Amount", validUntil: "Valid until", button: "Pay with Trustly",
		note:  "You will be taken to Trustly to pay directly from your bank account.",
		stale: "This page was open for a long time. Press the button again to pay.",
	},
	"sv": {
		pages: map[string][2]string{
			"pay":         {"Betala din order", ""},
			"stale":       {"Betala din order", ""},
			"notfound":    {"Länken finns inte", "Den här betallänken finns inte eller har gått ut. Be butiken om en ny."},
			"revoked":     {"Länken är återkallad", "Butiken har återkallat den här betallänken. Be butiken om en ny om du fortfarande vill betala."},
			"paid":        {"Redan betald", "Den här ordern är betald. Tack! Du behöver inte göra något mer."},
			"processing":  {"Betalningen pågår", "Din bank har godkänt betalningen och den slutförs nu. Du behöver inte göra något mer."},
			"contactshop": {"Det går inte att betala med länken", "Betalningen har returnerats av banken. Kontakta butiken."},
			"busy":        {"Ett ögonblick", "Betalningen förbereds i ett annat fönster. Ladda om sidan om några sekunder."},
			"unavailable": {"Försök igen strax", "Betaltjänsten är upptagen. Ladda om sidan om en minut."},
			"failed":      {"Betalningen kunde inte starta", "Betalningen kunde inte startas. Försök igen senare eller kontakta butiken."},
		},
		order: "Order", amount: "Belopp", validUntil: "Giltig till", button: "Betala med Trustly",
		note:  "Du skickas till Trustly för att betala direkt från ditt bankkonto.",
		stale: "Sidan har varit öppen länge. Tryck på knappen igen för att betala.",
	},
	"de": {
		pages: map[string][2]string{
			"pay":         {"Bestellung bezahlen", ""},
			"stale":       {"Bestellung bezahlen", ""},
			"notfound":    {"Link nicht gefunden", "Dieser Zahlungslink existiert nicht oder ist abgelaufen. Bitten Sie den Shop um einen neuen."},
			"revoked":     {"Link zurückgezogen", "Der Shop hat diesen Zahlungslink zurückgezogen. Bitten Sie den Shop um einen neuen, wenn Sie noch bezahlen möchten."},
			"paid":        {"Bereits bezahlt", "Diese Bestellung ist bezahlt. Vielen Dank! Es ist nichts weiter zu tun."},
			"processing":  {"Zahlung läuft", "Ihre Bank hat die Zahlung angenommen; sie wird abgeschlossen. Es ist nichts weiter zu tun."},
			"contactshop": {"Mit diesem Link kann nicht bezahlt werden", "Die Zahlung wurde von der Bank zurückgegeben. Bitte wenden Sie sich an den Shop."},
			"busy":        {"Einen Moment", "Die Zahlung wird in einem anderen Fenster vorbereitet. Laden Sie die Seite in einigen Sekunden neu."},
			"unavailable": {"Bitte gleich noch einmal", "Der Zahlungsdienst ist ausgelastet. Bitte laden Sie die Seite in einer Minute neu."},
			"failed":      {"Zahlung konnte nicht starten", "Die Zahlung konnte nicht gestartet werden. Bitte versuchen Sie es später erneut oder wenden Sie sich an den Shop."},
		},
		order: "Bestellung", amount: "Betrag", validUntil: "Gültig bis", button: "Mit Trustly bezahlen",
		note:  "Sie werden zu Trustly weitergeleitet und bezahlen direkt von Ihrem Bankkonto.",
		stale: "Diese Seite war lange geöffnet. Drücken Sie die Schaltfläche erneut, um zu bezahlen.",
	},
}

// payPageTemplate is parsed on first use, not at every process start.
var payPageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("pay").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#222}
.merchant{color:#555;margin-bottom:0}h1{margin-top:.3rem}
dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#555}dd{margin:0;font-weight:600}
button{font:inherit;font-weight:600;padding:.8rem 1.4rem;border:0;border-radius:.4rem;background:#0ee06e;color:#111;cursor:pointer;width:100%}
.note{color:#555;font-size:.9rem}.notice{background:#fff4d6;padding:.6rem .8rem;border-radius:.3rem}
</style>
</head><body><main>
{{if .Merchant}}<p class="merchant">{{.Merchant}}</p>{{end}}
<h1>{{.Title}}</h1>
{{if .Message}}<p>{{.Message}}</p>{{end}}
{{if .Form}}{{if .Notice}}<p class="notice">{{.Notice}}</p>{{end}}
<dl><dt>{{.W.order}}</dt><dd>{{.Ref}}</dd><dt>{{.W.amount}}</dt><dd>{{.Amount}}</dd><dt>{{.W.validUntil}}</dt><dd>{{.Expires}}</dd></dl>
<form method="post"><input type="hidden" name="form" value="{{.Form}}"><button type="submit">{{.W.button}}</button></form>
<p class="note">{{.W.note}}</p>
{{end}}</main></body></html>
`))
})

// pageData is what the template sees.
type pageData struct {
	Lang, Title, Message, Merchant, Ref, Amount, Expires, Form, Notice string
	W                                                                  map[string]string
}

func (p *Links) render(w http.ResponseWriter, v view) {
	lang := "en"
	if v.link != nil {
		lang = delivery.Language(v.link.Shopper.Locale)
	}
	ws, ok := pageWords[lang]
	if !ok {
		lang, ws = "en", pageWords["en"]
	}
	text := ws.pages[v.page.name]
	d := pageData{Lang: lang, Title: text[0], Message: text[1], Form: v.form,
		W: map[string]string{"order": ws.order, "amount": ws.amount, "validUntil": ws.validUntil, "button": ws.button, "note": ws.note}}
	if v.link != nil {
		l := v.link
		d.Merchant, d.Ref = l.ShopperStatement, l.OrderReference
		d.Amount, d.Expires = delivery.FormatAmount(lang, l.Amount, l.Currency), delivery.FormatExpiry(l.ExpiresAt)
	}
	if v.notice == noticeStale {
		d.Notice = ws.stale
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	// No framing: a Pay button inside someone else's page is clickjacking.
	// No form-action: browsers apply it to the redirect to Trustly too.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	if v.page.status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "30")
	}
	w.WriteHeader(v.page.status)
	_ = payPageTemplate().Execute(w, d)
}
