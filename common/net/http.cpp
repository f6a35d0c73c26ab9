// HTTP request and response values and their helpers (see http.h). No sockets.
#include "common/net/http.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/core/validate.h"

namespace terril {
namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char ascii_lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool clean_text(const std::string& s) {
  return s.find('\0') == std::string::npos && valid_utf8(s);
}

void set_default_header(HttpResponse& res, std::string_view name, std::string_view value) {
  if (!res.header(name)) res.headers.emplace_back(std::string(name), std::string(value));
}

}  // namespace

const std::string* HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (iequals(k, name)) return &v;
  return nullptr;
}

namespace {
thread_local bool t_deferral_available = false;
}  // namespace

bool deferral_available() {
  return t_deferral_available;
}

DeferralScope::DeferralScope() : saved_(t_deferral_available) {
  t_deferral_available = true;
}

DeferralScope::~DeferralScope() {
  t_deferral_available = saved_;
}

HttpResponse merge_deferred(const HttpResponse& res, HttpResponse done) {
  for (const auto& [k, v] : res.headers)
    if (!done.header(k)) done.headers.emplace_back(k, v);
  return done;
}

HttpResponse resolve_now(HttpResponse res) {
  if (!res.deferred) return res;
  auto build = res.deferred();
  return merge_deferred(res, build());
}

HttpResponse then(HttpResponse res, std::function<void(HttpResponse&)> after) {
  if (!res.deferred) {
    after(res);
    return res;
  }
  res.deferred = [work = std::move(res.deferred), after = std::move(after)]() -> std::function<HttpResponse()> {
    return [build = work(), after]() {
      HttpResponse done = build();
      after(done);
      return done;
    };
  };
  return res;
}

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
        c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::optional<ParsedTarget> parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  ParsedTarget out;
  auto hash = target.find('#');
  if (hash != std::string_view::npos) target = target.substr(0, hash);
  auto qpos = target.find('?');
  auto raw_path = target.substr(0, qpos);
  auto path = percent_decode(raw_path, false);
  if (!path || !clean_text(*path)) return std::nullopt;
  out.path = std::move(*path);
  if (qpos == std::string_view::npos) return out;
  std::string_view q = target.substr(qpos + 1);
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), true);
    if (!key || !value || !clean_text(*key) || !clean_text(*value)) return std::nullopt;
    out.query.emplace_back(std::move(*key), std::move(*value));
  }
  return out;
}

bool fill_path_and_query(HttpRequest& req) {
  auto parsed = parse_target(req.target);
  if (!parsed) return false;
  req.path = std::move(parsed->path);
  req.query = std::move(parsed->query);
  return true;
}

std::optional<std::string> cookie(const HttpRequest& req, std::string_view name) {
  auto it = req.headers.find("cookie");
  if (it == req.headers.end()) return std::nullopt;
  // Several Cookie headers may have been joined with "; " or ", " by the server.
  std::string_view rest = it->second;
  while (!rest.empty()) {
    auto semi = rest.find(';');
    std::string_view item = trim(rest.substr(0, semi));
    rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
    auto eq = item.find('=');
    if (eq == std::string_view::npos) continue;
    if (trim(item.substr(0, eq)) != name) continue;
    std::string_view value = trim(item.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') value = value.substr(1, value.size() - 2);
    return std::string(value);
  }
  return std::nullopt;
}

std::string header(const HttpRequest& req, std::string_view lowercase_name) {
  auto it = req.headers.find(std::string(lowercase_name));
  return it == req.headers.end() ? std::string() : it->second;
}

std::optional<std::string> query_param(const HttpRequest& req, std::string_view key) {
  for (const auto& [k, v] : req.query)
    if (k == key) return v;
  return std::nullopt;
}

bool is_mutating(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

bool is_json_content_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  return iequals(trim(content_type.substr(0, semi)), "application/json");
}

HttpResponse json_response(int status, const nlohmann::json& body) {
  HttpResponse res;
  res.status = status;
  res.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return res;
}

HttpResponse error_response(int status, std::string_view code, std::string_view field, std::string_view message_fr) {
  nlohmann::json j = {{"code", code},
                      {"field", field.empty() ? nlohmann::json(nullptr) : nlohmann::json(field)},
                      {"message", message_fr}};
  return json_response(status, j);
}

HttpResponse text_response(int status, std::string body, std::string content_type) {
  HttpResponse res;
  res.status = status;
  res.body = std::move(body);
  res.content_type = std::move(content_type);
  return res;
}

void add_security_headers(HttpResponse& res) {
  set_default_header(res, "Content-Security-Policy",
                     "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; "
                     "form-action 'self'; frame-ancestors 'none'");
  set_default_header(res, "X-Content-Type-Options", "nosniff");
  set_default_header(res, "Referrer-Policy", "no-referrer");
  set_default_header(res, "X-Frame-Options", "DENY");
  set_default_header(res, "Cross-Origin-Opener-Policy", "same-origin");
}

std::string_view content_type_for(std::string_view path) {
  struct Entry {
    std::string_view ext, type;
  };
  static constexpr Entry kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".json", "application/json; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".woff2", "font/woff2"},
      {".webmanifest", "application/manifest+json"},
  };
  for (const auto& e : kTypes)
    if (path.size() >= e.ext.size() && iequals(path.substr(path.size() - e.ext.size()), e.ext)) return e.type;
  return "application/octet-stream";
}

bool safe_relative_path(std::string_view rel) {
  if (rel.empty() || rel.front() == '/') return false;
  if (rel.find('\\') != std::string_view::npos || rel.find('\0') != std::string_view::npos) return false;
  while (true) {
    auto slash = rel.find('/');
    std::string_view seg = rel.substr(0, slash);
    if (seg.empty() || seg == "." || seg == "..") return false;
    if (slash == std::string_view::npos) return true;
    rel = rel.substr(slash + 1);
  }
}

HttpResponse serve_embedded(std::span<const StaticFile> files, std::string_view rel) {
  if (safe_relative_path(rel)) {
    for (const auto& f : files) {
      if (f.path != rel) continue;
      HttpResponse res = text_response(200, std::string(f.data), std::string(content_type_for(rel)));
      res.headers.emplace_back("Cache-Control", "no-cache");
      return res;
    }
  }
  return text_response(404, "Page introuvable.\n");
}

HttpResponse serve_directory(const std::string& root, std::string_view rel) {
  constexpr off_t kMaxFile = 16 << 20;
  if (!safe_relative_path(rel)) return text_response(404, "Page introuvable.\n");
  std::string full = root + "/" + std::string(rel);
  struct stat st {};
  if (::stat(full.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > kMaxFile)
    return text_response(404, "Page introuvable.\n");
  std::ifstream in(full, std::ios::binary);
  if (!in) return text_response(404, "Page introuvable.\n");
  std::ostringstream ss;
  ss << in.rdbuf();
  HttpResponse res = text_response(200, ss.str(), std::string(content_type_for(rel)));
  res.headers.emplace_back("Cache-Control", "no-cache");
  return res;
}

}  // namespace terril
