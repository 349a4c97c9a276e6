package trustly

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// Code is a Trustly error code (error.error.data.code).
type Code int

// The error codes this project meets. The table below is the one place that
// names them; correct it here when Trustly's documentation says otherwise.
const (
	CodeFunctionAccessDenied       Code = 602
	CodeHostAccessDenied           Code = 607
	CodeInvalidAmount              Code = 615
	CodeInvalidCredentials         Code = 616
	CodeUnknown                    Code = 620
	CodeInvalidCurrencyCode        Code = 622
	CodeInvalidParameters          Code = 623
	CodeUnableToVerifyRSASignature Code = 636
	CodeDuplicateMessageID         Code = 637
	CodeEndUserIsBlocked           Code = 638
	CodeNoPublicKey                Code = 639
	CodeInvalidEmail               Code = 642
	CodeInvalidLocale              Code = 645
	CodeDuplicateUUID              Code = 688
	CodeEndUserIDIsNull            Code = 696
	CodeMessageIDIsNull            Code = 697
	CodeInvalidIP                  Code = 698
	CodeMalformedSuccessURL        Code = 700
	CodeMalformedFailURL           Code = 701
	CodeMalformedTemplateURL       Code = 702
	CodeMalformedURLTarget         Code = 703
	CodeMalformedMessageID         Code = 704
	CodeMalformedNotificationURL   Code = 705
	CodeMalformedEndUserID         Code = 706
	CodeDirectDebitNotAllowed      Code = 712
	CodeInvalidOrderAttribute      Code = 717
	CodeDisabledUser               Code = 718
	CodePayAndPlayNotAllowed       Code = 732
	CodeNotSecureNotificationURL   Code = 734
	CodeInvalidCountry             Code = 737
)

type codeInfo struct {
	name string
	// transient marks the codes where trying the same call again later may
	// succeed. Trustly documents only 620 as possibly transient.
	transient bool
}

var codeTable = map[Code]codeInfo{
	CodeFunctionAccessDenied:       {name: "ERROR_FUNCTION_ACCESS_DENIED"},
	CodeHostAccessDenied:           {name: "ERROR_HOST_ACCESS_DENIED"},
	CodeInvalidAmount:              {name: "ERROR_INVALID_AMOUNT"},
	CodeInvalidCredentials:         {name: "ERROR_INVALID_CREDENTIALS"},
	CodeUnknown:                    {name: "ERROR_UNKNOWN", transient: true},
	CodeInvalidCurrencyCode:        {name: "ERROR_INVALID_CURRENCY_CODE"},
	CodeInvalidParameters:          {name: "ERROR_INVALID_PARAMETERS"},
	CodeUnableToVerifyRSASignature: {name: "ERROR_UNABLE_TO_VERIFY_RSA_SIGNATURE"},
	CodeDuplicateMessageID:         {name: "ERROR_DUPLICATE_MESSAGE_ID"},
	CodeEndUserIsBlocked:           {name: "ERROR_ENDUSER_IS_BLOCKED"},
	CodeNoPublicKey:                {name: "ERROR_NO_PUBLIC_KEY"},
	CodeInvalidEmail:               {name: "ERROR_INVALID_EMAIL"},
	CodeInvalidLocale:              {name: "ERROR_INVALID_LOCALE"},
	CodeDuplicateUUID:              {name: "ERROR_DUPLICATE_UUID"},
	CodeEndUserIDIsNull:            {name: "ERROR_ENDUSERID_IS_NULL"},
	CodeMessageIDIsNull:            {name: "ERROR_MESSAGEID_IS_NULL"},
	CodeInvalidIP:                  {name: "ERROR_INVALID_IP"},
	CodeMalformedSuccessURL:        {name: "ERROR_MALFORMED_SUCCESSURL"},
	CodeMalformedFailURL:           {name: "ERROR_MALFORMED_FAILURL"},
	CodeMalformedTemplateURL:       {name: "ERROR_MALFORMED_TEMPLATEURL"},
	CodeMalformedURLTarget:         {name: "ERROR_MALFORMED_URLTARGET"},
	CodeMalformedMessageID:         {name: "ERROR_MALFORMED_MESSAGEID"},
	CodeMalformedNotificationURL:   {name: "ERROR_MALFORMED_NOTIFICATIONURL"},
	CodeMalformedEndUserID:         {name: "ERROR_MALFORMED_ENDUSERID"},
	CodeDirectDebitNotAllowed:      {name: "ERROR_DIRECT_DEBIT_NOT_ALLOWED"},
	CodeInvalidOrderAttribute:      {name: "ERROR_INVALID_ORDER_ATTRIBUTE"},
	CodeDisabledUser:               {name: "ERROR_DISABLED_USER"},
	CodePayAndPlayNotAllowed:       {name: "ERROR_PAY_AND_PLAY_NOT_ALLOWED"},
	CodeNotSecureNotificationURL:   {name: "ERROR_NOT_SECURE_NOTIFICATIONURL"},
	CodeInvalidCountry:             {name: "ERROR_INVALID_COUNTRY"},
}

// Name is Trustly's message for the code, e.g. "ERROR_INVALID_CREDENTIALS",
// or "ERROR_<code>" for codes not in the table.
func (c Code) Name() string {
	if i, ok := codeTable[c]; ok {
		return i.name
	}
	return "ERROR_" + strconv.Itoa(int(c))
}

// Known reports whether the code is in the table.
func (c Code) Known() bool { _, ok := codeTable[c]; return ok }

// Transient reports whether the same call may succeed later.
func (c Code) Transient() bool { return codeTable[c].transient }

func (c Code) String() string { return strconv.Itoa(int(c)) + " " + c.Name() }

// Codes lists every code in the table, for documentation and the simulator.
func Codes() []Code {
	out := make([]Code, 0, len(codeTable))
	for c := range codeTable {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// Error is an error answered by Trustly (or one this package knows Trustly
// would answer, found before sending). Callers branch with errors.As and
// Code; messages are for logs, never for shoppers.
type Error struct {
	Code Code
	// Name is the JSON-RPC error name, usually "JSONRPCError".
	Name    string
	Message string
	Method  string
	// UUID is the request's UUID; MessageID is the request's MessageID when
	// the method has one. Both go into logs so the call can be found at Trustly.
	UUID      string
	MessageID string
	// Local is true when the error was found by validation before sending.
	Local bool
	// Field names the attribute at fault, for local validation errors.
	Field string
}

func (e *Error) Error() string {
	msg := e.Message
	if msg == "" {
		msg = e.Code.Name()
	}
	where := "trustly"
	if e.Local {
		where = "trustly (not sent)"
	}
	s := fmt.Sprintf("%s: %s: %d %s", where, e.Method, int(e.Code), msg)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.MessageID != "" {
		s += " messageid=" + e.MessageID
	}
	if e.UUID != "" {
		s += " uuid=" + e.UUID
	}
	return s
}

// ErrorCode returns the Trustly code of err, or 0 when err is not a *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}
