package inputs

import (
	"fmt"
	"os"
	"sort"
	"strconv"
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

// Retransmits counts the host's TCP retransmitted segments from a start:
// of this namespace, or of netns when it is a PID (a named namespace's
// counter cannot be read without entering it).
type Retransmits struct {
	pid   int
	start uint64
	ok    bool
}

// StartRetransmits reads the counter's start value.
func StartRetransmits(netns string) *Retransmits {
	r := &Retransmits{}
	if pid, err := strconv.Atoi(netns); err == nil && pid > 0 {
		r.pid = pid
	} else if netns != "" {
		return r
	}
	var err error
	r.start, err = links.ReadTCPRetransSegs(r.pid)
	r.ok = err == nil
	return r
}

// Since returns the segments retransmitted since the start, nil when the
// counter cannot be read (or went back).
func (r *Retransmits) Since() *uint64 {
	if !r.ok {
		return nil
	}
	now, err := links.ReadTCPRetransSegs(r.pid)
	if err != nil || now < r.start {
		return nil
	}
	d := now - r.start
	return &d
}

// PickSource decides between packet capture and socket-counter mode for
// --source (auto, capture or sockets): mode is "capture" or "sockets";
// note says why auto fell back to socket counters.
func PickSource(src string) (mode, note string, err error) {
	ok, fix := CaptureAvailable()
	switch src {
	case "sockets":
		return "sockets", "", nil
	case "capture":
		if !ok {
			return "", "", fmt.Errorf("--source capture: capture needs CAP_NET_RAW: %s", fix)
		}
		return "capture", "", nil
	case "auto", "":
		if !ok {
			return "sockets", "socket-counter mode (capture needs CAP_NET_RAW: " + fix + "): TCP payload bytes from the kernel's per-socket counters, UDP not counted", nil
		}
		return "capture", "", nil
	}
	return "", "", configs.Usagef("--source %q: use auto, capture or sockets", src)
}

// HostFacts are what doctor reports on: the capabilities by name, the
// interface counters of netns (or why they could not be opened or
// read), whether a packet socket opens, and whether other users'
// /proc/PID/fd can be listed.
type HostFacts struct {
	Caps       map[string]bool // nil when they could not be read
	Links      *triage.LinksSample
	LinksErr   error
	OpenFailed bool // LinksErr is from opening (a bad --netns), not reading
	PacketErr  error
	ProcFds    privs.ProcFdProbe
	// Warnings are the capacity overrides of the config file whose
	// interfaces are not there (see CheckLinkSpeeds).
	Warnings []string
}

// ProbeHost gathers HostFacts. When the counters were read, the capacity
// overrides of cfg and of the --link-speed values are checked against
// them (CheckLinkSpeeds): a flag's unknown interface is the (usage) error.
func ProbeHost(netns string, cfg configs.Config, linkSpeeds []string) (HostFacts, error) {
	var f HostFacts
	if have, err := privs.Have(); err == nil {
		f.Caps = have.Names(privs.CapNetRaw, privs.CapNetAdmin, privs.CapDacReadSearch, privs.CapSysPtrace)
	}
	if r, err := OpenLinks(links.Options{Netns: netns}); err != nil {
		f.LinksErr, f.OpenFailed = err, true
	} else {
		s, err := r.Read()
		r.Close()
		if f.LinksErr = err; err == nil {
			f.Links = &s
		}
	}
	f.PacketErr = privs.ProbePacketSocket()
	privs.WithProcAccess(func() { f.ProcFds = privs.ProbeProcFds() })
	if f.Links == nil {
		return f, nil
	}
	var err error
	f.Warnings, err = CheckLinkSpeeds(cfg, linkSpeeds, f.Links)
	return f, err
}
