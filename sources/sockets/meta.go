package sockets

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v3/common"
	"github.com/shirou/gopsutil/v3/process"

	"netriage/triage/attrib"
)

// metaCache reads process metadata once per (PID, start time).
type metaCache struct {
	fs    *procFS
	ctx   context.Context
	procs map[attrib.ProcKey]*attrib.Process
	users map[uint32]string
}

func newMetaCache(fs *procFS) *metaCache {
	ctx := context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: fs.root})
	return &metaCache{fs: fs, ctx: ctx, procs: map[attrib.ProcKey]*attrib.Process{}, users: map[uint32]string{}}
}

// get returns the metadata of k, reading it on first use. A process that
// exits meanwhile still gets a row, marked incomplete.
func (m *metaCache) get(k attrib.ProcKey, pi *pidInfo) *attrib.Process {
	if p := m.procs[k]; p != nil {
		return p
	}
	p := &attrib.Process{Key: k, UID: pi.uid, Netns: pi.netns}
	var missing []string
	gp, err := process.NewProcessWithContext(m.ctx, k.PID)
	if err != nil && !errors.Is(err, process.ErrorProcessNotRunning) {
		missing = append(missing, "process: "+err.Error())
	}
	if gp != nil {
		if name, err := gp.NameWithContext(m.ctx); err == nil {
			p.Program = name
		} else {
			missing = append(missing, "name")
		}
		if cl, err := gp.CmdlineWithContext(m.ctx); err == nil {
			p.Cmdline = cl
		} else {
			missing = append(missing, "cmdline")
		}
		if ms, err := gp.CreateTimeWithContext(m.ctx); err == nil && ms > 0 {
			p.StartTime = time.UnixMilli(ms).UTC()
		} else {
			missing = append(missing, "start time")
		}
		if u, ok := m.users[pi.uid]; ok {
			p.User = u
		} else if u, err := gp.UsernameWithContext(m.ctx); err == nil {
			p.User = u
			m.users[pi.uid] = u
		} else {
			p.User = fmt.Sprint(pi.uid)
			m.users[pi.uid] = p.User
		}
	}
	if b, err := m.fs.readFile(k.PID, "cgroup"); err == nil {
		cg := parseCgroup(b)
		p.Cgroup, p.Container, p.Unit = cg.Path, cg.Container, cg.Unit
	} else {
		missing = append(missing, "cgroup")
	}
	if pi.unreadable {
		missing = append(missing, "fds (permission: needs CAP_DAC_READ_SEARCH and CAP_SYS_PTRACE)")
	}
	if len(missing) > 0 {
		p.Incomplete = "unreadable: " + strings.Join(missing, ", ")
	}
	m.procs[k] = p
	return p
}

// prune forgets processes whose key is not live.
func (m *metaCache) prune(live func(attrib.ProcKey) bool) {
	for k := range m.procs {
		if !live(k) {
			delete(m.procs, k)
		}
	}
}
