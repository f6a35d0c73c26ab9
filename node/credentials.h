// The node's credentials: what `terril-node enrol` receives from the hub and
// `serve` needs to sync. One file, DATA_DIR/credentials.toml, readable by the
// node's own user only (0600):
//
//   # terril-node credentials. Secret: keep this file mode 0600.
//   centre_id = 'cs-exemple'
//   enrolled_at = 2024-05-01T12:00:00.000Z     # hub time, UTC
//   hub_fingerprint = 'AB:CD:...'              # SHA-256 of the hub's certificate (pinned)
//   hub_id = '...'
//   hub_url = 'wss://hub.example:8443'
//   node_id = 'cs-exemple-1'
//   node_secret = '64 hex digits'              # 32 bytes, key of the HMAC proof
//
// Thread-safe (no shared state). Never log node_secret.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/core/status.h"

namespace terril {

inline constexpr const char* kCredentialsFile = "credentials.toml";

struct Credentials {
  std::string node_id;          // valid_node_id
  std::string node_secret;      // 32 raw bytes (hex in the file)
  std::string centre_id;        // valid_slug
  std::string hub_url;          // ws:// or wss://
  std::string hub_id;           // the hub's identity, from Challenge/Enrolled
  std::string hub_fingerprint;  // cert_fingerprint form; empty only for an insecure (ws://) hub
  int64_t enrolled_at_ms = 0;   // Unix ms, hub time

  // Set by load_credentials, ignored by save: the file is readable or
  // writable by group or others (a technician's `doctor` reports it; the
  // node still runs).
  bool loose_permissions = false;
};

// Writes DATA_DIR/credentials.toml atomically (temporary file, fsync, rename,
// folder fsync) with mode 0600 whatever the umask; creates `dir` (mode 0700)
// if missing. Errors: invalid (a field fails the checks above), io, full.
Status save_credentials(const std::string& dir, const Credentials& c);

// Reads DATA_DIR/credentials.toml. nullopt when the file does not exist (not
// enrolled yet). Errors: io (unreadable), invalid (syntax, missing or bad
// field, unknown key; the message names the file and key, never the secret).
Result<std::optional<Credentials>> load_credentials(const std::string& dir);

}  // namespace terril
