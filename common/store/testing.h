// Test and benchmark access to a Store's SQLite connection, for what the
// Store API does not offer on purpose (pragmas, commit hooks, raw reads of
// the tables). Never included by product code.
#pragma once

#include <sqlite3.h>

#include "common/store/store.h"

namespace terril::store::testing {

struct Access {
  static sqlite3* handle(Store& s) { return s.db_; }
};

// The connection `s` uses; valid while `s` lives. Same thread rules as `s`.
inline sqlite3* raw_handle(Store& s) {
  return Access::handle(s);
}

}  // namespace terril::store::testing
