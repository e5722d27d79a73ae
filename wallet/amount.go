package wallet

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

const (
	// Decimals is the number of decimal places of a CRN amount.
	Decimals = 8
	// BaseUnitsPerCRN is the number of base units in 1 CRN (10^8).
	BaseUnitsPerCRN = 100_000_000
	// Unit is the symbol FormatCRN appends.
	Unit = "CRN"
)

// Errors ParseAmount returns. Each is wrapped with the input, so
// errors.Is tells the reason and Error() names both.
var (
	ErrAmountSyntax    = errors.New("not a decimal amount (want digits or digits.digits)")
	ErrAmountNegative  = errors.New("negative amounts are not allowed")
	ErrAmountExponent  = errors.New("exponent notation is not allowed")
	ErrAmountPrecision = fmt.Errorf("more than %d decimal places", Decimals)
	ErrAmountOverflow  = errors.New("amount exceeds 2^64-1 base units (184467440737.09551615 CRN)")
)

// ParseAmount parses a CRN amount in decimal and returns it in base units.
//
// The grammar is deliberately narrow: one or more ASCII digits, optionally
// followed by a dot and one to eight digits ("21", "1.5", "0.00000001",
// "007" is 7 CRN). Everything else is refused with the reason:
// a minus sign (ErrAmountNegative, "-0" included), an exponent such as
// "1e5" (ErrAmountExponent), a ninth decimal place even if it is zero
// (ErrAmountPrecision), a value above 2^64-1 base units
// (ErrAmountOverflow), and a plus sign, hex, white space, digit grouping,
// a leading or trailing dot, a unit suffix or the empty string
// (ErrAmountSyntax). It is safe for concurrent use.
func ParseAmount(s string) (uint64, error) {
	v, err := parseAmount(s)
	if err != nil {
		return 0, fmt.Errorf("invalid amount %s: %w", quoteInput(s), err)
	}
	return v, nil
}

func parseAmount(s string) (uint64, error) {
	switch {
	case s == "":
		return 0, fmt.Errorf("%w: empty", ErrAmountSyntax)
	case s[0] == '-':
		return 0, ErrAmountNegative
	case s[0] == '+':
		return 0, fmt.Errorf("%w: no sign allowed", ErrAmountSyntax)
	case len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'):
		return 0, fmt.Errorf("%w: hex is not allowed", ErrAmountSyntax)
	case strings.ContainsAny(s, " \t\r\n\v\f"):
		return 0, fmt.Errorf("%w: contains white space", ErrAmountSyntax)
	case looksLikeExponent(s):
		return 0, ErrAmountExponent
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, ErrAmountSyntax
	}
	if intPart == "" {
		return 0, fmt.Errorf("%w: no digit before the dot", ErrAmountSyntax)
	}
	if hasDot && frac == "" {
		return 0, fmt.Errorf("%w: no digit after the dot", ErrAmountSyntax)
	}
	if len(frac) > Decimals {
		return 0, ErrAmountPrecision
	}
	// Whole CRN: accumulate with an overflow check so that any number of
	// digits is handled without big integers.
	var whole uint64
	for i := 0; i < len(intPart); i++ {
		d := uint64(intPart[i] - '0')
		if whole > (math.MaxUint64-d)/10 {
			return 0, ErrAmountOverflow
		}
		whole = whole*10 + d
	}
	if whole > math.MaxUint64/BaseUnitsPerCRN {
		return 0, ErrAmountOverflow
	}
	var fracUnits uint64
	for i := 0; i < Decimals; i++ {
		fracUnits *= 10
		if i < len(frac) {
			fracUnits += uint64(frac[i] - '0')
		}
	}
	v := whole * BaseUnitsPerCRN
	if v > math.MaxUint64-fracUnits {
		return 0, ErrAmountOverflow
	}
	return v + fracUnits, nil
}

// looksLikeExponent reports whether s is a number in exponent notation:
// digits and dots, then e or E, then an optional sign and digits.
func looksLikeExponent(s string) bool {
	i := strings.IndexAny(s, "eE")
	if i <= 0 {
		return false
	}
	mant, exp := s[:i], s[i+1:]
	if strings.Trim(mant, "0123456789.") != "" || strings.Trim(mant, ".") == "" {
		return false
	}
	if exp != "" && (exp[0] == '+' || exp[0] == '-') {
		exp = exp[1:]
	}
	return exp != "" && allDigits(exp)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// quoteInput quotes user input for an error message, shortening an
// absurdly long one.
func quoteInput(s string) string {
	const maxLen = 48
	if len(s) > maxLen {
		return fmt.Sprintf("%q… (%d bytes)", s[:maxLen], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// FormatAmount returns v base units as CRN with exactly eight decimal
// places, e.g. 150000000 → "1.50000000". It is safe for concurrent use.
func FormatAmount(v uint64) string {
	return fmt.Sprintf("%d.%08d", v/BaseUnitsPerCRN, v%BaseUnitsPerCRN)
}

// FormatCRN returns FormatAmount(v) followed by " CRN", e.g.
// "1.50000000 CRN". It is safe for concurrent use.
func FormatCRN(v uint64) string { return FormatAmount(v) + " " + Unit }
