// Package sim is a faithful simulator of Trustly's EU JSON-RPC 1.1 API, for
// developing and testing a shop without a Trustly account or a network.
//
// It answers the seven merchant methods (Deposit, Refund, SelectAccount,
// Charge, CancelCharge, Balance, GetWithdrawals) on POST /api/1 with
// Trustly's checks and error codes, signing every answer with its own
// "Trustly" key; serves the checkout URL as a small bank page where the
// shopper approves, declines or walks away, with Trustly's TEST order
// options as scenarios (see Scenario); sends signed notifications to the
// merchant's NotificationURL, checks the signed replies and resends until
// answered; and offers a notification tool to list, replay and hand-craft
// notifications.
//
// Use it like httptest:
//
//	s, _ := sim.New(sim.Config{Username: "u", Password: "p",
//		MerchantPublicKey: &merchantKey.PublicKey, Relaxed: true,
//		Clock: sim.NewManualClock(start)})
//	_ = s.Start()
//	defer s.Close()
//	// point the client at s.APIURL() with s.PublicKey(), then:
//	_ = s.Advance(ctx, time.Minute) // deliver what falls due, synchronously
//
// All state is in memory. The README in this directory has the scenario
// table, the checks and the choices made where Trustly's documentation is
// silent.
package sim

// The Europe/Stockholm zone (direct debit cut-offs) must load on machines
// and containers without a time zone database.
import _ "time/tzdata"
