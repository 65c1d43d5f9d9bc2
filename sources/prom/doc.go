// Package prom asks a Prometheus server instant PromQL queries over its
// HTTP API (github.com/prometheus/client_golang/api/prometheus/v1), for
// `netriage fleet`. It talks to that one server only, never to the hosts.
//
// # Limits
//
// Every query has a time-out (the connection, the TLS handshake, the
// response headers and the whole answer are bounded by it), redirects are
// not followed (credentials go to the server named, nowhere else) and an
// answer is read up to MaxResponseBytes.
//
// # Errors
//
// An unreachable server, a time-out, an HTTP error or an API error each
// give one line naming the server and the query; an API error carries the
// API's own error string (its type and message), cut to MaxErrorRunes and
// with control characters replaced, never the body of the response.
//
// # Credentials
//
// AuthFromEnv reads basic-auth or bearer-token credentials from the
// environment (NETRIAGE_PROMETHEUS_USERNAME and NETRIAGE_PROMETHEUS_PASSWORD,
// or NETRIAGE_PROMETHEUS_BEARER_TOKEN); TLS uses the system's roots, which
// Go lets SSL_CERT_FILE and SSL_CERT_DIR replace.
package prom
