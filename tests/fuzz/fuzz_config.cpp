// The daemons' TOML config files on arbitrary bytes: loading must never
// crash, and a file that loads is a valid configuration (validate_*_config),
// since a daemon starts on whatever load_*_config returns.
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/ops/config.h"
#include "tests/fuzz/replica.h"

using namespace terril;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static int fd = memfd_create("fuzz-config", 0);
  if (fd < 0) return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != static_cast<ssize_t>(size)) return 0;
  const std::string path = "/proc/self/fd/" + std::to_string(fd);
  std::string text(reinterpret_cast<const char*>(data), size);
  if (auto n = load_node_config(path, true); n.is_ok()) {
    if (Status s = validate_node_config(*n); !s) fuzz::fail("a node config loads but is invalid", text, s.message());
  }
  if (auto h = load_hub_config(path, true); h.is_ok()) {
    if (Status s = validate_hub_config(*h); !s) fuzz::fail("a hub config loads but is invalid", text, s.message());
  }
  return 0;
}
