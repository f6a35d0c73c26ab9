// AdminApi::metrics: the hub's Prometheus text (sync counters, group commit
// latency, per-node last seen, lag and rejections), no personal data; and
// who may read it off loopback (AdminApi::metrics_allowed, see admin.h).
#include <algorithm>
#include <cctype>
#include <map>
#include <string>

#include "common/net/prometheus.h"
#include "common/ops/tls.h"
#include "common/store/store.h"
#include "hub/admin.h"
#include "common/store/hub_registry.h"
#include "hub/sync_hub.h"

namespace terril {

bool AdminApi::metrics_allowed(const HttpRequest& req) {
  if (opts_.metrics_open) return true;
  if (!opts_.metrics_token.empty()) {
    auto it = req.headers.find("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (it != req.headers.end() && it->second.size() > kBearer.size() &&
        std::equal(kBearer.begin(), kBearer.end(), it->second.begin(),
                   [](char a, char b) {
                     return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
                   }) &&
        constant_time_equal(std::string_view(it->second).substr(kBearer.size()), opts_.metrics_token))
      return true;
  }
  return authenticated(req);
}

HttpResponse AdminApi::metrics() {
  const auto& m = hub_.metrics();
  std::string o;
  prom_metric(o, "terril_hub_connected_nodes", "gauge", "Nodes connected now.",
              static_cast<double>(hub_.connected().size()));
  prom_metric(o, "terril_hub_changes_applied_total", "counter", "Changes from nodes merged into the hub store.",
              static_cast<double>(m.changes_applied));
  prom_metric(o, "terril_hub_changes_sent_total", "counter", "Changes streamed to nodes.",
              static_cast<double>(m.changes_sent));
  prom_metric(o, "terril_hub_rejected_changes_total", "counter", "Changes from nodes the hub refused.",
              static_cast<double>(m.rejected));
  prom_metric(o, "terril_hub_bytes_received_total", "counter", "WebSocket payload bytes received from nodes.",
              static_cast<double>(m.bytes_in));
  prom_metric(o, "terril_hub_bytes_sent_total", "counter", "WebSocket payload bytes sent to nodes.",
              static_cast<double>(m.bytes_out));
  prom_metric(o, "terril_hub_handshake_failures_total", "counter", "Sync handshakes refused or timed out.",
              static_cast<double>(m.handshake_failures));
  prom_metric(o, "terril_hub_group_commits_total", "counter",
              "Transactions that applied node batches (one fsync each).", static_cast<double>(m.group_commits));
  prom_metric(o, "terril_hub_grouped_batches_total", "counter", "Node batches applied by those transactions.",
              static_cast<double>(m.grouped_batches));
  prom_metric(o, "terril_hub_digest_checks_total", "counter", "Anti-entropy digest checks answered.",
              static_cast<double>(m.digest_checks));
  prom_head(o, "terril_hub_repair_records_total", "counter",
            "Records repaired by anti-entropy: merged from nodes (in), sent to nodes (out), purges sent (purge).");
  prom_sample(o, "terril_hub_repair_records_total", "direction=\"in\"", std::to_string(m.repair_records_in));
  prom_sample(o, "terril_hub_repair_records_total", "direction=\"out\"", std::to_string(m.repair_records_out));
  prom_sample(o, "terril_hub_repair_records_total", "direction=\"purge\"", std::to_string(m.repair_purges));
  prom_metric(o, "terril_hub_restores_detected_total", "counter",
              "Handshakes that found this hub behind a node (restored from an older copy).",
              static_cast<double>(m.restores_detected));
  prom_metric(o, "terril_hub_inbound_pauses_total", "counter",
              "Times a node's link stopped reading: a window of its batches was waiting to be applied.",
              static_cast<double>(m.inbound_pauses));
  prom_head(o, "terril_hub_apply_latency_ms", "histogram",
            "Time to apply and commit the group commit that carried a batch from a node.");
  static const char* bounds[] = {"1", "2", "5", "10", "25", "50", "100", "250", "1000", "+Inf"};
  uint64_t cum = 0;
  for (size_t i = 0; i < m.apply_ms_buckets.size(); ++i) {
    cum += m.apply_ms_buckets[i];
    prom_sample(o, "terril_hub_apply_latency_ms_bucket", "le=\"" + std::string(bounds[i]) + "\"", std::to_string(cum));
  }
  prom_sample(o, "terril_hub_apply_latency_ms_sum", "", prom_number(m.apply_ms_sum));
  prom_sample(o, "terril_hub_apply_latency_ms_count", "", std::to_string(cum));
  auto st = store_.stats();
  if (st) {
    prom_metric(o, "terril_hub_seq", "gauge", "Newest hub sequence number.", static_cast<double>(st->hub_cursor));
    prom_metric(o, "terril_hub_db_bytes", "gauge", "Size of the hub's SQLite database file.",
                static_cast<double>(st->db_bytes));
  }
  auto nodes = registry_.list();
  if (nodes && st) {
    std::map<std::string, uint64_t> acked;
    for (const auto& c : hub_.connected()) acked[c.node_id] = c.acked_hub_seq;
    auto rejected = rejected_by_node();
    auto node_label = [](const std::string& id) { return "node=\"" + prom_label(id) + "\""; };
    prom_head(o, "terril_hub_node_last_seen_timestamp_seconds", "gauge", "Last successful handshake of a node.");
    for (const auto& n : *nodes)
      prom_sample(o, "terril_hub_node_last_seen_timestamp_seconds",
                  node_label(n.node_id) + ",centre=\"" + prom_label(n.centre_id) + "\"",
                  std::to_string(n.last_seen_at_ms / 1000));
    prom_head(o, "terril_hub_node_lag_changes", "gauge", "Hub changes a node has not acknowledged yet.");
    for (const auto& n : *nodes) {
      uint64_t cursor = std::max(n.hub_cursor, acked.count(n.node_id) ? acked[n.node_id] : 0);
      auto lag = store_.changes_after(cursor);
      prom_sample(o, "terril_hub_node_lag_changes", node_label(n.node_id), std::to_string(lag ? *lag : 0));
    }
    if (rejected) {
      prom_head(o, "terril_hub_node_rejected_changes", "gauge", "Changes from a node the hub refused, stored.");
      for (const auto& n : *nodes) {
        auto it = rejected->find(n.node_id);
        prom_sample(o, "terril_hub_node_rejected_changes", node_label(n.node_id),
                    std::to_string(it == rejected->end() ? 0 : it->second));
      }
    }
  }
  prom_metric(o, "terril_hub_store_ok", "gauge", "1 when the hub store answered.", st ? 1 : 0);
  return prom_response(std::move(o));
}

}  // namespace terril
