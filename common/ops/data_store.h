// A daemon's data folder and its store, as both mains open them: the folder
// is private to the daemon's user (0700), the store one SQLite file in it
// (hub.db, node.db).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/core/status.h"
#include "common/store/store.h"

namespace terril {

// DATA_DIR/NAME.
std::string data_file(const std::string& data_dir, std::string_view name);

// Creates `dir` (and its parents) if missing and makes it 0700 (not through
// a symbolic link: restrict_dir, common/ops/tls.h).
// Errors: io (cannot create it).
Status make_private_dir(const std::string& dir);

// Opens DATA_DIR/FILE with `opts`; with `create_dir`, make_private_dir()
// first (otherwise a missing folder is the store's io error).
Result<std::unique_ptr<Store>> open_data_store(const std::string& data_dir, std::string_view file,
                                               const StoreOptions& opts, bool create_dir);

}  // namespace terril
