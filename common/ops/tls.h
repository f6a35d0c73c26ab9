// Cryptographic helpers over OpenSSL 3: self-signed certificates (the hub's,
// and the one of each box's local web UI), certificate fingerprints for
// pinning, HMAC-SHA256 for the handshake proof, randomness, and writing key
// material to disk (files and their private folders, never through a
// symbolic link).
//
// Pinning rule (enrolment and every sync): a node trusts the hub whose
// certificate's fingerprint equals the one saved at enrolment, whatever the
// chain, names or validity dates say (a Pi may boot in 1970).
//
// All functions are thread-safe. None logs.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"

namespace terril {

// What a self-signed certificate names and how long it lives.
struct SelfSignedSpec {
  std::string common_name;                // subject CN, 1..64 characters
  std::vector<std::string> dns_names;     // SAN DNS: entries besides localhost (letters, digits, . - _)
  std::vector<std::string> ip_addresses;  // SAN IP: entries besides 127.0.0.1 (IPv4 or IPv6 text)
  int64_t now_s = 0;                      // Unix seconds the validity counts from; 0 = the system clock
  int backdate_days = 1;                  // notBefore = now - this (clocks behind); >= 0
  int days = 0;                           // notAfter = now + this; > 0
};

// Writes a new EC P-256 key and a self-signed X.509 v3 certificate for it
// (serverAuth, CA:FALSE, SHA-256 signature): subject CN=spec.common_name;
// SAN DNS:localhost, IP:127.0.0.1, the common name (as IP: when it is an IP
// address, else DNS:), then spec's names and addresses, each once. Files are
// PEM, written atomically: the key mode 0600 (PKCS#8, unencrypted), the
// certificate 0644. Missing parent folders are created (0700). Existing
// files are replaced (key first: a certificate on disk always has its key).
// Errors: invalid (days <= 0, backdate_days < 0, common name empty or over
// 64 characters, a DNS name with other characters, an address inet_pton
// refuses), io (writing), internal (OpenSSL).
Status generate_self_signed(const std::string& cert_path, const std::string& key_path, const SelfSignedSpec& spec);

// A name generate_self_signed accepts in SelfSignedSpec::dns_names: 1..253
// letters, digits, '.', '-' or '_' (so never a ',' that would split the SAN list).
bool valid_certificate_dns_name(std::string_view s);

// The hub's form: CN=`common_name`, valid from one day ago for `days` days,
// by the system clock.
Status generate_self_signed(const std::string& cert_path, const std::string& key_path, const std::string& common_name,
                            int days);

// SHA-256 of the DER encoding of the first certificate in the PEM file `path`,
// as 32 uppercase hex pairs joined by ':' (95 characters), the form
// `openssl x509 -fingerprint -sha256` prints. Errors: io, invalid (not PEM).
Result<std::string> cert_fingerprint_pem(const std::string& path);

// The same fingerprint for a DER-encoded certificate (e.g. from i2d_X509 of
// the peer certificate).
std::string fingerprint_der(const unsigned char* der, size_t len);

// True when `s` has the fingerprint form above (uppercase hex pairs).
bool valid_fingerprint(std::string_view s);
// What a technician may type or scan, in the form above: case ignored,
// colons, dashes and spaces optional ("ab cd..." or 64 hex digits). Text
// that is not 64 hex digits is returned as given (upper-cased), so that
// valid_fingerprint() refuses it.
std::string normalise_fingerprint(std::string_view s);

// HMAC-SHA256(key, data): 32 raw bytes.
std::string hmac_sha256(std::string_view key, std::string_view data);

// SHA-256(data): 32 raw bytes.
std::string sha256(std::string_view data);

// Compares in time that depends only on the lengths (which are not secret:
// a proof is always 32 bytes). False when the lengths differ.
bool constant_time_equal(std::string_view a, std::string_view b);

// `n` bytes from the OpenSSL CSPRNG (RAND_bytes). Errors: internal (the
// generator is not seeded; should never happen on Linux).
Result<std::string> random_bytes(size_t n);

// Lowercase hex of raw bytes, and back. from_hex accepts either case and
// fails (invalid) on odd length or a non-hex character.
std::string to_hex(std::string_view bytes);
Result<std::string> from_hex(std::string_view hex);

// Writes `data` to `path` atomically: a temporary file in the same folder,
// created with `mode` (and fchmod'ed to it, whatever the umask), written,
// fsync'ed, renamed over `path`, then the folder fsync'ed. After an ok
// return the new content is on disk; after a crash either the old or the new
// file is there, never a mix. Errors: io (with errno text), full (ENOSPC).
// Never follows a symbolic link: a stale temporary file (or a name planted
// there) is removed first and the new one created with O_EXCL|O_NOFOLLOW.
Status write_file_atomic(const std::string& path, std::string_view data, mode_t mode);

// chmod 0700 of the folder `dir` through a descriptor opened with
// O_DIRECTORY|O_NOFOLLOW: a symbolic link (a folder planted by the service
// user under a command run as root, or an admin's symlinked data folder) is
// left as it is, never its target. Missing folder: nothing done. Never fails.
void restrict_dir(const std::string& dir);

}  // namespace terril
