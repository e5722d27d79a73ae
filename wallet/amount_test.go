package wallet

import (
	"errors"
	"math"
	"strings"
	"testing"

	"pgregory.net/rapid"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
	}{
		{"0", 0},
		{"0.0", 0},
		{"21", 21 * BaseUnitsPerCRN},
		{"1.5", 150_000_000},
		{"1.50000000", 150_000_000},
		{"0.00000001", 1},
		{"007", 7 * BaseUnitsPerCRN},
		{"12345.6789", 1_234_567_890_000},
		{"184467440737", 184467440737 * BaseUnitsPerCRN},
		{"184467440737.09551615", math.MaxUint64},
		{"0184467440737.09551615", math.MaxUint64},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestParseAmountRefusals(t *testing.T) {
	tests := []struct {
		in   string
		want error
	}{
		{"", ErrAmountSyntax},
		{"-1", ErrAmountNegative},
		{"-0", ErrAmountNegative},
		{"-0.5", ErrAmountNegative},
		{"-1e5", ErrAmountNegative},
		{"+1", ErrAmountSyntax},
		{"1e5", ErrAmountExponent},
		{"1E5", ErrAmountExponent},
		{"1.5e-3", ErrAmountExponent},
		{"2e+8", ErrAmountExponent},
		{"0x10", ErrAmountSyntax},
		{"0XFF", ErrAmountSyntax},
		{"ff", ErrAmountSyntax},
		{" 1", ErrAmountSyntax},
		{"1 ", ErrAmountSyntax},
		{"1 000", ErrAmountSyntax},
		{"1\t", ErrAmountSyntax},
		{"1\n", ErrAmountSyntax},
		{"1.", ErrAmountSyntax},
		{".5", ErrAmountSyntax},
		{".", ErrAmountSyntax},
		{"1..5", ErrAmountSyntax},
		{"1.2.3", ErrAmountSyntax},
		{"1,5", ErrAmountSyntax},
		{"1_000", ErrAmountSyntax},
		{"1.5CRN", ErrAmountSyntax},
		{"1.5 CRN", ErrAmountSyntax},
		{"e5", ErrAmountSyntax},
		{"1e", ErrAmountSyntax},
		{"NaN", ErrAmountSyntax},
		{"Inf", ErrAmountSyntax},
		{"١", ErrAmountSyntax}, // Arabic-Indic digit one
		{"1.123456789", ErrAmountPrecision},
		{"1.000000000", ErrAmountPrecision},
		{"0.000000001", ErrAmountPrecision},
		{"184467440737.09551616", ErrAmountOverflow},
		{"184467440738", ErrAmountOverflow},
		{"18446744073709551616", ErrAmountOverflow},
		{strings.Repeat("9", 100), ErrAmountOverflow},
		{strings.Repeat("9", 100) + ".1", ErrAmountOverflow},
	}
	sentinels := []error{ErrAmountSyntax, ErrAmountNegative, ErrAmountExponent, ErrAmountPrecision, ErrAmountOverflow}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		if !errors.Is(err, tt.want) || got != 0 {
			t.Errorf("ParseAmount(%q) = %d, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		for _, s := range sentinels {
			if s != tt.want && errors.Is(err, s) {
				t.Errorf("ParseAmount(%q): %v also matches %v", tt.in, err, s)
			}
		}
		if len(tt.in) < 40 && !strings.Contains(err.Error(), quoteInput(tt.in)) {
			t.Errorf("ParseAmount(%q): error %q does not quote the input", tt.in, err)
		}
	}
	_, err := ParseAmount("1e5")
	t.Logf("for example: %v", err)
}

func TestFormatAmount(t *testing.T) {
	tests := []struct {
		in        uint64
		want, crn string
	}{
		{0, "0.00000000", "0.00000000 CRN"},
		{1, "0.00000001", "0.00000001 CRN"},
		{150_000_000, "1.50000000", "1.50000000 CRN"},
		{21 * BaseUnitsPerCRN, "21.00000000", "21.00000000 CRN"},
		{math.MaxUint64, "184467440737.09551615", "184467440737.09551615 CRN"},
	}
	for _, tt := range tests {
		if got := FormatAmount(tt.in); got != tt.want {
			t.Errorf("FormatAmount(%d) = %q, want %q", tt.in, got, tt.want)
		}
		if got := FormatCRN(tt.in); got != tt.crn {
			t.Errorf("FormatCRN(%d) = %q, want %q", tt.in, got, tt.crn)
		}
	}
}

func TestAmountRoundTrip(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		v := rapid.Uint64().Draw(t, "v")
		s := FormatAmount(v)
		got, err := ParseAmount(s)
		if err != nil || got != v {
			t.Fatalf("ParseAmount(FormatAmount(%d) = %q) = %d, %v", v, s, got, err)
		}
	})
}

// canonicalAmount rewrites an accepted amount text the way FormatAmount
// prints it: no leading zeros before the units digit, eight places.
func canonicalAmount(s string) string {
	i, f, _ := strings.Cut(s, ".")
	i = strings.TrimLeft(i, "0")
	if i == "" {
		i = "0"
	}
	return i + "." + f + strings.Repeat("0", Decimals-len(f))
}

func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "1.5", "0.00000001", "21", "184467440737.09551615",
		"184467440737.09551616", "-1", "1e5", "1.", ".5", "0x1f", " 1", "1.123456789", ""} {
		f.Add(s)
	}
	sentinels := []error{ErrAmountSyntax, ErrAmountNegative, ErrAmountExponent, ErrAmountPrecision, ErrAmountOverflow}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseAmount(s)
		if err != nil {
			n := 0
			for _, e := range sentinels {
				if errors.Is(err, e) {
					n++
				}
			}
			if n != 1 || v != 0 {
				t.Fatalf("ParseAmount(%q) = %d, %v: want 0 and exactly one sentinel", s, v, err)
			}
			return
		}
		out := FormatAmount(v)
		if back, err := ParseAmount(out); err != nil || back != v {
			t.Fatalf("ParseAmount(FormatAmount(%d) = %q) = %d, %v", v, out, back, err)
		}
		if c := canonicalAmount(s); c != out {
			t.Fatalf("accepted %q as %d, which formats as %q, not %q", s, v, out, c)
		}
	})
}
