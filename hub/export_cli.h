// The command-line flags of `terril-hub export`, filling ExportFilters.
// Compiled into the terril-hub executable only: the admin library parses no
// command line and does not link CLI11.
#pragma once

#include "hub/export.h"

namespace CLI {
class App;
}

namespace terril {

// --centre, --agglomeration, --event, --role, --attended, --from, --to,
// --search, bound to `f` (which must outlive app.parse()).
void add_export_flags(CLI::App& app, ExportFilters& f);

}  // namespace terril
