// Package saleorfake is a stand-in for a Saleor instance, for tests: Saleor
// itself needs Python packages no registry here serves. It follows Saleor's
// documented wire formats, cited beside each: it serves a JWKS and rotates
// it, signs webhook bodies with a detached JWS, installs an app by posting
// its token, records the answers of synchronous webhooks the way Saleor
// books them, and takes transactionEventReport calls, checking them against
// the mutation's documented arguments. It can be unavailable, refuse, hang
// or be slow.
package saleorfake

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/adaptertest"
)

// Saleor is the stand-in. URL is its origin; APIURL its GraphQL endpoint.
type Saleor struct {
	URL    string
	APIURL string
	srv    *httptest.Server

	mu        sync.Mutex
	keys      []*rsa.PrivateKey // keys[0] signs; all are published
	mode      adaptertest.Mode
	slow      time.Duration
	token     string // the app token issued at installation
	appID     string
	txs       map[string]*Transaction
	calls     []Call // every transactionEventReport, in order
	jwksFetch int
}

// Call is one transactionEventReport as Saleor received it.
type Call struct {
	Variables map[string]any
	Answer    string // "created", "alreadyProcessed" or an error code
}

// Event is a transaction event as Saleor keeps it.
type Event struct {
	ID, Type, PSPReference, IdempotencyKey, Message string
	Amount                                          string
	CreatedAt                                       time.Time
}

// Transaction is a Saleor TransactionItem.
type Transaction struct {
	ID           string
	PSPReference string
	Currency     string
	Events       []Event
}

// New starts the stand-in with one signing key: key when given (so
// fixtures signed once verify against every stand-in of a test), else a new
// one.
func New(t testing.TB, key ...*rsa.PrivateKey) *Saleor {
	t.Helper()
	s := &Saleor{txs: map[string]*Transaction{}, appID: "QXBwOjE="}
	s.keys = []*rsa.PrivateKey{NewKey(t)}
	if len(key) > 0 {
		s.keys = key[:1]
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/jwks.json", s.serveJWKS)
	mux.HandleFunc("POST /graphql/", s.serveGraphQL)
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	s.APIURL = s.srv.URL + "/graphql/"
	return s
}

// NewKey is a fresh RSA signing key, as Saleor's RSA_PRIVATE_KEY.
func NewKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// keyID is Saleor's kid: the RFC 7638 thumbprint of the public key
// (saleor/core/jwt_manager.py get_key_id), base64url.
func keyID(k *rsa.PrivateKey) string {
	tp, err := (&jose.JSONWebKey{Key: &k.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// serveJWKS is /.well-known/jwks.json: {"keys":[{kty,n,e,use:"sig",kid,
// alg:"RS256"}]} (jwt_manager.get_jwks).
func (s *Saleor) serveJWKS(w http.ResponseWriter, r *http.Request) {
	if s.misbehave(w, r) {
		return
	}
	s.mu.Lock()
	s.jwksFetch++
	var set jose.JSONWebKeySet
	for _, k := range s.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.PublicKey, KeyID: keyID(k), Use: "sig", Algorithm: "RS256"})
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(set)
}

// JWKSFetches counts the key set's fetches.
func (s *Saleor) JWKSFetches() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.jwksFetch
}

// Rotate makes a new key the signing key. With keepOld the old one stays
// published (a rollover); without, it is withdrawn.
func (s *Saleor) Rotate(t testing.TB, keepOld bool) {
	k := NewKey(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if keepOld {
		s.keys = append([]*rsa.PrivateKey{k}, s.keys...)
	} else {
		s.keys = []*rsa.PrivateKey{k}
	}
}

// SignWith signs body as a Saleor instance holding key would.
func SignWith(key *rsa.PrivateKey, body []byte) string { return signWith(key, keyID(key), body) }

// Sign is the Saleor-Signature of body: a JWS with RS256, the payload
// detached and not base64-encoded, protected header {"alg","b64":false,
// "crit":["b64"],"kid","typ":"JWT"} (saleor/core/jwt_manager.py jws_encode
// and its test test_jwt_manager.py), serialized "<header>..<signature>".
func (s *Saleor) Sign(body []byte) string {
	s.mu.Lock()
	k := s.keys[0]
	s.mu.Unlock()
	return signWith(k, keyID(k), body)
}

// SignForeign signs body with a key Saleor does not publish, under kid.
func SignForeign(t testing.TB, kid string, body []byte) string {
	return signWith(NewKey(t), kid, body)
}

func signWith(k *rsa.PrivateKey, kid string, body []byte) string {
	opts := (&jose.SignerOptions{}).WithBase64(false).WithCritical("b64").WithType("JWT")
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k, KeyID: kid}}, opts)
	if err != nil {
		panic(err)
	}
	obj, err := signer.Sign(body)
	if err != nil {
		panic(err)
	}
	out, err := obj.DetachedCompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

// Headers are what Saleor sends with a webhook (saleor/app/headers.py
// AppHeaders; saleor/webhook/transport/utils.py send_webhook_using_http:
// the event name lower-case).
func (s *Saleor) Headers(event string, body []byte) http.Header {
	return http.Header{
		"Content-Type":          {"application/json"},
		"Saleor-Event":          {strings.ToLower(event)},
		"Saleor-Domain":         {strings.TrimPrefix(s.URL, "http://")},
		"Saleor-Api-Url":        {s.APIURL},
		"Saleor-Schema-Version": {"3.22"},
		"Saleor-Signature":      {s.Sign(body)},
	}
}

// Install posts the app token to the app's tokenTargetUrl as Saleor does at
// installation (saleor/app/installation_utils.py send_app_token): JSON
// {"auth_token"}, headers Saleor-Domain and Saleor-Api-Url. It returns the
// app's status and body.
func (s *Saleor) Install(ctx context.Context, tokenTargetURL string) (int, []byte, error) {
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	s.mu.Lock()
	s.token = base64.RawURLEncoding.EncodeToString(tok)
	token := s.token
	s.mu.Unlock()
	body, _ := json.Marshal(map[string]string{"auth_token": token})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenTargetURL, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header = http.Header{"Content-Type": {"application/json"}, "Saleor-Domain": {strings.TrimPrefix(s.URL, "http://")},
		"Saleor-Api-Url": {s.APIURL}, "Saleor-Schema-Version": {"3.22"}}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, nil
}

// Token is the app token issued at installation.
func (s *Saleor) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// SetToken issues a token by hand (a local app's token made in the
// dashboard).
func (s *Saleor) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// SetMode sets how the GraphQL API and the JWKS behave.
func (s *Saleor) SetMode(m adaptertest.Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// SetSlow delays every answer by d.
func (s *Saleor) SetSlow(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.slow = d
}

// misbehave applies the mode; true means the request is answered.
func (s *Saleor) misbehave(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	mode, slow := s.mode, s.slow
	s.mu.Unlock()
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20)) // see adaptertest: read before hanging
	if slow > 0 {
		select {
		case <-time.After(slow):
		case <-r.Context().Done():
			return true
		}
	}
	switch mode {
	case adaptertest.Unavailable:
		http.Error(w, `{"error":"unavailable"}`, http.StatusServiceUnavailable)
		return true
	case adaptertest.Hanging:
		<-r.Context().Done()
		return true
	}
	return false
}

// NewTransaction is a TransactionItem of a checkout, as transactionInitialize
// creates it, with its request event carrying the idempotency key
// (saleor/payment/utils.py handle_transaction_initialize_session).
func (s *Saleor) NewTransaction(id, currency, amount, idempotencyKey string, at time.Time) *Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := &Transaction{ID: id, Currency: currency}
	tx.Events = append(tx.Events, Event{ID: s.eventID(), Type: "CHARGE_REQUEST", Amount: amount, IdempotencyKey: idempotencyKey, CreatedAt: at})
	s.txs[id] = tx
	return tx
}

// RequestRefund is transactionRequestAction(REFUND): a REFUND_REQUEST event
// with a fresh idempotency key, before the webhook goes out.
func (s *Saleor) RequestRefund(id, amount string, at time.Time) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx := s.txs[id]
	key := fmt.Sprintf("refund-%d", len(tx.Events)+1)
	tx.Events = append(tx.Events, Event{ID: s.eventID(), Type: "REFUND_REQUEST", Amount: amount, IdempotencyKey: key, CreatedAt: at})
	return key
}

func (s *Saleor) eventID() string {
	n := 0
	for _, tx := range s.txs {
		n += len(tx.Events)
	}
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "TransactionEvent:%d", n+1))
}

// Transaction is a copy of the transaction id.
func (s *Saleor) Transaction(id string) Transaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	if tx, ok := s.txs[id]; ok {
		c := *tx
		c.Events = append([]Event(nil), tx.Events...)
		return c
	}
	return Transaction{}
}

// TransactionJSON is the transaction as the manifest's queries select it
// (transaction { id pspReference events { id type idempotencyKey
// pspReference createdAt } }).
func (s *Saleor) TransactionJSON(id string) map[string]any {
	tx := s.Transaction(id)
	events := []map[string]any{}
	for _, e := range tx.Events {
		events = append(events, map[string]any{"id": e.ID, "type": e.Type, "idempotencyKey": nilIfEmpty(e.IdempotencyKey),
			"pspReference": e.PSPReference, "createdAt": e.CreatedAt.UTC().Format(time.RFC3339Nano)})
	}
	return map[string]any{"id": tx.ID, "pspReference": tx.PSPReference, "events": events}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Book records a synchronous webhook's answer on the transaction, as
// Saleor does after parsing it (saleor/payment/utils.py
// create_transaction_event_from_request_and_webhook_response): the result
// becomes an event, a pspReference the transaction's, and an answer
// without a result (an action webhook's asynchronous answer) gives the
// request event its pspReference.
func (s *Saleor) Book(id string, answer []byte, at time.Time) error {
	var a struct {
		PSPReference string      `json:"pspReference"`
		Result       string      `json:"result"`
		Amount       json.Number `json:"amount"`
		Message      string      `json:"message"`
	}
	if err := json.Unmarshal(answer, &a); err != nil {
		return fmt.Errorf("answer is not JSON: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, ok := s.txs[id]
	if !ok {
		return fmt.Errorf("no transaction %s", id)
	}
	if a.Result == "" {
		if a.PSPReference == "" {
			return fmt.Errorf("asynchronous answer without pspReference")
		}
		for i := len(tx.Events) - 1; i >= 0; i-- {
			if strings.HasSuffix(tx.Events[i].Type, "_REQUEST") && tx.Events[i].PSPReference == "" {
				tx.Events[i].PSPReference = a.PSPReference
				return nil
			}
		}
		return fmt.Errorf("asynchronous answer but no request event waiting")
	}
	if !eventTypes[a.Result] {
		return fmt.Errorf("result %q is not a TransactionEventTypeEnum value", a.Result)
	}
	if a.PSPReference != "" && tx.PSPReference == "" {
		tx.PSPReference = a.PSPReference
	}
	tx.Events = append(tx.Events, Event{ID: s.eventID(), Type: a.Result, PSPReference: a.PSPReference, Amount: string(a.Amount), Message: a.Message, CreatedAt: at})
	return nil
}

// eventTypes is TransactionEventTypeEnum (saleor/graphql/schema.graphql).
var eventTypes = map[string]bool{
	"AUTHORIZATION_SUCCESS": true, "AUTHORIZATION_FAILURE": true, "AUTHORIZATION_ADJUSTMENT": true,
	"AUTHORIZATION_REQUEST": true, "AUTHORIZATION_ACTION_REQUIRED": true, "CHARGE_ACTION_REQUIRED": true,
	"CHARGE_SUCCESS": true, "CHARGE_FAILURE": true, "CHARGE_BACK": true, "CHARGE_REQUEST": true,
	"REFUND_SUCCESS": true, "REFUND_FAILURE": true, "REFUND_REVERSE": true, "REFUND_REQUEST": true,
	"CANCEL_SUCCESS": true, "CANCEL_FAILURE": true, "CANCEL_REQUEST": true, "INFO": true,
}

// amountRequired are the types transactionEventReport needs an amount for
// (schema.graphql: "Required for all REQUEST, SUCCESS, ACTION_REQUIRED, and
// ADJUSTMENT events").
func amountRequired(t string) bool {
	for _, suffix := range []string{"_REQUEST", "_SUCCESS", "_ACTION_REQUIRED", "_ADJUSTMENT"} {
		if strings.HasSuffix(t, suffix) {
			return true
		}
	}
	return false
}

// reportArgs are transactionEventReport's arguments (schema.graphql).
var reportArgs = map[string]bool{"id": true, "token": true, "pspReference": true, "type": true, "amount": true, "time": true,
	"message": true, "externalUrl": true, "availableActions": true, "transactionMetadata": true,
	"transactionPrivateMetadata": true, "paymentMethodDetails": true}

var (
	argRE      = regexp.MustCompile(`transactionEventReport\(([^)]*)\)`)
	argPairRE  = regexp.MustCompile(`(\w+)\s*:\s*\$(\w+)`)
	decimalRE  = regexp.MustCompile(`^[0-9]+(\.[0-9]{1,2})?$`)
	appQueryRE = regexp.MustCompile(`\{\s*app\s*\{\s*id\s*\}\s*\}`)
)

// Reports is every transactionEventReport call so far.
func (s *Saleor) Reports() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// PendingRefunds is the pspReferences whose refund Saleor still counts as
// pending (its refund_pending_value), as saleor/payment/
// transaction_item_calculations.py computes it: events are grouped by
// pspReference, a request without one is not in the calculations (a
// request event gets its pspReference from the webhook's answer), and a
// REFUND_REQUEST is pending until a REFUND_SUCCESS or REFUND_FAILURE with
// its pspReference exists. A request whose outcome was reported under
// another pspReference stays pending here, as it does in Saleor.
func (s *Saleor) PendingRefunds(id string) []string {
	tx := s.Transaction(id)
	requested := map[string]bool{}
	settled := map[string]bool{}
	for _, e := range tx.Events {
		switch {
		case e.PSPReference == "":
		case e.Type == "REFUND_REQUEST":
			requested[e.PSPReference] = true
		case e.Type == "REFUND_SUCCESS" || e.Type == "REFUND_FAILURE":
			settled[e.PSPReference] = true
		}
	}
	var out []string
	for psp := range requested {
		if !settled[psp] {
			out = append(out, psp)
		}
	}
	sort.Strings(out)
	return out
}

// Snapshot is the transaction's events in a stable form (adaptertest).
func (s *Saleor) Snapshot(id string) string {
	tx := s.Transaction(id)
	var lines []string
	for _, e := range tx.Events {
		lines = append(lines, e.Type+" "+e.PSPReference+" "+e.Amount+" "+e.Message)
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func (s *Saleor) record(vars map[string]any, result string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Variables: vars, Answer: result})
}

type gqlError struct {
	Message    string         `json:"message"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// serveGraphQL is the API: query { app { id } } and the
// transactionEventReport mutation, with the app token as a bearer token.
func (s *Saleor) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if s.misbehave(w, r) {
		return
	}
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	gqlFail := func(msg string) {
		reply(http.StatusOK, map[string]any{"data": nil, "errors": []gqlError{{Message: msg, Extensions: map[string]any{"exception": map[string]any{"code": "GraphQLError"}}}}})
	}

	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil || req.Query == "" {
		reply(http.StatusBadRequest, map[string]any{"errors": []gqlError{{Message: "Must provide a query string."}}})
		return
	}
	s.mu.Lock()
	token, appID, mode := s.token, s.appID, s.mode
	s.mu.Unlock()
	auth := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	if token == "" || auth != token {
		// An unknown app token makes the request anonymous, which then
		// lacks HANDLE_PAYMENTS: a GraphQL error with the exception's code
		// (saleor/graphql/core/mutations.py, PermissionDenied).
		s.record(req.Variables, "PermissionDenied")
		reply(http.StatusOK, map[string]any{"data": nil, "errors": []gqlError{{
			Message:    "You need one of the following permissions: HANDLE_PAYMENTS",
			Extensions: map[string]any{"exception": map[string]any{"code": "PermissionDenied"}},
		}}})
		return
	}
	switch {
	case appQueryRE.MatchString(req.Query):
		reply(http.StatusOK, map[string]any{"data": map[string]any{"app": map[string]string{"id": appID}}})
	case strings.Contains(req.Query, "transactionEventReport("):
		if mode == adaptertest.Rejecting {
			s.record(req.Variables, "INVALID")
			reply(http.StatusOK, reportAnswer(false, "INVALID", "type", "The shop refuses this event."))
			return
		}
		vars, problem := s.reportVariables(req.Query, req.Variables)
		if problem != "" {
			s.record(req.Variables, "GRAPHQL_ERROR")
			gqlFail(problem)
			return
		}
		reply(http.StatusOK, s.report(vars))
	default:
		gqlFail("the stand-in knows only app { id } and transactionEventReport")
	}
}

// reportVariables maps the mutation's arguments to their variables' values
// and checks them against the documented argument types.
func (s *Saleor) reportVariables(query string, vars map[string]any) (map[string]any, string) {
	m := argRE.FindStringSubmatch(query)
	if m == nil {
		return nil, "transactionEventReport without arguments"
	}
	args := map[string]any{}
	for _, p := range argPairRE.FindAllStringSubmatch(m[1], -1) {
		if !reportArgs[p[1]] {
			return nil, fmt.Sprintf("Unknown argument %q on field \"Mutation.transactionEventReport\".", p[1])
		}
		if v, ok := vars[p[2]]; ok && v != nil {
			args[p[1]] = v
		}
	}
	str := func(k string) string { v, _ := args[k].(string); return v }
	switch t := str("type"); {
	case str("id") == "" && str("token") == "":
		return nil, "One of id or token is required."
	case str("pspReference") == "":
		return nil, "Variable \"$psp\" of required type \"String!\" was not provided."
	case !eventTypes[t]:
		return nil, fmt.Sprintf("Value %q does not exist in \"TransactionEventTypeEnum\" enum.", t)
	}
	if a, ok := args["amount"]; ok {
		n, isNum := a.(json.Number)
		if !isNum || !decimalRE.MatchString(string(n)) || strings.Trim(string(n), "0.") == "" {
			return nil, fmt.Sprintf("Expected a PositiveDecimal for amount, got %v.", a)
		}
	}
	if tm, ok := args["time"]; ok {
		if ts, _ := tm.(string); ts == "" {
			return nil, "time must be a DateTime string"
		} else if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
			return nil, fmt.Sprintf("time %q is not an ISO 8601 DateTime", ts)
		}
	}
	if acts, ok := args["availableActions"]; ok {
		list, isList := acts.([]any)
		if !isList {
			return nil, "availableActions must be a list"
		}
		for _, a := range list {
			if a != "CHARGE" && a != "REFUND" && a != "CANCEL" {
				return nil, fmt.Sprintf("Value %v does not exist in \"TransactionActionEnum\" enum.", a)
			}
		}
	}
	return args, ""
}

func reportAnswer(already bool, code, field, msg string) map[string]any {
	errs := []map[string]string{}
	if code != "" {
		errs = append(errs, map[string]string{"code": code, "field": field, "message": msg})
	}
	return map[string]any{"data": map[string]any{"transactionEventReport": map[string]any{"alreadyProcessed": already, "errors": errs}}}
}

// report books an event the way transactionEventReport does
// (transaction_event_report.py): NOT_FOUND for an unknown transaction,
// REQUIRED without a needed amount, an event with the same pspReference and
// type is alreadyProcessed when the amount agrees and INCORRECT_DETAILS
// when it does not.
func (s *Saleor) report(args map[string]any) map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	str := func(k string) string { v, _ := args[k].(string); return v }
	answer := func(result string, v map[string]any) map[string]any {
		s.calls = append(s.calls, Call{Variables: args, Answer: result})
		return v
	}
	tx, ok := s.txs[str("id")]
	if !ok {
		return answer("NOT_FOUND", reportAnswer(false, "NOT_FOUND", "id", "Couldn't resolve to a node."))
	}
	typ, psp := str("type"), str("pspReference")
	amount := ""
	if n, ok := args["amount"].(json.Number); ok {
		amount = normalize(string(n))
	}
	for _, e := range tx.Events {
		if e.Type == typ && e.PSPReference == psp {
			if amount == "" || normalize(e.Amount) == amount {
				return answer("alreadyProcessed", reportAnswer(true, "", "", ""))
			}
			return answer("INCORRECT_DETAILS", reportAnswer(false, "INCORRECT_DETAILS", "pspReference",
				"The transaction with provided `pspReference` and `type` already exists with different amount."))
		}
	}
	if amount == "" && amountRequired(typ) {
		return answer("REQUIRED", reportAnswer(false, "REQUIRED", "amount", fmt.Sprintf("The `amount` field is required for %s event.", typ)))
	}
	at := time.Now()
	if ts, err := time.Parse(time.RFC3339Nano, str("time")); err == nil {
		at = ts
	}
	tx.Events = append(tx.Events, Event{ID: s.eventID(), Type: typ, PSPReference: psp, Amount: amount, Message: str("message"), CreatedAt: at})
	return answer("created", reportAnswer(false, "", "", ""))
}

// normalize is a decimal with two places, "103.5" → "103.50".
func normalize(d string) string {
	if d == "" {
		return ""
	}
	whole, frac, _ := strings.Cut(d, ".")
	frac = (frac + "00")[:2]
	return whole + "." + frac
}
