// The encoding of a merged Record in the `state` column of the record tables.
// The format is described once, at the top of record_codec.cpp. Pure.
#pragma once

#include <string>
#include <string_view>

#include "common/core/model.h"
#include "common/core/status.h"

namespace terril {

// Appends the encoding of r's fields, erase flag and stamps to `out` (cleared
// first). The entity, id and centre_id are not encoded: they are columns.
void encode_state(const Record& r, std::string& out);

// Decodes `bytes` into r.fields, r.erased and r.erase_stamp; r's entity, id
// and centre_id are left as they are. Errors: io ("corrupt record state")
// when the bytes are not a valid encoding for r.entity.
Status decode_state(std::string_view bytes, Record& r);

}  // namespace terril
