// GET /api/v1/events/{id}/attendance-sheet: the event, its host and its
// registrations read from the Store, rendered by common/core/attendance_sheet.
#include "common/net/attendance_sheet.h"

#include <sodium.h>

#include <vector>

#include "common/core/attendance_sheet.h"
#include "common/net/api_support.h"

namespace terril {

const std::string& attendance_sheet_csp() {
  static const std::string csp = [] {
    [[maybe_unused]] const int init = sodium_init();  // idempotent; SHA-256 itself needs no set-up
    const std::string_view css = attendance_sheet_css();
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(css.data()), css.size());
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, digest, sizeof digest, sodium_base64_VARIANT_ORIGINAL);
    return "default-src 'none'; script-src 'self'; style-src 'sha256-" + std::string(b64) +
           "'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
  }();
  return csp;
}

HttpResponse attendance_sheet_response(Store& store, const std::string& event_id, std::string_view who,
                                       const std::optional<std::string>& only_host) {
  auto event = store.get(Entity::event, event_id);
  if (!event) return status_response(event.status(), who);
  if (!event->has_value() || (*event)->erased) return not_found();
  const Record& ev = **event;
  if (only_host && ev.centre_id != *only_host)
    return error_response(403, "not_host", "",
                          "Seul le centre organisateur de cet événement peut imprimer sa feuille d'émargement : il est "
                          "le seul à connaître toutes les inscriptions.");

  std::string host_name = ev.centre_id;
  auto centre = store.get(Entity::centre, ev.centre_id);
  if (!centre) return status_response(centre.status(), who);
  if (centre->has_value() && !(*centre)->erased)
    if (auto name = (*centre)->text(Field::name)) host_name = *name;

  ListQuery q;
  q.filters.emplace_back("event_id", event_id);
  std::vector<Record> registrations;
  Status s = store.for_each(Entity::registration, q, [&](const Record& r) {
    registrations.push_back(r);
    return true;
  });
  if (!s) return status_response(s, who);

  HttpResponse res = text_response(200, render_attendance_sheet(ev, host_name, registrations, eu_emblem_svg()),
                                   "text/html; charset=utf-8");
  res.headers.emplace_back("Content-Security-Policy", attendance_sheet_csp());
  res.headers.emplace_back("Cache-Control", "no-store");
  return res;
}

}  // namespace terril
