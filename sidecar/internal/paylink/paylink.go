// Package paylink is pay by link: POST /v1/paylinks stores a link bound to
// an order reference and an amount and returns https://<public>/pay/<token>;
// GET /pay/<token> is the link's page (shop, order, amount, expiry and a
// Pay with Trustly button), and changes nothing: link previews in chat apps
// and mail scanners fetch links, and a Deposit per fetch would be the
// pre-fetching Trustly forbids. Nothing is asked of Trustly until the
// shopper presses the button: that POST calls Deposit at that moment (a
// checkout URL expires within minutes, so it is never made in advance) and
// redirects to Trustly. Links are stored by the SHA-256 of their token (core/store), sent
// by e-mail or SMS (internal/delivery), and every click decides from the
// link's earlier attempts, under the link's click lock:
//   - an attempt pending or paid: no Deposit, a page saying so (never twice);
//   - the link expired: 404, no Deposit;
//   - the last attempt's checkout URL still usable: the same URL again, so
//     two clicks never leave two payable orders behind;
//   - otherwise (first click, or the last attempt cancelled or its URL
//     expired): a new Deposit.
package paylink

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/engine"
	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/delivery"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// Engine is what pay links need of core/engine.
type Engine interface {
	CheckPayment(r engine.PaymentRequest) error
	CreatePayment(ctx context.Context, r engine.PaymentRequest) (engine.Order, error)
	GetPayment(ctx context.Context, id string) (engine.Order, error)
}

const (
	// checkoutURLLife is how long an attempt's checkout URL is taken as
	// usable when Trustly has not cancelled it: Trustly's URLs last about
	// 10–30 minutes, and a second Deposit while the first is still payable
	// could be paid twice, so the longest bound wins.
	checkoutURLLife = 30 * time.Minute
	// clickLockTTL outlives a Deposit call (the listener's write timeout).
	clickLockTTL = 2 * time.Minute
	// clickWait is how long a click waits for a concurrent click's Deposit.
	clickWait = 20 * time.Second
	// MaxTTL bounds a link's life.
	MaxTTL = 90 * 24 * time.Hour
)

// Store keeps the links (core/store.RedisPayLinks): records found by the
// SHA-256 of their token, and a click lock per link.
type Store interface {
	Create(ctx context.Context, hash string, l store.PayLink, now time.Time) error
	Get(ctx context.Context, hash string) (l store.PayLink, found bool, err error)
	GetByID(ctx context.Context, id string) (hash string, l store.PayLink, found bool, err error)
	Update(ctx context.Context, hash string, l store.PayLink) error
	Lock(ctx context.Context, hash string, ttl time.Duration) (release func(), ok bool, err error)
}

var _ Store = (*store.RedisPayLinks)(nil)

// Links makes pay links and answers their clicks.
type Links struct {
	Log     *slog.Logger
	Engine  Engine
	Store   Store
	BaseURL string        // the public listener's base URL
	TTL     time.Duration // default life of a link
	Senders map[string]delivery.Sender
	Now     func() time.Time // nil: time.Now
	// SealKey seals link URLs in the idempotency records of their
	// creation (Seal, Reveal): SealKey(merchant key), never stored.
	SealKey []byte
}

func (p *Links) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// ---- tokens ----

// newToken returns 256 random bits, base64url without padding (43 chars).
func newToken() (string, error) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), nil
}

var tokenRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`) })

// tokenHash is the store's key for a token; ok false when it cannot be one
// of ours (no store lookup needed).
func tokenHash(token string) (hash string, ok bool) {
	if !tokenRe().MatchString(token) {
		return "", false
	}
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:]), true
}

// linkID is a short, loggable name of a link: never the token.
func linkID(hash string) string { return "pl_" + hash[:16] }

// Check refuses a link that could never be paid (the engine checks the
// Deposit a click will make, as Trustly would) or that this sidecar cannot
// serve: a life beyond MaxTTL, a channel that is not configured.
func (p *Links) Check(req shopapi.CreatePayLinkRequest) error {
	if err := req.Check(); err != nil {
		return err
	}
	if err := p.Engine.CheckPayment(payment(linkOf(req))); err != nil {
		return err
	}
	if req.TTLSeconds < 0 || time.Duration(req.TTLSeconds)*time.Second > MaxTTL {
		return shopapi.Invalid("ttlSeconds must be between 1 and %d", int64(MaxTTL/time.Second))
	}
	for i, ch := range req.Send {
		if _, ok := p.Senders[ch]; !ok {
			return shopapi.Invalid("send[%d]: %q is not a configured channel (configured: %s)", i, ch, delivery.ChannelList(p.Senders))
		}
		if ch == delivery.ChannelSMS && !delivery.ValidPhone(req.Shopper.MobilePhone) {
			return shopapi.Invalid("send sms needs shopper.mobilePhone in E.164 form, e.g. +46701234567")
		}
	}
	return nil
}

// Create stores the link and sends it. A delivery that fails does not undo
// the link: the answer says which channel failed, and the shop may show the
// link itself.
func (p *Links) Create(ctx context.Context, req shopapi.CreatePayLinkRequest) (shopapi.PayLink, error) {
	// The answer must be sealable before a link exists: a link made and
	// then answered with an error could never be found by the shop.
	if _, err := p.aead(); err != nil {
		return shopapi.PayLink{}, err
	}
	token, err := newToken()
	if err != nil {
		return shopapi.PayLink{}, err
	}
	hash, _ := tokenHash(token)
	ttl := p.TTL
	if req.TTLSeconds > 0 {
		ttl = time.Duration(req.TTLSeconds) * time.Second
	}
	now := p.now().UTC()
	l := linkOf(req)
	l.ID, l.Created, l.ExpiresAt = linkID(hash), now, now.Add(ttl).Truncate(time.Second)
	if err := p.Store.Create(ctx, hash, l, now); err != nil {
		return shopapi.PayLink{}, err
	}
	out := shopapi.PayLink{ID: l.ID, URL: strings.TrimRight(p.BaseURL, "/") + "/pay/" + token, OrderReference: l.OrderReference,
		Amount: l.Amount, Currency: l.Currency, ExpiresAt: l.ExpiresAt, Deliveries: []shopapi.Delivery{}}
	p.Log.InfoContext(ctx, "pay link created", "link", l.ID, "order_reference", l.OrderReference, "expires", l.ExpiresAt)
	for _, ch := range req.Send {
		d := shopapi.Delivery{Channel: ch, Status: "sent"}
		if err := p.Senders[ch].Send(ctx, message(l, out.URL)); err != nil {
			d.Status, d.Error = "failed", err.Error()
			p.Log.WarnContext(ctx, "pay link delivery failed", "link", l.ID, "channel", ch, "err", err)
		} else {
			p.Log.InfoContext(ctx, "pay link sent", "link", l.ID, "channel", ch)
		}
		out.Deliveries = append(out.Deliveries, d)
	}
	return out, nil
}

// clickOutcome is what a click ends in: a redirect to Trustly, or a page.
type clickOutcome struct {
	redirect string
	page     payPage
}

// click decides a click: see the comment at the top of this file.
func (p *Links) click(ctx context.Context, hash string) (clickOutcome, error) {
	deadline := time.Now().Add(clickWait) // a wait for another click, on the real clock
	for {
		l, found, err := p.Store.Get(ctx, hash)
		if err != nil || !found {
			return clickOutcome{page: pageNotFound}, err
		}
		if out, done, err := p.decide(ctx, l); done || err != nil {
			return out, err
		}
		release, ok, err := p.Store.Lock(ctx, hash, clickLockTTL)
		if err != nil {
			return clickOutcome{}, err
		}
		if ok {
			defer release()
			return p.attempt(ctx, hash)
		}
		// Another click is making the Deposit: wait for it, then take
		// its URL.
		if time.Now().After(deadline) {
			return clickOutcome{page: pageBusy}, nil
		}
		select {
		case <-ctx.Done():
			return clickOutcome{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// attempt runs under the click lock: decide again (the record may have
// changed while we waited), then make the Deposit.
func (p *Links) attempt(ctx context.Context, hash string) (clickOutcome, error) {
	l, found, err := p.Store.Get(ctx, hash)
	if err != nil || !found {
		return clickOutcome{page: pageNotFound}, err
	}
	if out, done, err := p.decide(ctx, l); done || err != nil {
		return out, err
	}
	o, err := p.Engine.CreatePayment(ctx, payment(l))
	if err != nil {
		return clickOutcome{}, err
	}
	if o.URL == "" {
		return clickOutcome{}, errors.New("deposit answered without a checkout URL")
	}
	l.Attempts = append(l.Attempts, o.ID)
	// If this fails the URL is never shown, so the attempt can never be
	// paid: the next click makes another.
	if err := p.Store.Update(ctx, hash, l); err != nil {
		return clickOutcome{}, err
	}
	p.Log.InfoContext(ctx, "pay link attempt", "link", l.ID, "order", o.ID, "attempt", len(l.Attempts))
	return clickOutcome{redirect: o.URL}, nil
}

// decide answers a click from the link's attempts alone; done false means
// a new Deposit is due.
func (p *Links) decide(ctx context.Context, l store.PayLink) (out clickOutcome, done bool, err error) {
	var last engine.Order
	for _, id := range l.Attempts {
		o, err := p.Engine.GetPayment(ctx, id)
		if err != nil {
			return clickOutcome{}, true, err
		}
		switch o.State {
		case engine.StatePaid:
			return clickOutcome{page: pagePaid}, true, nil
		case engine.StatePending:
			return clickOutcome{page: pageProcessing}, true, nil
		case engine.StateReversed:
			return clickOutcome{page: pageContactShop}, true, nil
		}
		last = o
	}
	if l.Revoked != nil {
		return clickOutcome{page: pageRevoked}, true, nil
	}
	now := p.now()
	if !now.Before(l.ExpiresAt) {
		return clickOutcome{page: pageNotFound}, true, nil
	}
	if last.State == engine.StateStarted && last.URL != "" && now.Sub(last.Created) < checkoutURLLife {
		return clickOutcome{redirect: last.URL}, true, nil
	}
	return clickOutcome{}, false, nil
}

// message is l rendered for its shopper.
func message(l store.PayLink, url string) delivery.Message {
	s := l.Shopper
	return delivery.NewMessage(delivery.Link{OrderReference: l.OrderReference, Amount: l.Amount, Currency: l.Currency,
		Merchant: l.ShopperStatement, ExpiresAt: l.ExpiresAt, Locale: s.Locale, FirstName: s.FirstName,
		Email: s.Email, Phone: s.MobilePhone}, url)
}

// linkOf is the record of the link req asks for, without its id and times.
func linkOf(req shopapi.CreatePayLinkRequest) store.PayLink {
	return store.PayLink{OrderReference: req.OrderReference, Amount: req.Amount, Currency: req.Currency,
		Shopper: shopperOf(req.Shopper), SuccessURL: req.SuccessURL, FailURL: req.FailURL, ShopperStatement: req.ShopperStatement}
}

// payment is the Deposit a click on l makes; the order reference goes to
// Trustly as ExternalReference.
func payment(l store.PayLink) engine.PaymentRequest {
	s := l.Shopper
	return engine.PaymentRequest{
		EndUserID: s.EndUserID, Currency: l.Currency, Amount: l.Amount,
		Country: s.Country, Locale: s.Locale, Firstname: s.FirstName, Lastname: s.LastName, Email: s.Email,
		MobilePhone: s.MobilePhone, NationalIdentificationNumber: s.NationalIdentificationNumber,
		SuccessURL: l.SuccessURL, FailURL: l.FailURL, ShopperStatement: l.ShopperStatement,
		ExternalReference:                        l.OrderReference,
		UnchangeableNationalIdentificationNumber: s.UnchangeableNationalIdentificationNumber,
	}
}

// shopperOf is the shopper as a link's record keeps it.
func shopperOf(s shopapi.Shopper) store.PayLinkShopper {
	return store.PayLinkShopper{EndUserID: s.EndUserID, FirstName: s.FirstName, LastName: s.LastName, Email: s.Email,
		Country: s.Country, Locale: s.Locale, MobilePhone: s.MobilePhone,
		NationalIdentificationNumber: s.NationalIdentificationNumber, IP: s.IP,
		UnchangeableNationalIdentificationNumber: s.UnchangeableNationalIdentificationNumber}
}
