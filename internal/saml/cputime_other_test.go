//go:build !unix

package saml

import "time"

// cpuTime is not measured off Unix; cpu-ns/op then reads 0.
func cpuTime() time.Duration { return 0 }
