// The 19 centres of the operation, from data/centres.csv (embedded at build
// time), as hub writes for Store::seed_centres.
#pragma once

#include <string_view>
#include <vector>

#include "common/core/status.h"
#include "common/store/store.h"

namespace terril {

std::string_view centres_csv();  // generated
Result<std::vector<LocalWrite>> parse_centres(std::string_view csv);

}  // namespace terril
