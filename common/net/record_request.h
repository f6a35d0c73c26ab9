// A create or update request body -> the LocalWrite to make, for both
// daemons: parse, consent, required fields, the event exists,
// validate_new_record, the record id, read-only and computed keys. A small
// RecordPolicy says what differs between the node and the hub; each daemon
// keeps its own permission rules (node: check_node_change; hub: none) and
// its own write (Store::write, then its wake-up or audit).
//
// Body keys beyond the entity's fields (see common/net/json_codec.h):
//   id           create: a client-chosen UUID (409 exists if taken), or the
//                slug of a new centre; update: must equal the path id
//   centre_id    create: per the policy's owner rule; update: must equal the
//                record's (read_only)
//   created_at   create: refused (read_only); update: ignored when unchanged
//   consent      registrations, create: true sets consent_at to the policy's
//                now (400 on "consent" when neither it nor consent_at is given)
//   computed keys (policy): ignored
// Every form error is reported once, on its own field, all at once.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/model.h"
#include "common/net/http.h"
#include "common/store/store.h"

namespace terril {

struct RecordPolicy {
  enum class Owner {
    own_centre,  // a node: every new record belongs to `own_centre`; another
                 // centre_id in the body is 403 forbidden
    from_body,   // the hub: the body's centre_id (required, a live centre);
                 // a new centre is its own centre, its slug in "id"
  };
  Owner owner = Owner::from_body;
  std::string own_centre;          // with Owner::own_centre
  std::string_view who;            // status_response's `who`: "du poste" | "du hub"
  std::string_view stamped_by_fr;  // "le poste" | "le hub" (who sets created_at)
  // Keys a client may send back as read, per entity, that are neither fields
  // nor envelope keys of json_codec (the hub's event "attended").
  std::function<bool(Entity, std::string_view)> computed_key;
  int64_t now_ms = 0;  // stamps consent_at
  // A now_ms before this answers 503 "clock" instead of stamping consent (a
  // node that never learned the hub's time); 0: no check.
  int64_t min_plausible_ms = 0;
  // New record ids; empty: random_id_bytes().
  std::function<std::array<uint8_t, 16>()> random16;
};

// 16 random bytes from libsodium, for uuid_v4: the one default source of
// record ids. Throws std::runtime_error when libsodium cannot start.
std::array<uint8_t, 16> random_id_bytes();

// What a request asks: the write, or the answer to give instead.
struct PreparedWrite {
  std::optional<HttpResponse> answer;  // set: send it and write nothing
  LocalWrite write;                    // for an update, no fields = nothing changed
  std::optional<Record> existing;      // update, delete, erase: the record as stored
};

// POST /{entity}: the upsert creating a new record (id chosen or drawn), or
// 400 (every error), 403 (owner rule), 409 exists, 503 clock, or a store
// error's answer.
PreparedWrite prepare_create(Store& store, const EntitySpec& es, const HttpRequest& req, const RecordPolicy& p);

// PATCH|PUT /{entity}/{id}: the upsert of the fields that change (none: the
// caller answers the record as it is), or 404 (absent), 409 erased, 400
// (read-only keys, bad values, unknown event, an event ending before it
// starts), or a store error's answer.
PreparedWrite prepare_update(Store& store, const EntitySpec& es, const std::string& id, const HttpRequest& req,
                             const RecordPolicy& p);

// DELETE /{entity}/{id}: the tombstone, or 404 (absent or erased), or a store
// error's answer. An already deleted record is left to the caller (who
// answers it as it is, after its own refusals).
PreparedWrite prepare_delete(Store& store, const EntitySpec& es, const std::string& id, std::string_view who);

// POST /registrations/{id}/erase {"confirm": true}: the erasure, or 400
// confirm_required (`confirm_fr` says what is erased where), 404, an
// already erased record's 200 {"id", "erased": true}, or a store error's
// answer.
PreparedWrite prepare_erase(Store& store, const std::string& id, const HttpRequest& req, std::string_view who,
                            std::string_view confirm_fr);

}  // namespace terril
