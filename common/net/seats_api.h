// The seats of an event over HTTP, for both daemons (docs/design.md 9.3,
// common/core/seats.h): the JSON of an event's seats and the seat move.
//
//   GET  /api/v1/events/{id}/seats  -> seats_json (404 not_found)
//   POST /api/v1/events/{id}/seats  {"centre_id": "denain", "give": 5}
//                                   {"centre_id": "denain", "take_back": 3}
//                                   {"centre_id": "denain", "cancel": true}
//        -> 200 {"event": record, "seats": seats_json}; 400 (French message on
//        "seats" or "centre_id"), 403 not the host (node), 404 no such event.
//   At the host's node, "give" takes seats from its free ones at once; at the
//   hub it is a request the host's node carries out. "take_back" is always a
//   request, carried out by that centre's node from its free seats.
//
// seats_json(summary, here):
//   {"limited": bool, "capacity": n|null, "confirmed": n, "waiting": n,
//    "free": n|null (seats nobody has confirmed yet, as this replica knows),
//    "holders": [{"centre_id", "seats", "confirmed", "free", "waiting",
//                 "pending_reclaim", "pending_grant", "host": bool}],
//    "here": the holder line of `here` (a node's centre) or null}
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/net/http.h"
#include "common/store/store.h"

namespace terril {

nlohmann::json seats_json(const SeatSummary& s, std::string_view here);

// GET: the event's seats as `store` knows them.
HttpResponse seats_get(Store& store, const std::string& event_id, std::string_view here, std::string_view who);

// POST: parses the body and makes the move (Store::move_seats). `wrote` is
// set when a change was logged (the caller wakes its sync).
HttpResponse seats_post(Store& store, const std::string& event_id, const HttpRequest& req, std::string_view here,
                        std::string_view who, int64_t now_ms, bool& wrote,
                        const std::function<nlohmann::json(const Record&)>& render);

// The registration's computed seat key: "seat_at", when its seat was last
// set (the seat field's stamp), ISO 8601, or null.
nlohmann::json seat_at_json(const Record& registration);

}  // namespace terril
