// A daemon's private data folder and the store file in it.
#include "common/ops/data_store.h"

#include <filesystem>

#include "common/ops/tls.h"

namespace terril {

std::string data_file(const std::string& data_dir, std::string_view name) {
  return (std::filesystem::path(data_dir) / name).string();
}

Status make_private_dir(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(Code::io, "cannot create " + dir + ": " + ec.message());
  restrict_dir(dir);
  return Status::ok();
}

Result<std::unique_ptr<Store>> open_data_store(const std::string& data_dir, std::string_view file,
                                               const StoreOptions& opts, bool create_dir) {
  if (create_dir)
    if (Status s = make_private_dir(data_dir); !s) return s;
  return Store::open(data_file(data_dir, file), opts);
}

}  // namespace terril
