package sim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/trustly-sidecar/trustly-sidecar/core/trustly"
)

// maxRequestBytes bounds an API request body; Trustly's requests are a few KiB.
const maxRequestBytes = 1 << 20

// apiError is the error an API call is answered with.
type apiError struct {
	code   trustly.Code
	detail string // what exactly was wrong: for the simulator's log only
}

func errf(code trustly.Code, format string, a ...any) *apiError {
	return &apiError{code: code, detail: fmt.Sprintf(format, a...)}
}

// message is what the answer says: the bare error name, as Trustly
// answers (ERROR_INVALID_PARAMETERS, never which field). The detail goes
// to the simulator's log, with the request's method and MessageID, where
// the developer looks; merchants branch on the code, never the text.
func (e *apiError) message() string { return e.code.Name() }

// call is one authenticated API request.
type call struct {
	method string
	uuid   string
	data   map[string]any
	base   string // base URL for checkout links
}

// handleAPI serves POST /api/1: Trustly's JSON-RPC endpoint.
func (s *Server) handleAPI(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes+1))
	if err != nil {
		s.refuse(w, s.log, "", "", nil, errf(trustly.CodeInvalidParameters, "cannot read the request body: %v", err))
		return
	}
	if len(body) > maxRequestBytes {
		s.refuse(w, s.log, "", "", nil, errf(trustly.CodeInvalidParameters, "request body is larger than %d bytes", maxRequestBytes))
		return
	}
	m, err := trustly.ParseMessage(body)
	if err != nil {
		// A JSON-level failure: no method or uuid can be trusted, so they
		// are null, as in Trustly's answers.
		s.refuse(w, s.log, "", "", nil, errf(trustly.CodeInvalidParameters, "not a JSON-RPC request: %v", err))
		return
	}
	if m.Kind != trustly.KindRequest || m.Method() == "" || m.UUID() == "" {
		s.refuse(w, s.log, "", "", nil, errf(trustly.CodeInvalidParameters,
			"not a JSON-RPC request (want method, params.Signature, params.UUID, params.Data), got a %s", m.Kind))
		return
	}
	c := &call{method: m.Method(), uuid: m.UUID(), base: s.baseFor(r)}
	log := s.log.With(slog.String("method", c.method), slog.String("uuid", c.uuid))
	result, aerr := s.serveCall(r.Context(), c, m)
	if aerr != nil {
		s.refuse(w, log, c.method, c.uuid, c.data, aerr)
		return
	}
	log.Info("sim: api call", slog.String("messageid", idText(c.data, "MessageID")), slog.String("orderid", idText(c.data, "OrderID")))
	s.writeResult(w, c.method, c.uuid, result)
}

// serveCall applies Trustly's checks in the order Trustly can make them:
// the envelope, the credentials, the merchant's key and signature, the
// UUID, then the method's own data.
func (s *Server) serveCall(ctx context.Context, c *call, m *trustly.Message) (any, *apiError) {
	if v, ok := m.Tree["version"].(string); !ok || v != "1.1" {
		return nil, errf(trustly.CodeInvalidParameters, `version must be the string "1.1"`)
	}
	data, ok := m.Data().(map[string]any)
	if !ok {
		return nil, errf(trustly.CodeInvalidParameters, "params.Data must be an object")
	}
	c.data = data
	user, uok := data["Username"].(string)
	pass, pok := data["Password"].(string)
	if !uok || !pok || !equal(user, s.cfg.Username) || !equal(pass, s.cfg.Password) {
		return nil, errf(trustly.CodeInvalidCredentials, "Data.Username/Password missing or not the simulator's (Config.Username/Password)")
	}
	if s.cfg.MerchantPublicKey == nil {
		return nil, errf(trustly.CodeNoPublicKey, "no merchant public key is configured in the simulator")
	}
	if err := trustly.Verify(s.cfg.MerchantPublicKey, c.method, c.uuid, data, m.Signature()); err != nil {
		return nil, errf(trustly.CodeUnableToVerifyRSASignature, "params.Signature does not verify with the merchant public key over method+UUID+serialize(Data): %v", err)
	}
	s.mu.Lock()
	seen := s.uuids[c.uuid]
	s.uuids[c.uuid] = true
	s.mu.Unlock()
	if seen {
		return nil, errf(trustly.CodeDuplicateUUID, "UUID %s was already used; every call needs a new one", c.uuid)
	}
	// The method's rules (rules.go), Trustly's as its API reference
	// states them, before any business rule.
	if rl, why := checkRules(c.method, data, s.cfg.Relaxed); rl != nil {
		return nil, errf(rl.code, "rule %s: %s (%s)", rl.id, why, rl.ref)
	}
	r := newRaw(data)
	switch c.method {
	case "Deposit":
		return s.deposit(c, r)
	case "SelectAccount":
		return s.selectAccount(c, r)
	case "Refund":
		return s.refund(c, r)
	case "Charge":
		return s.charge(c, r)
	case "CancelCharge":
		return s.cancelCharge(ctx, c, r)
	case "Balance":
		return s.balance()
	case "GetWithdrawals":
		return s.getWithdrawals(r)
	}
	return nil, errf(trustly.CodeFunctionAccessDenied, "method %q is not offered by the simulator", c.method)
}

// refuse logs an error with its detail and answers it with Trustly's bare
// message. data is nil before the request's Data could be read.
func (s *Server) refuse(w http.ResponseWriter, log *slog.Logger, method, uuid string, data map[string]any, e *apiError) {
	log.Warn("sim: api error", slog.Int("code", int(e.code)), slog.String("error", e.code.Name()),
		slog.String("messageid", idText(data, "MessageID")), slog.String("orderid", idText(data, "OrderID")),
		slog.String("detail", e.detail))
	s.writeError(w, method, uuid, e)
}

// idText is an id from Data for the log: a string or a JSON number.
func idText(m map[string]any, k string) string {
	if n, ok := m[k].(json.Number); ok {
		return n.String()
	}
	return str(m, k)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

// baseFor is the base URL for links in answers to r.
func (s *Server) baseFor(r *http.Request) string {
	if u := s.URL(); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// writeResult answers with a signed result envelope.
func (s *Server) writeResult(w http.ResponseWriter, method, uuid string, data any) {
	sig, err := trustly.Sign(s.cfg.Key, method, uuid, data)
	if err != nil {
		s.log.Error("sim: sign result", "method", method, "error", err.Error())
		http.Error(w, "sim: cannot sign the answer", http.StatusInternalServerError)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": "1.1",
		"result": map[string]any{
			"signature": sig,
			"uuid":      uuid,
			"method":    method,
			"data":      data,
		},
	})
}

// writeError answers with Trustly's error envelope, its inner error.error
// block signed like a result. method and uuid are "" for JSON-level
// failures and are then written as null; the signature covers them as "".
// Trustly answers errors with HTTP 200 too.
func (s *Server) writeError(w http.ResponseWriter, method, uuid string, e *apiError) {
	data := map[string]any{"code": int(e.code), "message": e.message()}
	sig, err := trustly.Sign(s.cfg.Key, method, uuid, data)
	if err != nil {
		s.log.Error("sim: sign error", "method", method, "error", err.Error())
		http.Error(w, "sim: cannot sign the answer", http.StatusInternalServerError)
		return
	}
	var m, u any
	if method != "" {
		m = method
	}
	if uuid != "" {
		u = uuid
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"version": "1.1",
		"error": map[string]any{
			"name":    "JSONRPCError",
			"code":    int(e.code),
			"message": e.message(),
			"error": map[string]any{
				"signature": sig,
				"uuid":      u,
				"method":    m,
				"data":      data,
			},
		},
	})
}

// marshal writes JSON without HTML escaping, so URLs keep their '&' as
// Trustly writes them.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("sim: marshal: %w", err)
	}
	return bytes.TrimRight(buf.Bytes(), "\n"), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// raw reads a request's Data into typed fields, keeping the first problem
// that a typed request cannot express (a number where a string belongs, a
// malformed amount or flag).
type raw struct {
	data  map[string]any
	attrs map[string]any
	err   *apiError
	used  map[string]bool
}

func newRaw(data map[string]any) *raw {
	r := &raw{data: data, used: map[string]bool{}}
	switch t := data["Attributes"].(type) {
	case nil:
	case map[string]any:
		r.attrs = t
	default:
		r.fail(errf(trustly.CodeInvalidParameters, "Attributes must be an object or null"))
	}
	return r
}

func (r *raw) fail(e *apiError) {
	if r.err == nil {
		r.err = e
	}
}

func (r *raw) text(m map[string]any, key, where string) string {
	switch v := m[key].(type) {
	case nil:
		return ""
	case string:
		return v
	default:
		r.fail(errf(trustly.CodeInvalidParameters, "%s%s must be a string", where, key))
		return ""
	}
}

// str reads a top-level Data field.
func (r *raw) str(key string) string { return r.text(r.data, key, "") }

// orderID reads an OrderID, which Trustly's official clients send as a
// string or, read back from an earlier answer, as a JSON number; Trustly
// takes both (its order ids are digits).
func (r *raw) orderID(key string) string {
	switch v := r.data[key].(type) {
	case json.Number:
		if _, err := strconv.ParseUint(v.String(), 10, 64); err != nil {
			r.fail(errf(trustly.CodeInvalidParameters, "%s must be an order id, not %s", key, v))
			return ""
		}
		return v.String()
	default:
		return r.str(key)
	}
}

// id reads an EndUserID, which Trustly's own Charge example sends as a
// JSON number: its digits as received.
func (r *raw) id(key string) string {
	if n, ok := r.data[key].(json.Number); ok {
		return n.String()
	}
	return r.str(key)
}

// attr reads an attribute and marks it known.
func (r *raw) attr(key string) string {
	r.used[key] = true
	return r.text(r.attrs, key, "Attributes.")
}

// amount reads an amount in Trustly's strict request form; "" is 0.
func (r *raw) amount(s string) int64 {
	if s == "" {
		return 0
	}
	v, err := trustly.ParseRequestAmount(s)
	if err != nil {
		r.fail(errf(trustly.CodeInvalidAmount, "%v", err))
	}
	return v
}

// flag reads a "1"/"0" attribute. Trustly's clients let merchants pass
// the integer 1 too, and Trustly takes it.
func (r *raw) flag(key string) bool {
	if n, ok := r.attrs[key].(json.Number); ok {
		r.used[key] = true
		switch n.String() {
		case "1":
			return true
		case "0":
			return false
		}
		r.fail(errf(trustly.CodeInvalidParameters, "Attributes.%s is %s, want \"1\" or \"0\"", key, n))
		return false
	}
	switch v := r.attr(key); v {
	case "", "0":
		return false
	case "1":
		return true
	default:
		r.fail(errf(trustly.CodeInvalidParameters, "Attributes.%s is %q, want \"1\" or \"0\"", key, v))
		return false
	}
}

// recipient reads the Deposit's RecipientInformation object (its rules
// have checked the members are strings or null).
func (r *raw) recipient() *trustly.RecipientInformation {
	r.used["RecipientInformation"] = true
	m, ok := r.attrs["RecipientInformation"].(map[string]any)
	if !ok {
		return nil
	}
	s := func(k string) string { v, _ := m[k].(string); return v }
	return &trustly.RecipientInformation{PartyType: s("Partytype"), FirstName: s("Firstname"), LastName: s("Lastname"),
		CountryCode: s("CountryCode"), CustomerID: s("CustomerID"), Address: s("Address"), DateOfBirth: s("DateOfBirth")}
}

// extra returns the attributes not read as typed fields.
func (r *raw) extra() map[string]string {
	var out map[string]string
	for k := range r.attrs {
		if r.used[k] {
			continue
		}
		if out == nil {
			out = map[string]string{}
		}
		out[k] = r.text(r.attrs, k, "Attributes.")
	}
	return out
}

// attributes copies the received attributes for the order record.
func (r *raw) attributes() map[string]string {
	out := map[string]string{}
	for k, v := range r.attrs {
		switch v := v.(type) {
		case string:
			out[k] = v
		case map[string]any: // RecipientInformation: its fields as "RecipientInformation.Firstname"
			for kk, vv := range v {
				if s, ok := vv.(string); ok {
					out[k+"."+kk] = s
				}
			}
		}
	}
	return out
}
