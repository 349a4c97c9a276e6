package config

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/mail"
	"os"
	"time"

	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/delivery"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/paylink"
)

// checkPayLinks checks the pay-link settings: their life and the delivery
// channels.
func (c *Config) checkPayLinks() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	if c.PayLinkTTL <= 0 || c.PayLinkTTL > paylink.MaxTTL {
		add("%s: %s is not between 1s and %s", Key("PAYLINK_TTL"), c.PayLinkTTL, paylink.MaxTTL)
	}
	if c.SMTPAddr != "" {
		if err := checkAddr(c.SMTPAddr); err != nil {
			add("%s: %w", Key("SMTP_ADDR"), err)
		}
		if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
			add("%s: %q is not an e-mail address (required with %s): %w", Key("SMTP_FROM"), c.SMTPFrom, Key("SMTP_ADDR"), err)
		}
		if c.SMTPCAFile != "" {
			if _, err := c.smtpRoots(); err != nil {
				add("%s: %w", Key("SMTP_CA_FILE"), err)
			}
		}
	}
	switch c.SMSGateway {
	case "":
	case delivery.GatewayTwilio:
		if c.SMSUsername == "" || c.SMSPassword == "" {
			add("%s and %s (Twilio's Account SID and Auth Token) are required for twilio", Key("SMS_USERNAME"), Key("SMS_PASSWORD"))
		}
		if c.SMSURL != "" {
			if err := checkURL(c.SMSURL, false); err != nil {
				add("%s: %w", Key("SMS_URL"), err)
			}
		}
	case delivery.GatewayJSON:
		if err := checkURL(c.SMSURL, false); err != nil {
			add("%s (required for json): %w", Key("SMS_URL"), err)
		}
	default:
		add("%s: %q is not a gateway (want twilio or json)", Key("SMS_GATEWAY"), c.SMSGateway)
	}
	if c.SMSGateway != "" && c.SMSFrom == "" {
		add("%s is required with %s", Key("SMS_FROM"), Key("SMS_GATEWAY"))
	}
	return problems
}

func (c *Config) smtpRoots() (*x509.CertPool, error) {
	if c.SMTPCAFile == "" {
		return nil, nil
	}
	b, err := os.ReadFile(c.SMTPCAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", c.SMTPCAFile)
	}
	return roots, nil
}

// PayLinkSenders are the configured delivery channels.
func (c *Config) PayLinkSenders() (map[string]delivery.Sender, error) {
	out := map[string]delivery.Sender{}
	if c.SMTPAddr != "" {
		roots, err := c.smtpRoots()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", Key("SMTP_CA_FILE"), err)
		}
		out[delivery.ChannelEmail] = &delivery.Mailer{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUsername, Password: c.SMTPPassword,
			StartTLS: c.SMTPStartTLS, Roots: roots, Timeout: 30 * time.Second}
	}
	if c.SMSGateway != "" {
		u := c.SMSURL
		if u == "" && c.SMSGateway == delivery.GatewayTwilio {
			u = delivery.TwilioDefaultURL
		}
		out[delivery.ChannelSMS] = &delivery.SMS{Gateway: c.SMSGateway, URL: u, Username: c.SMSUsername, Password: c.SMSPassword,
			From: c.SMSFrom, Client: &http.Client{Timeout: 30 * time.Second}}
	}
	return out, nil
}
