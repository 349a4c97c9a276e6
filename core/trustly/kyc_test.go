package trustly

import (
	"errors"
	"testing"
)

func TestValidateDepositKYCAttributes(t *testing.T) {
	person := func() *RecipientInformation {
		return &RecipientInformation{PartyType: PartyPerson, FirstName: "Mark", LastName: "Smith", CountryCode: "ES",
			CustomerID: "123456789", Address: "Main street 1, 12345, Barcelona", DateOfBirth: "1980-01-30"}
	}
	with := func(f func(ri *RecipientInformation)) *DepositRequest {
		return deposit(func(d *DepositRequest) { d.RecipientInformation = person(); f(d.RecipientInformation) })
	}
	const p = "RecipientInformation."
	checkValidate(t, []validateCase{
		{name: "RequestKYC", req: deposit(func(d *DepositRequest) { d.RequestKYC = true })},
		{name: "a person as recipient (Trustly's example)", req: with(func(*RecipientInformation) {})},
		{name: "an organisation: no last name, its number as DateOfBirth", req: with(func(ri *RecipientInformation) {
			ri.PartyType, ri.FirstName, ri.LastName, ri.DateOfBirth = PartyOrganisation, "Merchant Ltd", "", "5563427391"
		})},
		{name: "no party type", req: with(func(ri *RecipientInformation) { ri.PartyType = "" }), code: CodeInvalidParameters, field: p + "Partytype"},
		{name: "unknown party type", req: with(func(ri *RecipientInformation) { ri.PartyType = "COMPANY" }), code: CodeInvalidParameters, field: p + "Partytype"},
		{name: "no first name", req: with(func(ri *RecipientInformation) { ri.FirstName = "" }), code: CodeInvalidParameters, field: p + "Firstname"},
		{name: "a person without last name", req: with(func(ri *RecipientInformation) { ri.LastName = " " }), code: CodeInvalidParameters, field: p + "Lastname"},
		{name: "a person's birth date as d/m/y", req: with(func(ri *RecipientInformation) { ri.DateOfBirth = "30/01/1980" }), code: CodeInvalidParameters, field: p + "DateOfBirth"},
		{name: "no country", req: with(func(ri *RecipientInformation) { ri.CountryCode = "" }), code: CodeInvalidParameters, field: p + "CountryCode"},
		{name: "UK is not a country code", req: with(func(ri *RecipientInformation) { ri.CountryCode = "UK" }), code: CodeInvalidParameters, field: p + "CountryCode"},
		{name: "invalid UTF-8 in the address", req: with(func(ri *RecipientInformation) { ri.Address = "Main \xff" }), code: CodeInvalidParameters, field: "Address"},
	})
}

func TestDepositKYCAttributesOnTheWire(t *testing.T) {
	d := deposit(func(d *DepositRequest) {
		d.RequestKYC = true
		d.RecipientInformation = &RecipientInformation{PartyType: PartyOrganisation, FirstName: "Merchant Ltd", CountryCode: "SE"}
	})
	data, err := d.Data(Credentials{Username: "u", Password: "p"})
	if err != nil {
		t.Fatal(err)
	}
	a := data["Attributes"].(map[string]any)
	if a["RequestKYC"] != "1" {
		t.Errorf("RequestKYC = %#v, want \"1\"", a["RequestKYC"])
	}
	ri := a["RecipientInformation"].(map[string]any)
	if v, ok := ri["Lastname"]; !ok || v != nil || ri["Partytype"] != "ORGANISATION" || ri["Firstname"] != "Merchant Ltd" || ri["CountryCode"] != "SE" {
		t.Errorf("RecipientInformation = %#v, want Trustly's organisation shape (Lastname null)", ri)
	}
	if _, ok := ri["CustomerID"]; ok {
		t.Errorf("empty CustomerID sent: %#v", ri)
	}
	if _, err := deposit(func(d *DepositRequest) { d.Extra = map[string]string{"RequestKYC": "1"} }).Data(Credentials{Username: "u", Password: "p"}); !errors.Is(err, ErrExtraConflict) {
		t.Errorf("RequestKYC in Extra: %v, want ErrExtraConflict", err)
	}
}

func TestKYCNotificationAbort(t *testing.T) {
	key, v := notifTestKey(t), notifTestVerifier(t)
	data := map[string]any{"orderid": "87654567", "messageid": "m-1", "notificationid": "1", "kycentityid": "e",
		"abort": "1", "abortmessage": "underage"}
	n, err := ParseNotification(notifBody(t, key, "kyc", NewUUID(), data), v)
	if err != nil {
		t.Fatal(err)
	}
	k, err := n.KYC()
	if err != nil || !k.Abort || k.AbortMessage != "underage" {
		t.Fatalf("KYC() = %+v, %v; want abort with its message", k, err)
	}
	data["abort"] = "yes"
	n, err = ParseNotification(notifBody(t, key, "kyc", NewUUID(), data), v)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.KYC(); !errors.Is(err, ErrInvalidNotification) {
		t.Errorf("abort \"yes\": %v, want ErrInvalidNotification", err)
	}
}
