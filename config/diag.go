package config

import (
	"errors"
	"fmt"
	"sort"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"

	"github.com/ujumbe/ujumbe/inputfile"
)

// didYouMean returns " Did you mean "x"?" for the name in candidates closest
// to given, or "" when none is close.
func didYouMean(given string, candidates []string) string {
	best := Nearest(given, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// Nearest returns the name in candidates closest to given, the first in
// order of those as close, or "" when none is close enough to be a typo.
// The threshold is HCL's own.
func Nearest(given string, candidates []string) string {
	best, bestDist := "", 3
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := levenshtein.Distance(given, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// errorf returns an error diagnostic with subject rng.
func errorf(rng hcl.Range, summary, detailFormat string, args ...any) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf(detailFormat, args...),
		Subject:  rng.Ptr(),
	}
}

// readFailed describes why reading the input file path failed.
func readFailed(path string, err error) string {
	if nr := (*inputfile.NotRegularError)(nil); errors.As(err, &nr) {
		return err.Error() + ": ujumbe reads its input from regular files only."
	}
	return fmt.Sprintf("Reading %s failed: %s.", path, err)
}

// plural returns "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
