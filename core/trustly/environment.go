package trustly

import (
	"crypto/rsa"
	"fmt"
	"strings"
)

// Environment selects Trustly's endpoint and public key.
type Environment string

// Trustly's two environments. SIM is not Trustly's: it names the built-in
// simulator, whose key pair is generated locally.
const (
	Test Environment = "TEST"
	Live Environment = "LIVE"
	Sim  Environment = "SIM"
)

// Trustly's API endpoints.
const (
	TestURL = "https://test.trustly.com/api/1"
	LiveURL = "https://api.trustly.com/1"
)

// Trustly's public keys, as published on the Authentication page of the API
// reference. Responses and notifications from each environment are signed
// with the matching private key.
const (
	TestPublicKeyPEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAy7h/yX8DEA2m588SrWye
AC8rTMbErwHt2hoTiP9fte/iOo0FXIZSmNsNu422L+iJyvZQu19ebeL7XgB0UXqt
zA6KtXBMXIKwuMCZhbdeR8sb7OKbX2nlWM+e2Hmrr9CTfkZkFBeSC+iN9fAU6PoR
X0i5PWm0uZnaoWXcZnk5CxQCgnfYgsx7xsd8Au+mrqE8SHeT8zi/Inw0Xp6ba25G
YsZhHfIPD2rcZQOpWbmHRS4Jk4aGzSOBHbAZhKlP97PxoVfUcPI3iCA1+3jMs1l2
PYsHUbP60NMVwkGPjFOTv4m1a1wKsue0mhspDdvswZUeKE+POGOuewqTQJ+gIhXw
mQIDAQAB
-----END PUBLIC KEY-----
`
	LivePublicKeyPEM = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAoZhnqiELeoX3QNSg7jpU
kbLV4BU32LoSMuABAaPdxhpZaccFYud2z4QUlMq/j46vdVDpaCFaCZ+qNT5+tHbQ
BFgcrx82u7r+aMHvKy4FEczT5aev0NxRlQKHmNQygvp3hNkqeOw4nJy3PoD4cgCp
SlLTiPOBy2ZsWUHQpSVJdDUiLwAQfNV90jMqa3zq1nTfmTBmd6NR1XAjg5eS6SWr
to1nVS1b7XKGv7Cc1kt0RVd54tWqoCMDHwEiU0st66BCKdYk3r5woDZxGZUUjVdm
g9O2xpqRRDcdJGm8HIOVHGSNT9R7LMucH/PGwrfpdWmBDjy0BkuDlssuBgh731l2
cwIDAQAB
-----END PUBLIC KEY-----
`
)

var testPublicKey, livePublicKey = mustPublicKey(TestPublicKeyPEM), mustPublicKey(LivePublicKeyPEM)

func mustPublicKey(s string) *rsa.PublicKey {
	k, err := ParsePublicKey([]byte(s))
	if err != nil {
		panic("trustly: built-in public key: " + err.Error())
	}
	return k
}

// ParseEnvironment accepts TEST, LIVE or SIM in any case.
func ParseEnvironment(s string) (Environment, error) {
	switch e := Environment(strings.ToUpper(strings.TrimSpace(s))); e {
	case Test, Live, Sim:
		return e, nil
	}
	return "", fmt.Errorf("trustly: unknown environment %q (want TEST, LIVE or SIM)", s)
}

// URL returns the environment's API endpoint; SIM has none built in.
func (e Environment) URL() string {
	switch e {
	case Test:
		return TestURL
	case Live:
		return LiveURL
	}
	return ""
}

// PublicKey returns Trustly's public key for TEST or LIVE, nil otherwise.
func (e Environment) PublicKey() *rsa.PublicKey {
	switch e {
	case Test:
		return testPublicKey
	case Live:
		return livePublicKey
	}
	return nil
}
