// The command line of `terril-hub export`: its flags, filling ExportFilters,
// and the private file `-o FILE` writes. Compiled into the terril-hub
// executable only: the admin library parses no command line and does not
// link CLI11.
#pragma once

#include <memory>
#include <ostream>
#include <string>

#include "common/core/status.h"
#include "hub/export.h"

namespace CLI {
class App;
}

namespace terril {

// --centre, --agglomeration, --event, --role, --attended, --from, --to,
// --search, bound to `f` (which must outlive app.parse()).
void add_export_flags(CLI::App& app, ExportFilters& f);

// `export -o FILE`: FILE opened for writing, truncated, mode 0600 from its
// creation (fchmod'ed to 0600 if it existed), never through a symbolic link
// (export holds personal data; another local user must never get a window to
// open it). The stream owns the descriptor; check it after the last write
// (flush() fails on a write error). Errors: io (with the errno text).
Result<std::unique_ptr<std::ostream>> open_export_file(const std::string& path);

}  // namespace terril
