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
};

}  // namespace terril
