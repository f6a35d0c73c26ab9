// The attendance sheet (feuille d'émargement) of one event, the funders'
// proof that it took place: a printable French HTML page, built as a string.
// Pure: no I/O, no clock; the records and the emblem are passed in.
//
// The page: the operation's name, the EU emblem and the FEDER sentence on
// every printed page; the event (title, kind, date and time in Paris time,
// place) and its host centre; one line per live registration, sorted by last
// name then first name (accents and case ignored), with N°, Nom, Prénom,
// Rôle, Présent (« oui » / « non ») and an empty Signature cell; the totals
// (inscrits, présents) after the last line. The lines come in chunks of
// kSheetRowsPerPage, each its own table with its header row and page header
// and footer, and a page break after it: an A4 portrait page per chunk.
//
// Styles are in one inline <style> element whose text is
// attendance_sheet_css() (so the response's CSP can allow it by hash); the
// only thing the page fetches is kSheetScriptPath, for its « Imprimer »
// button (hidden in print); its icon is an empty data: URL (no favicon
// request). Every value from a record is HTML-escaped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "common/core/model.h"

namespace terril {

// Lines per printed page (and per table chunk).
inline constexpr size_t kSheetRowsPerPage = 25;
// The print button's script, one of the embedded UI assets of both daemons.
inline constexpr std::string_view kSheetScriptPath = "/assets/sheet.js";

// The whole page. `event` is an event record; `host_name` its host centre's
// name (or its id when the centre is unknown); `registrations` the event's
// registrations (any order; deleted and erased ones are left out);
// `emblem_svg` the EU emblem's SVG markup, trusted (embedded at build time)
// and inlined as is.
std::string render_attendance_sheet(const Record& event, std::string_view host_name,
                                    std::span<const Record> registrations, std::string_view emblem_svg);

// The text of the page's one <style> element.
std::string_view attendance_sheet_css();

// --- Parts, for tests --------------------------------------------------------

// `s` with & < > " ' replaced by character references.
std::string html_escape(std::string_view s);
// The sheet's order: last name, then first name (folded: people.h
// fold_text, « Lefèvre » sorts as "lefevre"), then
// the names as written, then the id (a total order).
bool sheet_before(const Record& a, const Record& b);
// « samedi 14 mars 2026, 14 h 00 – 17 h 00 » in Paris time; the end's date
// is repeated when it is another day; no end (0): the start alone.
std::string format_fr_event_time(int64_t starts_ms, int64_t ends_ms);
// French labels of a role and an event kind (the value itself when unknown).
std::string_view role_label_fr(std::string_view role);
std::string_view kind_label_fr(std::string_view kind);

}  // namespace terril
