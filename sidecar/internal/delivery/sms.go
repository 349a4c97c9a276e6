package delivery

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// SMS gateways.
const (
	// GatewayTwilio is Twilio's Programmable Messaging API: POST
	// {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, a form with
	// To, From and Body, HTTP basic auth AccountSid:AuthToken; 201 on success.
	GatewayTwilio = "twilio"
	// GatewayJSON is a generic gateway: POST {url} with {"to","from","text"}
	// and, when a password is set, Authorization: Bearer <password>; any 2xx
	// is success.
	GatewayJSON = "json"

	TwilioDefaultURL = "https://api.twilio.com"
)

type SMS struct {
	Gateway  string // GatewayTwilio or GatewayJSON
	URL      string
	Username string // Twilio: the Account SID
	Password string // Twilio: the Auth Token; json: the bearer token
	From     string
	Client   *http.Client
}

var _ Sender = (*SMS)(nil)

// Send texts m to m.Phone through the gateway.
func (s *SMS) Send(ctx context.Context, m Message) error {
	if !phoneRe().MatchString(m.Phone) {
		return fmt.Errorf("sms: the shopper's mobilePhone is not an E.164 number")
	}
	var req *http.Request
	var err error
	switch s.Gateway {
	case GatewayTwilio:
		form := url.Values{"To": {m.Phone}, "From": {s.From}, "Body": {m.SMS}}
		u := strings.TrimRight(s.URL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(s.Username) + "/Messages.json"
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(s.Username, s.Password)
		}
	default:
		b, _ := json.Marshal(struct {
			To   string `json:"to"`
			From string `json:"from,omitempty"`
			Text string `json:"text"`
		}{m.Phone, s.From, m.SMS})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(b))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			if s.Password != "" {
				req.Header.Set("Authorization", "Bearer "+s.Password)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	resp, err := s.Client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: %s: %w", s.Gateway, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms: %s gateway answered %s", s.Gateway, resp.Status)
	}
	return nil
}
