// Record state encoding (the `state` BLOB of every record table).
//
// Version 1, all integers as LEB128 varints (7 bits per byte, low first):
//
//   state   := version=1  flags  top  [erase]  n_origins  origin*n_origins  n_fields  field*n_fields
//   flags   := bit 0: the record is erased
//   top     := the greatest hlc of the record's stamps (Record::max_hlc())
//   erase   := top-hlc  origin_index        (present iff flags bit 0)
//   origin  := length  bytes                (distinct origins of the stamps, in first-use order)
//   field   := number  tag  value  top-hlc  origin_index
//   tag     := 0 null | 1 integer | 2 false | 3 true | 4 text
//   value   := integer: zigzag varint; text: length bytes; null/false/true: nothing
//
// Fields are in increasing field number (the order of Record::fields), each
// carrying the stamp (hlc, origin) of the change that last set it. Stamps are
// written as their distance below `top` (one byte when a field was set by the
// record's last change, against nine for a whole hlc) and origins are interned,
// because a record's fields mostly share one or two stamps. The encoding of a
// Record is unique, so equal records give equal bytes.

#include "common/core/record_codec.h"

#include <vector>

namespace terril {
namespace {

constexpr uint8_t kVersion = 1;
enum Tag : uint8_t { kNull = 0, kInteger = 1, kFalse = 2, kTrue = 3, kText = 4 };

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void put_bytes(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

struct Reader {
  std::string_view in;
  size_t pos = 0;
  bool ok = true;

  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= in.size()) break;
      auto b = static_cast<uint8_t>(in[pos++]);
      v |= uint64_t{b & 0x7Fu} << shift;
      if (!(b & 0x80)) return v;
    }
    ok = false;
    return 0;
  }
  uint8_t byte() {
    if (pos >= in.size()) {
      ok = false;
      return 0;
    }
    return static_cast<uint8_t>(in[pos++]);
  }
  std::string_view bytes() {
    uint64_t n = varint();
    if (!ok || n > in.size() - pos) {
      ok = false;
      return {};
    }
    std::string_view s = in.substr(pos, n);
    pos += n;
    return s;
  }
};

Status corrupt() {
  return Status(Code::io, "corrupt record state");
}

}  // namespace

void encode_state(const Record& r, std::string& out) {
  out.clear();
  std::vector<std::string_view> origins;
  auto index_of = [&](const std::string& o) -> uint64_t {
    for (size_t i = 0; i < origins.size(); ++i)
      if (origins[i] == o) return i;
    origins.push_back(o);
    return origins.size() - 1;
  };
  uint64_t erase_origin = r.erased ? index_of(r.erase_stamp.origin) : 0;
  std::vector<uint64_t> field_origin;
  field_origin.reserve(r.fields.size());
  for (const auto& [f, st] : r.fields) field_origin.push_back(index_of(st.stamp.origin));

  const uint64_t top = r.max_hlc();
  out.push_back(static_cast<char>(kVersion));
  put_varint(out, r.erased ? 1 : 0);
  put_varint(out, top);
  if (r.erased) {
    put_varint(out, top - r.erase_stamp.hlc);
    put_varint(out, erase_origin);
  }
  put_varint(out, origins.size());
  for (auto o : origins) put_bytes(out, o);
  put_varint(out, r.fields.size());
  size_t i = 0;
  for (const auto& [f, st] : r.fields) {
    put_varint(out, static_cast<uint64_t>(f));
    switch (st.value.index()) {
      case 0:
        out.push_back(kNull);
        break;
      case 1: {
        out.push_back(kInteger);
        auto x = static_cast<uint64_t>(std::get<int64_t>(st.value));
        put_varint(out, (x << 1) ^ (std::get<int64_t>(st.value) < 0 ? ~uint64_t{0} : 0));
        break;
      }
      case 2:
        out.push_back(std::get<bool>(st.value) ? kTrue : kFalse);
        break;
      case 3:
        out.push_back(kText);
        put_bytes(out, std::get<std::string>(st.value));
        break;
    }
    put_varint(out, top - st.stamp.hlc);
    put_varint(out, field_origin[i++]);
  }
}

Status decode_state(std::string_view bytes, Record& r) {
  Reader in{bytes};
  r.fields.clear();
  r.erased = false;
  r.erase_stamp = {};
  if (in.byte() != kVersion) return corrupt();
  uint64_t flags = in.varint();
  const uint64_t top = in.varint();
  auto below_top = [&](uint64_t delta) -> uint64_t {
    if (delta > top) in.ok = false;
    return top - delta;
  };
  uint64_t erase_hlc = 0, erase_origin = 0;
  if (flags & 1) {
    erase_hlc = below_top(in.varint());
    erase_origin = in.varint();
  }
  uint64_t n_origins = in.varint();
  if (!in.ok || n_origins > bytes.size()) return corrupt();
  std::vector<std::string_view> origins;
  origins.reserve(n_origins);
  for (uint64_t i = 0; i < n_origins && in.ok; ++i) origins.push_back(in.bytes());
  auto origin = [&](uint64_t idx) -> std::string {
    if (idx >= origins.size()) {
      in.ok = false;
      return {};
    }
    return std::string(origins[idx]);
  };
  if (flags & 1) {
    r.erased = true;
    r.erase_stamp = Stamp{erase_hlc, origin(erase_origin)};
  }
  uint64_t n_fields = in.varint();
  if (!in.ok || n_fields > bytes.size()) return corrupt();
  for (uint64_t i = 0; i < n_fields && in.ok; ++i) {
    uint64_t number = in.varint();
    if (!in.ok || number > 0xFFFF || !field_spec(r.entity, static_cast<Field>(number))) return corrupt();
    FieldState st;
    switch (in.byte()) {
      case kNull:
        break;
      case kInteger: {
        uint64_t z = in.varint();
        st.value = static_cast<int64_t>((z >> 1) ^ (~(z & 1) + 1));
        break;
      }
      case kFalse:
        st.value = false;
        break;
      case kTrue:
        st.value = true;
        break;
      case kText:
        st.value = std::string(in.bytes());
        break;
      default:
        return corrupt();
    }
    st.stamp.hlc = below_top(in.varint());
    st.stamp.origin = origin(in.varint());
    r.fields.emplace_hint(r.fields.end(), static_cast<Field>(number), std::move(st));
  }
  if (!in.ok || in.pos != bytes.size()) return corrupt();
  return Status::ok();
}

}  // namespace terril
