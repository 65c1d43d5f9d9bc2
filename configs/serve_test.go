package configs

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestServeSection(t *testing.T) {
	if err := DefaultServe().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"top_k", "serve:\n  talkers:\n    top_k: 0\n", []string{"serve.talkers.top_k", "out of range (1..500)"}},
		{"keep_rank below top_k", "serve:\n  talkers:\n    top_k: 10\n    keep_rank: 5\n", []string{"serve.talkers.keep_rank", "top_k..500"}},
		{"keep_rank too high", "serve:\n  talkers:\n    keep_rank: 5000\n", []string{"serve.talkers.keep_rank"}},
		{"min_share", "serve:\n  talkers:\n    min_share: 1\n", []string{"serve.talkers.min_share"}},
		{"idle", "serve:\n  talkers:\n    idle: 10ms\n", []string{"serve.talkers.idle", "1s..24h"}},
		{"address", "serve:\n  listen_address: nowhere\n", []string{"serve.listen_address", "HOST:PORT"}},
		{"port", "serve:\n  listen_address: 127.0.0.1:99999\n", []string{"serve.listen_address", "0 to 65535"}},
		{"typo", "serve:\n  talkers:\n    topk: 3\n", []string{"line 3", "unknown key in section serve.talkers", "did you mean top_k?"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("test.yaml", strings.NewReader(tc.in))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, quoted := range []string{"nowhere", "99999"} {
				if strings.Contains(err.Error(), quoted) {
					t.Errorf("error %q quotes the file", err)
				}
			}
		})
	}
	cfg, err := Parse("test.yaml", strings.NewReader("serve:\n  listen_address: '[::1]:0'\n  talkers:\n    top_k: 3\n    keep_rank: 3\n    min_share: 0\n"))
	if err != nil || cfg.Serve.ListenAddress != "[::1]:0" || cfg.Serve.Talkers.TopK != 3 || cfg.Serve.Talkers.Idle != DefaultServe().Talkers.Idle {
		t.Errorf("parse: %+v, %v", cfg.Serve, err)
	}
}

// writeCert writes a self-signed certificate and its key (PEM) to dir.
func writeCert(t *testing.T, dir string) (certPath, keyPath string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "netriage test"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<33, 0), DNSNames: []string{"localhost"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	write(t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})))
	return certPath, keyPath
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A hash of "secret" at cost 4 (fast for tests).
const testHash = "$2a$04$IQxKE8xwOua.s3NLTmYCd.A6IS4i/OOmUkcOl6omUqfGoVBmaN8ry"

func TestLoadWebConfig(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	var opened []string
	open := func(p string) (*os.File, error) {
		opened = append(opened, filepath.Base(p))
		return os.Open(p)
	}
	path := filepath.Join(dir, "web.yml")
	write(t, path, `tls_server_config:
  cert_file: cert.pem
  key_file: key.pem
  min_version: TLS13
  cipher_suites: [TLS_AES_128_GCM_SHA256]
  curve_preferences: [X25519]
http_server_config:
  http2: false
  headers:
    X-Frame-Options: deny
basic_auth_users:
  prometheus: `+testHash+"\n")
	wc, err := LoadWebConfig(path, open)
	if err != nil {
		t.Fatal(err)
	}
	if wc.TLS == nil || wc.TLS.MinVersion != tls.VersionTLS13 || wc.TLS.MaxVersion != tls.VersionTLS13 || wc.HTTP2 || len(wc.TLS.CurvePreferences) != 1 {
		t.Errorf("TLS %+v, http2 %v", wc.TLS, wc.HTTP2)
	}
	if wc.Users["prometheus"] != testHash || wc.Headers["X-Frame-Options"] != "deny" {
		t.Errorf("users %v, headers %v", wc.Users, wc.Headers)
	}
	// Every file, the certificate's included, is opened through open (the
	// user's own rights in the binary), relative to the config's folder.
	if strings.Join(opened, " ") != "web.yml cert.pem key.pem" {
		t.Errorf("opened %v", opened)
	}
	if c, err := wc.TLS.GetCertificate(nil); err != nil || c == nil {
		t.Errorf("certificate: %v, %v", c, err)
	}
	if strings.Join(opened, " ") != "web.yml cert.pem key.pem cert.pem key.pem" {
		t.Errorf("a handshake did not read the certificate again: %v", opened)
	}
	// A failed reload keeps the last good pair.
	if err := os.Remove(filepath.Join(dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	if c, err := wc.TLS.GetCertificate(nil); err != nil || c == nil {
		t.Errorf("after a failed reload: %v, %v", c, err)
	}

	write(t, path, "basic_auth_users:\n  a: "+testHash+"\n")
	if wc, err := LoadWebConfig(path, os.Open); err != nil || wc.TLS != nil || !wc.HTTP2 || len(wc.Users) != 1 {
		t.Errorf("auth only: %+v, %v", wc, err)
	}
	write(t, path, "")
	if wc, err := LoadWebConfig(path, os.Open); err != nil || wc.TLS != nil || wc.Users != nil {
		t.Errorf("empty file: %+v, %v", wc, err)
	}
}

func TestLoadWebConfigErrors(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir)
	write(t, filepath.Join(dir, "junk.pem"), "SECRET-NOT-PEM\n")
	tests := []struct {
		name   string
		in     string
		want   []string
		absent []string
	}{
		{"unknown key", "tls_server_config:\n  cert_file: cert.pem\n  rate_limit: 3\n", []string{"line 3", "unknown key in section tls_server_config", "keys there: cert, cert_file"}, []string{"rate_limit"}},
		{"typo at the top", "basic_auth_user:\n  a: b\n", []string{"line 1", "did you mean basic_auth_users?"}, []string{"basic_auth_user:"}},
		{"not a hash", "basic_auth_users:\n  alice: hunter2\n", []string{"line 2", "basic_auth_users", "not a bcrypt hash", "htpasswd"}, []string{"alice", "hunter2"}},
		{"users not a map", "basic_auth_users: [a, b]\n", []string{"basic_auth_users", "section"}, nil},
		{"header not allowed", "http_server_config:\n  headers:\n    X-Evil: SECRET\n", []string{"http_server_config.headers", "cannot be set", "allowed: Content-Security-Policy"}, []string{"X-Evil", "SECRET"}},
		{"header value", "http_server_config:\n  headers:\n    X-Frame-Options: SECRET\n", []string{"http_server_config.headers.X-Frame-Options", "deny or sameorigin"}, []string{"SECRET"}},
		{"no key", "tls_server_config:\n  cert_file: cert.pem\n", []string{"tls_server_config: key_file (or key) is missing"}, nil},
		{"no cert", "tls_server_config:\n  key_file: key.pem\n", []string{"tls_server_config: cert_file (or cert) is missing"}, nil},
		{"version", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: SECRET\n", []string{"tls_server_config.min_version", "TLS12"}, []string{"SECRET"}},
		{"versions crossed", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  min_version: TLS13\n  max_version: TLS12\n", []string{"min_version is above max_version"}, nil},
		{"cipher", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  cipher_suites: [SECRET]\n", []string{"tls_server_config.cipher_suites: entry 1"}, []string{"SECRET"}},
		{"curve", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  curve_preferences: [X25519, SECRET]\n", []string{"tls_server_config.curve_preferences: entry 2"}, []string{"SECRET"}},
		{"client auth", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: SECRET\n", []string{"tls_server_config.client_auth_type", "RequireAndVerifyClientCert"}, []string{"SECRET"}},
		{"client CA without auth", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_ca_file: cert.pem\n", []string{"client CA is given without client_auth_type"}, nil},
		{"client CA not PEM", "tls_server_config:\n  cert_file: cert.pem\n  key_file: key.pem\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: junk.pem\n", []string{"client CA holds no PEM"}, []string{"SECRET"}},
		{"missing cert file", "tls_server_config:\n  cert_file: nope.pem\n  key_file: key.pem\n", []string{"tls_server_config: cert_file: cannot open it", "no such file"}, []string{"nope.pem"}},
		{"key not PEM", "tls_server_config:\n  cert_file: cert.pem\n  key_file: junk.pem\n", []string{"tls_server_config: certificate and key"}, []string{"SECRET"}},
		{"wrong type", "http_server_config:\n  http2: SECRET\n", []string{"line 2", "wrong type", "true or false"}, []string{"SECRET"}},
		// A file that is no web config at all, e.g. /etc/shadow given as
		// --web.config.file.
		{"not a config", "root:$y$j9T$SECRETSALT$SECRETHASH:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n", []string{"lines 1 and 2: unknown key in the top level"}, []string{"root", "SECRET", "19000", "bin"}},
		{"syntax", "tls_server_config: [SECRET\n", []string{"web.yml"}, []string{"SECRET"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "web.yml")
			write(t, path, tc.in)
			_, err := LoadWebConfig(path, os.Open)
			if err == nil {
				t.Fatal("want an error")
			}
			if !errors.Is(err, ErrUsage) {
				t.Errorf("%v is not a usage error", err)
			}
			for _, w := range append(tc.want, "web config "+path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(err.Error(), a) {
					t.Errorf("error %q quotes the file's %q", err, a)
				}
			}
		})
	}
	if _, err := LoadWebConfig(filepath.Join(dir, "absent.yml"), os.Open); err == nil || !strings.Contains(err.Error(), "cannot open it: no such file") {
		t.Errorf("absent file: %v", err)
	}
}
