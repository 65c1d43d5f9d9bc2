package deploy

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// serveCaps are the capabilities serve uses (CAP_NET_RAW: capture;
// CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE: other users' /proc/PID/fd).
var serveCaps = []string{"NET_RAW", "DAC_READ_SEARCH", "SYS_PTRACE"}

// unit is a parsed systemd unit: section → key → values in file order.
type unit map[string]map[string][]string

func parseUnit(t *testing.T, b []byte) unit {
	t.Helper()
	u := unit{}
	sec := ""
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			sec = line[1 : len(line)-1]
			u[sec] = map[string][]string{}
		case strings.Contains(line, "=") && sec != "":
			k, v, _ := strings.Cut(line, "=")
			u[sec][k] = append(u[sec][k], v)
		default:
			t.Fatalf("line %d: not a section, key or comment: %q", n, line)
		}
	}
	return u
}

// one is the single value of key in section sec.
func (u unit) one(t *testing.T, sec, key string) string {
	t.Helper()
	v := u[sec][key]
	if len(v) != 1 {
		t.Errorf("[%s] %s: %d values %q, want one", sec, key, len(v), v)
		return ""
	}
	return v[0]
}

func capsOf(s string) []string {
	var out []string
	for _, f := range strings.Fields(s) {
		out = append(out, strings.TrimPrefix(f, "CAP_"))
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestSystemdUnit(t *testing.T) {
	b, err := os.ReadFile("netriage-serve.service")
	if err != nil {
		t.Fatal(err)
	}
	u := parseUnit(t, b)
	for _, sec := range []string{"Unit", "Service", "Install"} {
		if u[sec] == nil {
			t.Fatalf("no [%s] section", sec)
		}
	}
	want := map[string]string{
		"DynamicUser":             "yes",
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectControlGroups":    "yes",
		"RestrictNamespaces":      "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"SystemCallErrorNumber":   "EPERM",
		"Restart":                 "on-failure",
	}
	for k, v := range want {
		if got := u.one(t, "Service", k); got != v {
			t.Errorf("[Service] %s=%s, want %s", k, got, v)
		}
	}
	for _, k := range []string{"User", "Group", "PrivateUsers", "PrivateNetwork", "ProtectProc", "ProcSubset"} {
		if v, ok := u["Service"][k]; ok {
			t.Errorf("[Service] %s=%v: DynamicUser makes the user; the others would hide the host's network or processes from serve", k, v)
		}
	}
	amb := capsOf(u.one(t, "Service", "AmbientCapabilities"))
	bound := capsOf(u.one(t, "Service", "CapabilityBoundingSet"))
	if !slices.Equal(amb, sorted(serveCaps)) || !slices.Equal(bound, amb) {
		t.Errorf("AmbientCapabilities %v, CapabilityBoundingSet %v: want exactly %v in both", amb, bound, sorted(serveCaps))
	}
	fams := strings.Fields(u.one(t, "Service", "RestrictAddressFamilies"))
	for _, f := range []string{"AF_PACKET", "AF_NETLINK", "AF_INET", "AF_INET6"} {
		if !slices.Contains(fams, f) {
			t.Errorf("RestrictAddressFamilies lacks %s (capture, netlink, the listener)", f)
		}
	}
	exec := strings.Fields(u.one(t, "Service", "ExecStart"))
	if len(exec) < 2 || exec[0] != "/usr/local/bin/netriage" || exec[1] != "serve" {
		t.Fatalf("ExecStart %v: want /usr/local/bin/netriage serve ...", exec)
	}
	cfg := flagValue(exec, "--web.config.file")
	if !strings.HasPrefix(cfg, "%d/") {
		t.Errorf("--web.config.file %q: want a file of the credentials directory (%%d/...)", cfg)
	}
	var creds []string
	for _, c := range u["Service"]["LoadCredential"] {
		name, _, _ := strings.Cut(c, ":")
		creds = append(creds, name)
	}
	if !slices.Contains(creds, strings.TrimPrefix(cfg, "%d/")) {
		t.Errorf("--web.config.file %s is not one of the credentials %v", cfg, creds)
	}
	if l := flagValue(exec, "--web.listen-address"); !strings.HasSuffix(l, ":10099") {
		t.Errorf("--web.listen-address %q: want port 10099 (docs/fleet.md's scrape config)", l)
	}
	if u.one(t, "Install", "WantedBy") != "multi-user.target" {
		t.Errorf("WantedBy %v", u["Install"]["WantedBy"])
	}
}

// flagValue is the value of --name=V or --name V in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// TestSystemdAnalyzeVerify runs systemd-analyze verify on a copy of the
// unit whose ExecStart names an executable that exists here (this test's
// binary): verify checks that it does. Any message is a failure:
// verify warns about bad values (and ignores them) with exit status 0.
func TestSystemdAnalyzeVerify(t *testing.T) {
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze not found: install the Debian package systemd (sudo make deps) to verify netriage-serve.service")
	}
	b, err := os.ReadFile("netriage-serve.service")
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("ExecStart=/usr/local/bin/netriage ")) {
		t.Fatal("ExecStart does not start with /usr/local/bin/netriage")
	}
	b = bytes.ReplaceAll(b, []byte("ExecStart=/usr/local/bin/netriage "), []byte("ExecStart="+self+" "))
	path := filepath.Join(t.TempDir(), "netriage-serve.service")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(sa, "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure score, for docs/fleet.md (systemd 250 and later).
	if sec, err := exec.Command(sa, "security", "--offline=yes", path).CombinedOutput(); err == nil {
		if i := bytes.LastIndex(sec, []byte("Overall exposure level")); i >= 0 {
			t.Logf("systemd-analyze security: %s", bytes.TrimSpace(sec[i:]))
		}
	}
}

// daemonSet holds every field daemonset.yaml uses: it is decoded with
// KnownFields, so a key that is misspelt or misplaced fails the test.
type daemonSet struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   meta   `yaml:"metadata"`
	Spec       struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		UpdateStrategy struct {
			Type          string `yaml:"type"`
			RollingUpdate struct {
				MaxUnavailable string `yaml:"maxUnavailable"`
			} `yaml:"rollingUpdate"`
		} `yaml:"updateStrategy"`
		Template struct {
			Metadata meta `yaml:"metadata"`
			Spec     struct {
				HostNetwork                  bool   `yaml:"hostNetwork"`
				HostPID                      bool   `yaml:"hostPID"`
				DNSPolicy                    string `yaml:"dnsPolicy"`
				AutomountServiceAccountToken *bool  `yaml:"automountServiceAccountToken"`
				SecurityContext              struct {
					FSGroup *int64 `yaml:"fsGroup"`
				} `yaml:"securityContext"`
				Tolerations []struct {
					Operator string `yaml:"operator"`
				} `yaml:"tolerations"`
				Containers []container `yaml:"containers"`
				Volumes    []struct {
					Name   string `yaml:"name"`
					Secret struct {
						SecretName  string `yaml:"secretName"`
						DefaultMode int    `yaml:"defaultMode"`
					} `yaml:"secret"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type meta struct {
	Name        string            `yaml:"name"`
	Namespace   string            `yaml:"namespace"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
		Protocol      string `yaml:"protocol"`
	} `yaml:"ports"`
	Resources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		Privileged               *bool  `yaml:"privileged"`
		RunAsNonRoot             *bool  `yaml:"runAsNonRoot"`
		RunAsUser                *int64 `yaml:"runAsUser"`
		RunAsGroup               *int64 `yaml:"runAsGroup"`
		ReadOnlyRootFilesystem   bool   `yaml:"readOnlyRootFilesystem"`
		AllowPrivilegeEscalation *bool  `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
			Add  []string `yaml:"add"`
		} `yaml:"capabilities"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

func TestDaemonSet(t *testing.T) {
	f, err := os.Open("daemonset.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	dec.KnownFields(true)
	var ds daemonSet
	if err := dec.Decode(&ds); err != nil {
		t.Fatalf("daemonset.yaml: %v", err)
	}
	if ds.APIVersion != "apps/v1" || ds.Kind != "DaemonSet" || ds.Metadata.Name == "" {
		t.Errorf("%s %s %q: want an apps/v1 DaemonSet with a name", ds.APIVersion, ds.Kind, ds.Metadata.Name)
	}
	sel, tmpl := ds.Spec.Selector.MatchLabels, ds.Spec.Template.Metadata.Labels
	if len(sel) == 0 {
		t.Error("no selector")
	}
	for k, v := range sel {
		if tmpl[k] != v {
			t.Errorf("selector %s=%s does not match the template's labels %v", k, v, tmpl)
		}
	}
	ps := ds.Spec.Template.Spec
	if !ps.HostNetwork || !ps.HostPID {
		t.Errorf("hostNetwork %v, hostPID %v: serve needs the node's interfaces and processes", ps.HostNetwork, ps.HostPID)
	}
	if ps.DNSPolicy != "ClusterFirstWithHostNet" {
		t.Errorf("dnsPolicy %q with hostNetwork", ps.DNSPolicy)
	}
	if ps.AutomountServiceAccountToken == nil || *ps.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken: serve does not talk to the API server")
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	sc := c.SecurityContext
	if sc.Privileged == nil || *sc.Privileged {
		t.Error("privileged must be false, and said")
	}
	if sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser == 0 {
		t.Errorf("runAsNonRoot %v, runAsUser %v: want a non-root user", sc.RunAsNonRoot, sc.RunAsUser)
	}
	if !sc.ReadOnlyRootFilesystem || sc.SeccompProfile.Type != "RuntimeDefault" {
		t.Errorf("readOnlyRootFilesystem %v, seccomp %q", sc.ReadOnlyRootFilesystem, sc.SeccompProfile.Type)
	}
	// Non-root: the capabilities come from the binary's file
	// capabilities, which no_new_privs (allowPrivilegeEscalation: false)
	// would void; the bounding set is drop ALL plus serve's three.
	if sc.AllowPrivilegeEscalation == nil || !*sc.AllowPrivilegeEscalation {
		t.Error("allowPrivilegeEscalation must be true for a non-root user's file capabilities")
	}
	if !slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || !slices.Equal(sorted(sc.Capabilities.Add), sorted(serveCaps)) {
		t.Errorf("capabilities drop %v add %v: want drop [ALL], add exactly %v", sc.Capabilities.Drop, sc.Capabilities.Add, serveCaps)
	}
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %v: want serve ...", c.Args)
	}
	listen, cfg := flagValue(c.Args, "--web.listen-address"), flagValue(c.Args, "--web.config.file")
	if len(c.Ports) != 1 || !strings.HasSuffix(listen, ":10099") || c.Ports[0].ContainerPort != 10099 ||
		ds.Spec.Template.Metadata.Annotations["prometheus.io/port"] != "10099" {
		t.Errorf("listen %q, ports %+v, annotations %v: want 10099 in all three", listen, c.Ports, ds.Spec.Template.Metadata.Annotations)
	}
	mounted := false
	for _, m := range c.VolumeMounts {
		for _, v := range ps.Volumes {
			if v.Name == m.Name && v.Secret.SecretName != "" && m.ReadOnly && filepath.Dir(cfg) == m.MountPath {
				mounted = true
				if v.Secret.DefaultMode != 0o440 || ps.SecurityContext.FSGroup == nil {
					t.Errorf("the secret (mode %#o, fsGroup %v) is not readable by the pod's group", v.Secret.DefaultMode, ps.SecurityContext.FSGroup)
				}
			}
		}
	}
	if !mounted {
		t.Errorf("--web.config.file %s is not in a read-only secret volume", cfg)
	}
	if c.Resources.Limits["memory"] == "" {
		t.Error("no memory limit")
	}
}
