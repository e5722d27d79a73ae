package explorer

import (
	"encoding/hex"
	"fmt"
	"html/template"
	"math"
	"math/big"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// parsePages parses each page's template with the layout and the shared
// partials; links are made under prefix.
func parsePages(prefix string, now func() time.Time) map[string]*template.Template {
	funcs := template.FuncMap{
		"link":     func(kind, ref string) string { return prefix + kind + "/" + url.PathEscape(ref) },
		"linkU":    func(kind string, n uint64) string { return prefix + kind + "/" + strconv.FormatUint(n, 10) },
		"crn":      formatCRN,
		"short":    short,
		"time":     formatTime,
		"clock":    formatClock,
		"ago":      func(ms int64) string { return formatAgo(now(), ms) },
		"interval": formatInterval,
		"si":       formatSI,
		"bytes":    formatBytes,
		"memo":     memoText,
		"plus":     func(a, b int) int { return a + b },
	}
	shared := template.Must(template.New("shared").Funcs(funcs).ParseFS(templateFS,
		"templates/layout.html", "templates/partials.html"))
	pages := map[string]*template.Template{}
	for _, name := range []string{"overview", "block", "tx", "address", "notfound", "error"} {
		t := template.Must(shared.Clone())
		pages[name] = template.Must(t.ParseFS(templateFS, "templates/"+name+".html"))
	}
	return pages
}

// formatCRN writes a decimal string of base units as CRN with the
// fraction's trailing zeros dropped: "150000000" is "1.5 CRN". A string
// that is not a number is shown as it is.
func formatCRN(units string) string {
	v, err := strconv.ParseUint(units, 10, 64)
	if err != nil {
		return units
	}
	return formatCRNUnits(v)
}

func formatCRNUnits(v uint64) string {
	const unit = 100_000_000
	s := strconv.FormatUint(v/unit, 10)
	if frac := v % unit; frac != 0 {
		s += "." + strings.TrimRight(fmt.Sprintf("%08d", frac), "0")
	}
	return s + " CRN"
}

// short abbreviates a hash or an address to its first 10 and last 6
// characters.
func short(s string) string {
	if len(s) <= 20 {
		return s
	}
	return s[:10] + "…" + s[len(s)-6:]
}

func bitsString(bits uint32) string { return fmt.Sprintf("%08x", bits) }

func formatTime(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("2006-01-02 15:04:05 UTC")
}

func formatClock(ms int64) string {
	return time.UnixMilli(ms).UTC().Format("15:04:05")
}

// formatAgo says how long before now ms was, roughly: "5 s ago",
// "3 min ago", "2 h ago", "4 d ago"; a time ahead of now is "in the
// future".
func formatAgo(now time.Time, ms int64) string {
	d := now.Sub(time.UnixMilli(ms))
	switch {
	case d < -time.Second:
		return "in the future"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", max(0, int(d/time.Second)))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d d ago", int(d/(24*time.Hour)))
}

// formatInterval writes a block interval in ms: "12.3 s", "-0.4 s" (a
// block may be dated before its parent), "14 min 5 s", "3 h 20 min",
// "1118 d 17 h".
func formatInterval(ms int64) string {
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	s := ms / 1000
	switch {
	case ms < 600_000:
		return sign + strconv.FormatFloat(float64(ms)/1000, 'f', 1, 64) + " s"
	case s < 3600:
		return fmt.Sprintf("%s%d min %d s", sign, s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%s%d h %d min", sign, s/3600, s%3600/60)
	}
	return fmt.Sprintf("%s%d d %d h", sign, s/86400, s%86400/3600)
}

// formatSI writes v with an SI prefix and three significant digits:
// 1234567 "H/s" is "1.23 MH/s".
func formatSI(v float64, unit string) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	prefix := ""
	for _, p := range []string{"k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q"} {
		if math.Abs(v) < 999.5 {
			break
		}
		v /= 1000
		prefix = p
	}
	for _, p := range []string{"m", "µ", "n", "p"} { // a tiny rate (a test chain)
		if v == 0 || math.Abs(v) >= 0.9995 {
			break
		}
		v *= 1000
		prefix = p
	}
	s := strconv.FormatFloat(v, 'g', 3, 64)
	if strings.ContainsAny(s, "e") { // beyond the prefixes: an exponent
		s = strconv.FormatFloat(v, 'e', 2, 64)
	}
	return s + " " + prefix + unit
}

// bigFloat converts a non-negative big.Int to a float64 (for display).
func bigFloat(n *big.Int) float64 {
	if n == nil {
		return 0
	}
	f, _ := new(big.Float).SetInt(n).Float64()
	return f
}

func formatBytes(n int) string {
	if n < 1000 {
		return strconv.Itoa(n) + " B"
	}
	return formatSI(float64(n), "B")
}

// memoText returns a memo (hex) as text when it is printable UTF-8, else
// "". The text is the sender's: templates only ever escape it.
func memoText(memoHex string) string {
	b, err := hex.DecodeString(memoHex)
	if err != nil || len(b) == 0 || !utf8.Valid(b) {
		return ""
	}
	for _, r := range string(b) {
		if !unicode.IsPrint(r) && !unicode.IsSpace(r) {
			return ""
		}
	}
	return string(b)
}
