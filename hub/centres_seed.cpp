// The 19 centres from the embedded data/centres.csv, as hub writes (see centres_seed.h).
#include "hub/centres_seed.h"

#include "common/core/csv.h"
#include "common/core/validate.h"

namespace terril {

Result<std::vector<LocalWrite>> parse_centres(std::string_view csv) {
  auto rows = parse_csv(csv, ',');
  if (!rows) return rows.status();
  if (rows->empty()) return Status(Code::invalid, "centres.csv is empty");
  const auto& head = rows->front();
  const std::vector<std::string> expected = {"id", "name", "address", "postcode", "town", "phone", "agglomeration"};
  if (head != expected) return Status(Code::invalid, "centres.csv header is not " + csv_row(expected, ','));
  std::vector<LocalWrite> out;
  for (size_t i = 1; i < rows->size(); ++i) {
    const auto& r = (*rows)[i];
    if (r.size() == 1 && r[0].empty()) continue;
    if (r.size() != expected.size())
      return Status(Code::invalid, "centres.csv line " + std::to_string(i + 1) + " has " + std::to_string(r.size()) +
                                       " fields, expected " + std::to_string(expected.size()));
    if (!valid_slug(r[0])) return Status(Code::invalid, "centres.csv line " + std::to_string(i + 1) + ": bad id");
    LocalWrite w;
    w.entity = Entity::centre;
    w.record_id = r[0];
    w.centre_id = r[0];
    w.fields = {{Field::name, r[1]}, {Field::address, r[2]}, {Field::postcode, r[3]},
                {Field::town, r[4]}, {Field::phone, r[5]},   {Field::agglomeration, r[6]}};
    out.push_back(std::move(w));
  }
  return out;
}

}  // namespace terril
