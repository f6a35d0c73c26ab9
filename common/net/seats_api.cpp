// The seats of an event over HTTP (see seats_api.h).
#include "common/net/seats_api.h"

#include "common/core/hlc.h"
#include "common/net/api_support.h"

namespace terril {

using nlohmann::json;

namespace {

json holding_json(const seats::Holding& h, const std::string& host) {
  return json{{"centre_id", h.centre},
              {"seats", h.seats},
              {"confirmed", h.confirmed},
              {"free", h.free},
              {"waiting", h.waiting},
              {"pending_reclaim", h.pending_reclaim},
              {"pending_grant", h.pending_grant},
              {"host", h.centre == host}};
}

// A count in the body: absent = 0; a whole number 1..kMaxSeats otherwise.
std::optional<int64_t> count_of(const json& body, const char* key, bool& bad) {
  auto it = body.find(key);
  if (it == body.end() || it->is_null()) return int64_t{0};
  if (!it->is_number_integer() || it->get<int64_t>() < 1 || it->get<int64_t>() > seats::kMaxSeats) {
    bad = true;
    return std::nullopt;
  }
  return it->get<int64_t>();
}

}  // namespace

json seats_json(const SeatSummary& s, std::string_view here) {
  const seats::EventSeats& e = s.event;
  json j{{"limited", e.limited()},
         {"capacity", e.capacity ? json(*e.capacity) : json(nullptr)},
         {"confirmed", s.confirmed},
         {"waiting", s.waiting}};
  json holders = json::array();
  json mine = nullptr;
  int64_t free = 0;
  for (const auto& h : s.holders) {
    holders.push_back(holding_json(h, e.host));
    free += h.free;
    if (!here.empty() && h.centre == here) mine = holders.back();
  }
  if (e.limited() && mine.is_null() && !here.empty()) {
    seats::Holding none;
    none.centre = std::string(here);
    mine = holding_json(none, e.host);
  }
  j["free"] = e.limited() ? json(free) : json(nullptr);
  j["holders"] = std::move(holders);
  j["here"] = std::move(mine);
  return j;
}

HttpResponse seats_get(Store& store, const std::string& event_id, std::string_view here, std::string_view who) {
  auto s = store.seat_summary(event_id);
  if (!s) return status_response(s.status(), who);
  if (!*s) return not_found();
  return json_response(200, seats_json(**s, here));
}

HttpResponse seats_post(Store& store, const std::string& event_id, const HttpRequest& req, std::string_view here,
                        std::string_view who, int64_t now_ms, bool& wrote,
                        const std::function<json(const Record&)>& render) {
  wrote = false;
  auto body = body_object(req);
  if (!body) return status_response(body.status(), who);
  for (const auto& [k, v] : body->items())
    if (k != "centre_id" && k != "give" && k != "take_back" && k != "cancel")
      return bad_request("unknown_field", k, "Champ inconnu : « " + k + " ».");
  auto centre = body->find("centre_id");
  if (centre == body->end() || !centre->is_string())
    return bad_request("required", "centre_id", "Choisissez le centre.");
  bool bad = false;
  auto give = count_of(*body, "give", bad);
  auto take = count_of(*body, "take_back", bad);
  if (bad) return bad_request("out_of_range", "seats", "Indiquez un nombre de places entier, au moins 1.");
  auto cancel_it = body->find("cancel");
  const bool cancel = cancel_it != body->end() && cancel_it->is_boolean() && cancel_it->get<bool>();
  auto c = store.move_seats(event_id, centre->get<std::string>(), *give, *take, cancel, now_ms);
  if (!c) return status_response(c.status(), who);
  wrote = c->origin_seq != 0;
  auto ev = store.get(Entity::event, event_id);
  if (!ev) return status_response(ev.status(), who);
  auto s = store.seat_summary(event_id);
  if (!s) return status_response(s.status(), who);
  if (!*ev || !*s) return not_found();
  return json_response(200, json{{"event", render(**ev)}, {"seats", seats_json(**s, here)}});
}

json seat_at_json(const Record& r) {
  auto it = r.fields.find(Field::seat);
  if (it == r.fields.end() || it->second.value.index() == 0 || it->second.stamp.hlc == 0) return nullptr;
  return time_or_null(static_cast<int64_t>(hlc_ms(it->second.stamp.hlc)));
}

}  // namespace terril
