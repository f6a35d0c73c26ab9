// `terril-hub export` flags (CLI11) -> ExportFilters.
#include "hub/export_cli.h"

#include <CLI/CLI.hpp>

namespace terril {

void add_export_flags(CLI::App& app, ExportFilters& f) {
  app.add_option("--centre", f.centre_id, "Only this centre");
  app.add_option("--agglomeration", f.agglomeration, "valenciennes-metropole | porte-du-hainaut | lens-lievin");
  app.add_option("--event", f.event_id, "Only registrations for this event id");
  app.add_option("--role", f.role, "habitant | benevole | partenaire | salarie | administrateur | institutionnel");
  app.add_option("--attended", f.attended, "true | false");
  app.add_option("--from", f.from, "Created (or, for events, starting) on or after this date, YYYY-MM-DD (Paris)");
  app.add_option("--to", f.to, "... up to this date included, YYYY-MM-DD (Paris)");
  app.add_option("--search", f.q, "Text search");
}

}  // namespace terril
