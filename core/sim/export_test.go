package sim

import "time"

// MarshalForTest exposes the simulator's JSON writer to the external tests.
var MarshalForTest = marshal

// Stockholm is the zone of the direct debit cut-offs.
func Stockholm() *time.Location { return stockholm() }
