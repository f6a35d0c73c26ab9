// The dashboard's reports, as functions over the hub Store: registrations by
// role (per centre, per agglomeration, in total), attendance per event, and
// prototype notes by status per centre. No HTTP here: hub/admin.cpp parses
// the query string into a ReportQuery and answers the JSON.
//
// Registration counts are indexed Store::count_by (or one pass of for_each
// over events); the counts in distinct people are one pass over the
// registrations' typed columns (Store::person_facts). Thread rules: the
// Store's (one thread).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/core/status.h"
#include "common/store/store.h"

namespace terril {

// A live centre as the reports and the node list show it.
struct CentreInfo {
  std::string id, name, agglomeration;
};
// Live centres in id order (reference data: a few dozen at most). Errors:
// the store's.
Result<std::vector<CentreInfo>> live_centres(Store& store);

struct ReportQuery {
  ListQuery filter;    // from/to and exact filters, as the report allows them
  int64_t now_ms = 0;  // for "generated_at"
};

// {"roles", "centres": [{centre_id, name, agglomeration, counts{role: n},
// total, persons}], "agglomerations": [{id, name, counts, total, persons}],
// "total": {counts, total, persons}, "generated_at"}, where each "persons"
// is {counts{role: n}, total} in distinct people (hub/people.h
// persons_by_role). Filters: from, to (creation date), event_id. A deleted
// or unknown centre with registrations still gets its row.
Result<nlohmann::json> report_roles(Store& store, const ReportQuery& q);

// {"items": [{event_id, title, centre_id, centre_name, kind, starts_at,
// capacity, registered, attended}] by start time, "next": null, "total":
// {registered, attended}, "generated_at"}. Filters: from, to (start date),
// centre_id, kind.
Result<nlohmann::json> report_attendance(Store& store, const ReportQuery& q);

// {"statuses", "centres": [{centre_id, name, agglomeration, counts{status:
// n}, total}], "total": {counts, total}, "generated_at"}. No filter.
Result<nlohmann::json> report_prototypes(Store& store, const ReportQuery& q);

}  // namespace terril
