package main

import (
	"crypto/x509"
	"fmt"
	"net/http"
	"net/mail"
	"os"
	"time"
)

// checkPayLinks checks the pay-link settings: their life and the delivery
// channels.
func (c *Config) checkPayLinks() []error {
	var problems []error
	add := func(format string, a ...any) { problems = append(problems, fmt.Errorf(format, a...)) }
	if c.PayLinkTTL <= 0 || c.PayLinkTTL > maxPayLinkTTL {
		add("%s: %s is not between 1s and %s", key("PAYLINK_TTL"), c.PayLinkTTL, maxPayLinkTTL)
	}
	if c.SMTPAddr != "" {
		if err := checkAddr(c.SMTPAddr); err != nil {
			add("%s: %w", key("SMTP_ADDR"), err)
		}
		if _, err := mail.ParseAddress(c.SMTPFrom); err != nil {
			add("%s: %q is not an e-mail address (required with %s): %w", key("SMTP_FROM"), c.SMTPFrom, key("SMTP_ADDR"), err)
		}
		if c.SMTPCAFile != "" {
			if _, err := c.smtpRoots(); err != nil {
				add("%s: %w", key("SMTP_CA_FILE"), err)
			}
		}
	}
	switch c.SMSGateway {
	case "":
	case smsTwilio:
		if c.SMSUsername == "" || c.SMSPassword == "" {
			add("%s and %s (Twilio's Account SID and Auth Token) are required for twilio", key("SMS_USERNAME"), key("SMS_PASSWORD"))
		}
		if c.SMSURL != "" {
			if err := checkURL(c.SMSURL, false); err != nil {
				add("%s: %w", key("SMS_URL"), err)
			}
		}
	case smsJSON:
		if err := checkURL(c.SMSURL, false); err != nil {
			add("%s (required for json): %w", key("SMS_URL"), err)
		}
	default:
		add("%s: %q is not a gateway (want twilio or json)", key("SMS_GATEWAY"), c.SMSGateway)
	}
	if c.SMSGateway != "" && c.SMSFrom == "" {
		add("%s is required with %s", key("SMS_FROM"), key("SMS_GATEWAY"))
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

// payLinkSenders are the configured delivery channels.
func (c *Config) payLinkSenders() (map[string]sender, error) {
	out := map[string]sender{}
	if c.SMTPAddr != "" {
		roots, err := c.smtpRoots()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key("SMTP_CA_FILE"), err)
		}
		out[channelEmail] = &mailer{addr: c.SMTPAddr, from: c.SMTPFrom, username: c.SMTPUsername, password: c.SMTPPassword,
			startTLS: c.SMTPStartTLS, roots: roots, timeout: 30 * time.Second}
	}
	if c.SMSGateway != "" {
		u := c.SMSURL
		if u == "" && c.SMSGateway == smsTwilio {
			u = twilioDefaultURL
		}
		out[channelSMS] = &smsSender{gateway: c.SMSGateway, url: u, username: c.SMSUsername, password: c.SMSPassword,
			from: c.SMSFrom, client: &http.Client{Timeout: 30 * time.Second}}
	}
	return out, nil
}
