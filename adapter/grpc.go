package adapter

import (
	"context"
	"net/http"
	"time"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/trustly-sidecar/trustly-sidecar/adapter/internal/pb"
)

// The two hand-written shims between the Go interface (the API) and the
// generated gRPC code (only the wire format): grpcClient lives in the host and
// satisfies Adapter; grpcServer lives in the plugin and wraps the author's
// implementation.

var (
	_ Adapter          = (*grpcClient)(nil)
	_ pb.AdapterServer = (*grpcServer)(nil)
)

type grpcClient struct{ c pb.AdapterClient }

func (g *grpcClient) Describe(ctx context.Context) (Description, error) {
	d, err := g.c.Describe(ctx, &pb.DescribeRequest{})
	if err != nil {
		return Description{}, fromStatus(err)
	}
	return descriptionFromPB(d), nil
}

func (g *grpcClient) Translate(ctx context.Context, req Request) ([]Command, error) {
	resp, err := g.c.Translate(ctx, &pb.TranslateRequest{Request: requestToPB(req)})
	if err != nil {
		return nil, fromStatus(err)
	}
	cmds := make([]Command, len(resp.GetCommands()))
	for i, c := range resp.GetCommands() {
		cmds[i] = commandFromPB(c)
	}
	return cmds, nil
}

func (g *grpcClient) Answer(ctx context.Context, req Request, results []Result) (Response, error) {
	in := &pb.AnswerRequest{Request: requestToPB(req), Results: make([]*pb.Result, len(results))}
	for i, r := range results {
		in.Results[i] = resultToPB(r)
	}
	resp, err := g.c.Answer(ctx, in)
	if err != nil {
		return Response{}, fromStatus(err)
	}
	return Response{Status: int(resp.GetStatus()), Header: headerFromPB(resp.GetHeaders()), Body: resp.GetBody()}, nil
}

func (g *grpcClient) ApplyStatus(ctx context.Context, change StatusChange) error {
	_, err := g.c.ApplyStatus(ctx, &pb.ApplyStatusRequest{Change: changeToPB(change)})
	return fromStatus(err)
}

type grpcServer struct {
	pb.UnimplementedAdapterServer
	impl Adapter
}

func (s *grpcServer) Describe(ctx context.Context, _ *pb.DescribeRequest) (*pb.Description, error) {
	d, err := s.impl.Describe(ctx)
	if err != nil {
		return nil, toStatus(err)
	}
	return descriptionToPB(d), nil
}

func (s *grpcServer) Translate(ctx context.Context, in *pb.TranslateRequest) (*pb.TranslateResponse, error) {
	cmds, err := s.impl.Translate(ctx, requestFromPB(in.GetRequest()))
	if err != nil {
		return nil, toStatus(err)
	}
	out := &pb.TranslateResponse{Commands: make([]*pb.Command, len(cmds))}
	for i, c := range cmds {
		out.Commands[i] = commandToPB(c)
	}
	return out, nil
}

func (s *grpcServer) Answer(ctx context.Context, in *pb.AnswerRequest) (*pb.AnswerResponse, error) {
	results := make([]Result, len(in.GetResults()))
	for i, r := range in.GetResults() {
		results[i] = resultFromPB(r)
	}
	resp, err := s.impl.Answer(ctx, requestFromPB(in.GetRequest()), results)
	if err != nil {
		return nil, toStatus(err)
	}
	return &pb.AnswerResponse{Status: int32(resp.Status), Headers: headerToPB(resp.Header), Body: resp.Body}, nil
}

func (s *grpcServer) ApplyStatus(ctx context.Context, in *pb.ApplyStatusRequest) (*pb.ApplyStatusResponse, error) {
	if err := s.impl.ApplyStatus(ctx, changeFromPB(in.GetChange())); err != nil {
		return nil, toStatus(err)
	}
	return &pb.ApplyStatusResponse{}, nil
}

// Conversions. Enums travel as proto enums so a typo cannot cross the
// boundary; an unknown value becomes UNSPECIFIED / "" and the receiving side
// treats it as invalid.

var flowPB = map[Flow]pb.Flow{
	FlowPayment:   pb.Flow_FLOW_PAYMENT,
	FlowRefund:    pb.Flow_FLOW_REFUND,
	FlowRecurring: pb.Flow_FLOW_RECURRING,
	FlowInvoice:   pb.Flow_FLOW_INVOICE,
	FlowPayByLink: pb.Flow_FLOW_PAY_BY_LINK,
}

var redeliveryPB = map[Redelivery]pb.Redelivery{
	RedeliveryOnError: pb.Redelivery_REDELIVERY_ON_ERROR,
	RedeliveryNever:   pb.Redelivery_REDELIVERY_NEVER,
}

var kindPB = map[CommandKind]pb.CommandKind{
	CommandPay:          pb.CommandKind_COMMAND_KIND_PAY,
	CommandRefund:       pb.CommandKind_COMMAND_KIND_REFUND,
	CommandMandate:      pb.CommandKind_COMMAND_KIND_MANDATE,
	CommandCharge:       pb.CommandKind_COMMAND_KIND_CHARGE,
	CommandCancelCharge: pb.CommandKind_COMMAND_KIND_CANCEL_CHARGE,
}

var statusPB = map[PaymentStatus]pb.PaymentStatus{
	StatusPending:         pb.PaymentStatus_PAYMENT_STATUS_PENDING,
	StatusPaid:            pb.PaymentStatus_PAYMENT_STATUS_PAID,
	StatusCancelled:       pb.PaymentStatus_PAYMENT_STATUS_CANCELLED,
	StatusReversed:        pb.PaymentStatus_PAYMENT_STATUS_REVERSED,
	StatusRefundPending:   pb.PaymentStatus_PAYMENT_STATUS_REFUND_PENDING,
	StatusRefunded:        pb.PaymentStatus_PAYMENT_STATUS_REFUNDED,
	StatusRefundFailed:    pb.PaymentStatus_PAYMENT_STATUS_REFUND_FAILED,
	StatusMandateActive:   pb.PaymentStatus_PAYMENT_STATUS_MANDATE_ACTIVE,
	StatusMandateDeclined: pb.PaymentStatus_PAYMENT_STATUS_MANDATE_DECLINED,
	StatusMandateRevoked:  pb.PaymentStatus_PAYMENT_STATUS_MANDATE_REVOKED,
	StatusAttention:       pb.PaymentStatus_PAYMENT_STATUS_ATTENTION,
}

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

var (
	flowGo       = invert(flowPB)
	redeliveryGo = invert(redeliveryPB)
	kindGo       = invert(kindPB)
	statusGo     = invert(statusPB)
)

func descriptionToPB(d Description) *pb.Description {
	out := &pb.Description{Name: d.Name, Version: d.Version, Async: d.Async, Sync: d.Sync, Public: d.Public, Redelivery: redeliveryPB[d.Redelivery]}
	if d.AnswerWithin != 0 {
		out.AnswerWithin = durationpb.New(d.AnswerWithin)
	}
	for _, f := range d.Flows {
		out.Flows = append(out.Flows, flowPB[f])
	}
	return out
}

func descriptionFromPB(d *pb.Description) Description {
	out := Description{Name: d.GetName(), Version: d.GetVersion(), Async: d.GetAsync(), Sync: d.GetSync(), Public: d.GetPublic(),
		Redelivery: redeliveryGo[d.GetRedelivery()]}
	if w := d.GetAnswerWithin(); w != nil {
		out.AnswerWithin = w.AsDuration()
	}
	for _, f := range d.GetFlows() {
		out.Flows = append(out.Flows, flowGo[f])
	}
	return out
}

func headerToPB(h http.Header) []*pb.Header {
	if len(h) == 0 {
		return nil
	}
	out := make([]*pb.Header, 0, len(h))
	for name, values := range h {
		out = append(out, &pb.Header{Name: name, Values: values})
	}
	return out
}

// headerFromPB canonicalises names, so an adapter's Header.Get works however
// the other side spelled them.
func headerFromPB(hs []*pb.Header) http.Header {
	if len(hs) == 0 {
		return nil
	}
	out := make(http.Header, len(hs))
	for _, h := range hs {
		name := http.CanonicalHeaderKey(h.GetName())
		out[name] = append(out[name], h.GetValues()...)
	}
	return out
}

func timeToPB(t time.Time) *timestamppb.Timestamp {
	if t.IsZero() {
		return nil
	}
	return timestamppb.New(t)
}

func timeFromPB(ts *timestamppb.Timestamp) time.Time {
	if ts == nil {
		return time.Time{}
	}
	return ts.AsTime()
}

func requestToPB(r Request) *pb.Request {
	return &pb.Request{Method: r.Method, Path: r.Path, RawQuery: r.RawQuery, Headers: headerToPB(r.Header), Body: r.Body,
		ReceivedAt: timeToPB(r.ReceivedAt), Public: r.Public, BaseUrl: r.BaseURL}
}

func requestFromPB(r *pb.Request) Request {
	return Request{Method: r.GetMethod(), Path: r.GetPath(), RawQuery: r.GetRawQuery(), Header: headerFromPB(r.GetHeaders()), Body: r.GetBody(),
		ReceivedAt: timeFromPB(r.GetReceivedAt()), Public: r.GetPublic(), BaseURL: r.GetBaseUrl()}
}

func moneyToPB(m Money) *pb.Money { return &pb.Money{Minor: m.Minor, Currency: m.Currency} }

func moneyFromPB(m *pb.Money) Money { return Money{Minor: m.GetMinor(), Currency: m.GetCurrency()} }

func orderToPB(o Order) *pb.Order { return &pb.Order{Id: o.ID, Number: o.Number} }

func orderFromPB(o *pb.Order) Order { return Order{ID: o.GetId(), Number: o.GetNumber()} }

func commandToPB(c Command) *pb.Command {
	return &pb.Command{
		Kind:           kindPB[c.Kind],
		IdempotencyKey: c.IdempotencyKey,
		Order:          orderToPB(c.Order),
		Amount:         moneyToPB(c.Amount),
		Customer: &pb.Customer{
			Id: c.Customer.ID, Email: c.Customer.Email, FirstName: c.Customer.FirstName,
			LastName: c.Customer.LastName, Country: c.Customer.Country, Phone: c.Customer.Phone,
			NationalId: c.Customer.NationalID, NationalIdLocked: c.Customer.NationalIDLocked,
		},
		Reference: c.Reference,
		Metadata:  c.Metadata,
		ShippingAddress: &pb.Address{
			Country: c.ShippingAddress.Country, PostalCode: c.ShippingAddress.PostalCode, City: c.ShippingAddress.City,
			Line1: c.ShippingAddress.Line1, Line2: c.ShippingAddress.Line2,
		},
		RequestMandate: c.RequestMandate,
		Kyc:            &pb.KYC{Request: c.KYC.Request, MinimumAge: int32(c.KYC.MinimumAge)},
		Recipient:      recipientToPB(c.Recipient),
	}
}

func commandFromPB(c *pb.Command) Command {
	cu, sa := c.GetCustomer(), c.GetShippingAddress()
	return Command{
		Kind:           kindGo[c.GetKind()],
		IdempotencyKey: c.GetIdempotencyKey(),
		Order:          orderFromPB(c.GetOrder()),
		Amount:         moneyFromPB(c.GetAmount()),
		Customer: Customer{
			ID: cu.GetId(), Email: cu.GetEmail(), FirstName: cu.GetFirstName(),
			LastName: cu.GetLastName(), Country: cu.GetCountry(), Phone: cu.GetPhone(),
			NationalID: cu.GetNationalId(), NationalIDLocked: cu.GetNationalIdLocked(),
		},
		Reference: c.GetReference(),
		Metadata:  c.GetMetadata(),
		ShippingAddress: Address{
			Country: sa.GetCountry(), PostalCode: sa.GetPostalCode(), City: sa.GetCity(), Line1: sa.GetLine1(), Line2: sa.GetLine2(),
		},
		RequestMandate: c.GetRequestMandate(),
		KYC:            KYC{Request: c.GetKyc().GetRequest(), MinimumAge: int(c.GetKyc().GetMinimumAge())},
		Recipient:      recipientFromPB(c.GetRecipient()),
	}
}

// recipientToPB keeps nil as nil: no recipient is not an empty one.
func recipientToPB(r *Recipient) *pb.Recipient {
	if r == nil {
		return nil
	}
	return &pb.Recipient{Organisation: r.Organisation, FirstName: r.FirstName, LastName: r.LastName, Country: r.Country,
		CustomerId: r.CustomerID, Address: r.Address, DateOfBirth: r.DateOfBirth}
}

func recipientFromPB(r *pb.Recipient) *Recipient {
	if r == nil {
		return nil
	}
	return &Recipient{Organisation: r.GetOrganisation(), FirstName: r.GetFirstName(), LastName: r.GetLastName(), Country: r.GetCountry(),
		CustomerID: r.GetCustomerId(), Address: r.GetAddress(), DateOfBirth: r.GetDateOfBirth()}
}

func resultToPB(r Result) *pb.Result {
	return &pb.Result{
		IdempotencyKey: r.IdempotencyKey, Ok: r.OK, ProviderReference: r.ProviderReference,
		RedirectUrl: r.RedirectURL, ErrorCode: r.ErrorCode, Message: r.Message, Pending: r.Pending, OrderId: r.OrderID,
	}
}

func resultFromPB(r *pb.Result) Result {
	return Result{
		IdempotencyKey: r.GetIdempotencyKey(), OK: r.GetOk(), ProviderReference: r.GetProviderReference(),
		RedirectURL: r.GetRedirectUrl(), ErrorCode: r.GetErrorCode(), Message: r.GetMessage(), Pending: r.GetPending(), OrderID: r.GetOrderId(),
	}
}

func changeToPB(c StatusChange) *pb.StatusChange {
	return &pb.StatusChange{
		Id: c.ID, Order: orderToPB(c.Order), Status: statusPB[c.Status], Amount: moneyToPB(c.Amount),
		ProviderReference: c.ProviderReference, Message: c.Message, OccurredAt: timeToPB(c.OccurredAt),
	}
}

func changeFromPB(c *pb.StatusChange) StatusChange {
	return StatusChange{
		ID: c.GetId(), Order: orderFromPB(c.GetOrder()), Status: statusGo[c.GetStatus()], Amount: moneyFromPB(c.GetAmount()),
		ProviderReference: c.GetProviderReference(), Message: c.GetMessage(), OccurredAt: timeFromPB(c.GetOccurredAt()),
	}
}
