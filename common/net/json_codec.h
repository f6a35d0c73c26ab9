// Records <-> JSON with the contract's field names (docs/design.md "Data"), shared by
// the node API and the hub's JSON API.
//
// Record JSON: {"id", "centre_id", "created_at", "updated_at", "deleted",
// then every field of the entity}. Times are ISO 8601 UTC strings
// ("2026-11-29T10:00:00.000Z") or null; booleans are JSON booleans (false
// when never set); capacity is a number; tags are an array of strings; an
// unset text field is null. Callers add computed keys through `extra`
// (registrations: "synced"; events: "registered", "places_left").
//
// Request bodies (create / update): an object of field name -> value.
//   * times: ISO 8601 strings ("...Z" or with an offset); tags: an array of
//     strings or one comma-separated string (normalised either way);
//   * null clears an optional field (on create, null is the same as absent);
//   * the envelope keys (see is_envelope_key: id, centre_id, created_at,
//     updated_at, synced, and per entity the computed keys and the
//     registration's "consent" shortcut) are NOT fields: fields_from_json
//     skips them and the API layer decides (id accepted on create, read-only
//     keys accepted only when unchanged, computed keys ignored);
//   * any other key is refused with code "unknown_field".
// Errors are Status values with Code::invalid, field() = the JSON key and a
// French message_fr naming the field; error_code() gives "unknown_field",
// "wrong_type", "bad_format", "required", "too_long", "not_allowed"...
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "common/core/model.h"
#include "common/core/status.h"

namespace terril {

// Body nesting limit: deeper JSON is refused before parsing (a 1 MiB body of
// '[' must not exhaust the stack).
constexpr size_t kMaxJsonDepth = 32;

// Parses a request body. nullopt when it is not valid JSON (including invalid
// UTF-8) or nests deeper than max_depth.
std::optional<nlohmann::json> parse_json(std::string_view text, size_t max_depth = kMaxJsonDepth);

// The record as the contract's JSON object; `extra`'s keys are added (and win).
nlohmann::json record_to_json(const Record& r, const nlohmann::json& extra = nlohmann::json::object());

// One value as JSON for field `fs` (time -> ISO string, tags -> array...).
nlohmann::json value_to_json(const FieldSpec& fs, const Value& v);
// One JSON value for field `fs` of entity e, validated with validate_value.
Result<Value> value_from_json(Entity e, const FieldSpec& fs, const nlohmann::json& j);

// Keys of a body that are not fields but belong to the API layer.
bool is_envelope_key(Entity e, std::string_view key);

// The fields set by a body, in the entity's field order. `creating`: nulls
// are dropped (absent) and "deleted" is refused (a new record is live). Does
// not check that required fields are present: the caller adds its own
// fields (consent_at, created_at) then calls validate_new_record.
// REQUIRES nothing of `body`: a non-object is a "wrong_type" error.
// On failure returns the first error; when `all_errors` is given, every
// field error is appended to it (one per field) so a form can show them all.
Result<std::vector<FieldValue>> fields_from_json(Entity e, const nlohmann::json& body, bool creating,
                                                 std::vector<Status>* all_errors = nullptr);

// {"code", "field", "message"} for a failed Status: code = error_code(s),
// field = s.field() or null, message = s.message_fr().
nlohmann::json error_json(const Status& s);

}  // namespace terril
