package sim

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"sync"

	"github.com/gorilla/mux"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// Checkout errors, for the shopper's actions.
var (
	// ErrExpired: the checkout URL's time is up; Trustly shows an expiry page.
	ErrExpired = errors.New("sim: the checkout has expired")
	// ErrNotOpen: the shopper already approved or declined the order.
	ErrNotOpen = errors.New("sim: the order is not waiting for the shopper")
	// ErrBadAmount: the amount chosen for a suggested-amount Deposit is
	// outside SuggestedMinAmount..SuggestedMaxAmount, or missing.
	ErrBadAmount = errors.New("sim: amount outside the suggested range")
)

// openLocked returns the order if the shopper may still act on it.
func (s *Server) openLocked(orderID string) (*Order, error) {
	o := s.orders[orderID]
	switch {
	case o == nil || (o.Method != "Deposit" && o.Method != "SelectAccount"):
		return nil, fmt.Errorf("%w: %s", ErrNoOrder, orderID)
	case o.State == StateExpired, o.State == StateCreated && !s.clock.Now().Before(o.ExpiresAt):
		return nil, fmt.Errorf("%w: order %s", ErrExpired, orderID)
	case o.State != StateCreated:
		return nil, fmt.Errorf("%w: order %s is %s", ErrNotOpen, orderID, o.State)
	}
	return o, nil
}

// Approve acts as the shopper approving the order in the bank, with the
// order option scenario ("" for the ordinary approval). amount is used only
// for a Deposit sent with SuggestedMinAmount/SuggestedMaxAmount instead of
// an Amount (0 takes the minimum, else the maximum). It returns the
// SuccessURL the shopper is sent to.
func (s *Server) Approve(orderID, scenario string, amount int64) (string, error) {
	return s.ApproveAs(orderID, scenario, amount, KYCAdult)
}

// ApproveAs is Approve with the identity the bank reports in the kyc
// notification of a Deposit that asked for one (KYCIdentities). When the
// merchant does not answer that kyc CONTINUE, the deposit ends: a cancel
// is sent and the FailURL returned.
func (s *Server) ApproveAs(orderID, scenario string, amount int64, identity string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.openLocked(orderID)
	if err != nil {
		return "", err
	}
	sc, err := findScenario(o.Method, scenario)
	if err != nil {
		return "", err
	}
	if err := checkKYCIdentity(identity); err != nil {
		return "", err
	}
	if o.Method == "Deposit" && o.Amount == 0 {
		lo, _ := trustly.ParseAmount(o.Attributes["SuggestedMinAmount"])
		hi, _ := trustly.ParseAmount(o.Attributes["SuggestedMaxAmount"])
		if amount == 0 {
			amount = max(lo, hi)
			if lo > 0 {
				amount = lo
			}
		}
		if amount <= 0 || (lo > 0 && amount < lo) || (hi > 0 && amount > hi) {
			return "", fmt.Errorf("%w: %s (suggested %s to %s)", ErrBadAmount, trustly.FormatAmount(amount),
				trustly.FormatAmount(lo), trustly.FormatAmount(hi))
		}
		o.Amount = amount
	}
	if o.RequestKYC {
		s.setState(o, StateApproved, "logged in at the bank; kyc sent, waiting for the merchant's answer")
		if !s.askKYCLocked(o, identity) {
			s.setState(o, StateCancelled, "kyc answered "+o.KYC+": the deposit does not go on")
			s.notifyLocked(o, "cancel", nil)
			return o.Attributes["FailURL"], nil
		}
	}
	s.setState(o, StateApproved, "approved by the shopper")
	s.startScenarioLocked(o, sc)
	return o.Attributes["SuccessURL"], nil
}

// Decline acts as the shopper declining: a cancel is sent. It returns the
// FailURL the shopper is sent to.
func (s *Server) Decline(orderID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := s.openLocked(orderID)
	if err != nil {
		return "", err
	}
	s.setState(o, StateApproved, "declined by the shopper")
	s.startScenarioLocked(o, declineScript)
	return o.Attributes["FailURL"], nil
}

// pageTemplate is the simulated bank page: a short list of fictional banks,
// then the approve/decline step at the chosen one. The steps are one form
// (the second is revealed by CSS once a bank is picked, so the page needs no
// script and works in a sandboxed iframe); the form posts action=approve or
// action=decline with the order option, as the tests and tools do directly.
var pageTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Trustly simulator</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<link rel="icon" href="data:,">
<style>
*{box-sizing:border-box}
body{font-family:system-ui,sans-serif;max-width:32rem;margin:0 auto;padding:.75rem;color:#1d2b24;background:#f4f7f5}
.sim{background:#ffe9a8;color:#5a4300;border-radius:6px;padding:.35rem .6rem;font-size:.8rem;text-align:center;margin:0 0 .75rem}
.brand{display:flex;align-items:center;gap:.5rem;font-weight:700;color:#0a6b3c;margin:.25rem 0 .5rem}
.brand svg{flex:none}
h1{font-size:1.3rem;margin:.25rem 0 .75rem}h2{font-size:1.05rem;margin:.75rem 0 .5rem}
.box{background:#fff;border:1px solid #d5ddd8;border-radius:10px;padding:1rem;overflow:hidden}
dl{display:grid;grid-template-columns:auto 1fr;gap:.2rem .8rem;margin:0 0 .5rem}dt{color:#5b6b63}dd{margin:0;overflow-wrap:anywhere}
.amount{font-size:1.2rem;font-weight:700}
.banks{list-style:none;padding:0;margin:0;display:grid;gap:.4rem}
.banks label{display:flex;align-items:center;gap:.6rem;border:1px solid #cfd8d3;border-radius:8px;padding:.55rem .7rem;cursor:pointer;background:#fff}
.banks label:hover{border-color:#0a6b3c}
.banks input{position:absolute;opacity:0;pointer-events:none}
.logo{width:2rem;height:2rem;border-radius:50%;color:#fff;font-weight:700;display:flex;align-items:center;justify-content:center;flex:none;font-size:.85rem}
.bankname{font-weight:600}.banknote{color:#5b6b63;font-size:.8rem;display:block;font-weight:400}
.step2{display:none}
form:has(.banks input:checked) .step1{display:none}
form:has(.banks input:checked) .step2{display:block}
{{range .Banks}}form:has(#bank-{{.ID}}:checked) .at-{{.ID}}{display:inline}{{end}}
.at{display:none;font-weight:600}
label.field{display:block;margin:.5rem 0}
select,input[type=text],input:not([type]){width:100%;max-width:100%;font:inherit;padding:.4rem;border:1px solid #b8c4bd;border-radius:6px;background:#fff}
.actions{display:flex;flex-wrap:wrap;gap:.5rem;margin:.75rem 0 .25rem}
button{font:inherit;font-weight:600;padding:.6rem 1rem;border-radius:8px;cursor:pointer;border:1px solid #b8c4bd;background:#fff;color:#1d2b24}
.approve{background:#0a6b3c;border-color:#0a6b3c;color:#fff;flex:1 1 8rem}.decline{flex:1 1 8rem}
.link{background:none;border:0;color:#0a6b3c;text-decoration:underline;padding:.2rem 0;font-weight:400}
.note{color:#5b6b63;font-size:.85rem}
</style></head>
<body>
<p class="sim" id="sim-banner">Trustly simulator · test page · no real bank, no real money</p>
<div class="brand"><svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true"><circle cx="11" cy="11" r="11" fill="#0ee06e"/><path d="M6 11.5l3.2 3.2L16 8" stroke="#0a3d24" stroke-width="2.4" fill="none"/></svg>Trustly <span class="note">(simulated)</span></div>
<div class="box">
<h1>{{.Title}}</h1>
{{if .Order}}<dl>
<dt>To</dt><dd>{{.Merchant}}</dd>
{{if .Amount}}<dt>Amount</dt><dd class="amount">{{.Amount}} {{.Order.Currency}}</dd>{{end}}
<dt>Name</dt><dd>{{.Shopper}}</dd>
<dt>Order</dt><dd>{{.Order.OrderID}} ({{.Order.Method}})</dd>
</dl>{{end}}
{{if .Open}}<form method="post"{{if .Target}} target="{{.Target}}"{{end}}>
<div class="step1">
<h2>Choose your bank</h2>
<ul class="banks">{{range .Banks}}
<li><label for="bank-{{.ID}}"><input type="radio" name="bank" id="bank-{{.ID}}" value="{{.ID}}"><span class="logo" style="background:{{.Color}}">{{.Initials}}</span><span class="bankname">{{.Name}}<span class="banknote">{{.Note}}</span></span></label></li>{{end}}
</ul>
<div class="actions"><button name="action" value="decline" class="link" id="cancel">Cancel and return to the shop</button></div>
</div>
<div class="step2">
<h2>Confirm at {{range .Banks}}<span class="at at-{{.ID}}">{{.Name}}</span>{{end}}</h2>
<p class="note">Signed in (simulated). Paying from account <strong>SE00 •••• 4711</strong>.</p>
{{if .Suggested}}<label class="field">Amount ({{.Order.Currency}}) <input name="amount" value="{{.Suggested}}"></label>{{end}}
<label class="field">Simulator: order option (Trustly test case)
<select name="scenario">{{range .Scenarios}}<option value="{{.Name}}">{{.Title}}</option>{{end}}</select></label>
{{if .KYC}}<label class="field">Simulator: whom the bank identifies (the shop asked for KYC)
<select name="kyc">{{range .KYC}}<option value="{{.Name}}">{{.Title}}</option>{{end}}</select></label>{{end}}
<div class="actions"><button name="action" value="approve" class="approve" id="approve">Approve</button><button name="action" value="decline" class="decline" id="decline">Decline</button></div>
<p><button type="reset" class="link" id="other-bank">Choose another bank</button></p>
</div>
<p class="note">To walk away, close this page: the order expires at {{.Expires}} and a cancel is sent.</p>
</form>{{else}}<p>{{.Message}}</p>{{end}}
</div></body></html>
`))
})

// simBank is one fictional bank of the simulated bank list.
type simBank struct{ ID, Name, Note, Initials, Color string }

// simBanks are made up: no real bank's name or colours.
var simBanks = []simBank{
	{"nordvik", "Nordvik Sparbank", "Personal and business accounts", "NS", "#1f5fa8"},
	{"granite", "Granite Bank", "Mobile BankID", "GB", "#6a3fa0"},
	{"alder", "Alder Andelsbank", "Cooperative bank", "AA", "#b5532a"},
	{"lumen", "Lumen Direct", "Online only", "LD", "#2b7a6f"},
}

type pageData struct {
	Title, Message, Merchant, Shopper, Amount, Suggested, Expires string
	// Target is the form's target: "_top" when the order asked for
	// URLTarget _top (the page is in the merchant's iframe), so approving
	// replaces the whole page with the SuccessURL, as Trustly does.
	Target    string
	Order     *Order
	Open      bool
	Scenarios []Scenario
	Banks     []simBank
	// KYC lists the identities to choose from when the order asked for KYC.
	KYC []KYCIdentity
}

func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTemplate().Execute(w, d); err != nil {
		s.log.Warn("sim: render page", "error", err.Error())
	}
}

// checkoutOrder finds the order behind a checkout token.
func (s *Server) checkoutOrder(r *http.Request) (Order, bool) {
	s.mu.Lock()
	id, ok := s.tokens[mux.Vars(r)["token"]]
	s.mu.Unlock()
	if !ok {
		return Order{}, false
	}
	return s.Order(id)
}

func (s *Server) pageFor(o Order) pageData {
	d := pageData{
		Title:    "Pay with your bank",
		Order:    &o,
		Merchant: o.Attributes["ShopperStatement"],
		Shopper:  o.Attributes["Firstname"] + " " + o.Attributes["Lastname"],
		Expires:  o.ExpiresAt.Format("15:04:05 MST"),
	}
	if d.Merchant == "" {
		d.Merchant = "(no ShopperStatement)"
	}
	if o.Method == "SelectAccount" {
		d.Title = "Select your bank account"
	}
	if o.Amount > 0 {
		d.Amount = trustly.FormatAmount(o.Amount)
	}
	if o.Method == "Deposit" && o.Amount == 0 {
		d.Suggested = o.Attributes["SuggestedMinAmount"]
		if d.Suggested == "" {
			d.Suggested = o.Attributes["SuggestedMaxAmount"]
		}
	}
	return d
}

// handleCheckoutGet shows the bank page, or why it cannot be used.
func (s *Server) handleCheckoutGet(w http.ResponseWriter, r *http.Request) {
	o, ok := s.checkoutOrder(r)
	if !ok {
		s.renderPage(w, http.StatusNotFound, pageData{Title: "Unknown order", Message: "This payment link is not known."})
		return
	}
	d := s.pageFor(o)
	s.mu.Lock()
	_, err := s.openLocked(o.OrderID)
	s.mu.Unlock()
	switch {
	case errors.Is(err, ErrExpired):
		d.Title, d.Message = "This payment has expired", "The link was valid until "+d.Expires+". Go back to the shop and start again."
		s.renderPage(w, http.StatusGone, d)
	case err != nil:
		d.Title, d.Message = "Already handled", "This order is "+string(o.State)+"."
		s.renderPage(w, http.StatusConflict, d)
	default:
		d.Open = true
		d.Scenarios = Scenarios(o.Method)
		d.Banks = simBanks
		if o.RequestKYC {
			d.KYC = KYCIdentities()
		}
		if o.Attributes["URLTarget"] == "_top" {
			d.Target = "_top"
		}
		s.renderPage(w, http.StatusOK, d)
	}
}

// handleCheckoutPost acts on the shopper's button and redirects like
// Trustly: 303 to SuccessURL after approval, to FailURL after a decline.
func (s *Server) handleCheckoutPost(w http.ResponseWriter, r *http.Request) {
	o, ok := s.checkoutOrder(r)
	if !ok {
		s.renderPage(w, http.StatusNotFound, pageData{Title: "Unknown order", Message: "This payment link is not known."})
		return
	}
	if err := r.ParseForm(); err != nil {
		s.renderPage(w, http.StatusBadRequest, pageData{Title: "Bad request", Message: err.Error()})
		return
	}
	var target string
	var err error
	switch r.PostForm.Get("action") {
	case "approve":
		var amount int64
		if a := r.PostForm.Get("amount"); a != "" {
			if amount, err = trustly.ParseAmount(a); err != nil {
				amount = -1
			}
		}
		target, err = s.ApproveAs(o.OrderID, r.PostForm.Get("scenario"), amount, r.PostForm.Get("kyc"))
	case "decline":
		target, err = s.Decline(o.OrderID)
	default:
		s.renderPage(w, http.StatusBadRequest, pageData{Title: "Bad request", Message: "action must be approve or decline"})
		return
	}
	d := s.pageFor(o)
	switch {
	case errors.Is(err, ErrExpired):
		d.Title, d.Message = "This payment has expired", "The link was valid until "+d.Expires+". Go back to the shop and start again."
		s.renderPage(w, http.StatusGone, d)
		return
	case err != nil:
		d.Title, d.Message = "Cannot do that", err.Error()
		s.renderPage(w, http.StatusConflict, d)
		return
	}
	if target == "" {
		// A SelectAccount may come without a FailURL (Trustly's own example
		// sends none): there is nowhere to send the shopper back to.
		d.Title, d.Message = "Cancelled", "Nothing was set up. You can close this window and return to the shop."
		s.renderPage(w, http.StatusOK, d)
		return
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
