// The data model: entities, their fields, values, records and changes.
//
// Pure: no I/O, no clock. Every record is a map of fields, each carrying the
// stamp (hlc, origin) of the change that last set it, so merging is per field.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace terril {

enum class Entity : uint8_t { centre = 1, event = 2, registration = 3, prototype_note = 4 };

enum class Op : uint8_t { upsert = 1, del = 2, erase = 3 };

// Field numbers are stable: they travel on the wire (FieldValue.field) and in
// stored state. Never reuse a retired number.
enum class Field : uint16_t {
  created_at = 1,  // ms since epoch, set once at creation
  deleted = 2,     // tombstone flag, LWW like any field
  // centre
  name = 10,
  address = 11,
  postcode = 12,
  town = 13,
  phone = 14,  // also registration
  agglomeration = 15,
  seats_returned = 16,  // seats this centre gave back, per event: "event-id=n,..." (seats.h)
  // event
  title = 20,  // also prototype_note
  description = 21,
  kind = 22,
  starts_at = 23,
  ends_at = 24,
  place = 25,
  capacity = 26,
  allotments = 27,     // seats the host gave each centre: "centre=n,..." (cumulative, seats.h)
  seat_grants = 28,    // seats asked for each centre, given by the host from its free seats
  seat_reclaims = 29,  // seats asked back from each centre
  // registration
  event_id = 30,
  first_name = 31,
  last_name = 32,
  email = 33,
  role = 34,
  consent_at = 35,
  attended = 36,
  notes = 37,
  person_id = 38,   // UUID shared by every registration of one person
  commune = 39,     // town of residence (optional)
  qpv = 50,         // lives in a quartier prioritaire: oui | non | inconnu
  genre = 51,       // femme | homme | autre | non-renseigne
  seat = 52,        // confirmee | attente (seats.h; set by the seat rules only)
  seat_by = 53,     // the centre whose seat backs a confirmee registration
  seat_event = 54,  // the event that seat is of (a registration moved since holds none)
  // prototype_note
  summary = 40,
  body = 41,
  status = 42,
  tags = 43,  // comma-separated, normalised: lowercase, trimmed, unique, sorted
  evaluation = 44,
};

enum class ValueKind : uint8_t { text, integer, boolean, time };

struct FieldSpec {
  Field field;
  std::string_view name;  // JSON and SQL column name
  ValueKind kind;
  uint32_t max_len;                           // text: max bytes; 0 for non-text
  bool required;                              // must be present when the record is created
  bool personal;                              // personal data (GDPR): purged by ERASE, never logged
  std::span<const std::string_view> choices;  // allowed text values, empty = free text
  std::string_view label_fr;                  // for French error messages
};

struct EntitySpec {
  Entity entity;
  std::string_view name;              // "registration"
  std::string_view plural;            // "registrations": API path and table name stem
  std::string_view path;              // "registrations", "prototype-notes"
  std::string_view table;             // SQL table
  std::span<const FieldSpec> fields;  // every field but id and centre_id
  std::string_view label_fr;
};

// The schema. Every entity's fields include created_at and deleted.
std::span<const EntitySpec> entities();
const EntitySpec& spec(Entity e);
const EntitySpec* spec_by_name(std::string_view name);  // name, plural or path
const FieldSpec* field_spec(Entity e, Field f);
const FieldSpec* field_spec(Entity e, std::string_view name);
std::string_view entity_name(Entity e);
std::string_view field_name(Field f);  // any entity's name for this number
bool valid_entity(uint32_t v);

// Choices, shared with the UI and exports.
extern const std::span<const std::string_view> kRoles;
extern const std::span<const std::string_view> kEventKinds;
extern const std::span<const std::string_view> kNoteStatuses;
extern const std::span<const std::string_view> kAgglomerations;
extern const std::span<const std::string_view> kQpvValues;
extern const std::span<const std::string_view> kGenres;
extern const std::span<const std::string_view> kSeatValues;

// A field's value. monostate = null (cleared). Times are ms since the epoch.
using Value = std::variant<std::monostate, int64_t, bool, std::string>;

struct FieldValue {
  Field field;
  Value value;
  bool operator==(const FieldValue&) const = default;
};

// Who set a field, and when. Ordered by (hlc, origin): last writer wins.
struct Stamp {
  uint64_t hlc = 0;
  std::string origin;
  auto operator<=>(const Stamp&) const = default;
  bool empty() const { return hlc == 0 && origin.empty(); }
};

// One change to one record. The unit of the change log and of the wire.
struct Change {
  std::string origin;
  uint64_t origin_seq = 0;
  uint64_t hlc = 0;
  Entity entity = Entity::registration;
  std::string record_id;  // UUID text (lowercase, 36 chars) or centre slug
  std::string centre_id;  // owner centre
  Op op = Op::upsert;
  std::vector<FieldValue> fields;  // sorted by field, unique
  // Why the wire form could not be read whole (a newer sender: unknown
  // entity, op or value kind); "" when it could. validate_change refuses a
  // change that has it, so the receiver rejects that change alone.
  std::string undecodable;

  Stamp stamp() const { return Stamp{hlc, origin}; }
  const Value* get(Field f) const;
  bool operator==(const Change&) const = default;
};

struct FieldState {
  Value value;
  Stamp stamp;
  bool operator==(const FieldState&) const = default;
};

// The merged state of one record.
struct Record {
  Entity entity = Entity::registration;
  std::string id;
  std::string centre_id;
  std::map<Field, FieldState> fields;
  bool erased = false;
  Stamp erase_stamp;  // greatest ERASE seen

  const Value* get(Field f) const;
  std::optional<std::string> text(Field f) const;
  std::optional<int64_t> integer(Field f) const;  // integer or time
  bool flag(Field f) const;                       // false when absent
  bool deleted() const { return erased || flag(Field::deleted); }
  // Greatest stamp over all fields and the erase: the record's last change.
  uint64_t max_hlc() const;
  // updated_at in ms, derived from max_hlc so every replica agrees.
  int64_t updated_at_ms() const;
  bool operator==(const Record&) const = default;
};

// Canonical text rendering of a record: one line per field, in field order,
// values and stamps included. Two replicas hold the same record iff their
// renderings are equal. Used by tests and the convergence checks.
std::string canonical(const Record& r);
std::string canonical(const Change& c);

}  // namespace terril
