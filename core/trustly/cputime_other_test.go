//go:build !unix

package trustly

import "time"

func processCPU() (time.Duration, bool) { return 0, false }
