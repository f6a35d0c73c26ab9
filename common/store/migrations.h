// The schema migrations embedded from common/store/schema/NNN_*.sql.
// Migration N brings the database to PRAGMA user_version = N.
#pragma once

#include <span>

namespace terril {

struct Migration {
  int version;
  const char* sql;
};

std::span<const Migration> schema_migrations();

}  // namespace terril
