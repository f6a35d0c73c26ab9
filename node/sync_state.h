// What the node's sync client knows about its link to the hub, shared (on the
// node's single event-loop thread) with the HTTP API, the CLI status and the
// metrics. Plain values; the sync client is the only writer.
#pragma once

#include <cstdint>
#include <string>

namespace terril {

struct SyncState {
  bool enrolled = false;
  bool connected = false;  // handshake done, streaming
  std::string hub_url;
  std::string node_id;
  std::string centre_id;
  int64_t last_sync_ms = 0;      // last time the node and hub were caught up (0 = never)
  int64_t offline_since_ms = 0;  // when the link was last lost (0 = connected or never connected)
  std::string last_error;        // English, for technicians; empty when fine
  uint64_t reconnects = 0;
  uint64_t bytes_sent = 0;  // WebSocket payload bytes
  uint64_t bytes_received = 0;
  uint64_t changes_sent = 0;
  uint64_t changes_received = 0;
  int64_t clock_offset_ms = 0;  // hub time - local wall time, as last learned
  // Healing (docs/design.md "Replicas that heal"), since start.
  uint64_t repair_rounds = 0;  // anti-entropy rounds completed
  int64_t last_repair_ms = 0;  // end of the last round that moved records (0: none)
  uint64_t last_repair_pushed = 0, last_repair_pulled = 0, last_repair_purged = 0;
  int64_t last_check_ms = 0;    // end of the last round, whatever it found
  uint64_t repaired_total = 0;  // records moved either way, all rounds
  uint64_t renumbered = 0;      // unsent changes renumbered after an image restore
  uint64_t hub_lost = 0;        // own changes the hub had lost (restored hub), resent as records
  int64_t wiped_at_ms = 0;      // the hub said this box is revoked: personal data wiped then
  uint64_t wiped_count = 0;
};

}  // namespace terril
