// CSV export quoting (csv_field / csv_row) and the CSV reader, on arbitrary
// text. The input is split on 0x1F into the fields of one row; the row that
// csv_row writes (after a BOM, as the export does) must read back with
// parse_csv as exactly those fields (a field starting with a formula trigger
// comes back with its ' prefix, as the export promises), and parse_csv of
// the raw input must not crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/core/csv.h"
#include "tests/fuzz/replica.h"

using namespace terril;

namespace {
std::string show(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& f : v) out += "[" + f + "]";
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  (void)parse_csv(in, ',');
  (void)parse_csv(in, ';');

  std::vector<std::string> fields(1);
  for (char c : in) {
    if (c == '\x1f')
      fields.emplace_back();
    else
      fields.back() += c;
  }
  if (fields.size() == 1 && fields[0].empty()) return 0;  // an empty row is just CRLF
  std::vector<std::string> want;
  for (const auto& f : fields) {
    bool trigger =
        !f.empty() && (f[0] == '=' || f[0] == '+' || f[0] == '-' || f[0] == '@' || f[0] == '\t' || f[0] == '\r');
    want.push_back(trigger ? "'" + f : f);
  }
  // As the export writes a file: a BOM first (the reader drops one), so a
  // value that itself starts with U+FEFF survives.
  const std::string row = "\xEF\xBB\xBF" + csv_row(fields, ';');
  auto back = parse_csv(row, ';');
  if (!back.is_ok()) fuzz::fail("an exported row does not parse", row, back.status().message());
  if (back->size() != 1) fuzz::fail("an exported row reads back as several rows", row, std::to_string(back->size()));
  if ((*back)[0] != want) fuzz::fail("an exported row reads back different", show(want), show((*back)[0]));
  return 0;
}
