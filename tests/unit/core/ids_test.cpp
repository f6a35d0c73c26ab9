// UUIDs and times (common/core/ids.h).
#include "common/core/ids.h"

#include <array>
#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "common/core/validate.h"

namespace terril {
namespace {

using namespace std::string_literals;
using namespace std::string_view_literals;

TEST_CASE("uuid text and bytes round trip", "[ids]") {
  const std::string text = "0f8fad5b-d9cb-469f-a165-70867728950e";
  const std::string bytes = "\x0f\x8f\xad\x5b\xd9\xcb\x46\x9f\xa1\x65\x70\x86\x77\x28\x95\x0e"s;
  REQUIRE(bytes.size() == 16);
  CHECK(uuid_to_bytes(text) == bytes);
  CHECK(uuid_from_bytes(bytes) == text);

  std::mt19937_64 rng(12345);
  for (int i = 0; i < 200; ++i) {
    std::string raw(16, '\0');
    for (char& c : raw) c = static_cast<char>(rng());
    auto t = uuid_from_bytes(raw);
    REQUIRE(t);
    CHECK(valid_uuid(*t));
    CHECK(uuid_to_bytes(*t) == raw);
  }
  CHECK(uuid_from_bytes(std::string(16, '\0')) == "00000000-0000-0000-0000-000000000000");
  CHECK(uuid_from_bytes(std::string(16, '\xff')) == "ffffffff-ffff-ffff-ffff-ffffffffffff");
}

TEST_CASE("uuid conversions refuse what is not a canonical uuid", "[ids]") {
  for (std::string_view bad : {""sv, "0f8fad5b-d9cb-469f-a165-70867728950"sv, "0F8FAD5B-D9CB-469F-A165-70867728950E"sv,
                               "0f8fad5bd9cb469fa16570867728950e"sv, "0f8fad5b-d9cb-469f-a165-70867728950e0"sv,
                               "0f8fad5b-d9cb-469f-a165_70867728950e"sv, "zf8fad5b-d9cb-469f-a165-70867728950e"sv}) {
    INFO(bad);
    CHECK_FALSE(uuid_to_bytes(bad));
  }
  CHECK_FALSE(uuid_from_bytes(std::string(15, 'a')));
  CHECK_FALSE(uuid_from_bytes(std::string(17, 'a')));
  CHECK_FALSE(uuid_from_bytes(""));
}

TEST_CASE("uuid_v4 sets the version and variant bits and keeps the rest", "[ids]") {
  std::mt19937_64 rng(777);
  for (int i = 0; i < 200; ++i) {
    std::array<uint8_t, 16> r;
    for (auto& b : r) b = static_cast<uint8_t>(rng());
    if (i == 0) r.fill(0xff);
    if (i == 1) r.fill(0x00);
    std::string u = uuid_v4(r);
    INFO(u);
    REQUIRE(valid_uuid(u));
    CHECK(u[14] == '4');
    CHECK(std::string_view("89ab").find(u[19]) != std::string_view::npos);
    auto bytes = uuid_to_bytes(u);
    REQUIRE(bytes);
    for (size_t k = 0; k < 16; ++k) {
      auto got = static_cast<uint8_t>((*bytes)[k]);
      if (k == 6)
        CHECK((got & 0x0F) == (r[k] & 0x0F));
      else if (k == 8)
        CHECK((got & 0x3F) == (r[k] & 0x3F));
      else
        CHECK(got == r[k]);
    }
  }
}

TEST_CASE("parse_iso8601 reads UTC, fractions and offsets", "[ids]") {
  struct Case {
    std::string_view text;
    int64_t ms;
  };
  const Case cases[] = {
      {"2026-11-29T10:00:00Z", 1795946400000},
      {"2026-11-29T10:00:00.123Z", 1795946400123},
      {"2026-11-29T10:00:00.1Z", 1795946400100},
      {"2026-11-29T10:00:00.12Z", 1795946400120},
      {"2026-11-29T10:00:00.123456789Z", 1795946400123},  // truncated to ms
      {"2026-11-29T11:00:00+01:00", 1795946400000},
      {"2026-11-29T11:00:00.500+01:00", 1795946400500},
      {"2026-11-29T04:30:00-05:30", 1795946400000},
      {"2026-11-29T10:00:00+00:00", 1795946400000},
      {"2026-11-29T10:00:00-00:00", 1795946400000},
      {"2026-11-29T10:00Z", 1795946400000},
      {"2026-11-29 10:00:00Z", 1795946400000},
      {"2026-11-29T10:00:00", 1795946400000},  // no zone: UTC
      {"2026-11-29", 1795910400000},
      {"2024-02-29T00:00:00Z", 1709164800000},  // leap day
      {"2000-02-29T00:00:00Z", 951782400000},   // leap (divisible by 400)
      {"2000-01-01T00:00:00Z", 946684800000},
      {"1970-01-01T00:00:00Z", 0},
      {"1969-12-31T23:59:59.999Z", -1},
      {"2026-12-31T23:59:59.999Z", 1798761599999},
      {"2027-01-01T00:30:00+01:00", 1798759800000},  // offset crosses the year
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto ms = parse_iso8601(c.text);
    REQUIRE(ms);
    CHECK(*ms == c.ms);
  }
}

TEST_CASE("parse_iso8601 refuses invalid dates and garbage", "[ids]") {
  for (std::string_view bad : {""sv,
                               "garbage"sv,
                               "2026"sv,
                               "2026-11"sv,
                               "2026-1-29"sv,
                               "26-11-29"sv,
                               "2026/11/29"sv,
                               "2026-02-31"sv,
                               "2026-02-29"sv,
                               "1900-02-29"sv,
                               "2026-04-31"sv,
                               "2026-13-01"sv,
                               "2026-00-10"sv,
                               "2026-11-00"sv,
                               "2026-11-32"sv,
                               "2026-11-29T24:00:00Z"sv,
                               "2026-11-29T10:60:00Z"sv,
                               "2026-11-29T10:00:61Z"sv,
                               "2026-11-29T10Z"sv,
                               "2026-11-29T10:00:00ZZ"sv,
                               "2026-11-29T10:00:00z"sv,
                               "2026-11-29T10:00:00+0100"sv,
                               "2026-11-29T10:00:00+01"sv,
                               "2026-11-29T10:00:00+01:00 "sv,
                               " 2026-11-29"sv,
                               "2026-11-29T"sv,
                               "2026-11-29T10:00:00.Z"sv,
                               "2026-11-29T10:00:00,5Z"sv,
                               "2026-11-29X10:00:00Z"sv,
                               "2026-11-29T1a:00:00Z"sv,
                               "2026-11-29T10:00:00+01:0x"sv,
                               "29/11/2026"sv,
                               "２０２６-11-29"sv}) {
    INFO("\"" << bad << "\"");
    CHECK_FALSE(parse_iso8601(bad));
  }
}

TEST_CASE("format_iso8601 writes UTC with ms and parses back", "[ids]") {
  struct Case {
    int64_t ms;
    std::string_view text;
  };
  const Case cases[] = {
      {0, "1970-01-01T00:00:00.000Z"},
      {-1, "1969-12-31T23:59:59.999Z"},
      {1795946400123, "2026-11-29T10:00:00.123Z"},
      {1709164800000, "2024-02-29T00:00:00.000Z"},
      {1798761599999, "2026-12-31T23:59:59.999Z"},
      {7258118400000, "2200-01-01T00:00:00.000Z"},
  };
  for (const auto& c : cases) {
    CHECK(format_iso8601(c.ms) == c.text);
    CHECK(parse_iso8601(c.text) == c.ms);
  }
  std::mt19937_64 rng(2026);
  std::uniform_int_distribution<int64_t> any_ms(-62135596800000, 253402300799999);  // years 1..9999
  for (int i = 0; i < 2000; ++i) {
    int64_t ms = any_ms(rng);
    std::string text = format_iso8601(ms);
    INFO(ms << " " << text);
    CHECK(parse_iso8601(text) == ms);
  }
}

TEST_CASE("French dates follow Europe/Paris summer and winter time", "[ids]") {
  struct Case {
    const char* utc;
    std::string_view paris;
    int offset;
  };
  const Case cases[] = {
      // Spring forward: the last Sunday of March, 01:00 UTC (02:00 CET -> 03:00 CEST).
      {"2026-03-29T00:59:00Z", "29/03/2026 01:59", 60},
      {"2026-03-29T00:59:59.999Z", "29/03/2026 01:59", 60},
      {"2026-03-29T01:00:00Z", "29/03/2026 03:00", 120},
      {"2025-03-30T00:30:00Z", "30/03/2025 01:30", 60},
      {"2025-03-30T01:30:00Z", "30/03/2025 03:30", 120},
      // Fall back: the last Sunday of October, 01:00 UTC (03:00 CEST -> 02:00 CET).
      {"2026-10-25T00:59:00Z", "25/10/2026 02:59", 120},
      {"2026-10-25T01:00:00Z", "25/10/2026 02:00", 60},
      {"2024-10-27T00:30:00Z", "27/10/2024 02:30", 120},
      {"2024-10-27T01:30:00Z", "27/10/2024 02:30", 60},  // the repeated hour
      // Midnight and year boundaries in local time.
      {"2026-07-14T22:30:00Z", "15/07/2026 00:30", 120},
      {"2026-12-31T23:30:00Z", "01/01/2027 00:30", 60},
      {"2026-11-29T10:00:00Z", "29/11/2026 11:00", 60},
      {"2026-01-01T00:00:00Z", "01/01/2026 01:00", 60},
  };
  for (const auto& c : cases) {
    INFO(c.utc);
    auto ms = parse_iso8601(c.utc);
    REQUIRE(ms);
    CHECK(paris_offset_minutes(*ms) == c.offset);
    CHECK(format_fr_datetime(*ms) == c.paris);
    CHECK(format_fr_date(*ms) == c.paris.substr(0, 10));
  }
}

}  // namespace
}  // namespace terril
