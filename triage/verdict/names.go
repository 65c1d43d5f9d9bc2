package verdict

import (
	"net/netip"
	"sort"
)

// UnnamedRemotes are the remote addresses of the flows without a remote
// name, largest flow (sent + received bytes) first, each once, at most
// max: the ones worth waiting for a resolver for.
func UnnamedRemotes(fl []Flow, max int) []netip.Addr {
	idx := make([]int, 0, len(fl))
	for i := range fl {
		if fl[i].RemoteName == "" {
			idx = append(idx, i)
		}
	}
	sort.SliceStable(idx, func(a, b int) bool {
		fa, fb := fl[idx[a]], fl[idx[b]]
		return fa.SentBytes+fa.RecvBytes > fb.SentBytes+fb.RecvBytes
	})
	seen := map[netip.Addr]bool{}
	var addrs []netip.Addr
	for _, i := range idx {
		if a := fl[i].Key.Remote; !seen[a] && len(addrs) < max {
			seen[a] = true
			addrs = append(addrs, a)
		}
	}
	return addrs
}

// NameRemotes gives each flow without a remote name the one name returns
// for its remote address ("" leaves it unnamed).
func NameRemotes(fl []Flow, name func(netip.Addr) string) {
	for i := range fl {
		if fl[i].RemoteName == "" {
			fl[i].RemoteName = name(fl[i].Key.Remote)
		}
	}
}
