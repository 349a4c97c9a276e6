// Package delivery sends pay links to the shopper: e-mail (SMTP with
// STARTTLS) and SMS (Twilio's Messages API or a generic JSON gateway). The
// text is a template per language, chosen by the shopper's locale (sv_SE →
// sv), English when there is none for it.
package delivery

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// The channels a pay link can be sent over, as the shop API names them.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
)

// Sender delivers a pay link over one channel.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// phoneRe is an E.164 number, the form SMS gateways take.
var phoneRe = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`) })

// ValidPhone reports an E.164 number, the only form SMS gateways take.
func ValidPhone(s string) bool { return phoneRe().MatchString(s) }

// ChannelList names the configured channels, for messages.
func ChannelList(s map[string]Sender) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(slices.Sorted(maps.Keys(s)), ", ")
}

// Message is a link rendered for one shopper.
type Message struct {
	To, Phone      string
	Subject, Email string // e-mail subject and plain-text body
	SMS            string
}

// messageData is what the templates see.
type messageData struct {
	FirstName, Merchant, OrderReference, Amount, URL, Expires string
}

type messageTexts struct{ subject, email, sms *template.Template }

func texts(subject, email, sms string) messageTexts {
	return messageTexts{template.Must(template.New("s").Parse(subject)), template.Must(template.New("e").Parse(email)), template.Must(template.New("m").Parse(sms))}
}

// messageTemplates: one entry per language. Add a language by adding an
// entry. Parsed on first use, not at the start of every process.
var messageTemplates = sync.OnceValue(func() map[string]messageTexts {
	return map[string]messageTexts{
		"en": texts(`Payment for order {{.OrderReference}}`,
			`Hello {{.FirstName}},

please pay {{.Amount}} for order {{.OrderReference}} at {{.Merchant}} with your bank:

{{.URL}}

The link is valid until {{.Expires}}.
`,
			`{{.Merchant}}: pay {{.Amount}} for order {{.OrderReference}}: {{.URL}}`),
		"sv": texts(`Betalning för order {{.OrderReference}}`,
			`Hej {{.FirstName}},

betala {{.Amount}} för order {{.OrderReference}} hos {{.Merchant}} med din bank:

{{.URL}}

Länken gäller till {{.Expires}}.
`,
			`{{.Merchant}}: betala {{.Amount}} för order {{.OrderReference}}: {{.URL}}`),
		"de": texts(`Zahlung für Bestellung {{.OrderReference}}`,
			`Hallo {{.FirstName}},

bitte zahlen Sie {{.Amount}} für die Bestellung {{.OrderReference}} bei {{.Merchant}} mit Ihrer Bank:

{{.URL}}

Der Link ist gültig bis {{.Expires}}.
`,
			`{{.Merchant}}: Zahlen Sie {{.Amount}} für Bestellung {{.OrderReference}}: {{.URL}}`),
	}
})

// decimalComma: languages that write 103,00.
var decimalComma = map[string]bool{"sv": true, "de": true}

// Link is what a message says about a pay link.
type Link struct {
	OrderReference string
	Amount         int64 // minor units
	Currency       string
	Merchant       string // the shopper statement: the name the shopper knows
	ExpiresAt      time.Time
	Locale         string // the shopper's, e.g. sv_SE: chooses the language
	FirstName      string
	Email, Phone   string
}

// Language is the language of the texts for a shopper's locale (sv_SE →
// sv): one the messages are written in, English otherwise.
func Language(locale string) string {
	lang, _, _ := strings.Cut(locale, "_")
	if _, ok := messageTemplates()[lang]; ok {
		return lang
	}
	return "en"
}

// FormatAmount writes minor units as the language writes money: 103,00 SEK
// in Swedish and German, 103.00 SEK in English.
func FormatAmount(lang string, minor int64, currency string) string {
	amount := trustly.FormatAmount(minor) + " " + currency
	if decimalComma[lang] {
		amount = strings.Replace(amount, ".", ",", 1)
	}
	return amount
}

// FormatExpiry writes a link's expiry the same way everywhere.
func FormatExpiry(t time.Time) string { return t.UTC().Format(time.DateTime) + " UTC" }

// NewMessage renders l, reachable at url, for its shopper.
func NewMessage(l Link, url string) Message {
	lang := Language(l.Locale)
	t := messageTemplates()[lang]
	d := messageData{FirstName: l.FirstName, Merchant: l.Merchant, OrderReference: l.OrderReference,
		Amount: FormatAmount(lang, l.Amount, l.Currency), URL: url, Expires: FormatExpiry(l.ExpiresAt)}
	run := func(t *template.Template) string {
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			// The templates are ours and tested; this cannot happen.
			panic(fmt.Sprintf("pay link template: %v", err))
		}
		return b.String()
	}
	return Message{To: l.Email, Phone: l.Phone, Subject: run(t.subject), Email: run(t.email), SMS: run(t.sms)}
}
