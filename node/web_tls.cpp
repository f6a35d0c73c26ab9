// The web UI's certificate (node/web_tls.h): scheme, making, fingerprint.
#include "node/web_tls.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "common/net/ws_server.h"

namespace terril {
namespace {

constexpr int64_t kFloorMs = 1735689600000LL;  // 2025-01-01T00:00:00Z: no earlier box runs this code
constexpr int kValidDays = 3653;               // 10 years, with their leap days
constexpr int kBackdateDays = 365;             // a reader's (or our) clock up to a year behind
constexpr size_t kMaxAddresses = 16;

std::string host_name() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

}  // namespace

WebScheme web_scheme(const NodeConfig& c) {
  auto hp = parse_host_port(c.listen);
  if (hp && is_loopback_address(hp->host)) return WebScheme::plain_loopback;
  return c.plain_http ? WebScheme::plain_off_loopback : WebScheme::https;
}

const char* web_scheme_name(WebScheme s) {
  return s == WebScheme::https ? "https" : "http";
}

SelfSignedSpec web_certificate_spec(const std::string& node_id, const std::string& host_name,
                                    const std::vector<std::string>& addresses, int64_t now_ms) {
  SelfSignedSpec spec;
  auto usable = [](const std::string& n) { return !n.empty() && n.size() <= 64 && valid_certificate_dns_name(n); };
  if (usable(host_name)) {
    spec.dns_names.push_back(host_name);
    if (host_name.find('.') == std::string::npos) spec.dns_names.push_back(host_name + ".local");
  }
  if (usable(node_id)) spec.dns_names.push_back(node_id);
  spec.common_name = usable(node_id) ? node_id : usable(host_name) ? host_name : "terril-node";
  spec.ip_addresses = addresses;
  spec.now_s = std::max(now_ms, kFloorMs) / 1000;
  spec.backdate_days = kBackdateDays;
  spec.days = kValidDays;
  return spec;
}

std::vector<std::string> local_addresses() {
  std::vector<std::string> out;
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const struct ifaddrs* i = list; i != nullptr && out.size() < kMaxAddresses; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    char text[INET6_ADDRSTRLEN] = {0};
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const struct sockaddr_in*>(i->ifa_addr);
      if (!::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text)) continue;
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const struct sockaddr_in6*>(i->ifa_addr);
      if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr) || IN6_IS_ADDR_LOOPBACK(&a->sin6_addr)) continue;
      if (!::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text)) continue;
    } else {
      continue;
    }
    if (std::find(out.begin(), out.end(), text) == out.end()) out.emplace_back(text);
  }
  ::freeifaddrs(list);
  return out;
}

Result<std::string> make_web_certificate(const NodeConfig& c, const std::string& node_id, int64_t now_ms) {
  // enrol may run as root over the service user's folder: never write
  // through a link planted there (issue 13, L4).
  const std::filesystem::path tls_dir = std::filesystem::path(node_web_cert_path(c)).parent_path();
  for (const auto& p :
       {tls_dir, std::filesystem::path(node_web_cert_path(c)), std::filesystem::path(node_web_key_path(c))}) {
    std::error_code ec;
    if (std::filesystem::is_symlink(std::filesystem::symlink_status(p, ec)))
      return Status(Code::invalid, p.string() + " is a symbolic link: refusing to write the web UI certificate there");
  }
  SelfSignedSpec spec = web_certificate_spec(node_id, host_name(), local_addresses(), now_ms);
  if (Status s = generate_self_signed(node_web_cert_path(c), node_web_key_path(c), spec); !s) return s;
  return cert_fingerprint_pem(node_web_cert_path(c));
}

Result<std::string> ensure_web_certificate(const NodeConfig& c, const std::string& node_id, int64_t now_ms) {
  std::error_code e1, e2;
  if (std::filesystem::exists(node_web_cert_path(c), e1) && std::filesystem::exists(node_web_key_path(c), e2))
    return cert_fingerprint_pem(node_web_cert_path(c));
  return make_web_certificate(c, node_id, now_ms);
}

Result<std::optional<std::string>> web_fingerprint(const NodeConfig& c) {
  std::error_code ec;
  if (!std::filesystem::exists(node_web_cert_path(c), ec)) return std::optional<std::string>();
  auto fp = cert_fingerprint_pem(node_web_cert_path(c));
  if (!fp) return fp.status();
  return std::optional<std::string>(*fp);
}

}  // namespace terril
