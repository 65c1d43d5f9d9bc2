package configs

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"

	"golang.org/x/crypto/bcrypt"
	"gopkg.in/yaml.v3"
)

// WebConfig is a web configuration file (--web.config.file of `netriage
// serve`), in the format of the Prometheus exporters'
// (github.com/prometheus/exporter-toolkit): TLS in tls_server_config,
// response headers and HTTP/2 in http_server_config, and basic_auth_users
// with bcrypt hashes. The file and the files it names are opened with the
// user's own rights, once at start; certificate files are read again at
// each TLS handshake, so a renewed certificate is served without a restart.
type WebConfig struct {
	// TLS is nil when the file asks for no TLS.
	TLS *tls.Config
	// HTTP2 is http_server_config.http2 (default true; with TLS only).
	HTTP2 bool
	// Headers are the response headers to add.
	Headers map[string]string
	// Users maps basic-auth user names to bcrypt hashes; empty: no auth.
	Users map[string]string
}

// webFile is the file's YAML. The maps are nodes, so that an error can
// name a line without quoting a name or a hash.
type webFile struct {
	TLS   webTLS    `yaml:"tls_server_config"`
	HTTP  webHTTP   `yaml:"http_server_config"`
	Users yaml.Node `yaml:"basic_auth_users"`
}

type webTLS struct {
	Cert                     string   `yaml:"cert"`
	Key                      string   `yaml:"key"`
	ClientCA                 string   `yaml:"client_ca"`
	CertFile                 string   `yaml:"cert_file"`
	KeyFile                  string   `yaml:"key_file"`
	ClientCAFile             string   `yaml:"client_ca_file"`
	ClientAuthType           string   `yaml:"client_auth_type"`
	CipherSuites             []string `yaml:"cipher_suites"`
	CurvePreferences         []string `yaml:"curve_preferences"`
	MinVersion               string   `yaml:"min_version"`
	MaxVersion               string   `yaml:"max_version"`
	PreferServerCipherSuites bool     `yaml:"prefer_server_cipher_suites"` // accepted, without effect (as in Go's crypto/tls)
	ClientAllowedSANs        []string `yaml:"client_allowed_sans"`
}

type webHTTP struct {
	HTTP2   *bool     `yaml:"http2"`
	Headers yaml.Node `yaml:"headers"`
}

// The values the exporter-toolkit format accepts.
var (
	tlsVersions = map[string]uint16{"TLS10": tls.VersionTLS10, "TLS11": tls.VersionTLS11, "TLS12": tls.VersionTLS12, "TLS13": tls.VersionTLS13}
	tlsCurves   = map[string]tls.CurveID{"CurveP256": tls.CurveP256, "CurveP384": tls.CurveP384, "CurveP521": tls.CurveP521, "X25519": tls.X25519}
	clientAuths = map[string]tls.ClientAuthType{"": tls.NoClientCert, "NoClientCert": tls.NoClientCert, "RequestClientCert": tls.RequestClientCert,
		"RequireAnyClientCert": tls.RequireAnyClientCert, "RequireClientCert": tls.RequireAnyClientCert,
		"VerifyClientCertIfGiven": tls.VerifyClientCertIfGiven, "RequireAndVerifyClientCert": tls.RequireAndVerifyClientCert}
	// webHeaders are the headers the file may set, with their allowed
	// values (nil: any).
	webHeaders = map[string][]string{"Strict-Transport-Security": nil, "X-Content-Type-Options": {"nosniff"},
		"X-Frame-Options": {"deny", "sameorigin"}, "X-XSS-Protection": nil, "Content-Security-Policy": nil}
)

// LoadWebConfig reads the web configuration file at path, opened with
// open (privs.OpenUser in the binary: netriage may run with capabilities
// that read any file), and the certificate and key files it names,
// relative to its directory; an empty path is no file (plain HTTP, no
// auth). Errors name the file, the key and, where there is one, the line;
// they never quote the file's text.
func LoadWebConfig(path string, open Opener) (WebConfig, error) {
	if path == "" {
		return WebConfig{}, nil
	}
	fail := func(format string, a ...any) (WebConfig, error) {
		return WebConfig{}, Usagef("web config %s: %s", path, fmt.Sprintf(format, a...))
	}
	data, err := readUser(path, open)
	if err != nil {
		return fail("%v (check --web.config.file)", err)
	}
	var f webFile
	if len(bytes.TrimSpace(data)) > 0 {
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
			return fail("%s", decodeMessageIn(err, reflect.TypeOf(webFile{})))
		}
	}
	wc := WebConfig{HTTP2: f.HTTP.HTTP2 == nil || *f.HTTP.HTTP2}
	if wc.Users, err = nodeMap(&f.Users, "basic_auth_users", checkHash); err != nil {
		return fail("%v", err)
	}
	if wc.Headers, err = nodeMap(&f.HTTP.Headers, "http_server_config.headers", nil); err != nil {
		return fail("%v", err)
	}
	if err := checkHeaders(wc.Headers); err != nil {
		return fail("%v", err)
	}
	if wc.TLS, err = f.TLS.config(filepath.Dir(path), open); err != nil {
		return fail("%v", err)
	}
	return wc, nil
}

// readUser reads a user-named file of at most 1 MiB with open.
func readUser(path string, open Opener) ([]byte, error) {
	fh, err := open(path)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("cannot open it: %w", pe.Err)
		}
		return nil, err
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, 1<<20+1))
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read it: %w", err)
	}
	if len(data) > 1<<20 {
		return nil, errors.New("larger than 1 MiB; is this the right file?")
	}
	return data, nil
}

// nodeMap reads a mapping of strings, checking each value with check. An
// error names key and the entry's line, not its text.
func nodeMap(n *yaml.Node, key string, check func(string) error) (map[string]string, error) {
	if n.Kind == 0 || n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("line %d: %s: want a section of name: value lines", n.Line, key)
	}
	out := map[string]string{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			return nil, fmt.Errorf("line %d: %s: want name: value", k.Line, key)
		}
		if _, dup := out[k.Value]; dup {
			return nil, fmt.Errorf("line %d: %s: a name given twice", k.Line, key)
		}
		if check != nil {
			if err := check(v.Value); err != nil {
				return nil, fmt.Errorf("line %d: %s: %v", v.Line, key, err)
			}
		}
		out[k.Value] = v.Value
	}
	return out, nil
}

func checkHash(h string) error {
	if _, err := bcrypt.Cost([]byte(h)); err != nil {
		return errors.New(`the password is not a bcrypt hash (make one with: htpasswd -nBC 10 "" | tr -d ':\n')`)
	}
	return nil
}

func checkHeaders(h map[string]string) error {
	names := make([]string, 0, len(webHeaders))
	for n := range webHeaders {
		names = append(names, n)
	}
	slices.Sort(names)
	for k, v := range h {
		allowed, ok := webHeaders[k]
		if !ok {
			return fmt.Errorf("http_server_config.headers: a header that cannot be set (allowed: %s)", strings.Join(names, ", "))
		}
		if allowed != nil && !slices.Contains(allowed, v) {
			return fmt.Errorf("http_server_config.headers.%s: not an allowed value (use %s)", k, strings.Join(allowed, " or "))
		}
	}
	return nil
}

// enabled reports whether any TLS key is set.
func (t *webTLS) enabled() bool {
	return t.Cert != "" || t.Key != "" || t.CertFile != "" || t.KeyFile != "" || t.ClientCA != "" || t.ClientCAFile != "" || t.ClientAuthType != ""
}

// config builds the TLS configuration, nil when no TLS key is set, as
// exporter-toolkit does: TLS 1.2 to 1.3 unless set, the cipher suites and
// curves by their crypto/tls names, client certificates checked against
// the client CA and, when given, the allowed SANs.
func (t *webTLS) config(dir string, open Opener) (*tls.Config, error) {
	if !t.enabled() {
		return nil, nil
	}
	const sec = "tls_server_config"
	switch {
	case t.Cert == "" && t.CertFile == "":
		return nil, fmt.Errorf("%s: cert_file (or cert) is missing", sec)
	case t.Key == "" && t.KeyFile == "":
		return nil, fmt.Errorf("%s: key_file (or key) is missing", sec)
	case t.Cert != "" && t.CertFile != "", t.Key != "" && t.KeyFile != "", t.ClientCA != "" && t.ClientCAFile != "":
		return nil, fmt.Errorf("%s: give a certificate, key or client CA either inline or as a file, not both", sec)
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS13}
	for _, v := range []struct {
		key, val string
		dst      *uint16
	}{{"min_version", t.MinVersion, &c.MinVersion}, {"max_version", t.MaxVersion, &c.MaxVersion}} {
		if v.val == "" {
			continue
		}
		var ok bool
		if *v.dst, ok = tlsVersions[v.val]; !ok {
			return nil, fmt.Errorf("%s.%s: not a TLS version (use TLS10, TLS11, TLS12 or TLS13)", sec, v.key)
		}
	}
	if c.MinVersion > c.MaxVersion {
		return nil, fmt.Errorf("%s: min_version is above max_version", sec)
	}
	for i, name := range t.CipherSuites {
		id, ok := cipherID(name)
		if !ok {
			return nil, fmt.Errorf("%s.cipher_suites: entry %d is not a cipher suite of Go's crypto/tls (e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)", sec, i+1)
		}
		c.CipherSuites = append(c.CipherSuites, id)
	}
	for i, name := range t.CurvePreferences {
		id, ok := tlsCurves[name]
		if !ok {
			return nil, fmt.Errorf("%s.curve_preferences: entry %d is not a known curve (use CurveP256, CurveP384, CurveP521 or X25519)", sec, i+1)
		}
		c.CurvePreferences = append(c.CurvePreferences, id)
	}
	auth, ok := clientAuths[t.ClientAuthType]
	if !ok {
		return nil, fmt.Errorf("%s.client_auth_type: not a known type (use NoClientCert, RequestClientCert, RequireAnyClientCert, VerifyClientCertIfGiven or RequireAndVerifyClientCert)", sec)
	}
	c.ClientAuth = auth
	join := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	kp := &keyPair{certFile: join(t.CertFile), keyFile: join(t.KeyFile), cert: []byte(t.Cert), key: []byte(t.Key), open: open}
	if err := kp.load(); err != nil {
		return nil, fmt.Errorf("%s: %w", sec, err)
	}
	c.GetCertificate = kp.get
	if t.ClientCA != "" || t.ClientCAFile != "" {
		if auth == tls.NoClientCert {
			return nil, fmt.Errorf("%s: a client CA is given without client_auth_type", sec)
		}
		pem := []byte(t.ClientCA)
		if t.ClientCAFile != "" {
			var err error
			if pem, err = readUser(join(t.ClientCAFile), open); err != nil {
				return nil, fmt.Errorf("%s.client_ca_file: %w", sec, err)
			}
		}
		c.ClientCAs = x509.NewCertPool()
		if !c.ClientCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: the client CA holds no PEM certificate", sec)
		}
	}
	if sans := t.ClientAllowedSANs; len(sans) > 0 {
		c.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error { return checkSANs(raw, sans) }
	}
	return c, nil
}

func cipherID(name string) (uint16, bool) {
	for _, cs := range tls.CipherSuites() {
		if cs.Name == name {
			return cs.ID, true
		}
	}
	return 0, false
}

// checkSANs accepts a client certificate with one of the allowed subject
// alternative names (DNS, e-mail, IP or URI).
func checkSANs(raw [][]byte, allowed []string) error {
	if len(raw) == 0 {
		return errors.New("no client certificate")
	}
	cert, err := x509.ParseCertificate(raw[0])
	if err != nil {
		return fmt.Errorf("client certificate: %w", err)
	}
	names := slices.Concat(cert.DNSNames, cert.EmailAddresses)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	for _, u := range cert.URIs {
		names = append(names, u.String())
	}
	for _, n := range names {
		if slices.Contains(allowed, n) {
			return nil
		}
	}
	return errors.New("client certificate: no allowed subject alternative name")
}

// keyPair is the server certificate: read from its files again at each
// handshake (a renewed certificate is served at once), the last good one
// kept when a read fails.
type keyPair struct {
	certFile, keyFile string
	cert, key         []byte // inline PEM, when no file
	open              Opener

	mu   sync.Mutex
	last *tls.Certificate
}

func (k *keyPair) load() error {
	certPEM, keyPEM := k.cert, k.key
	var err error
	if k.certFile != "" {
		if certPEM, err = readUser(k.certFile, k.open); err != nil {
			return fmt.Errorf("cert_file: %w", err)
		}
	}
	if k.keyFile != "" {
		if keyPEM, err = readUser(k.keyFile, k.open); err != nil {
			return fmt.Errorf("key_file: %w", err)
		}
	}
	// The messages of X509KeyPair describe the PEM blocks, never their
	// bytes.
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return fmt.Errorf("certificate and key: %w", err)
	}
	k.mu.Lock()
	k.last = &c
	k.mu.Unlock()
	return nil
}

func (k *keyPair) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if k.certFile != "" || k.keyFile != "" {
		_ = k.load() // a failed reload keeps serving the last good pair
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.last, nil
}
