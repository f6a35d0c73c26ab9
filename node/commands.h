// terril-node's commands, one function each, called by node/main.cpp after
// the command line and config are parsed; and the few helpers they share.
// Each returns the process exit code (0 ok, 1 failure explained on stderr);
// output is for technicians (French, with English where the logs need it).
//
//   cmd_enrol   node/enrol_cmd.cpp    enrol this box with the hub
//   cmd_status  node/doctor_cmd.cpp   node id, pending changes, last sync, hub reachable
//   cmd_doctor  node/doctor_cmd.cpp   explain what needs a technician's action
//   cmd_serve, cmd_passwd             node/main.cpp
#pragma once

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/ops/cli_util.h"
#include "common/ops/config.h"
#include "common/ops/data_store.h"
#include "common/store/store.h"

namespace terril {

inline int node_fail(std::string_view message) {
  return fail("terril-node", message);
}

inline std::string node_password_path(const NodeConfig& c) {
  return data_file(c.data_dir, "staff.password");
}

// DATA_DIR/node.db, creating the private data folder if needed.
inline Result<std::unique_ptr<Store>> open_node_store(const NodeConfig& c, const std::string& origin) {
  StoreOptions o;
  o.origin = origin;
  return open_data_store(c.data_dir, "node.db", o, true);
}

// The last successful sync with the hub, persisted in the store's meta table
// by the serve loop (node/main.cpp) so that `status` sees what the web
// banner shows; ms since the epoch as decimal text.
inline constexpr std::string_view kLastSyncMeta = "last_sync_ms";

// The persisted last sync, 0 when never synced (or the value is unreadable).
inline int64_t stored_last_sync_ms(Store& st) {
  auto v = st.meta(kLastSyncMeta);
  if (!v || !*v) return 0;
  int64_t ms = 0;
  const std::string& s = **v;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ms);
  return ec == std::errc() && end == s.data() + s.size() ? ms : 0;
}

int cmd_enrol(NodeConfig cfg, const std::string& hub, const std::string& code, const std::string& fingerprint,
              bool as_json);
int cmd_status(const NodeConfig& cfg, bool as_json);
int cmd_doctor(const NodeConfig& cfg, bool as_json);

}  // namespace terril
