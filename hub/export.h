// Exports of live records, shared by the dashboard (GET /api/v1/export) and
// `terril-hub export`: the filters, CSV and JSON streamed in bounded memory,
// and the admin-log line every registrations export leaves. The command
// line's flags for these filters are in hub/export_cli.h (the executable
// only: no CLI parsing in the admin library).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>

#include "common/core/model.h"
#include "common/core/status.h"
#include "common/store/store.h"

namespace terril {

class Registry;

// Filters of an export, from the CLI or the query string. Empty: any.
// from/to: the shared filter date rule (common/net/api_support.h).
struct ExportFilters {
  std::string centre_id, agglomeration, event_id, role, attended, from, to, q;
};

// The store query for entity `e` under `f`. Errors: invalid (a filter that
// does not apply to `e`, a bad date or flag; French message).
Result<ListQuery> to_query(Entity e, const ExportFilters& f);

// Streams the live records of `e` matching `f` as CSV (UTF-8 with BOM, ';',
// French dates, one header row, CRLF, then one row with the FEDER sentence)
// or JSON ({"operation", "feder", "items": [...]}), in bounded memory: one
// record at a time from Store::for_each to `out`. Registration exports are
// written to the admin log first (who, when, filters; never the content, and
// the search text only as "(set)"). Errors: invalid (bad filter, with a French
// message), io (store or output).
Status export_records(Store& store, Registry& registry, Entity e, const std::string& format, const ExportFilters& f,
                      const std::string& who, int64_t now_ms, std::ostream& out);

}  // namespace terril
