package engine_test

func child() bool { return false }
