// The node's credentials.toml (node/credentials.h): load, save, check permissions.
#include "node/credentials.h"

#include <sys/stat.h>
#include <toml++/toml.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/core/validate.h"
#include "common/ops/tls.h"

namespace terril {
namespace {

constexpr size_t kSecretBytes = 32;

bool valid_hub_url(std::string_view u) {
  if (!(u.starts_with("wss://") || u.starts_with("ws://"))) return false;
  if (u.size() > 512 || u.size() <= 6) return false;
  for (unsigned char c : u) {
    if (c <= ' ' || c == '"' || c == '\\' || c >= 0x7f) return false;
  }
  return true;
}

bool valid_hub_id(std::string_view h) {
  if (h.empty() || h.size() > 128) return false;
  for (unsigned char c : h) {
    if (c <= ' ' || c == '"' || c == '\\' || c >= 0x7f) return false;
  }
  return true;
}

// REQUIRES: none; returns the key of the first bad field, or "" when valid.
std::string first_bad_field(const Credentials& c) {
  if (!valid_node_id(c.node_id)) return "node_id";
  if (c.node_secret.size() != kSecretBytes) return "node_secret";
  if (!valid_slug(c.centre_id)) return "centre_id";
  if (!valid_hub_url(c.hub_url)) return "hub_url";
  if (!valid_hub_id(c.hub_id)) return "hub_id";
  if (!c.hub_fingerprint.empty() && !valid_fingerprint(c.hub_fingerprint)) return "hub_fingerprint";
  if (c.hub_fingerprint.empty() && !c.hub_url.starts_with("ws://")) return "hub_fingerprint";
  if (c.enrolled_at_ms < 0) return "enrolled_at";
  return "";
}

toml::date_time to_toml_time(int64_t ms) {
  using namespace std::chrono;
  sys_time<milliseconds> tp{milliseconds{ms}};
  auto day = floor<days>(tp);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{tp - day};
  toml::date d{static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day())};
  toml::time t{static_cast<unsigned>(hms.hours().count()), static_cast<unsigned>(hms.minutes().count()),
               static_cast<unsigned>(hms.seconds().count()),
               static_cast<unsigned>(hms.subseconds().count()) * 1000000u};
  return toml::date_time{d, t, toml::time_offset{}};
}

int64_t from_toml_time(const toml::date_time& dt) {
  using namespace std::chrono;
  year_month_day ymd{year{dt.date.year}, month{dt.date.month}, day{dt.date.day}};
  auto tp = sys_days{ymd} + hours{dt.time.hour} + minutes{dt.time.minute} + seconds{dt.time.second} +
            duration_cast<milliseconds>(nanoseconds{dt.time.nanosecond});
  int64_t ms = duration_cast<milliseconds>(tp.time_since_epoch()).count();
  if (dt.offset) ms -= static_cast<int64_t>(dt.offset->minutes) * 60 * 1000;
  return ms;
}

}  // namespace

Status save_credentials(const std::string& dir, const Credentials& c) {
  if (auto bad = first_bad_field(c); !bad.empty()) {
    return Status(Code::invalid, "credentials: bad value for '" + bad + "'", bad);
  }
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Status(Code::io, "cannot create folder " + dir + ": " + ec.message());
    restrict_dir(dir);
  }

  toml::table t{
      {"node_id", c.node_id},
      {"node_secret", to_hex(c.node_secret)},
      {"centre_id", c.centre_id},
      {"hub_url", c.hub_url},
      {"hub_id", c.hub_id},
      {"hub_fingerprint", c.hub_fingerprint},
      {"enrolled_at", to_toml_time(c.enrolled_at_ms)},
  };
  std::ostringstream out;
  out << "# terril-node credentials, written by `terril-node enrol`.\n"
         "# Secret: keep this file mode 0600, owned by the terril-node user.\n"
      << t << "\n";
  std::string text = out.str();
  Status st = write_file_atomic(dir + "/" + kCredentialsFile, text, 0600);
  std::fill(text.begin(), text.end(), '\0');
  return st;
}

Result<std::optional<Credentials>> load_credentials(const std::string& dir) {
  std::string path = dir + "/" + kCredentialsFile;
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) {
    if (errno == ENOENT) return std::optional<Credentials>{};
    return Status(Code::io, "cannot read " + path + ": " + std::strerror(errno));
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status(Code::io, "cannot read " + path + ": " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();

  toml::table t;
  try {
    t = toml::parse(buf.str(), path);
  } catch (const toml::parse_error& e) {
    return Status(Code::invalid,
                  path + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()));
  }

  Credentials c;
  c.loose_permissions = (sb.st_mode & 0077) != 0;
  auto bad = [&](const std::string& key) {
    return Status(Code::invalid, path + ": missing or bad value for '" + key + "'", key,
                  path + " : valeur absente ou incorrecte pour « " + key + " »");
  };
  for (auto&& [k, v] : t) {
    std::string key(k.str());
    if (key == "enrolled_at") {
      if (auto dt = v.as_date_time()) {
        c.enrolled_at_ms = from_toml_time(dt->get());
      } else if (auto i = v.as_integer()) {
        c.enrolled_at_ms = i->get();
      } else {
        return bad(key);
      }
      continue;
    }
    auto s = v.as_string();
    if (!s) return bad(key);
    if (key == "node_id")
      c.node_id = s->get();
    else if (key == "node_secret") {
      auto raw = from_hex(s->get());
      if (!raw) return bad(key);
      c.node_secret = std::move(raw).value();
    } else if (key == "centre_id")
      c.centre_id = s->get();
    else if (key == "hub_url")
      c.hub_url = s->get();
    else if (key == "hub_id")
      c.hub_id = s->get();
    else if (key == "hub_fingerprint")
      c.hub_fingerprint = s->get();
    else {
      return Status(Code::invalid, path + ":" + std::to_string(k.source().begin.line) + ": unknown key '" + key + "'",
                    key);
    }
  }
  if (auto key = first_bad_field(c); !key.empty()) return bad(key);
  return std::optional<Credentials>(std::move(c));
}

}  // namespace terril
