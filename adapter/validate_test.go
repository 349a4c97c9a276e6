package adapter

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/internal/pb"
)

// A complete command of each kind; each case changes one thing.
func validPay() Command {
	return Command{
		Kind: CommandPay, IdempotencyKey: "shop:evt_1001_pay",
		Order:    Order{ID: "1001", Number: "#1001"},
		Amount:   Money{Minor: 10300, Currency: "SEK"},
		Customer: Customer{ID: "cust_42", Email: "asa.ek@example.se", FirstName: "Åsa", LastName: "Ek", Country: "SE", Phone: "+46701234567"},
		Metadata: map[string]string{"channel": "web"},
	}
}

func validMandate() Command {
	return Command{Kind: CommandMandate, IdempotencyKey: "shop:evt_7_mandate", Customer: Customer{ID: "cust_42", Email: "asa.ek@example.se"}}
}

func validCharge() Command {
	return Command{Kind: CommandCharge, IdempotencyKey: "shop:evt_7_renewal_3", Order: Order{ID: "1002"},
		Amount: Money{Minor: 9900, Currency: "SEK"}, Customer: Customer{ID: "cust_42", Email: "asa.ek@example.se"}}
}

func validRefund() Command {
	return Command{Kind: CommandRefund, IdempotencyKey: "shop:evt_1001_refund_1", Order: Order{ID: "1001"}, Amount: Money{Minor: 5000, Currency: "SEK"}}
}

func validCancel() Command {
	return Command{Kind: CommandCancelCharge, IdempotencyKey: "shop:evt_7_cancel", Reference: "ord_9"}
}

func with(c Command, change func(*Command)) Command {
	change(&c)
	return c
}

func TestValidateAcceptsWhatTheHostCarriesOut(t *testing.T) {
	fifty := map[string]string{}
	for i := range MaxMetadata {
		fifty[fmt.Sprintf("k%d", i)] = "v"
	}
	for _, tc := range []struct {
		name string
		cmd  Command
	}{
		{"a complete payment", validPay()},
		{"a payment without a country (the sidecar's default applies)", with(validPay(), func(c *Command) { c.Customer.Country = "" })},
		{"a payment without phone, order number or metadata", with(validPay(), func(c *Command) {
			c.Customer.Phone, c.Order.Number, c.Metadata = "", "", nil
		})},
		{"a payer named in UTF-8", with(validPay(), func(c *Command) { c.Customer.FirstName, c.Customer.LastName = "Zoë", "Øster-Ålund" })},
		{"an idempotency key of exactly 255 bytes", with(validPay(), func(c *Command) { c.IdempotencyKey = strings.Repeat("k", MaxIdempotencyKeyLen) })},
		{"an order id of exactly 512 bytes", with(validPay(), func(c *Command) { c.Order.ID = strings.Repeat("1", MaxFieldLen) })},
		{"fifty metadata entries", with(validPay(), func(c *Command) { c.Metadata = fifty })},
		{"a metadata value over several lines", with(validPay(), func(c *Command) { c.Metadata = map[string]string{"note": "leave at\nthe door"} })},
		{"a payment of exactly the host's bound", with(validPay(), func(c *Command) { c.Amount.Minor = MaxAmount })},
		{"a mandate with only the customer's id and e-mail", validMandate()},
		{"a payment that also asks for a mandate, with a shipping address and a locked national id", with(validPay(), func(c *Command) {
			c.RequestMandate = true
			c.ShippingAddress = Address{Country: "SE", PostalCode: "11253", City: "Stockholm", Line1: "Storgatan 10"}
			c.Customer.NationalID, c.Customer.NationalIDLocked = "198001011234", true
		})},
		{"a charge of an active mandate", validCharge()},
		{"a partial refund of the platform's order", validRefund()},
		{"a full refund (amount 0) by reference, no currency", Command{Kind: CommandRefund, IdempotencyKey: "r", Reference: "ord_1"}},
		{"a cancel by reference", validCancel()},
		{"a cancel by the platform's order id", with(validCancel(), func(c *Command) { c.Reference, c.Order.ID = "", "1002" })},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cmd.Validate(); err != nil {
				t.Errorf("Validate = %v, want nil", err)
			}
		})
	}
}

func TestValidateRefusesWhatTheHostWould(t *testing.T) {
	tooLong := strings.Repeat("x", MaxFieldLen+1)
	fiftyOne := map[string]string{}
	for i := range MaxMetadata + 1 {
		fiftyOne[fmt.Sprintf("k%d", i)] = "v"
	}
	for _, tc := range []struct {
		name  string
		cmd   Command
		field string // the field the error must name
	}{
		// Every command.
		{"no kind", with(validPay(), func(c *Command) { c.Kind = "" }), "Kind"},
		{"a kind the host does not know", with(validPay(), func(c *Command) { c.Kind = "payout" }), "Kind"},
		{"no idempotency key", with(validPay(), func(c *Command) { c.IdempotencyKey = "" }), "IdempotencyKey"},
		{"an idempotency key of 256 bytes", with(validPay(), func(c *Command) { c.IdempotencyKey = strings.Repeat("k", MaxIdempotencyKeyLen+1) }), "IdempotencyKey"},
		{"a newline in the idempotency key", with(validPay(), func(c *Command) { c.IdempotencyKey = "evt_1\n" }), "IdempotencyKey"},
		{"a NUL in the idempotency key", with(validPay(), func(c *Command) { c.IdempotencyKey = "evt\x001" }), "IdempotencyKey"},
		{"an idempotency key that is not UTF-8", with(validPay(), func(c *Command) { c.IdempotencyKey = "evt_\xff" }), "IdempotencyKey"},
		{"an order id of 513 bytes", with(validPay(), func(c *Command) { c.Order.ID = tooLong }), "Order.ID"},
		{"an order number of 513 bytes", with(validPay(), func(c *Command) { c.Order.Number = tooLong }), "Order.Number"},
		{"a last name of 513 bytes", with(validPay(), func(c *Command) { c.Customer.LastName = tooLong }), "Customer.LastName"},
		{"a tab in the order id", with(validPay(), func(c *Command) { c.Order.ID = "10\t01" }), "Order.ID"},
		{"a control character in the phone number", with(validPay(), func(c *Command) { c.Customer.Phone = "+4670\x7f" }), "Customer.Phone"},
		{"a first name that is not UTF-8", with(validPay(), func(c *Command) { c.Customer.FirstName = "\xc5sa" }), "Customer.FirstName"},
		{"a reference of 513 bytes", with(validRefund(), func(c *Command) { c.Reference = tooLong }), "Reference"},
		{"a negative amount on a mandate", with(validMandate(), func(c *Command) { c.Amount.Minor = -1 }), "Amount.Minor"},
		{"a lower-case currency on a cancel", with(validCancel(), func(c *Command) { c.Amount.Currency = "sek" }), "Amount.Currency"},
		{"fifty-one metadata entries", with(validPay(), func(c *Command) { c.Metadata = fiftyOne }), "Metadata"},
		{"an empty metadata key", with(validPay(), func(c *Command) { c.Metadata = map[string]string{"": "v"} }), "Metadata"},
		{"a metadata value of 513 bytes", with(validPay(), func(c *Command) { c.Metadata = map[string]string{"note": tooLong} }), "Metadata"},
		{"a metadata key of 513 bytes", with(validPay(), func(c *Command) { c.Metadata = map[string]string{tooLong: "v"} }), "Metadata"},
		{"a newline in a metadata key", with(validPay(), func(c *Command) { c.Metadata = map[string]string{"a\nb": "v"} }), "Metadata"},
		{"a metadata value that is not UTF-8", with(validPay(), func(c *Command) { c.Metadata = map[string]string{"note": "\xff"} }), "Metadata"},

		// pay
		{"a payment without the customer's id", with(validPay(), func(c *Command) { c.Customer.ID = "" }), "Customer.ID"},
		{"a payment without the order's id", with(validPay(), func(c *Command) { c.Order.ID = "" }), "Order.ID"},
		{"a payment of nothing", with(validPay(), func(c *Command) { c.Amount.Minor = 0 }), "Amount.Minor"},
		{"a payment of a negative amount", with(validPay(), func(c *Command) { c.Amount.Minor = -100 }), "Amount.Minor"},
		{"a payment without a currency", with(validPay(), func(c *Command) { c.Amount.Currency = "" }), "Amount.Currency"},
		{"a payment in lower-case sek", with(validPay(), func(c *Command) { c.Amount.Currency = "sek" }), "Amount.Currency"},
		{"a payment in the numeric code 752", with(validPay(), func(c *Command) { c.Amount.Currency = "752" }), "Amount.Currency"},
		{"a payment in a four-letter currency", with(validPay(), func(c *Command) { c.Amount.Currency = "SEKK" }), "Amount.Currency"},
		{"a payment in USD, which Trustly does not take", with(validPay(), func(c *Command) { c.Amount.Currency = "USD" }), "Amount.Currency"},
		{"a payment in JPY (no decimals)", with(validPay(), func(c *Command) { c.Amount.Currency = "JPY" }), "Amount.Currency"},
		{"a payment above the host's bound", with(validPay(), func(c *Command) { c.Amount.Minor = MaxAmount + 1 }), "Amount.Minor"},
		{"a refund in HRK (EUR since 2023)", with(validRefund(), func(c *Command) { c.Amount.Currency = "HRK" }), "Amount.Currency"},
		{"a payment without the customer's e-mail", with(validPay(), func(c *Command) { c.Customer.Email = "" }), "Customer.Email"},
		{"a shipping country that is a name", with(validPay(), func(c *Command) { c.ShippingAddress.Country = "Sweden" }), "ShippingAddress.Country"},
		{"a locked national id that is missing", with(validPay(), func(c *Command) { c.Customer.NationalIDLocked = true }), "Customer.NationalID"},
		{"a mandate asked for on a refund", with(validRefund(), func(c *Command) { c.RequestMandate = true }), "RequestMandate"},
		{"KYC asked for on a refund", with(validRefund(), func(c *Command) { c.KYC.Request = true }), "KYC"},
		{"a recipient on a refund", with(validRefund(), func(c *Command) { c.Recipient = &Recipient{FirstName: "Ada", Country: "SE"} }), "Recipient"},
		{"a recipient without a name", with(validPay(), func(c *Command) { c.Recipient = &Recipient{Country: "SE"} }), "Recipient.FirstName"},
		{"a recipient without a country", with(validPay(), func(c *Command) { c.Recipient = &Recipient{FirstName: "Ada"} }), "Recipient.Country"},
		{"an organisation with a last name", with(validPay(), func(c *Command) {
			c.Recipient = &Recipient{Organisation: true, FirstName: "Acme AB", LastName: "X", Country: "SE"}
		}), "Recipient.LastName"},
		{"a control character in a recipient's address", with(validPay(), func(c *Command) {
			c.Recipient = &Recipient{FirstName: "Ada", Country: "SE", Address: "Gatan 1\x00"}
		}), "Recipient.Address"},
		{"a negative minimum age", with(validPay(), func(c *Command) { c.KYC = KYC{Request: true, MinimumAge: -1} }), "KYC.MinimumAge"},
		{"a minimum age past any person's", with(validPay(), func(c *Command) { c.KYC = KYC{Request: true, MinimumAge: MaxKYCAge + 1} }), "KYC.MinimumAge"},
		{"a minimum age without the check", with(validPay(), func(c *Command) { c.KYC.MinimumAge = 18 }), "KYC.MinimumAge"},
		{"a shipping address line with a newline", with(validPay(), func(c *Command) { c.ShippingAddress.Line1 = "a\nb" }), "ShippingAddress.Line1"},
		{"a payment whose e-mail has no @", with(validPay(), func(c *Command) { c.Customer.Email = "asa.ek.example.se" }), "Customer.Email"},
		{"a payment whose e-mail ends at the @", with(validPay(), func(c *Command) { c.Customer.Email = "asa.ek@" }), "Customer.Email"},
		{"a payment whose e-mail has a space", with(validPay(), func(c *Command) { c.Customer.Email = "asa ek@example.se" }), "Customer.Email"},
		{"a payment without the first name", with(validPay(), func(c *Command) { c.Customer.FirstName = "" }), "Customer.FirstName"},
		{"a payment without the last name", with(validPay(), func(c *Command) { c.Customer.LastName = "" }), "Customer.LastName"},
		{"a payment from country se in lower case", with(validPay(), func(c *Command) { c.Customer.Country = "se" }), "Customer.Country"},
		{"a payment from the three-letter country SWE", with(validPay(), func(c *Command) { c.Customer.Country = "SWE" }), "Customer.Country"},

		// mandate
		{"a mandate without the customer's id", with(validMandate(), func(c *Command) { c.Customer.ID = "" }), "Customer.ID"},
		{"a mandate without the customer's e-mail", with(validMandate(), func(c *Command) { c.Customer.Email = "" }), "Customer.Email"},
		{"a mandate from country sweden", with(validMandate(), func(c *Command) { c.Customer.Country = "Sweden" }), "Customer.Country"},

		// charge
		{"a charge without the customer's id", with(validCharge(), func(c *Command) { c.Customer.ID = "" }), "Customer.ID"},
		{"a charge without the customer's e-mail", with(validCharge(), func(c *Command) { c.Customer.Email = "" }), "Customer.Email"},
		{"a charge of nothing", with(validCharge(), func(c *Command) { c.Amount.Minor = 0 }), "Amount.Minor"},
		{"a charge without a currency", with(validCharge(), func(c *Command) { c.Amount.Currency = "" }), "Amount.Currency"},

		// refund
		{"a refund of a negative amount", with(validRefund(), func(c *Command) { c.Amount.Minor = -1 }), "Amount.Minor"},
		{"a refund that names no payment", with(validRefund(), func(c *Command) { c.Order.ID, c.Reference = "", "" }), "Reference or Order.ID"},
		{"a refund in the currency kr", with(validRefund(), func(c *Command) { c.Amount.Currency = "kr" }), "Amount.Currency"},

		// cancel-charge
		{"a cancel that names no charge", with(validCancel(), func(c *Command) { c.Reference = "" }), "Reference or Order.ID"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cmd.Validate()
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate = %v, want an error wrapping ErrInvalid", err)
			}
			var ce *CommandError
			if !errors.As(err, &ce) {
				t.Fatalf("Validate = %T %v, want a *CommandError", err, err)
			}
			if ce.Field != tc.field || !strings.Contains(err.Error(), tc.field+" ") {
				t.Errorf("Validate = %q (field %q), want it to name %s", err, ce.Field, tc.field)
			}
			if Classify(err) != ClassInvalid {
				t.Errorf("Classify(%v) = %s, want invalid", err, Classify(err))
			}
		})
	}
}

// The message is for the person fixing the adapter: the kind and the field
// first, and never the value of a field that holds a person's data.
func TestValidateMessages(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  Command
		want string
	}{
		{"a missing field names the kind and the field", with(validPay(), func(c *Command) { c.Customer.Email = "" }),
			"pay command: Customer.Email is required"},
		{"an unknown kind is quoted, with no kind prefix", with(validPay(), func(c *Command) { c.Kind = "payout" }),
			`command: Kind "payout" is not one of pay, refund, mandate, charge, cancel-charge`},
		{"a malformed e-mail is not repeated", with(validCharge(), func(c *Command) { c.Customer.Email = "secret-person" }),
			"charge command: Customer.Email is not an e-mail address"},
		{"a refund naming nothing says what it needs", with(validRefund(), func(c *Command) { c.Order.ID = "" }),
			"refund command: Reference or Order.ID is required (the payment or charge it is about)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cmd.Validate(); got == nil || got.Error() != tc.want {
				t.Errorf("Validate = %v\nwant       %s", got, tc.want)
			}
		})
	}
}

// Validate is what the host calls on every command, so it must say the same
// thing every time about the same command (maps iterate in random order).
func TestValidateReportsTheSameMetadataEntryEveryTime(t *testing.T) {
	c := with(validPay(), func(c *Command) { c.Metadata = map[string]string{"b\n": "v", "a\n": "v", "c\n": "v"} })
	first := c.Validate().Error()
	for range 50 {
		if got := c.Validate().Error(); got != first {
			t.Fatalf("Validate = %q, earlier %q", got, first)
		}
	}
	if !strings.Contains(first, `"a\n"`) {
		t.Errorf("Validate = %q, want the first key in order, \"a\\n\"", first)
	}
}

// FuzzValidate: whatever an adapter builds, Validate answers without
// panicking and refuses only with a *CommandError; and what it accepts can
// cross the plugin boundary (protobuf refuses a string that is not UTF-8)
// and comes back equal, so a valid command never fails in the shim instead.
func FuzzValidate(f *testing.F) {
	f.Add("pay", "shop:evt_1", "1001", "cust_42", "asa.ek@example.se", "Åsa", "Ek", "SE", "SEK", int64(10300), "", "channel", "web")
	f.Add("refund", "shop:evt_2", "1001", "", "", "", "", "", "", int64(0), "ord_1", "note", "line\nbreak")
	f.Add("charge", "k\xff", "1", "c", "a@b", "", "", "se", "sek", int64(-1), "", "", "\xff")
	f.Fuzz(func(t *testing.T, kind, key, order, cust, email, first, last, country, currency string, minor int64, ref, mk, mv string) {
		c := Command{
			Kind: CommandKind(kind), IdempotencyKey: key, Order: Order{ID: order},
			Amount:    Money{Minor: minor, Currency: currency},
			Customer:  Customer{ID: cust, Email: email, FirstName: first, LastName: last, Country: country},
			Reference: ref, Metadata: map[string]string{mk: mv},
		}
		err := c.Validate()
		if err != nil {
			var ce *CommandError
			if !errors.As(err, &ce) || !errors.Is(err, ErrInvalid) || ce.Field == "" {
				t.Fatalf("Validate = %T %v, want a *CommandError naming a field and wrapping ErrInvalid", err, err)
			}
			return
		}
		b, err := proto.Marshal(commandToPB(c))
		if err != nil {
			t.Fatalf("Validate accepted %+v, but protobuf cannot carry it: %v", c, err)
		}
		var back pb.Command
		if err := proto.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if got := commandFromPB(&back); !reflect.DeepEqual(got, c) {
			t.Errorf("across the boundary:\n got %+v\nwant %+v", got, c)
		}
	})
}

func TestEveryCurrencyTheHostTakes(t *testing.T) {
	for _, cur := range Currencies() {
		if err := with(validPay(), func(c *Command) { c.Amount.Currency = cur }).Validate(); err != nil {
			t.Errorf("a payment in %s: %v", cur, err)
		}
	}
}
