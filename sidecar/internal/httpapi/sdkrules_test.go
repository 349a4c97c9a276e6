package httpapi

import (
	"slices"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/adapter"
	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The SDK (its own module, which never imports the host) keeps a copy of
// the host's currency table and amount bound, so that Command.Validate and
// adaptertest refuse exactly what the engine would. This is where the two
// meet: correcting core/trustly/currency.go fails here until
// adapter/validate.go says the same.
func TestTheSDKTakesTheHostsCurrenciesAndAmounts(t *testing.T) {
	if sdk, host := adapter.Currencies(), trustly.Currencies(); !slices.Equal(sdk, host) {
		t.Errorf("adapter.Currencies() = %v, trustly.Currencies() = %v: update adapter/validate.go", sdk, host)
	}
	if adapter.MaxAmount != trustly.MaxAmount {
		t.Errorf("adapter.MaxAmount = %d, trustly.MaxAmount = %d: update adapter/validate.go", adapter.MaxAmount, trustly.MaxAmount)
	}
	for _, cur := range []string{"SEK", "USD", "JPY", "HRK"} {
		c := adapter.Command{Kind: adapter.CommandPay, IdempotencyKey: "k", Customer: adapter.Customer{ID: "c", Email: "a@b.se", FirstName: "A", LastName: "B"},
			Order: adapter.Order{ID: "1"}, Amount: adapter.Money{Minor: 100, Currency: cur}}
		if sdk, host := c.Validate() == nil, trustly.SupportedCurrency(cur); sdk != host {
			t.Errorf("%s: the SDK takes it %t, the host %t", cur, sdk, host)
		}
	}
}
