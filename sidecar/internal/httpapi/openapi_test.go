package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gorilla/mux"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/metrics"
	"github.com/trustly-sidecar/trustly-sidecar/sidecar/internal/shopapi"
)

// openAPIDocument is the part of openapi.json the checks read.
type openAPIDocument struct {
	OpenAPI string                                `json:"openapi"`
	Paths   map[string]map[string]json.RawMessage `json:"paths"`
}

// documentedOperations lists "METHOD /path" of every documented operation.
func documentedOperations(t *testing.T) []string {
	t.Helper()
	var doc openAPIDocument
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi.json is OpenAPI %q, want 3.x", doc.OpenAPI)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "patch", "head", "options":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(ops)
	return ops
}

var muxPattern = regexp.MustCompile(`:[^}]*}`)

// routedV1Operations lists "METHOD /path" of every /v1 route on the private
// router, as registered.
func routedV1Operations(t *testing.T) []string {
	t.Helper()
	r := newRouter()
	addPrivateRoutes(r, testLogger(io.Discard), metrics.New(), "", nil, nil)
	var ops []string
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		path, err := route.GetPathTemplate()
		if err != nil || !strings.HasPrefix(path, "/v1/") {
			return nil
		}
		path = muxPattern.ReplaceAllString(path, "}") // {rest:.*} is {rest} in OpenAPI
		methods, err := route.GetMethods()
		if err != nil {
			t.Errorf("route %s has no methods", path)
		}
		for _, m := range methods {
			ops = append(ops, m+" "+path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(ops)
	return ops
}

func TestOpenAPIMatchesTheRoutes(t *testing.T) {
	documented, routed := documentedOperations(t), routedV1Operations(t)
	if len(routed) == 0 {
		t.Fatal("no /v1 routes found")
	}
	for _, op := range documented {
		if !strings.Contains(op, " /v1/") {
			t.Errorf("openapi.json documents %s, outside /v1", op)
		} else if !slices.Contains(routed, op) {
			t.Errorf("openapi.json documents %s, but no such route exists", op)
		}
	}
	for _, op := range routed {
		if !slices.Contains(documented, op) {
			t.Errorf("route %s is not in openapi.json", op)
		}
	}
}

// TestOpenAPIReferencesResolve checks every $ref and that each operation
// has an id and an answer for its errors.
func TestOpenAPIReferencesResolve(t *testing.T) {
	var tree any
	if err := json.Unmarshal(openAPIDoc, &tree); err != nil {
		t.Fatal(err)
	}
	var walk func(v any, at string)
	walk = func(v any, at string) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if resolve(tree, ref) == nil {
					t.Errorf("%s: $ref %q does not resolve", at, ref)
				}
			}
			for k, e := range v {
				walk(e, at+"/"+k)
			}
		case []any:
			for _, e := range v {
				walk(e, at+"/[]")
			}
		}
	}
	walk(tree, "#")

	paths := tree.(map[string]any)["paths"].(map[string]any)
	ids := map[string]bool{}
	for path, item := range paths {
		for method, op := range item.(map[string]any) {
			o := op.(map[string]any)
			id, _ := o["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", method, path, id)
			}
			ids[id] = true
			responses, _ := o["responses"].(map[string]any)
			want := []string{"400", "401", "503"}
			if path == "/v1/paylinks" {
				want = append(want, "501") // not built yet
			}
			for _, status := range want {
				if responses[status] == nil {
					t.Errorf("%s %s: no %s answer documented", method, path, status)
				}
			}
		}
	}
}

func resolve(tree any, ref string) any {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	v := tree
	for part := range strings.SplitSeq(rest, "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

func TestOpenAPIIsServed(t *testing.T) {
	srv, _ := startPrivate(t, testToken)
	a := do(t, http.MethodGet, srv.URL+"/openapi.json", "", "Authorization", "Bearer "+testToken)
	if a.Status != http.StatusOK || a.Body != string(openAPIDoc) || a.Header.Get("Content-Type") != "application/json" {
		t.Errorf("GET /openapi.json: %d %s", a.Status, a.Header.Get("Content-Type"))
	}
}

// TestOpenAPISchemasMatchTheTypes checks that each schema of the shop API
// has exactly the JSON fields of the Go type that reads or writes it.
func TestOpenAPISchemasMatchTheTypes(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	types := map[string]reflect.Type{
		"Shopper":              reflect.TypeFor[shopapi.Shopper](),
		"CreatePaymentRequest": reflect.TypeFor[shopapi.CreatePaymentRequest](),
		"CreateRefundRequest":  reflect.TypeFor[shopapi.CreateRefundRequest](),
		"CreateMandateRequest": reflect.TypeFor[shopapi.CreateMandateRequest](),
		"CreateChargeRequest":  reflect.TypeFor[shopapi.CreateChargeRequest](),
		"CreatePayLinkRequest": reflect.TypeFor[shopapi.CreatePayLinkRequest](),
		"PayLink":              reflect.TypeFor[shopapi.PayLink](),
		"Delivery":             reflect.TypeFor[shopapi.Delivery](),
		"Order":                reflect.TypeFor[shopapi.Order](),
		"OrderList":            reflect.TypeFor[shopapi.OrderList](),
		"Balance":              reflect.TypeFor[shopapi.Balance](),
		"BalanceList":          reflect.TypeFor[shopapi.BalanceList](),
		"UnroutedNotification": reflect.TypeFor[shopapi.UnroutedNotification](),
		"UnroutedList":         reflect.TypeFor[shopapi.UnroutedList](),
		"RecipientInformation": reflect.TypeFor[shopapi.RecipientInformation](),
		"KYC":                  reflect.TypeFor[shopapi.KYC](),
	}
	for name, typ := range types {
		s, ok := doc.Components.Schemas[name]
		if !ok {
			t.Errorf("openapi.json has no schema %s (Go type %s)", name, typ)
			continue
		}
		var fields, props []string
		for f := range typ.Fields() {
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			fields = append(fields, tag)
		}
		for p := range s.Properties {
			props = append(props, p)
		}
		slices.Sort(fields)
		slices.Sort(props)
		if !slices.Equal(fields, props) {
			t.Errorf("schema %s has properties %v, Go type %s has fields %v", name, props, typ, fields)
		}
	}
}
