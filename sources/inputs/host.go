package inputs

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"netriage/configs"
	"netriage/sources/links"
	"netriage/sources/privs"
	"netriage/triage"
	"netriage/views/format"
)

// CaptureAvailable reports whether this process may capture packets; when
// not, fix says how to grant it.
func CaptureAvailable() (ok bool, fix string) {
	if have, err := privs.Have(); err == nil && !have.Has(privs.CapNetRaw) {
		return false, "run with sudo, or: sudo setcap cap_net_raw,cap_net_admin+ep " + Executable()
	}
	return true, ""
}

// ProcAccess reports whether other users' processes can be attributed
// (CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE).
func ProcAccess() bool {
	have, err := privs.Have()
	return err == nil && have.Has(privs.CapDacReadSearch) && have.Has(privs.CapSysPtrace)
}

// Executable is the binary's path for setcap advice.
func Executable() string {
	if exe, _ := os.Executable(); exe != "" {
		return exe
	}
	return "$(command -v netriage)"
}

// KnownInterfaces refuses names that are not interfaces of this
// namespace.
func KnownInterfaces(names []string) error {
	if len(names) == 0 {
		return nil
	}
	have, err := links.InterfaceNames()
	if err != nil {
		return err
	}
	return WatchError(triage.KnownInterfaces(have, names))
}

// CheckLinkSpeeds checks the interfaces that carry a capacity override
// against s, a sample of the namespace being watched. A name given with
// --link-speed (flagSpeeds) must exist: it was typed for this run, and a
// typo would otherwise be ignored without a word (usage error). A name
// that only the config file's links.speeds gives may be missing, since one
// file can serve several hosts and an interface can come up later (a VPN
// tunnel, a container's veth): it comes back as a warning, and the
// override applies once the interface appears.
func CheckLinkSpeeds(cfg configs.Config, flagSpeeds []string, s *triage.LinksSample) (warnings []string, err error) {
	fromFlag := configs.LinkSpeedNames(flagSpeeds)
	var badFlag, badFile []string
	for name := range cfg.Links.Speeds {
		if _, ok := s.Iface(name); ok {
			continue
		}
		if fromFlag[name] {
			badFlag = append(badFlag, format.Sanitize(name, 40))
		} else {
			badFile = append(badFile, format.Sanitize(name, 40))
		}
	}
	sort.Strings(badFlag)
	sort.Strings(badFile)
	if len(badFlag) > 0 {
		have := make([]string, 0, len(s.Ifaces))
		for _, i := range s.Ifaces {
			have = append(have, format.Sanitize(i.Name, 32))
		}
		sort.Strings(have)
		return nil, configs.Usagef("--link-speed %s: no such interface (interfaces: %s)", strings.Join(badFlag, ", "), strings.Join(have, ", "))
	}
	for _, n := range badFile {
		warnings = append(warnings, fmt.Sprintf("config links.speeds: no interface %s here yet; its capacity applies if it appears", n))
	}
	return warnings, nil
}
