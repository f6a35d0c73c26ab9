// UUID text and bytes, ISO 8601 times and Paris dates (see ids.h). Pure.
#include "common/core/ids.h"

#include <cstdio>

#include "common/core/validate.h"

namespace terril {
namespace {

constexpr char kHex[] = "0123456789abcdef";

int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// Howard Hinnant's days_from_civil / civil_from_days.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (size_t i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + (c - '0');
  }
  return true;
}

// Last Sunday of `month` in `year`, at 01:00 UTC, in ms.
int64_t last_sunday_1utc(int64_t year, unsigned month) {
  unsigned next_m = month == 12 ? 1 : month + 1;
  int64_t next_y = month == 12 ? year + 1 : year;
  int64_t last_day = days_from_civil(next_y, next_m, 1) - 1;
  int64_t weekday = (last_day + 4) % 7;  // 1970-01-01 was a Thursday (4); 0 = Sunday
  if (weekday < 0) weekday += 7;
  return ((last_day - weekday) * 86400 + 3600) * 1000;
}

}  // namespace

std::string uuid_v4(const std::array<uint8_t, 16>& r) {
  std::array<uint8_t, 16> b = r;
  b[6] = static_cast<uint8_t>((b[6] & 0x0F) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3F) | 0x80);
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    out += kHex[b[i] >> 4];
    out += kHex[b[i] & 15];
  }
  return out;
}

std::optional<std::string> uuid_to_bytes(std::string_view text) {
  if (!valid_uuid(text)) return std::nullopt;
  std::string out;
  out.reserve(16);
  for (size_t i = 0; i < 36;) {
    if (text[i] == '-') {
      ++i;
      continue;
    }
    out += static_cast<char>(hexval(text[i]) << 4 | hexval(text[i + 1]));
    i += 2;
  }
  return out;
}

std::optional<std::string> uuid_from_bytes(std::string_view bytes) {
  if (bytes.size() != 16) return std::nullopt;
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out += '-';
    auto b = static_cast<uint8_t>(bytes[i]);
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

std::optional<int64_t> parse_iso8601(std::string_view s) {
  int y, mo, d, h = 0, mi = 0, se = 0, ms = 0;
  if (!digits(s, 0, 4, y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' || !digits(s, 8, 2, d))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return std::nullopt;
  size_t pos = 10;
  int64_t offset_min = 0;
  if (pos < s.size()) {
    if (s[pos] != 'T' && s[pos] != ' ') return std::nullopt;
    if (!digits(s, pos + 1, 2, h) || pos + 3 >= s.size() || s[pos + 3] != ':' || !digits(s, pos + 4, 2, mi))
      return std::nullopt;
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!digits(s, pos + 1, 2, se)) return std::nullopt;
      pos += 3;
      if (pos < s.size() && s[pos] == '.') {
        size_t start = ++pos;
        int frac = 0, n = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
          if (n < 3) {
            frac = frac * 10 + (s[pos] - '0');
            ++n;
          }
          ++pos;
        }
        if (pos == start) return std::nullopt;
        while (n < 3) {
          frac *= 10;
          ++n;
        }
        ms = frac;
      }
    }
    if (h > 23 || mi > 59 || se > 60) return std::nullopt;
    if (pos < s.size()) {
      if (s[pos] == 'Z' && pos + 1 == s.size()) {
        ++pos;
      } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() && s[pos + 3] == ':') {
        int oh, om;
        if (!digits(s, pos + 1, 2, oh) || !digits(s, pos + 4, 2, om)) return std::nullopt;
        offset_min = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
        pos += 6;
      } else {
        return std::nullopt;
      }
    }
  }
  if (pos != s.size()) return std::nullopt;
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  if (civil_from_days(days).d != static_cast<unsigned>(d)) return std::nullopt;  // 31 Feb
  return ((days * 86400 + h * 3600 + mi * 60 + se) - offset_min * 60) * 1000 + ms;
}

std::string format_iso8601(int64_t ms) {
  int64_t secs = floor_div(ms, 1000);
  int64_t milli = ms - secs * 1000;
  int64_t days = floor_div(secs, 86400);
  int64_t rem = secs - days * 86400;
  Civil c = civil_from_days(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%03lldZ", static_cast<long long>(c.y), c.m, c.d,
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60),
                static_cast<long long>(rem % 60), static_cast<long long>(milli));
  return buf;
}

int paris_offset_minutes(int64_t ms) {
  // EU rule since 1996: summer time from the last Sunday of March to the last
  // Sunday of October, both at 01:00 UTC.
  int64_t year = civil_from_days(floor_div(ms, 86400000)).y;
  return (ms >= last_sunday_1utc(year, 3) && ms < last_sunday_1utc(year, 10)) ? 120 : 60;
}

std::string format_fr_datetime(int64_t ms) {
  int64_t local = ms + paris_offset_minutes(ms) * 60000LL;
  int64_t secs = floor_div(local, 1000);
  int64_t days = floor_div(secs, 86400);
  int64_t rem = secs - days * 86400;
  Civil c = civil_from_days(days);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%02u/%02u/%04lld %02lld:%02lld", c.d, c.m, static_cast<long long>(c.y),
                static_cast<long long>(rem / 3600), static_cast<long long>(rem / 60 % 60));
  return buf;
}

std::string format_fr_date(int64_t ms) {
  return format_fr_datetime(ms).substr(0, 10);
}

}  // namespace terril
