// The hub's people (docs/design.md "People"): the funders' indicators in
// distinct people (the admin's "same person" answers applied), their CSV
// for French Excel, and the review queue of possible duplicates as the
// dashboard shows it, side by side. Functions over the hub Store; no HTTP
// here (hub/admin_people.cpp answers the routes). Thread rules: the Store's.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/core/status.h"
#include "common/store/store.h"
#include "hub/reports.h"

namespace terril {

// {"persons": N, "registrations": M, "by": {"role", "agglomeration",
// "centre", "kind", "qpv", "genre": {value: distinct people}}, "attended":
// {"persons", "registrations"}, "from", "to", "generated_at"}.
//
// Counted over the live registrations whose event starts in [from, to)
// (a registration whose event is unknown: its creation date). A person is a
// person_id, or a class of them the hub admin said are the same person.
// Someone who came as habitant and as bénévole counts once in each role
// (so the by.role counts may add up to more than "persons"); qpv and genre
// are a person's, not a registration's: their most recent registration
// that says (oui/non over inconnu, a genre over non-renseigne). Every
// allowed value is present, with 0.
Result<nlohmann::json> report_indicators(Store& store, const ReportQuery& q);

// The indicators as a CSV for French Excel: BOM, ';', the operation's name,
// the period and the FEDER sentence, then one line per value of each
// dimension with its French label and its count of people.
std::string indicators_csv(const nlohmann::json& indicators, const std::vector<CentreInfo>& centres);

// Distinct people per role, per centre and in total, for the activity
// report (report_roles): {"total": {role: n}, "total_persons": n,
// "centres" and "agglomerations": {id: {"counts": {role: n}, "total": n}}}, over the live
// registrations created in [from, to) (0: no bound), of one event when
// `event_id` is not empty, aliases applied.
Result<nlohmann::json> persons_by_role(Store& store, int64_t from_ms, int64_t to_ms, const std::string& event_id);

// The review queue: {"items": [{"id", "status", "rules": [names], "reasons":
// [French], "found_at", "decided_at", "decided_by", "a": person, "b":
// person}], "next": id|null}, each person {"person_id", "centre_id",
// "centre_name", "first_name", "last_name", "phone", "email", "commune",
// "role", "registrations": [{"id", "event_title", "starts_at"}]} from the
// registrations the hub holds. `status` "" for all, else open / same /
// different; a pair whose persons are already one person by other "same"
// answers, or whose person has no live registration left, is not listed
// as open.
Result<nlohmann::json> duplicates_json(Store& store, const std::string& status, int64_t after_id, size_t limit);

}  // namespace terril
