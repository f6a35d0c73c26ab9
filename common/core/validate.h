// Validation of changes and records, before anything reaches merge or storage.
// Pure. Every error names the field and carries a French message for staff.
#pragma once

#include <string>
#include <string_view>

#include "common/core/model.h"
#include "common/core/status.h"

namespace terril {

// Limits that bound memory and storage; see also wire limits in common/wire.
constexpr size_t kMaxOriginLen = 64;
constexpr size_t kMaxFieldsPerChange = 32;

bool valid_utf8(std::string_view s);
bool valid_uuid(std::string_view s);     // canonical lowercase 8-4-4-4-12
bool valid_slug(std::string_view s);     // [a-z0-9-], 1..64, no leading/trailing '-'
bool valid_node_id(std::string_view s);  // slug rules, and not "hub"
bool valid_email(std::string_view s);    // pragmatic: one '@', a dot in the domain, no space
bool valid_phone(std::string_view s);    // digits, spaces, + . - ( ), 6..20 digits

// One field value against its spec: kind, length, UTF-8, choices, formats.
// Error codes (Status::to_string prefix aside, see error_code()):
//   wrong_type, too_long, invalid_utf8, not_allowed, bad_format, out_of_range
Status validate_value(Entity e, const FieldSpec& fs, const Value& v);

// A whole change: origin, seq, hlc, entity, id format, owner, op, fields
// (known for the entity, sorted, unique, values valid), an ERASE only on a
// registration and with no field, DELETE with no field.
Status validate_change(const Change& c);

// A whole record from another replica (anti-entropy repair): entity, id and
// owner formats as for a change, every stamp with a valid origin and a
// non-zero hlc, every field known for the entity with a valid value, an
// erased record with no field (and only a registration erased).
Status validate_record(const Record& r);

// A record about to be created locally: every required field present and
// not null, and cross-field rules (ends_at >= starts_at).
Status validate_new_record(Entity e, const std::vector<FieldValue>& fields);

// Normalise a tags list "B, a,b " -> "a,b".
std::string normalise_tags(std::string_view tags);

// The short machine code of a validation error ("too_long"...), stored in
// Status::message() before ':'.
std::string error_code(const Status& s);

}  // namespace terril
