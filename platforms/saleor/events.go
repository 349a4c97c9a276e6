package saleor

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// A Saleor webhook's body is the "event" object of the subscription query
// the app's manifest gives for it (saleor/graphql/webhook/
// subscription_payload.py: the payload is data["event"]). So the app
// decides the shape: the queries below are those shapes, and the types
// after them read exactly these fields. Every query selects __typename, so
// the event's kind is part of the signed body, and issuedAt, the replay
// window's clock. Field names and types: saleor/graphql/schema.graphql
// (TransactionInitializeSession, TransactionProcessSession,
// TransactionChargeRequested, TransactionRefundRequested,
// TransactionCancelationRequested, PaymentGatewayInitializeSession,
// TransactionProcessAction, TransactionAction, TransactionEvent).

// sourceFields is what a payment needs of the checkout or order.
const sourceFields = `sourceObject {
      __typename
      ... on Checkout {
        id
        email
        user { id email firstName lastName }
        billingAddress { firstName lastName phone country { code } }
        shippingAddress { postalCode city streetAddress1 streetAddress2 country { code } }
      }
      ... on Order {
        id
        number
        userEmail
        user { id email firstName lastName }
        billingAddress { firstName lastName phone country { code } }
        shippingAddress { postalCode city streetAddress1 streetAddress2 country { code } }
      }
    }`

const transactionFields = `transaction {
      id
      pspReference
      events { id type idempotencyKey pspReference createdAt }
    }`

// webhook is one synchronous webhook of the app: Saleor's event name, the
// path below the adapter's public route, and the subscription query.
type webhook struct {
	Event    string // WebhookEventTypeSyncEnum
	TypeName string // the event object's __typename
	Path     string
	Query    string
}

// webhooks are the synchronous webhooks the manifest registers, one path
// each.
var webhooks = []webhook{
	{"PAYMENT_GATEWAY_INITIALIZE_SESSION", "PaymentGatewayInitializeSession", "/webhooks/payment-gateway-initialize-session",
		`subscription { event { __typename issuedAt ... on PaymentGatewayInitializeSession { amount data } } }`},
	{"TRANSACTION_INITIALIZE_SESSION", "TransactionInitializeSession", "/webhooks/transaction-initialize-session",
		`subscription { event { __typename issuedAt ... on TransactionInitializeSession {
    idempotencyKey merchantReference customerIpAddress data
    action { amount currency actionType }
    ` + transactionFields + `
    ` + sourceFields + `
  } } }`},
	{"TRANSACTION_PROCESS_SESSION", "TransactionProcessSession", "/webhooks/transaction-process-session",
		`subscription { event { __typename issuedAt ... on TransactionProcessSession {
    merchantReference customerIpAddress data
    action { amount currency actionType }
    ` + transactionFields + `
    ` + sourceFields + `
  } } }`},
	{"TRANSACTION_CHARGE_REQUESTED", "TransactionChargeRequested", "/webhooks/transaction-charge-requested",
		`subscription { event { __typename issuedAt ... on TransactionChargeRequested {
    action { amount currency actionType }
    ` + transactionFields + `
  } } }`},
	{"TRANSACTION_REFUND_REQUESTED", "TransactionRefundRequested", "/webhooks/transaction-refund-requested",
		`subscription { event { __typename issuedAt ... on TransactionRefundRequested {
    action { amount currency actionType }
    ` + transactionFields + `
  } } }`},
	{"TRANSACTION_CANCELATION_REQUESTED", "TransactionCancelationRequested", "/webhooks/transaction-cancelation-requested",
		`subscription { event { __typename issuedAt ... on TransactionCancelationRequested {
    action { amount currency actionType }
    ` + transactionFields + `
  } } }`},
}

func webhookByPath(path string) (webhook, bool) {
	for _, w := range webhooks {
		if w.Path == path {
			return w, true
		}
	}
	return webhook{}, false
}

func webhookByType(typeName string) (webhook, bool) {
	for _, w := range webhooks {
		if w.TypeName == typeName {
			return w, true
		}
	}
	return webhook{}, false
}

// event is the union of the fields the queries above select.
type event struct {
	TypeName          string          `json:"__typename"`
	IssuedAt          time.Time       `json:"issuedAt"`
	IdempotencyKey    string          `json:"idempotencyKey"`
	MerchantReference string          `json:"merchantReference"`
	Data              json.RawMessage `json:"data"`
	Action            *action         `json:"action"`
	Transaction       *transaction    `json:"transaction"`
	Source            *source         `json:"sourceObject"`
}

type action struct {
	Amount     json.Number `json:"amount"`
	Currency   string      `json:"currency"`
	ActionType string      `json:"actionType"` // CHARGE, AUTHORIZATION (sessions); CHARGE, REFUND, CANCEL (requests)
}

type transaction struct {
	ID           string             `json:"id"`
	PSPReference string             `json:"pspReference"`
	Events       []transactionEvent `json:"events"`
}

type transactionEvent struct {
	ID             string    `json:"id"`
	Type           string    `json:"type"`
	IdempotencyKey string    `json:"idempotencyKey"`
	PSPReference   string    `json:"pspReference"`
	CreatedAt      time.Time `json:"createdAt"`
}

type source struct {
	TypeName  string   `json:"__typename"`
	ID        string   `json:"id"`
	Number    string   `json:"number"`
	Email     string   `json:"email"`     // Checkout
	UserEmail string   `json:"userEmail"` // Order
	User      *user    `json:"user"`
	Billing   *address `json:"billingAddress"`
	Shipping  *address `json:"shippingAddress"`
}

type user struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
}

type address struct {
	FirstName      string `json:"firstName"`
	LastName       string `json:"lastName"`
	Phone          string `json:"phone"`
	PostalCode     string `json:"postalCode"`
	City           string `json:"city"`
	StreetAddress1 string `json:"streetAddress1"`
	StreetAddress2 string `json:"streetAddress2"`
	Country        *struct {
		Code string `json:"code"`
	} `json:"country"`
}

func (a *address) country() string {
	if a == nil || a.Country == nil {
		return ""
	}
	return a.Country.Code
}

// parseEvent reads a verified body. Which fields must be there depends on
// the kind; requireFor checks them.
func parseEvent(body []byte) (event, error) {
	var e event
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&e); err != nil {
		return event{}, fmt.Errorf("payload: %w", err)
	}
	if e.TypeName == "" {
		return event{}, fmt.Errorf("payload: no __typename (is the webhook's subscription query the manifest's?)")
	}
	return e, nil
}

// initializeKey is the idempotency key Saleor gave the transaction's
// initialize call: TRANSACTION_PROCESS_SESSION carries none of its own, but
// the initialize's request event does (TransactionEvent.idempotencyKey).
func (t *transaction) initializeKey() string {
	for _, ev := range t.Events {
		if ev.IdempotencyKey != "" {
			switch ev.Type {
			case "CHARGE_REQUEST", "AUTHORIZATION_REQUEST", "CHARGE_ACTION_REQUIRED", "AUTHORIZATION_ACTION_REQUIRED":
				return ev.IdempotencyKey
			}
		}
	}
	return ""
}

// requestKey is the idempotency key of the request event Saleor creates
// just before it calls TRANSACTION_*_REQUESTED (transactionRequestAction
// creates it with a fresh uuid4 idempotency_key, saleor/graphql/payment/
// mutations/transaction/utils.py; gateway.py request_refund_action passes it
// on as request_event). It is the same on Saleor's retries of one request
// and new for the next request, so it is the command's idempotency key. The
// newest such event that has no pspReference yet is the one being asked
// about (an answered request carries the pspReference of our answer).
func (t *transaction) requestKey(typ string) string {
	var newest transactionEvent
	for _, ev := range t.Events {
		if ev.Type != typ || ev.IdempotencyKey == "" || ev.PSPReference != "" {
			continue
		}
		if newest.IdempotencyKey == "" || !ev.CreatedAt.Before(newest.CreatedAt) {
			newest = ev
		}
	}
	return newest.IdempotencyKey
}
