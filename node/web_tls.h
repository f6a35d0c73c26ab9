// The certificate of the box's local web UI (issue 13, M3): which scheme
// `terril-node serve` uses on its `listen` address, making the self-signed
// pair (at enrolment, or at the first `serve` that needs one), and its
// fingerprint, which `status`, `doctor` and the login page's footer show so a
// technician can check it once per reception PC.
//
// The files are node_web_cert_path / node_web_key_path (common/ops/config.h):
// DATA_DIR/tls/web-cert.pem (0644) and web-key.pem (0600). Functions here
// read the system's host name and interface addresses, write files, and never
// log. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/ops/config.h"
#include "common/ops/tls.h"

namespace terril {

// How `serve` answers on c.listen:
//   https               off loopback (the default there)
//   plain_loopback      a loopback address (127.0.0.0/8, ::1): this box only
//   plain_off_loopback  off loopback with plain_http = true (serve warns, doctor reports)
// A name such as "localhost" is not resolved: it counts as off loopback.
// An unparsable listen (never after config validation) counts as off loopback.
enum class WebScheme { https, plain_loopback, plain_off_loopback };
WebScheme web_scheme(const NodeConfig& c);

// "https" or "http", for URLs and log lines.
const char* web_scheme_name(WebScheme s);

// What the certificate names: CN `node_id` (else the host name); SAN the
// host name, HOST.local when the host name has no dot (mDNS), the node id,
// localhost, 127.0.0.1 and `addresses`. Names that cannot be in a
// certificate are left out.
SelfSignedSpec web_certificate_spec(const std::string& node_id, const std::string& host_name,
                                    const std::vector<std::string>& addresses, int64_t now_ms);

// The addresses of this box's interfaces that are up, not loopback and not
// IPv6 link-local, as text (at most 16). Empty when they cannot be read
// (e.g. no netlink under the service's sandbox).
std::vector<std::string> local_addresses();

// Makes a new pair for this box (replacing any), valid from a year before
// `now_ms` for 10 years: the box has no battery-backed clock, so pass the
// hub-corrected time; a time before 2025 counts as 2025-01-01. Returns the
// new certificate's fingerprint (cert_fingerprint_pem form).
// Errors: invalid (DATA_DIR/tls or one of the files is a symbolic link:
// nothing is written through it), io, full (writing), internal (OpenSSL).
Result<std::string> make_web_certificate(const NodeConfig& c, const std::string& node_id, int64_t now_ms);

// The existing pair's fingerprint; makes the pair first when the certificate
// or the key is missing (a box enrolled before HTTPS existed). Errors: those
// of make_web_certificate; invalid when the certificate is not PEM.
Result<std::string> ensure_web_certificate(const NodeConfig& c, const std::string& node_id, int64_t now_ms);

// The certificate's fingerprint, nullopt when there is no certificate file.
// Errors: io (unreadable), invalid (not PEM).
Result<std::optional<std::string>> web_fingerprint(const NodeConfig& c);

}  // namespace terril
