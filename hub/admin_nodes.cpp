// AdminApi's node management: the node list with live link state, adding a
// node (its one-time enrolment code), revoking and replacing a node.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>

#include "common/core/ids.h"
#include "common/core/validate.h"
#include "common/store/store.h"
#include "common/store/hub_registry.h"
#include "hub/admin.h"
#include "hub/qr_svg.h"
#include "hub/reports.h"
#include "hub/sync_hub.h"

namespace terril {

using json = nlohmann::json;

Result<std::map<std::string, uint64_t>> AdminApi::rejected_by_node() {
  auto r = store_.rejections_by_origin();
  if (!r) return r.status();
  return std::map<std::string, uint64_t>(r->begin(), r->end());
}

HttpResponse AdminApi::nodes_list() {
  auto nodes = registry_.list();
  if (!nodes) return status_response(nodes.status(), kWho);
  auto st = store_.stats();
  if (!st) return status_response(st.status(), kWho);
  auto rejected = rejected_by_node();
  if (!rejected) return status_response(rejected.status(), kWho);
  auto cs = live_centres(store_);
  if (!cs) return status_response(cs.status(), kWho);
  std::map<std::string, const CentreInfo*> by_id;
  for (const auto& c : *cs) by_id[c.id] = &c;
  std::map<std::string, SyncHub::Connected> live;
  for (auto& c : hub_.connected()) live[c.node_id] = std::move(c);

  const uint64_t hub_seq = st->hub_cursor;
  json items = json::array();
  for (const auto& n : *nodes) {
    auto conn = live.find(n.node_id);
    const bool connected = conn != live.end();
    const uint64_t cursor = std::max(n.hub_cursor, connected ? conn->second.acked_hub_seq : 0);
    auto received = store_.origin_cursor(n.node_id);
    if (!received) return status_response(received.status(), kWho);
    auto rej = rejected->find(n.node_id);
    auto c = by_id.find(n.centre_id);
    auto lag = store_.changes_after(cursor);
    if (!lag) return status_response(lag.status(), kWho);
    auto note_text = store_.meta(repair_note_key(n.node_id));
    const RepairNote note = note_text && *note_text ? decode_note(**note_text) : RepairNote{};
    items.push_back({
        {"node_id", n.node_id},
        {"centre_id", n.centre_id},
        {"centre_name", c == by_id.end() ? json(nullptr) : json(c->second->name)},
        {"agglomeration", c == by_id.end() ? json(nullptr) : json(c->second->agglomeration)},
        {"state", node_state_name(n.state)},
        {"connected", connected},
        {"connected_since", connected ? time_or_null(conn->second.since_ms) : json(nullptr)},
        {"last_seen", time_or_null(n.last_seen_at_ms)},
        {"enrolled_at", time_or_null(n.enrolled_at_ms)},
        {"created_at", time_or_null(n.created_at_ms)},
        {"code_expires_at", time_or_null(n.code_expires_at_ms)},
        {"software_version", connected && !conn->second.software_version.empty()
                                 ? json(conn->second.software_version)
                                 : (n.software_version.empty() ? json(nullptr) : json(n.software_version))},
        {"hub_cursor", cursor},
        {"lag", *lag},
        {"last_repair", note.at_ms ? json{{"at", format_iso8601(note.at_ms)},
                                          {"received", note.received},
                                          {"sent", note.sent},
                                          {"purged", note.purged}}
                                   : json(nullptr)},
        {"out_of_step", note.witness},
        {"changes_received", *received},
        {"rejected", rej == rejected->end() ? 0 : rej->second},
        {"replaced_by", n.replaced_by.empty() ? json(nullptr) : json(n.replaced_by)},
    });
  }
  return json_response(200, json{{"items", std::move(items)}, {"next", nullptr}, {"hub_seq", hub_seq}});
}

std::string enrolment_command(const std::string& hub_url, const std::string& code, const std::string& fingerprint) {
  std::string cmd = "sudo -u terril-node terril-node enrol --hub " + hub_url + " --code " + code;
  if (!fingerprint.empty()) cmd += " --fingerprint " + fingerprint;
  return cmd;
}

json AdminApi::code_json(const HttpRequest& req, const std::string& node_id, const std::string& centre_id,
                         const std::string& code, int64_t expires_at_ms) const {
  std::string url = opts_.public_url;
  if (url.empty()) {
    std::string host = header(req, "host");
    url = std::string(opts_.tls ? "wss://" : "ws://") + (host.empty() ? "ADRESSE-DU-HUB" : host);
  }
  const std::string command = enrolment_command(url, code, opts_.hub_fingerprint);
  return {{"node_id", node_id},
          {"centre_id", centre_id},
          {"code", code},
          {"expires_at", format_iso8601(expires_at_ms)},
          {"hub_url", url},
          {"hub_fingerprint", opts_.hub_fingerprint.empty() ? json(nullptr) : json(opts_.hub_fingerprint)},
          {"command", command},
          {"command_qr_svg", qr_svg(command)}};
}

HttpResponse AdminApi::node_add(const HttpRequest& req) {
  auto body = body_object(req);
  if (!body) return status_response(body.status(), kWho);
  std::vector<Status> errors;
  std::string node_id, centre_id;
  auto text = [&](const char* key) -> std::optional<std::string> {
    auto it = body->find(key);
    if (it == body->end() || !it->is_string() || it->get_ref<const std::string&>().empty()) return std::nullopt;
    return it->get<std::string>();
  };
  if (auto v = text("node_id"); !v)
    errors.push_back(field_error("required", "node_id", "Donnez un identifiant au boîtier (ex. lens-centre-1)."));
  else if (!valid_node_id(*v))
    errors.push_back(field_error("bad_format", "node_id",
                                 "L'identifiant du boîtier s'écrit en minuscules, chiffres et tirets (64 au plus), "
                                 "et ne peut pas être « hub »."));
  else
    node_id = *v;
  if (auto v = text("centre_id"); !v) {
    errors.push_back(field_error("required", "centre_id", "Choisissez le centre de ce boîtier."));
  } else {
    auto c = store_.get(Entity::centre, *v);
    if (!c) return status_response(c.status(), kWho);
    if (!c->has_value() || (*c)->deleted())
      errors.push_back(field_error("unknown_centre", "centre_id", "Ce centre n'existe pas ou a été supprimé."));
    else
      centre_id = *v;
  }
  if (!errors.empty()) return invalid_response(errors);
  auto code = registry_.add(node_id, centre_id, now(), who(req));
  if (!code) {
    if (code.status().code() == Code::conflict)
      return error_response(409, "exists", "node_id",
                            "Un boîtier porte déjà cet identifiant (même révoqué : un identifiant ne sert qu'une "
                            "fois). Choisissez-en un autre.");
    if (code.status().code() == Code::invalid)
      return bad_request("bad_format", "node_id", "Identifiant de boîtier ou de centre invalide.");
    return status_response(code.status(), kWho);
  }
  spdlog::info("admin: node {} added for centre {}", node_id, centre_id);
  return json_response(201, code_json(req, code->node_id, code->centre_id, code->code, code->expires_at_ms));
}

HttpResponse AdminApi::node_revoke(const std::string& id, const HttpRequest& req) {
  if (Status s = registry_.revoke(id, now(), who(req)); !s) {
    if (s.code() == Code::not_found) return not_found();
    return status_response(s, kWho);
  }
  hub_.drop_node(id);
  spdlog::info("admin: node {} revoked", id);
  auto n = registry_.get(id);
  if (!n) return status_response(n.status(), kWho);
  if (!n->has_value()) return not_found();
  return json_response(200, json{{"node_id", id}, {"state", node_state_name((*n)->state)}});
}

HttpResponse AdminApi::node_replace(const std::string& id, const HttpRequest& req) {
  auto code = registry_.replace(id, now(), who(req));
  if (!code) {
    if (code.status().code() == Code::not_found) return not_found();
    if (code.status().code() == Code::conflict)
      return error_response(409, "already_replaced", "",
                            "Ce boîtier a déjà été remplacé : remplacez plutôt le nouveau boîtier.");
    return status_response(code.status(), kWho);
  }
  if (code->node_id != id) hub_.drop_node(id);  // the old box is revoked
  spdlog::info("admin: node {} replaced by {}", id, code->node_id);
  json j = code_json(req, code->node_id, code->centre_id, code->code, code->expires_at_ms);
  j["replaced"] = id;
  return json_response(200, j);
}

}  // namespace terril
