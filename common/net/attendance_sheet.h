// The attendance sheet's HTTP answer, shared by the node and the hub:
// GET /api/v1/events/{id}/attendance-sheet reads the event, its host centre
// and every registration of the event from a Store and answers the page of
// common/core/attendance_sheet.h. No socket, no clock; called on the
// daemon's store thread (the Store's rule).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/net/http.h"
#include "common/store/store.h"

namespace terril {

// The EU emblem (common/ui/assets/ue.svg), embedded at build time.
std::string_view eu_emblem_svg();

// 200 text/html; charset=utf-8 with Cache-Control: no-store (personal data)
// and its own Content-Security-Policy (attendance_sheet_csp()); the other
// security headers are serve_api's. 404 not_found when the event is absent
// or erased. When `only_host` is set (a node: its centre), 403 not_host with
// a French message for an event another centre hosts (a node holds only its
// own registrations of it). Store errors: status_response(`who`).
HttpResponse attendance_sheet_response(Store& store, const std::string& event_id, std::string_view who,
                                       const std::optional<std::string>& only_host);

// The sheet's CSP: the daemons' policy with nothing fetched but the print
// script (script-src 'self') and the page's one <style> element allowed by
// its SHA-256 (no other inline style or script).
const std::string& attendance_sheet_csp();

}  // namespace terril
