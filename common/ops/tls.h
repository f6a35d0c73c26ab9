// Cryptographic helpers over OpenSSL 3: the hub's self-signed certificate,
// certificate fingerprints for pinning, HMAC-SHA256 for the handshake proof,
// randomness, and writing key material to disk (files and their private
// folders, never through a symbolic link).
//
// Pinning rule (enrolment and every sync): a node trusts the hub whose
// certificate's fingerprint equals the one saved at enrolment, whatever the
// chain, names or validity dates say (a Pi may boot in 1970).
//
// All functions are thread-safe. None logs.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <string_view>

#include "common/core/status.h"

namespace terril {

// Writes a new EC P-256 key and a self-signed X.509 v3 certificate for it:
// subject CN=`common_name`, SAN DNS:localhost, IP:127.0.0.1 and the common
// name (as IP: when it is an IP address, else DNS:), valid from one day ago
// for `days` days, SHA-256 signature. Files are PEM, written atomically: the
// key mode 0600 (PKCS#8, unencrypted), the certificate 0644. Missing parent
// folders are created (0700). Existing files are replaced. REQUIRES: days > 0, common_name non-empty.
// Errors: invalid (arguments), io (writing), internal (OpenSSL).
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
