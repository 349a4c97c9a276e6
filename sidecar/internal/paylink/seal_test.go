package paylink

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var ks [2]*rsa.PrivateKey
	for i := range ks {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

func linksWith(t *testing.T, k *rsa.PrivateKey) *Links {
	t.Helper()
	key, err := SealKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return &Links{SealKey: key}
}

func TestSealKeyIsDerivedFromTheMerchantKey(t *testing.T) {
	ks := testKeys()
	a, _ := SealKey(ks[0])
	again, _ := SealKey(ks[0])
	other, _ := SealKey(ks[1])
	if len(a) != 32 || !bytes.Equal(a, again) || bytes.Equal(a, other) {
		t.Errorf("keys: %x, again %x, other merchant %x: want 32 bytes, the same for the same merchant key only", a, again, other)
	}
	if _, err := SealKey(nil); err == nil {
		t.Error("a seal key without a merchant key")
	}
}

func TestSealAndReveal(t *testing.T) {
	const url = "https://pay.example/pay/qiO6eaLuCHzldpxU_C-8bgHqgMa1lbDFVEZ-c9flQ3Y"
	answer := shopapi.PayLink{ID: "pl_1e447dc37e955736", URL: url, OrderReference: "ORDER-1", Amount: 10300, Currency: "SEK"}
	p := linksWith(t, testKeys()[0])
	sealed, err := p.Seal(answer)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed.URL, "qiO6eaLu") || !strings.HasPrefix(sealed.URL, sealedPrefix) || sealed.ID != answer.ID || sealed.Amount != answer.Amount {
		t.Fatalf("sealed answer %+v", sealed)
	}

	tests := []struct {
		name    string
		links   *Links
		stored  func() shopapi.PayLink
		wantErr bool
	}{
		{name: "same key, as after a restart", links: linksWith(t, testKeys()[0]), stored: func() shopapi.PayLink { return sealed }},
		{name: "an answer of an earlier version, unsealed", links: p, stored: func() shopapi.PayLink { return answer }},
		{name: "another merchant key", links: linksWith(t, testKeys()[1]), stored: func() shopapi.PayLink { return sealed }, wantErr: true},
		{name: "moved to another link's answer", links: p, stored: func() shopapi.PayLink { s := sealed; s.ID = "pl_0000000000000000"; return s }, wantErr: true},
		{name: "altered", links: p, stored: func() shopapi.PayLink { s := sealed; s.URL = s.URL[:len(s.URL)-2] + "AA"; return s }, wantErr: true},
		{name: "not base64", links: p, stored: func() shopapi.PayLink { s := sealed; s.URL = sealedPrefix + "!!"; return s }, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.links.Reveal(tt.stored())
			if tt.wantErr {
				if !errors.Is(err, ErrUnsealable) {
					t.Errorf("Reveal = %+v, %v; want ErrUnsealable", got, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, answer) {
				t.Errorf("Reveal = %+v, %v; want %+v", got, err, answer)
			}
		})
	}
}

// Without a seal key no link is made: it could not be answered.
func TestCreateNeedsASealKey(t *testing.T) {
	p := &Links{}
	if _, err := p.Create(t.Context(), shopapi.CreatePayLinkRequest{}); err == nil || !strings.Contains(err.Error(), "seal key") {
		t.Errorf("Create without a seal key: %v", err)
	}
}
