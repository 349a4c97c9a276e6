package config

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
)

// notOurs matches the variables with the prefix that are set by others:
// Kubernetes's service links (a Service named trustly-sidecar gives every
// pod in its namespace TRUSTLY_SIDECAR_SERVICE_HOST, TRUSTLY_SIDECAR_PORT,
// TRUSTLY_SIDECAR_PORT_8080_TCP_ADDR, ...; the chart's fullname is such a
// name) and the plugin handshake cookie the host gives adapter processes.
var notOurs = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(_SERVICE_HOST|_SERVICE_PORT(_[A-Z0-9_]+)?|_PORT(_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)$|^TRUSTLY_SIDECAR_ADAPTER_PLUGIN$`)
})

// unknownNames reports every variable with the prefix that is not a
// setting. envconfig ignores such a variable, and a misspelling is then
// silent: TRUSTLY_SIDECAR_REDIS_ADDR for _ADDRS quietly connects to
// 127.0.0.1:6379 in production. The names compared against are envconfig's
// own (through Variables), so the two cannot disagree; envconfig's
// CheckDisallowed does the same comparison but reads only the process's
// environment and stops at the first name.
func unknownNames(names []string, vars []Variable) []error {
	known := make(map[string]bool, 2*len(vars))
	var candidates []string
	for _, v := range vars {
		known[v.Key] = true
		candidates = append(candidates, v.Key)
		if v.Secret() {
			known[v.FileKey()] = true
			candidates = append(candidates, v.FileKey())
		}
	}
	var problems []error
	for _, name := range slices.Sorted(slices.Values(names)) {
		if !strings.HasPrefix(name, Prefix+"_") || known[name] || notOurs().MatchString(name) {
			continue
		}
		if near := nearest(name, candidates); near != "" {
			problems = append(problems, fmt.Errorf("%s is not a setting; did you mean %s?", name, near))
		} else {
			problems = append(problems, fmt.Errorf("%s is not a setting (run 'trustly-sidecar config' to list them)", name))
		}
	}
	return problems
}

// nearest is the candidate closest to name by edit distance, if it is close
// enough to be a plausible misspelling rather than a different word.
func nearest(name string, candidates []string) string {
	best, bestDist := "", len(name)
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	// The shared prefix makes every name look alike; judge the rest.
	rest := len(name) - len(Prefix) - 1
	if bestDist > max(2, rest/3) {
		return ""
	}
	return best
}

// editDistance is the Levenshtein distance of a and b (bytes: variable
// names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
