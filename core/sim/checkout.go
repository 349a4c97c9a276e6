package sim

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"

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

var pageTemplate = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · Trustly simulator</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#222}
.box{border:1px solid #ccc;border-radius:8px;padding:1rem 1.5rem}dt{color:#666}dd{margin:0 0 .5rem}
button{font-size:1rem;padding:.5rem 1rem;margin-right:.5rem}.note{color:#666;font-size:.9rem}</style></head>
<body><h1>{{.Title}}</h1><div class="box">
{{if .Order}}<dl>
<dt>Merchant</dt><dd>{{.Merchant}}</dd>
<dt>Shopper</dt><dd>{{.Shopper}}</dd>
{{if .Amount}}<dt>Amount</dt><dd>{{.Amount}} {{.Order.Currency}}</dd>{{end}}
<dt>Order</dt><dd>{{.Order.OrderID}} ({{.Order.Method}})</dd>
</dl>{{end}}
{{if .Open}}<form method="post">
{{if .Suggested}}<p><label>Amount ({{.Order.Currency}}) <input name="amount" value="{{.Suggested}}"></label></p>{{end}}
<p><label>Order option <select name="scenario">{{range .Scenarios}}<option value="{{.Name}}">{{.Title}}</option>{{end}}</select></label></p>
<p><button name="action" value="approve">Approve</button><button name="action" value="decline">Decline</button></p>
<p class="note">To walk away, close this page: the order expires at {{.Expires}} and a cancel is sent.</p>
</form>{{else}}<p>{{.Message}}</p>{{end}}
</div></body></html>
`))

type pageData struct {
	Title, Message, Merchant, Shopper, Amount, Suggested, Expires string
	Order                                                         *Order
	Open                                                          bool
	Scenarios                                                     []Scenario
}

func (s *Server) renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if err := pageTemplate.Execute(w, d); err != nil {
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
		target, err = s.Approve(o.OrderID, r.PostForm.Get("scenario"), amount)
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
	http.Redirect(w, r, target, http.StatusSeeOther)
}
