// Prometheus text rendering shared by the node's and the hub's /metrics.
#include "common/net/prometheus.h"

#include <cstdio>

namespace terril {

std::string prom_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

void prom_head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n# TYPE ").append(name).append(" ");
  out.append(type).append("\n");
}

void prom_sample(std::string& out, std::string_view name, std::string_view labels, std::string_view value) {
  out.append(name);
  if (!labels.empty()) out.append("{").append(labels).append("}");
  out.append(" ").append(value).append("\n");
}

void prom_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double v) {
  prom_head(out, name, type, help);
  prom_sample(out, name, "", prom_number(v));
}

std::string prom_label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

HttpResponse prom_response(std::string body) {
  return text_response(200, std::move(body), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace terril
