package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gorilla/mux"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
)

// handleNotification receives Trustly's notifications. The secret path
// segment is compared in constant time over fixed-size hashes, so neither
// content nor length leaks through timing; a wrong one gets the same 404 as
// any unknown path.
func handleNotification(log *slog.Logger, m *metrics.Set, secret string, maxBytes int64, h NotificationHandler) http.Handler {
	want := sha256.Sum256([]byte(secret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := sha256.Sum256([]byte(mux.Vars(r)["secret"]))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			writeError(w, r, errNotFound)
			return
		}
		body, err := readBody(http.MaxBytesReader(w, r.Body, maxBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				m.NotificationReceived("", metrics.OutcomeTooLarge)
			}
			log.WarnContext(r.Context(), "notification body unreadable", "err", err)
			writeError(w, r, err)
			return
		}
		method := peekMethod(body)
		reply, err := h.HandleNotification(r.Context(), body)
		if err != nil {
			status := writeError(w, r, err)
			outcome := metrics.OutcomeError
			switch {
			case status == http.StatusServiceUnavailable:
				outcome = metrics.OutcomeUnavailable
			case status < 500:
				outcome = metrics.OutcomeRejected
			}
			m.NotificationReceived(method, outcome)
			// A 5xx's cause is logged at ERROR by observe, once; a
			// refusal's here. err never carries a signature in full
			// (core/trustly quotes none).
			attrs := []any{"method", method, "status", status}
			if status < 500 {
				attrs = append(attrs, "err", err)
			}
			log.WarnContext(r.Context(), "notification not applied", attrs...)
			return
		}
		m.NotificationReceived(method, metrics.OutcomeReplied)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(reply)))
		w.WriteHeader(http.StatusOK)
		if _, err := w.Write(reply); err != nil {
			// Trustly sends it again and gets the stored reply.
			log.WarnContext(r.Context(), "notification reply not delivered", "method", method, "err", err)
		}
	})
}

// peekMethod reads the method of an unverified body, for metrics and logs
// only.
func peekMethod(body []byte) string {
	var env struct {
		Method string `json:"method"`
	}
	_ = json.Unmarshal(body, &env)
	return env.Method
}

func handleHealthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
}

// readyTimeout bounds each readiness check, well inside a probe's timeout.
const readyTimeout = 2 * time.Second

type readyBody struct {
	Status string            `json:"status"`
	Checks map[string]string `json:"checks"`
}

// handleReadyz answers 200 when every check passes, else 503 naming the
// failed checks; the errors themselves go to the log only.
func handleReadyz(log *slog.Logger, checks []ReadinessCheck) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
		defer cancel()
		body := readyBody{Status: "ready", Checks: map[string]string{}}
		status := http.StatusOK
		for _, c := range checks {
			err := c.Check(ctx)
			if err != nil && c.Advisory {
				body.Checks[c.Name] = "weak"
				continue
			}
			if err != nil {
				body.Checks[c.Name] = "fail"
				body.Status = "not_ready"
				status = http.StatusServiceUnavailable
				log.WarnContext(r.Context(), "readiness check failed", "check", c.Name, "err", err)
				continue
			}
			body.Checks[c.Name] = "ok"
		}
		encode(w, status, body)
	})
}

//go:embed openapi.json
var openAPIDoc []byte

func handleOpenAPI() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPIDoc)
	})
}

// handleNotImplemented answers an operation this sidecar runs without (no engine in listener tests, no pay links configured).
// With a body it first checks that the body is a JSON object, so bad input
// is a 400 already.
func handleNotImplemented(hasBody bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hasBody {
			if _, err := decode[map[string]json.RawMessage](r); err != nil {
				writeError(w, r, err)
				return
			}
		}
		writeError(w, r, ErrNotImplemented)
	})
}
