package sockets

import (
	"strings"

	"netriage/triage/attrib"
)

// cgroupInfo is what a process's cgroup path says about it.
type cgroupInfo struct {
	Path      string
	Container *attrib.Container
	Unit      string
}

// parseCgroup parses /proc/PID/cgroup (v2 "0::/path" or v1
// "N:controllers:/path" lines) and recognises containers of docker,
// containerd, cri-o, podman and Kubernetes pods, else the systemd unit.
func parseCgroup(b []byte) cgroupInfo {
	var path string
	for _, line := range strings.Split(string(b), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			path = parts[2]
			break
		}
		// cgroup v1: prefer the pids/memory/cpu or name=systemd hierarchies.
		if path == "" || strings.Contains(parts[1], "name=systemd") {
			path = parts[2]
		}
	}
	info := cgroupInfo{Path: path}
	if path == "" {
		return info
	}
	info.Container = containerFromPath(path)
	if info.Container == nil {
		info.Unit = unitFromPath(path)
	}
	return info
}

// isHexID reports whether s looks like a container ID (hex, 12..64 digits).
func isHexID(s string) bool {
	if len(s) < 12 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func containerFromPath(path string) *attrib.Container {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	var c attrib.Container
	found := false
	for _, seg := range segs {
		// Kubernetes pod slices: kubepods-burstable-pod<uid>.slice,
		// kubepods-pod<uid>.slice (systemd driver, '_' for '-'), or
		// pod<uid> (cgroupfs driver).
		if strings.HasPrefix(seg, "kubepods") || strings.HasPrefix(seg, "pod") {
			if i := strings.LastIndex(seg, "pod"); i >= 0 {
				uid := strings.TrimSuffix(seg[i+3:], ".slice")
				if len(uid) == 36 {
					c.PodUID = strings.ReplaceAll(uid, "_", "-")
					found = true
				}
			}
		}
		prefixes := []struct{ pre, runtime string }{
			{"docker-", "docker"},
			{"cri-containerd-", "containerd"},
			{"crio-conmon-", "cri-o"},
			{"crio-", "cri-o"},
			{"libpod-conmon-", "podman"},
			{"libpod-", "podman"},
			{"containerd-", "containerd"},
		}
		for _, p := range prefixes {
			if rest, ok := strings.CutPrefix(seg, p.pre); ok {
				id := strings.TrimSuffix(rest, ".scope")
				if isHexID(id) {
					c.Runtime, c.ID = p.runtime, id
					found = true
				}
				break
			}
		}
		// cgroupfs layouts: /docker/<id>, /kubepods/.../<id>, /libpod_parent/libpod-<id>.
		if c.ID == "" && isHexID(seg) && len(seg) == 64 {
			c.ID = seg
			found = true
		}
	}
	if !found {
		return nil
	}
	if c.Runtime == "" {
		switch {
		case strings.Contains(path, "/docker/") || strings.HasPrefix(path, "/docker"):
			c.Runtime = "docker"
		case c.PodUID != "":
			c.Runtime = "kubernetes"
		case strings.Contains(path, "libpod"):
			c.Runtime = "podman"
		default:
			c.Runtime = "unknown"
		}
	}
	return &c
}

// unitFromPath returns the innermost systemd unit (.service or .scope) of a
// cgroup path, or "".
func unitFromPath(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i := len(segs) - 1; i >= 0; i-- {
		s := segs[i]
		if strings.HasSuffix(s, ".service") || strings.HasSuffix(s, ".scope") {
			return s
		}
	}
	return ""
}
