// Prometheus text exposition (format 0.0.4) for both daemons' /metrics:
// HELP and TYPE lines, samples, label escaping. Pure string building.
#pragma once

#include <string>
#include <string_view>

#include "common/net/http.h"

namespace terril {

// "%.17g": integers print as integers, doubles round-trip.
std::string prom_number(double v);
// "# HELP name help\n# TYPE name type\n".
void prom_head(std::string& out, std::string_view name, std::string_view type, std::string_view help);
// One sample line "name value\n"; `labels` is already rendered
// ("node=\"x\"") or empty.
void prom_sample(std::string& out, std::string_view name, std::string_view labels, std::string_view value);
// prom_head, then one unlabelled sample.
void prom_metric(std::string& out, std::string_view name, std::string_view type, std::string_view help, double v);
// A label value with \\, \" and \n escaped.
std::string prom_label(std::string_view v);
// 200 with the exposition's content type.
HttpResponse prom_response(std::string body);

}  // namespace terril
