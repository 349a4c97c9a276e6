package sim

// MarshalForTest exposes the simulator's JSON writer to the external tests.
var MarshalForTest = marshal
