package engine

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/trustly-sidecar/trustly-sidecar/core/store"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// A Deposit sent with RequestKYC "1" gets a kyc notification after the
// shopper has logged in to their bank and before the transfer is signed.
// Trustly waits for the reply: CONTINUE lets the shopper sign the transfer,
// FINISH ends the deposit. https://eu.developers.trustly.com/doc/reference/kyc-notification
// The kyc page does not say what follows a FINISH; Trustly's Deposit page
// says an order that is not completed gets a cancel notification
// (https://eu.developers.trustly.com/doc-old/docs/deposit), and that cancel
// is what moves the order here and tells the shop. Should none come, the
// reconciler expires the order as for any checkout left unfinished.
//
// The sidecar decides at once, from what it holds, with no call to the shop
// platform (Trustly's wait is synchronous and its deadline unpublished), so
// the same kyc always gets the same answer; a resend gets the first answer
// from the dedupe record. The decision, in this order:
//
//	the order is not a Deposit waiting for its shopper  → FINISH order_not_open
//	Trustly itself aborted (abort "1")                  → FINISH trustly_aborted
//	the Deposit did not ask for KYC                     → CONTINUE not_requested
//	a minimum age applies and dob is missing/malformed  → FINISH date_of_birth_unknown
//	a minimum age applies and the shopper is younger    → FINISH under_minimum_age
//	the shop sent a national id and personid differs    → FINISH national_id_mismatch
//	otherwise                                           → CONTINUE
//
// A kyc no order takes (an unknown order, or data that does not parse) is
// kept for a person and answered FINISH: nothing that was not checked goes on.
//
// Only the decision is kept on the order: never the name, address, date of
// birth or personid Trustly sent, and the national id the shop sent only as
// a keyed hash (to compare it with the personid later).

// KYCPolicy is the sidecar's rule set for kyc notifications.
type KYCPolicy struct {
	// MinimumAge, when above 0, refuses a shopper younger than this many
	// whole years on the day of the check (UTC), and one whose date of
	// birth Trustly did not send or sent malformed. A payment may ask for
	// another minimum (PaymentRequest.KYCMinimumAge).
	MinimumAge int
	// MatchNationalID refuses a shopper whose personid differs from the
	// NationalIdentificationNumber the shop sent with the Deposit. Trustly
	// sends personid only in Sweden, Finland and Estonia; where it sends
	// none there is nothing to compare and this check does not refuse.
	MatchNationalID bool
}

// DefaultKYCMinimumAge is KYCPolicy.MinimumAge unless configured: a shop
// asks for KYC to know who pays, most often because the law sets an age.
const DefaultKYCMinimumAge = 18

// MaxKYCMinimumAge bounds a minimum age: above it, it is a mistake.
const MaxKYCMinimumAge = 130

// KYC decision reasons, stable for machines (KYC.Reason).
const (
	KYCOrderNotOpen        = "order_not_open"
	KYCTrustlyAborted      = "trustly_aborted"
	KYCNotRequested        = "not_requested"
	KYCDateOfBirthUnknown  = "date_of_birth_unknown"
	KYCUnderMinimumAge     = "under_minimum_age"
	KYCNationalIDMismatch  = "national_id_mismatch"
	KYCPassed              = "passed"
	maxKYCAbortMessageRune = 64
)

// KYC is what an order shows of its identity check.
type KYC struct {
	// Requested: the Deposit asked Trustly for a kyc notification.
	Requested bool
	// MinimumAge applied to this payment (0: no age check);
	// NationalIDMatch: the personid must match the national id sent.
	MinimumAge      int
	NationalIDMatch bool
	// Decision is what Trustly was answered, "" until a kyc came:
	// CONTINUE or FINISH. Reason is one of the KYC* reasons; Detail a
	// short text for people (no personal data).
	Decision, Reason, Detail string
	NotificationID           string
	DecidedAt                time.Time
}

// kycRecord is the order's kyc field (store.Order.KYC), as JSON.
type kycRecord struct {
	Requested      bool      `json:"requested"`
	MinimumAge     int       `json:"minAge,omitempty"`
	NationalID     string    `json:"nin,omitempty"` // keyed hash, see kycHash
	Decision       string    `json:"decision,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	Detail         string    `json:"detail,omitempty"`
	NotificationID string    `json:"nid,omitempty"`
	DecidedAt      time.Time `json:"at,omitzero"`
}

func decodeKYC(s string) kycRecord {
	var r kycRecord
	if s != "" {
		// Written only by this file; an unreadable one is treated as a
		// Deposit that asked for nothing, which the log shows.
		_ = json.Unmarshal([]byte(s), &r)
	}
	return r
}

func (r kycRecord) encode() string {
	b, _ := json.Marshal(r)
	return string(b)
}

func (r kycRecord) view() *KYC {
	return &KYC{Requested: r.Requested, MinimumAge: r.MinimumAge, NationalIDMatch: r.NationalID != "",
		Decision: r.Decision, Reason: r.Reason, Detail: r.Detail, NotificationID: r.NotificationID, DecidedAt: r.DecidedAt}
}

// kycView is the order's KYC for the shop API, nil when it never asked.
func kycView(field string) *KYC {
	if field == "" {
		return nil
	}
	return decodeKYC(field).view()
}

// kycRecordFor is what a new Deposit stores of its KYC request.
func (e *Engine) kycRecordFor(r PaymentRequest) string {
	if !r.RequestKYC {
		return ""
	}
	rec := kycRecord{Requested: true, MinimumAge: e.cfg.KYC.MinimumAge}
	if r.KYCMinimumAge > 0 {
		rec.MinimumAge = r.KYCMinimumAge
	}
	if e.cfg.KYC.MatchNationalID && r.NationalIdentificationNumber != "" {
		rec.NationalID = e.kycHash(r.NationalIdentificationNumber)
	}
	return rec.encode()
}

// kycHash is a keyed hash of a national id in its canonical form, so the
// order can be checked against Trustly's personid without holding the
// number. The key is derived from the merchant's private key, which the
// sidecar holds anyway and never writes to Redis.
func (e *Engine) kycHash(nin string) string {
	if e.cfg.MerchantKey == nil {
		return ""
	}
	seed := sha256.Sum256(append([]byte("trustly-sidecar kyc national id\x00"), e.cfg.MerchantKey.D.Bytes()...))
	m := hmac.New(sha256.New, seed[:])
	m.Write([]byte(canonicalNationalID(nin)))
	return base64.RawStdEncoding.EncodeToString(m.Sum(nil))
}

// canonicalNationalID makes the shop's number and Trustly's personid
// comparable. Trustly's personid carries a country prefix and, for Sweden,
// the century ("SE196512171957"); shops usually send the ten-digit form
// with a dash ("651217-1957"). Both become "6512171957": letters of a
// country prefix, blanks, dashes, plus signs and dots are dropped, and a
// twelve-digit number keeps its last ten. Other forms (a Finnish number
// ends in a letter) are compared as they are, upper-cased. This reading is
// the sidecar's own: Trustly documents personid's form only by example.
func canonicalNationalID(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	if len(s) > 2 && isASCIIUpper(s[0]) && isASCIIUpper(s[1]) && !isASCIIUpper(s[2]) {
		s = s[2:]
	}
	s = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == '-' || r == '+' || r == '.' {
			return -1
		}
		return r
	}, s)
	if len(s) == 12 && strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) < 0 {
		s = s[2:]
	}
	return s
}

func isASCIIUpper(b byte) bool { return b >= 'A' && b <= 'Z' }

// kycStep decides a kyc notification for order o.
func (e *Engine) kycStep(n *trustly.Notification, o store.Order, s step) (step, error) {
	k, err := n.KYC()
	if err != nil {
		return s, err
	}
	rec := decodeKYC(o.KYC)
	ok, reason, detail := e.decideKYC(k, o, rec)
	rec.Decision, rec.Reason, rec.Detail = string(trustly.ReplyFinish), reason, detail
	s.event, s.answer = EventKYCFinish, trustly.ReplyFinish
	if ok {
		rec.Decision = string(trustly.ReplyContinue)
		s.event, s.answer = EventKYCContinue, trustly.ReplyContinue
	}
	rec.NotificationID, rec.DecidedAt = n.NotificationID, e.now()
	s.set.KYC = rec.encode()
	return s, nil
}

// decideKYC applies the policy (see the table at the top of this file).
func (e *Engine) decideKYC(k trustly.KYCNotification, o store.Order, rec kycRecord) (ok bool, reason, detail string) {
	switch State(o.State) {
	case StateNew, StateUnknown, StateStarted:
		if o.Flow == string(FlowDeposit) {
			break
		}
		fallthrough
	default:
		return false, KYCOrderNotOpen, fmt.Sprintf("a %s order that is %s", o.Flow, o.State)
	}
	if k.Abort {
		return false, KYCTrustlyAborted, "Trustly aborted: " + shortText(k.AbortMessage)
	}
	if !rec.Requested {
		// Trustly sent one the Deposit did not ask for (KYC switched on for
		// the whole account): no rule was set for this payment, and the
		// shopper is not stopped for a check nobody asked for.
		return true, KYCNotRequested, "the payment did not ask for KYC"
	}
	var checks []string
	if rec.MinimumAge > 0 {
		dob, err := time.Parse(time.DateOnly, k.DateOfBirth)
		if err != nil || len(k.DateOfBirth) != len(time.DateOnly) {
			return false, KYCDateOfBirthUnknown, fmt.Sprintf("minimum age %d, and Trustly sent no readable date of birth", rec.MinimumAge)
		}
		if age := ageOn(dob, e.now()); age < rec.MinimumAge {
			return false, KYCUnderMinimumAge, fmt.Sprintf("younger than the minimum age %d", rec.MinimumAge)
		}
		checks = append(checks, fmt.Sprintf("at least %d years old", rec.MinimumAge))
	}
	if rec.NationalID != "" {
		switch {
		case k.PersonID == "":
			checks = append(checks, "national id not compared (Trustly sent no personid)")
		case e.kycHash(k.PersonID) != rec.NationalID:
			return false, KYCNationalIDMismatch, "the bank's account holder is not the person whose national id the shop sent"
		default:
			checks = append(checks, "national id matches")
		}
	}
	if len(checks) == 0 {
		checks = append(checks, "no rule to apply")
	}
	return true, KYCPassed, strings.Join(checks, "; ")
}

// ageOn is the age in whole years on now's date (UTC) of someone born on
// dob. Someone born on 29 February turns a year older on 1 March in common
// years.
func ageOn(dob, now time.Time) int {
	now = now.UTC()
	age := now.Year() - dob.Year()
	if now.Month() < dob.Month() || now.Month() == dob.Month() && now.Day() < dob.Day() {
		age--
	}
	return age
}

// shortText bounds Trustly's free text for the order record and drops
// control characters.
func shortText(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > maxKYCAbortMessageRune {
		s = string(r[:maxKYCAbortMessageRune]) + "…"
	}
	if s == "" {
		return "(no message)"
	}
	return s
}

// checkKYCRequest refuses a minimum age that cannot be meant, and one for a
// payment that asks for no KYC (it would silently check nothing).
func checkKYCRequest(r PaymentRequest) error {
	switch {
	case r.KYCMinimumAge < 0 || r.KYCMinimumAge > MaxKYCMinimumAge:
		return errf(KindInvalid, CodeInvalidRequest, nil, "KYC minimum age %d: want 1 to %d, or 0 for the sidecar's", r.KYCMinimumAge, MaxKYCMinimumAge)
	case r.KYCMinimumAge > 0 && !r.RequestKYC:
		return errf(KindInvalid, CodeInvalidRequest, nil, "a KYC minimum age needs RequestKYC")
	}
	return nil
}
