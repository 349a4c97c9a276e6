package config

import (
	"fmt"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// ShopDefaults fill in what a Deposit or a mandate needs and platforms do
// not send.
type ShopDefaults struct {
	SuccessURL, FailURL, Locale, Country, ShopperStatement string
}

// checkShopDefaults checks the shop-wide defaults of platform commands.
func (c *Config) checkShopDefaults() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	for _, u := range []struct{ name, v string }{{"SHOP_SUCCESS_URL", c.ShopSuccessURL}, {"SHOP_FAIL_URL", c.ShopFailURL}} {
		if u.v != "" {
			if err := checkURL(u.v, false); err != nil {
				add("%s: %w", Key(u.name), err)
			}
		}
	}
	if c.ShopLocale != "" && !shopapi.LocaleRe.MatchString(c.ShopLocale) {
		add("%s: %q is not a locale like sv_SE", Key("SHOP_LOCALE"), c.ShopLocale)
	}
	if c.ShopCountry != "" && !shopapi.CountryRe.MatchString(c.ShopCountry) {
		add("%s: %q is not an ISO 3166-1 alpha-2 code like SE", Key("SHOP_COUNTRY"), c.ShopCountry)
	}
	if len(c.ShopShopperStatement) > shopapi.MaxField {
		add("%s holds at most %d characters", Key("SHOP_SHOPPER_STATEMENT"), shopapi.MaxField)
	}
	return problems
}

// ShopDefaults are the shop-wide defaults of platform commands.
func (c *Config) ShopDefaults() ShopDefaults {
	return ShopDefaults{SuccessURL: c.ShopSuccessURL, FailURL: c.ShopFailURL, Locale: c.ShopLocale,
		Country: c.ShopCountry, ShopperStatement: c.ShopShopperStatement}
}
