package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// The servers pay links are delivered to in tests: a real SMTP server
// (emersion/go-smtp) that offers STARTTLS with a self-signed certificate and
// AUTH PLAIN only over TLS, and HTTP servers speaking Twilio's Messages API
// and the generic JSON gateway. The senders under test are the real ones.

// receivedMail is one message the SMTP server accepted.
type receivedMail struct {
	From, To, Subject, Body string
	TLS                     bool
	User                    string
}

type smtpServer struct {
	addr   string
	caFile string
	mu     sync.Mutex
	mails  []receivedMail
}

const (
	smtpUser     = "shop"
	smtpPassword = "smtp-secret-password"
)

func startSMTPServer(t *testing.T) *smtpServer {
	t.Helper()
	cert, caPEM := selfSigned(t)
	s := &smtpServer{caFile: filepath.Join(t.TempDir(), "smtp-ca.pem")}
	if err := os.WriteFile(s.caFile, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &smtpSession{s: s, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	srv.AllowInsecureAuth = false // AUTH only after STARTTLS
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return s
}

func (s *smtpServer) received() []receivedMail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedMail(nil), s.mails...)
}

type smtpSession struct {
	s        *smtpServer
	conn     *smtp.Conn
	user     string
	from, to string
}

var _ smtp.AuthSession = (*smtpSession)(nil)

func (x *smtpSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (x *smtpSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != smtpUser || pass != smtpPassword {
			return errors.New("invalid credentials")
		}
		x.user = user
		return nil
	}), nil
}

func (x *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if x.user == "" {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error { x.to = to; return nil }

func (x *smtpSession) Data(r io.Reader) error {
	m, err := mail.ReadMessage(r)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(quotedprintable.NewReader(m.Body))
	if err != nil {
		return err
	}
	subject, err := new(mimeDecoder).decode(m.Header.Get("Subject"))
	if err != nil {
		return err
	}
	_, isTLS := x.conn.TLSConnectionState()
	x.s.mu.Lock()
	x.s.mails = append(x.s.mails, receivedMail{From: x.from, To: x.to, Subject: subject, Body: string(body), TLS: isTLS, User: x.user})
	x.s.mu.Unlock()
	return nil
}

func (x *smtpSession) Reset()        {}
func (x *smtpSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and returns it with its PEM.
func selfSigned(t *testing.T) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test smtp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// receivedSMS is one message a gateway accepted.
type receivedSMS struct{ To, From, Text string }

type smsGateway struct {
	url  string
	mu   sync.Mutex
	msgs []receivedSMS
}

func (g *smsGateway) add(m receivedSMS) {
	g.mu.Lock()
	g.msgs = append(g.msgs, m)
	g.mu.Unlock()
}

func (g *smsGateway) received() []receivedSMS {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]receivedSMS(nil), g.msgs...)
}

const (
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "twilio-auth-token-secret"
)

// startTwilio serves Twilio's documented Messages resource: a form POST to
// /2010-04-01/Accounts/{AccountSid}/Messages.json with basic auth, answered
// 201 with the message resource.
func startTwilio(t *testing.T) *smsGateway {
	g := &smsGateway{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok || user != twilioSID || pass != twilioToken || r.PathValue("sid") != twilioSID {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":20003,"message":"Authenticate","status":401}`)
			return
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			http.Error(w, "content type "+ct, http.StatusBadRequest)
			return
		}
		if err := r.ParseForm(); err != nil || r.PostForm.Get("To") == "" || r.PostForm.Get("Body") == "" {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"code":21604,"message":"A 'To' phone number is required.","status":400}`)
			return
		}
		g.add(receivedSMS{To: r.PostForm.Get("To"), From: r.PostForm.Get("From"), Text: r.PostForm.Get("Body")})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"sid": "SM0123", "account_sid": twilioSID, "to": r.PostForm.Get("To"),
			"from": r.PostForm.Get("From"), "body": r.PostForm.Get("Body"), "status": "queued"})
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	g.url = srv.URL
	return g
}

const jsonGatewayToken = "json-gateway-token"

// startJSONGateway serves the generic JSON gateway: POST {to,from,text}
// with a bearer token.
func startJSONGateway(t *testing.T) *smsGateway {
	g := &smsGateway{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer "+jsonGatewayToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct{ To, From, Text string }
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil || m.To == "" || m.Text == "" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		g.add(receivedSMS(m))
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(srv.Close)
	g.url = srv.URL + "/send"
	return g
}

type mimeDecoder struct{}

type mimeWordDecoder = mime.WordDecoder

func (mimeDecoder) decode(s string) (string, error) {
	return new(mimeWordDecoder).DecodeHeader(s)
}
