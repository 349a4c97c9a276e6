package sim

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// A Deposit sent with RequestKYC "1" gets a kyc notification once the
// shopper has logged in at the bank and before the transfer is signed
// (refKYC). The merchant's reply decides: CONTINUE lets the shopper
// approve, anything else ends the deposit with a cancel. Trustly waits for
// that reply while the shopper waits; the reference does not say what it
// does without one, so the simulator treats no valid reply as FINISH and
// does not resend the kyc later (the shopper has left by then).
//
// The bank page (and the control API's ?kyc=) chooses whom the bank
// reports, to drive a merchant's rules both ways. These identities are the
// simulator's own.

// KYC identities the simulated bank can report.
const (
	KYCAdult = ""      // an adult; the NationalIdentificationNumber sent, when it reads as Swedish
	KYCMinor = "minor" // sixteen years old today, another personid
	KYCOther = "other" // an adult who is not the person whose number was sent
	KYCAbort = "abort" // Trustly's own abort: abort "1", abortmessage "unverified"
)

// KYCIdentity is one choice of the bank page's KYC option.
type KYCIdentity struct{ Name, Title string }

// KYCIdentities lists the bank page's KYC choices, the default first.
func KYCIdentities() []KYCIdentity {
	return []KYCIdentity{
		{KYCAdult, "Adult, the person the shop named"},
		{KYCMinor, "Minor (16 years old)"},
		{KYCOther, "Adult, another person than the shop named"},
		{KYCAbort, "Trustly aborts (unverified)"},
	}
}

func checkKYCIdentity(name string) error {
	for _, id := range KYCIdentities() {
		if id.Name == name {
			return nil
		}
	}
	return fmt.Errorf("sim: no KYC identity %q (want \"\", minor, other or abort)", name)
}

// kycData is the kyc notification's data for o as reported for identity,
// in the shape of the reference's example: orderid, messageid,
// kycentityid, notificationid, attributes (personid only in SE, FI, EE).
func (s *Server) kycData(o *Order, identity string) map[string]any {
	d := map[string]any{
		"orderid":     o.OrderID,
		"messageid":   o.MessageID,
		"kycentityid": trustly.NewUUID(),
	}
	if identity == KYCAbort {
		d["abort"] = "1"
		d["abortmessage"] = "unverified"
		return d
	}
	dob, personid := "1980-01-30", "SE198001301234"
	if p, b, ok := swedishPersonID(o.Attributes["NationalIdentificationNumber"], s.clock.Now()); ok {
		personid, dob = p, b
	}
	switch identity {
	case KYCMinor:
		born := s.clock.Now().UTC().AddDate(-16, 0, 0)
		dob = born.Format(time.DateOnly)
		personid = "SE" + born.Format("20060102") + "4321"
	case KYCOther:
		dob, personid = "1975-05-05", "SE197505059876"
	}
	attrs := map[string]any{
		"firstname": o.Attributes["Firstname"], "lastname": o.Attributes["Lastname"], "dob": dob,
		"street": "Simulated Street 1", "zipcode": "11253", "city": "STOCKHOLM", "country": "Sweden",
	}
	if c := o.Attributes["Country"]; c == "" || c == "SE" || c == "FI" || c == "EE" {
		attrs["personid"] = personid
	}
	d["attributes"] = attrs
	return d
}

// swedishPersonID reads a Swedish personnummer ("YYMMDD-NNNN",
// "YYYYMMDDNNNN", with or without "SE") into Trustly's personid form and a
// date of birth. A ten-digit number's century is the one that makes the
// person at most 100.
func swedishPersonID(nin string, now time.Time) (personid, dob string, ok bool) {
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, strings.TrimPrefix(strings.ToUpper(nin), "SE"))
	switch len(digits) {
	case 10:
		century := now.Year() / 100
		if yy := int(digits[0]-'0')*10 + int(digits[1]-'0'); yy > now.Year()%100 {
			century--
		}
		digits = fmt.Sprintf("%02d", century) + digits
	case 12:
	default:
		return "", "", false
	}
	b, err := time.Parse("20060102", digits[:8])
	if err != nil {
		return "", "", false
	}
	return "SE" + digits, b.Format(time.DateOnly), true
}

// askKYCLocked sends o's kyc and waits for the merchant's answer, with
// s.mu released meanwhile (o is APPROVED by then, so nothing else acts on
// it). It reports whether the deposit may go on.
func (s *Server) askKYCLocked(o *Order, identity string) bool {
	n, err := s.newNotificationLocked(o, "kyc", nil, true)
	if err != nil {
		s.log.Error("sim: kyc notification", "orderid", o.OrderID, "error", err.Error())
		return false
	}
	// Built as hand-made to skip the scheduled delivery: this one is
	// delivered now, while the shopper waits.
	n.Custom = false
	n.Data = s.kycData(o, identity)
	if err := s.resignLocked(n); err != nil {
		s.log.Error("sim: kyc notification", "orderid", o.OrderID, "error", err.Error())
		return false
	}
	nid := n.NotificationID
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	att := s.deliver(ctx, nid, "kyc")
	cancel()
	s.mu.Lock()
	o.KYC = att.Status
	if !att.OK {
		o.KYC = "no valid answer"
	}
	return att.OK && att.Status == string(trustly.ReplyContinue)
}

// resignLocked rebuilds n's body after its data changed.
func (s *Server) resignLocked(n *Notification) error {
	n.Data["notificationid"] = n.NotificationID
	sig, err := trustly.Sign(s.cfg.Key, n.Method, n.UUID, n.Data)
	if err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	n.Body, err = marshal(map[string]any{
		"method":  n.Method,
		"version": "1.1",
		"params":  map[string]any{"signature": sig, "uuid": n.UUID, "data": n.Data},
	})
	return err
}
