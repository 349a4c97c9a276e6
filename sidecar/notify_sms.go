package main

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
	// smsTwilio is Twilio's Programmable Messaging API: POST
	// {base}/2010-04-01/Accounts/{AccountSid}/Messages.json, a form with
	// To, From and Body, HTTP basic auth AccountSid:AuthToken; 201 on success.
	smsTwilio = "twilio"
	// smsJSON is a generic gateway: POST {url} with {"to","from","text"}
	// and, when a password is set, Authorization: Bearer <password>; any 2xx
	// is success.
	smsJSON = "json"

	twilioDefaultURL = "https://api.twilio.com"
)

type smsSender struct {
	gateway  string
	url      string
	username string // Twilio: the Account SID
	password string // Twilio: the Auth Token; json: the bearer token
	from     string
	client   *http.Client
}

var _ sender = (*smsSender)(nil)

func (s *smsSender) send(ctx context.Context, m payLinkMessage) error {
	if !phoneRe.MatchString(m.Phone) {
		return fmt.Errorf("sms: the shopper's mobilePhone is not an E.164 number")
	}
	var req *http.Request
	var err error
	switch s.gateway {
	case smsTwilio:
		form := url.Values{"To": {m.Phone}, "From": {s.from}, "Body": {m.SMS}}
		u := strings.TrimRight(s.url, "/") + "/2010-04-01/Accounts/" + url.PathEscape(s.username) + "/Messages.json"
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(s.username, s.password)
		}
	default:
		b, _ := json.Marshal(struct {
			To   string `json:"to"`
			From string `json:"from,omitempty"`
			Text string `json:"text"`
		}{m.Phone, s.from, m.SMS})
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(b))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
			if s.password != "" {
				req.Header.Set("Authorization", "Bearer "+s.password)
			}
		}
	}
	if err != nil {
		return fmt.Errorf("sms: %w", err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return fmt.Errorf("sms: %s: %w", s.gateway, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("sms: %s gateway answered %s", s.gateway, resp.Status)
	}
	return nil
}
