package config

import (
	"fmt"
	"regexp"
	"sync"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The shapes Trustly takes for a locale and a country, and the longest
// shopper statement the sidecar sends.
var (
	localeRe  = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[a-z]{2}_[A-Z]{2}$`) })
	countryRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[A-Z]{2}$`) })
)

const maxShopperStatement = trustly.MaxTextLength

// ShopDefaults fill in what a Deposit or a mandate needs and platforms do
// not send.
type ShopDefaults struct {
	SuccessURL, FailURL, Locale, Country, ShopperStatement string
	// RequestKYC asks for KYC on every platform payment: the adapter
	// protocol has no field for it per payment.
	RequestKYC bool
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
	if c.ShopLocale != "" && !localeRe().MatchString(c.ShopLocale) {
		add("%s: %q is not a locale like sv_SE", Key("SHOP_LOCALE"), c.ShopLocale)
	}
	if c.ShopCountry != "" && !countryRe().MatchString(c.ShopCountry) {
		add("%s: %q is not an ISO 3166-1 alpha-2 code like SE", Key("SHOP_COUNTRY"), c.ShopCountry)
	}
	if len(c.ShopShopperStatement) > maxShopperStatement {
		add("%s holds at most %d characters", Key("SHOP_SHOPPER_STATEMENT"), maxShopperStatement)
	}
	return problems
}

// ShopDefaults are the shop-wide defaults of platform commands.
func (c *Config) ShopDefaults() ShopDefaults {
	return ShopDefaults{SuccessURL: c.ShopSuccessURL, FailURL: c.ShopFailURL, Locale: c.ShopLocale,
		Country: c.ShopCountry, ShopperStatement: c.ShopShopperStatement, RequestKYC: c.ShopRequestKYC}
}
