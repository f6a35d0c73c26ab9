// CSV reading (RFC 4180: quoted fields, doubled quotes, CRLF or LF) and
// writing for French spreadsheets (';' separator). Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/core/status.h"

namespace terril {

// Parse a whole CSV text with separator `sep`. Errors: invalid (unclosed
// quote, with the line number).
Result<std::vector<std::vector<std::string>>> parse_csv(std::string_view text, char sep = ',');

// One field, quoted when it holds the separator, a quote, CR or LF, or
// starts with a formula trigger (= + - @ TAB CR: prefixed with ' so a
// spreadsheet never evaluates it).
std::string csv_field(std::string_view v, char sep = ';');
// A row of fields joined by `sep`, ended by CRLF.
std::string csv_row(const std::vector<std::string>& fields, char sep = ';');

}  // namespace terril
