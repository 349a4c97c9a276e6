package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/sim"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic"
	"github.com/trustly-sidecar/trustly-sidecar/platforms/generic/fakeshop"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/config"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// kycBody asks for KYC for a shopper named by a Swedish personnummer (born
// 1980-01-30), with a payee, and extra JSON (the %s).
const kycBody = `{"amount":10300,"currency":"SEK","shopper":{"endUserId":"shopper-k","firstName":"Åsa","lastName":"Öberg","email":"asa@example.com","country":"SE","locale":"sv_SE",` +
	`"nationalIdentificationNumber":"800130-1234"},"successUrl":"https://shop.example/ok","failUrl":"https://shop.example/fail","shopperStatement":"Example shop",` +
	`"requestKyc":true,"recipientInformation":{"partyType":"PERSON","firstName":"Mark","lastName":"Smith","countryCode":"ES","dateOfBirth":"1980-01-30"}%s}`

// Through /v1 and the binary, against the simulator: the KYC attributes
// reach Trustly, its kyc is answered by the configured rules, and the shop
// sees the answer on the payment and in its timeline.
func TestE2EKYC(t *testing.T) {
	s := startShopEnv(t, map[string]string{"TRUSTLY_SIDECAR_KYC_MINIMUM_AGE": "21"})

	adult := s.order(s.call(http.MethodPost, "/v1/payments", "kyc-1", strings.Replace(kycBody, "%s", "", 1)), http.StatusCreated)
	if adult.KYC == nil || !adult.KYC.Requested || adult.KYC.MinimumAge != 21 || !adult.KYC.NationalIDMatch || adult.KYC.Decision != "" {
		t.Fatalf("new payment's kyc = %+v", adult.KYC)
	}
	sent, _ := s.sim.Order(adult.TrustlyOrderID)
	if !sent.RequestKYC {
		t.Errorf("the Deposit did not ask for KYC: %+v", sent.Attributes)
	}
	s.approve(adult, sim.DefaultScenario)
	s.advance(time.Minute)
	got := s.get(adult.ID)
	if got.State != "paid" || got.KYC == nil || got.KYC.Decision != "CONTINUE" || got.KYC.Reason != "passed" {
		t.Fatalf("the named adult: %s, kyc %+v", got.State, got.KYC)
	}

	// The payment's own minimum age, and a shopper the bank says is 16.
	minor := s.order(s.call(http.MethodPost, "/v1/payments", "kyc-2", strings.Replace(kycBody, "%s", `,"kycMinimumAge":18`, 1)), http.StatusCreated)
	target, err := s.sim.ApproveAs(minor.TrustlyOrderID, sim.DefaultScenario, 0, sim.KYCMinor)
	if err != nil || target != "https://shop.example/fail" {
		t.Fatalf("the minor was sent to %q, %v; want the FailURL", target, err)
	}
	s.advance(time.Minute)
	got = s.get(minor.ID)
	if got.State != "cancelled" || got.KYC == nil || got.KYC.Decision != "FINISH" || got.KYC.Reason != "under_minimum_age" || got.KYC.MinimumAge != 18 {
		t.Fatalf("the minor: %s, kyc %+v", got.State, got.KYC)
	}
	a := s.call(http.MethodGet, "/v1/payments/"+minor.ID+"/events", "", "")
	var tl shopapi.Timeline
	if err := json.Unmarshal([]byte(a.Body), &tl); err != nil {
		t.Fatalf("events: %d %s", a.Status, a.Body)
	}
	var story []string
	for _, e := range tl.Events {
		story = append(story, e.Kind+" "+e.What+" "+e.Note)
	}
	if !strings.Contains(strings.Join(story, "\n"), "notification kyc_finish under_minimum_age: younger than the minimum age 18") {
		t.Errorf("the timeline does not tell the kyc:\n%s", strings.Join(story, "\n"))
	}

	// What Trustly would refuse is refused before anything is sent.
	for _, bad := range []string{
		`,"kycMinimumAge":200`,
		strings.Replace(`,"x":1`, `"x":1`, `"recipientInformation2":{}`, 1),
	} {
		if a := s.call(http.MethodPost, "/v1/payments", "kyc-bad-"+bad[2:8], strings.Replace(kycBody, "%s", bad, 1)); a.Status != http.StatusBadRequest {
			t.Errorf("%s: %d %s, want 400", bad, a.Status, a.Body)
		}
	}
	noParty := strings.Replace(strings.Replace(kycBody, "%s", "", 1), `"partyType":"PERSON",`, "", 1)
	if a := s.call(http.MethodPost, "/v1/payments", "kyc-bad-party", noParty); a.Status != http.StatusBadRequest || !strings.Contains(a.Body, "Partytype") {
		t.Errorf("no partyType: %d %s, want 400 naming Partytype", a.Status, a.Body)
	}

	// A kyc for no order of ours is answered FINISH and kept for a person.
	n, err := s.sim.SendCustom(t.Context(), adult.TrustlyOrderID, sim.CustomNotification{Method: "kyc",
		Data: map[string]any{"orderid": "999", "messageid": "never-ours", "kycentityid": "e-1"}})
	if err != nil || n.Status != "FINISH" {
		t.Fatalf("kyc for an unknown order: %q, %v; want FINISH", n.Status, err)
	}
	var kept shopapi.UnroutedList
	if a := s.call(http.MethodGet, "/v1/notifications/unrouted", "", ""); a.Status != http.StatusOK || json.Unmarshal([]byte(a.Body), &kept) != nil {
		t.Fatalf("unrouted: %d %s", a.Status, a.Body)
	}
	found := false
	for _, u := range kept.Notifications {
		found = found || u.Method == "kyc" && u.Answer == "FINISH" && u.TrustlyOrderID == "999"
	}
	if !found {
		t.Errorf("the kyc for no order is not kept: %+v", kept)
	}

	// Nothing the bank said of the person reaches the log.
	for _, personal := range []string{"198001301234", "1980-01-30", "Simulated Street", "800130-1234"} {
		if strings.Contains(s.log.String(), personal) {
			t.Errorf("the sidecar's log holds %q", personal)
		}
	}
}

// A platform's payments ask for KYC when SHOP_REQUEST_KYC says so (the
// adapter protocol has no per-payment field): through the generic
// adapter, a real plugin process, a minor's payment is refused.
func TestE2EGenericPaymentAsksForKYC(t *testing.T) {
	if genericBin == "" {
		t.Skip("go tool not found, plugin not built")
	}
	fs := fakeshop.New(t, callbackSecret)
	s := startShopEnv(t, with(shopDefaultsEnv, map[string]string{
		config.Key("ADAPTER"):          genericBin,
		config.Key("ADAPTER_ENV"):      generic.EnvCallbackURL + "," + generic.EnvCallbackSecret + "," + generic.EnvWebhookSecret,
		config.Key("SHOP_REQUEST_KYC"): "true",
		generic.EnvCallbackURL:         fs.URL,
		generic.EnvCallbackSecret:      string(callbackSecret),
		generic.EnvWebhookSecret:       string(webhookSecret),
	}))
	got := webhookAnswer(t, s.webhook("generic", paymentEvent, s.signedGeneric(paymentEvent)...), http.StatusOK)
	if len(got.Results) != 1 || !got.Results[0].OK {
		t.Fatalf("results: %+v", got)
	}
	if sent, _ := s.sim.Order(got.Results[0].TrustlyOrderID); !sent.RequestKYC {
		t.Fatalf("the platform's Deposit did not ask for KYC")
	}
	if _, err := s.sim.ApproveAs(got.Results[0].TrustlyOrderID, sim.DefaultScenario, 0, sim.KYCMinor); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Minute)
	if o := s.get(got.Results[0].OrderID); o.State != "cancelled" || o.KYC == nil || o.KYC.Reason != "under_minimum_age" {
		t.Fatalf("the minor's platform payment: %s, kyc %+v", o.State, o.KYC)
	}
}
