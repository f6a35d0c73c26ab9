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
// `centre`: the enrolled centre, for whom the seat rules act ("" before enrolment).
inline Result<std::unique_ptr<Store>> open_node_store(const NodeConfig& c, const std::string& origin,
                                                      const std::string& centre = {}) {
  StoreOptions o;
  o.origin = origin;
  o.centre = centre;
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

// "1" while an erasure's WAL checkpoint has not succeeded yet (the serve
// loop retries it each tick and records the state here for `doctor`).
inline constexpr std::string_view kErasePendingMeta = "erase_checkpoint_pending";

// What healing did here (docs/design.md "Replicas that heal"), from the
// store's meta: the last repair round that moved records (written by the
// sync link, "last_repair" = "at_ms,sent,received,purged") and the wipe
// after a revocation ("wiped_at", "wiped_count", written by the store).
struct HealInfo {
  int64_t last_repair_ms = 0;
  uint64_t sent = 0, received = 0, purged = 0;
  int64_t wiped_at_ms = 0;
  uint64_t wiped_count = 0;
};

inline HealInfo stored_heal_info(Store& st) {
  HealInfo h;
  auto num = [](std::string_view s, auto& out) { std::from_chars(s.data(), s.data() + s.size(), out); };
  if (auto v = st.meta("last_repair"); v && *v) {
    std::string_view s = **v;
    uint64_t parts[4] = {};
    for (size_t i = 0; i < 4; ++i) {
      const size_t comma = s.find(',');
      num(s.substr(0, comma), parts[i]);
      if (comma == std::string_view::npos) break;
      s.remove_prefix(comma + 1);
    }
    h.last_repair_ms = static_cast<int64_t>(parts[0]);
    h.sent = parts[1];
    h.received = parts[2];
    h.purged = parts[3];
  }
  if (auto v = st.meta("wiped_at"); v && *v) num(**v, h.wiped_at_ms);
  if (auto v = st.meta("wiped_count"); v && *v) num(**v, h.wiped_count);
  return h;
}

// The French sentence shown to staff and technicians after a revocation.
inline std::string wiped_notice_fr(uint64_t count) {
  return "Ce boîtier a été retiré du service par le serveur central : " + std::to_string(count) +
         " inscription(s) déjà transmises ont été effacées de ce boîtier. Contactez le technicien.";
}

int cmd_enrol(NodeConfig cfg, const std::string& hub, const std::string& code, const std::string& fingerprint,
              bool as_json);
int cmd_status(const NodeConfig& cfg, bool as_json);
int cmd_doctor(const NodeConfig& cfg, bool as_json);

}  // namespace terril
