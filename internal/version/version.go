// Package version is the version cairnd and cairn both report.
package version

import "runtime/debug"

// Version is the release, set at link time with
// -ldflags "-X github.com/cairn-ledger/cairn/internal/version.Version=v1.2.3".
var Version = "0.1.0-dev"

// String is Version and, when the build recorded it, the commit it was
// built from: "0.1.0-dev+0123456789ab".
func String() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return v
}
