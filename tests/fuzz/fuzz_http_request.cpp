// The pure HTTP request handling shared by both daemons: request targets
// (path and query decoding, the static-file path rule) and JSON bodies (depth
// limit, field decoding and validation for every entity). The input's first
// line is the target, the rest the body. Invariants:
//   - a target parse_target accepts has a path starting with '/', without NUL;
//   - a path safe_relative_path accepts has no "." or ".." segment, no
//     backslash, no empty segment;
//   - percent_encode then percent_decode gives the bytes back;
//   - every field fields_from_json accepts passes validate_value, and its JSON
//     form (value_to_json) decodes back to the same value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/core/model.h"
#include "common/core/validate.h"
#include "common/net/http.h"
#include "common/net/json_codec.h"
#include "tests/fuzz/replica.h"

using namespace terril;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  auto nl = in.find('\n');
  std::string_view target = in.substr(0, nl);
  std::string_view body = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

  if (auto t = parse_target(target)) {
    if (t->path.empty() || t->path[0] != '/')
      fuzz::fail("decoded path does not start with /", std::string(target), t->path);
    if (t->path.find('\0') != std::string::npos) fuzz::fail("decoded path holds NUL", std::string(target), t->path);
    std::string_view rel = std::string_view(t->path).substr(1);
    if (safe_relative_path(rel)) {
      size_t start = 0;
      while (true) {
        size_t end = rel.find('/', start);
        std::string_view seg = rel.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
        if (seg.empty() || seg == "." || seg == ".." || seg.find('\\') != std::string_view::npos)
          fuzz::fail("safe_relative_path accepted an unsafe path", std::string(rel), std::string(seg));
        if (end == std::string_view::npos) break;
        start = end + 1;
      }
    }
  }
  auto enc = percent_encode(target);
  auto dec = percent_decode(enc, false);
  if (!dec || *dec != target) fuzz::fail("percent_encode does not round trip", std::string(target), enc);

  auto j = parse_json(body);
  if (!j) return 0;
  for (Entity e : {Entity::centre, Entity::event, Entity::registration, Entity::prototype_note}) {
    for (bool creating : {true, false}) {
      std::vector<Status> errors;
      auto fields = fields_from_json(e, *j, creating, &errors);
      if (!fields) continue;
      for (const auto& fv : *fields) {
        const FieldSpec* fs = field_spec(e, fv.field);
        if (!fs) fuzz::fail("fields_from_json returned a field the entity lacks", std::string(body), "");
        if (std::holds_alternative<std::monostate>(fv.value)) continue;  // a cleared field
        if (Status s = validate_value(e, *fs, fv.value); !s)
          fuzz::fail("fields_from_json accepted an invalid value", std::string(body), s.message());
        auto again = value_from_json(e, *fs, value_to_json(*fs, fv.value));
        if (!again || !(*again == fv.value))
          fuzz::fail("a field's JSON form does not decode back", std::string(body), std::string(fs->name));
      }
    }
  }
  return 0;
}
