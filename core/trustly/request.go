package trustly

// Credentials are the merchant's API username and password. Trustly puts them
// inside the signed Data, so they are part of every request's signature.
type Credentials struct {
	Username string
	Password string
}

// Request is one typed API call. The client validates it, builds its Data
// tree, signs and sends it.
type Request interface {
	// Method is Trustly's method name, e.g. "Deposit".
	Method() string
	// messageID is the merchant's id for this order attempt, or "" for
	// methods without one (Refund, CancelCharge, Balance, GetWithdrawals).
	// Only calls with a MessageID are safe to resend after a lost response.
	// It is unexported so request structs can name their field MessageID;
	// Trustly's method set is closed, so every Request lives in this package.
	messageID() string
	// Validate reports, before anything is sent, what Trustly would reject,
	// as a *Error with Local set and the code Trustly would have answered.
	Validate(env Environment) error
	// Data builds the params.Data tree: credentials, the method's fields and
	// Attributes (null when the method has none). Every value is a string or
	// a nested tree of strings, so it serializes the same on both sides.
	Data(creds Credentials) (map[string]any, error)
}
