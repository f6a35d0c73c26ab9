// Identifiers and times: UUID text <-> bytes, ISO 8601 <-> ms. Pure.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace terril {

// A version-4 UUID from 16 random bytes supplied by the caller.
std::string uuid_v4(const std::array<uint8_t, 16>& random);
// 36-char text <-> 16 raw bytes. nullopt if not a valid UUID.
std::optional<std::string> uuid_to_bytes(std::string_view text);
std::optional<std::string> uuid_from_bytes(std::string_view bytes);

// "2026-11-29T10:00:00Z" or with ".123", or with "+01:00". nullopt if invalid.
std::optional<int64_t> parse_iso8601(std::string_view s);
// ms -> "2026-11-29T10:00:00.000Z" (UTC).
std::string format_iso8601(int64_t ms);
// ms -> "29/11/2026 11:00" in French local time (Europe/Paris rules: CET/CEST).
std::string format_fr_datetime(int64_t ms);
std::string format_fr_date(int64_t ms);
// Offset of Europe/Paris from UTC at that instant, in minutes (60 or 120).
int paris_offset_minutes(int64_t ms);

}  // namespace terril
