// The attendance sheet's HTML (see attendance_sheet.h): sorting, French
// dates and labels, chunks of kSheetRowsPerPage lines. Pure.
#include "common/core/attendance_sheet.h"

#include "common/core/people.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>
#include <cstdio>
#include <tuple>
#include <vector>

#include "common/core/brand.h"
#include "common/core/ids.h"
#include "common/core/seats.h"

namespace terril {
namespace {

using namespace std::string_view_literals;

// A4 portrait with 10 mm margins leaves 277 mm: a page is a fixed-height
// column (header 42 mm, table header 7 mm, 25 lines of 8 mm, totals and
// footer: about 265 mm), so 25 lines always fit one page and never more.
// Names wrap on two lines at most (2 x 1.15 x 9.5 pt < 8 mm); a longer one
// is cut rather than pushing a line over.
constexpr std::string_view kCss = R"css(
@page { size: A4 portrait; margin: 10mm; }
* { box-sizing: border-box; }
html { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; font-size: 10pt; color: #111; }
body { margin: 0; background: #e8e8e8; }
.waiting { font-style: italic; color: #555; white-space: nowrap; }
.toolbar { max-width: 210mm; margin: 1rem auto; display: flex; justify-content: flex-end; }
.toolbar button { font: inherit; font-size: 1.1rem; padding: .5rem 1.2rem; border: 0; border-radius: 4px;
  background: #003399; color: #fff; cursor: pointer; }
.sheet-page { width: 210mm; margin: 0 auto 1rem; padding: 10mm; background: #fff; box-shadow: 0 1px 4px #0004;
  display: flex; flex-direction: column; }
.sheet-head { height: 42mm; overflow: hidden; }
.brand { display: flex; align-items: center; gap: 4mm; height: 13mm; }
.brand svg { height: 12mm; width: 18mm; flex: none; }
.brand .operation { font-weight: bold; font-size: 11pt; margin: 0; }
.brand .caption { font-size: 8pt; margin: 0; }
.brand .page-no { margin: 0 0 0 auto; font-size: 9pt; white-space: nowrap; }
h1 { font-size: 13pt; margin: 2mm 0 1.5mm; }
.event { display: grid; grid-template-columns: auto 1fr auto 1fr; gap: .6mm 3mm; margin: 0; font-size: 9pt; }
.event dt { font-weight: bold; }
.event dd { margin: 0; overflow: hidden; max-height: 2.4em; }
.event .event-title, .event .event-date { grid-column: span 3; }
table.sheet { width: 100%; border-collapse: collapse; table-layout: fixed; }
table.sheet th, table.sheet td { border: .3mm solid #333; padding: 0 1.5mm; text-align: left; vertical-align: middle; }
table.sheet thead tr { height: 7mm; background: #eee; }
table.sheet tbody tr { height: 8mm; break-inside: avoid; page-break-inside: avoid; }
table.sheet tbody td { font-size: 9.5pt; }
table.sheet .c { display: block; max-height: 2.3em; line-height: 1.15; overflow: hidden; overflow-wrap: anywhere; }
.col-n { width: 10mm; } .col-last { width: 50mm; } .col-first { width: 34mm; } .col-role { width: 30mm; }
.col-present { width: 19mm; }
td.num { text-align: right; }
td.empty { text-align: center; font-style: italic; }
.totals { margin: 2mm 0 0; font-size: 10pt; }
.sheet-foot { margin-top: auto; padding-top: 2mm; font-size: 8pt; border-top: .3mm solid #999; }
.sheet-foot p { margin: 0; }
@media print {
  body { background: none; }
  .no-print { display: none; }
  .sheet-page { width: auto; height: 276mm; margin: 0; padding: 0; box-shadow: none; overflow: hidden;
    break-after: page; page-break-after: always; }
  .sheet-page:last-of-type { break-after: auto; page-break-after: auto; }
  thead tr { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)css";

constexpr std::array kMonths = {"janvier"sv, "février"sv, "mars"sv,      "avril"sv,   "mai"sv,      "juin"sv,
                                "juillet"sv, "août"sv,    "septembre"sv, "octobre"sv, "novembre"sv, "décembre"sv};
constexpr std::array kWeekdays = {"dimanche"sv, "lundi"sv,    "mardi"sv, "mercredi"sv,
                                  "jeudi"sv,    "vendredi"sv, "samedi"sv};

struct Civil {
  int year;
  unsigned month, day, weekday;  // month 1..12, weekday 0 = Sunday
  int hour, minute;
};

Civil paris_civil(int64_t ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> local{milliseconds{ms + int64_t{paris_offset_minutes(ms)} * 60000}};
  const sys_days day = floor<days>(local);
  const year_month_day ymd{day};
  const auto minutes_in_day = duration_cast<minutes>(local - day).count();
  return Civil{int(ymd.year()),
               unsigned(ymd.month()),
               unsigned(ymd.day()),
               weekday{day}.c_encoding(),
               static_cast<int>(minutes_in_day / 60),
               static_cast<int>(minutes_in_day % 60)};
}

std::string fr_date(const Civil& c) {
  return std::string(kWeekdays[c.weekday]) + " " + (c.day == 1 ? std::string("1er") : std::to_string(c.day)) + " " +
         std::string(kMonths[c.month - 1]) + " " + std::to_string(c.year);
}

std::string fr_time(const Civil& c) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%d h %02d", c.hour, c.minute);
  return buf;
}

std::string text_of(const Record& r, Field f) {
  return r.text(f).value_or("");
}

// One <td> whose text may wrap on two lines.
void cell(std::string& out, std::string_view text) {
  out += "<td><span class=\"c\">";
  out += html_escape(text);
  out += "</span></td>";
}

void page_header(std::string& out, const Record& event, std::string_view host_name, std::string_view emblem_svg,
                 size_t page, size_t pages) {
  out += "<header class=\"sheet-head\">\n<div class=\"brand\">";
  out += emblem_svg;
  out += "<div><p class=\"operation\">";
  out += html_escape(kOperationName);
  out += "</p><p class=\"caption\">";
  out += html_escape(kFederCaption);
  out += "</p></div><p class=\"page-no\">Page " + std::to_string(page) + " / " + std::to_string(pages) + "</p></div>\n";
  out += "<h1>Feuille d'émargement</h1>\n<dl class=\"event\">";
  const auto ends = event.integer(Field::ends_at);
  const std::string place = text_of(event, Field::place);
  out += "<dt>Événement</dt><dd class=\"event-title\">" + html_escape(text_of(event, Field::title)) + " (" +
         html_escape(kind_label_fr(text_of(event, Field::kind))) + ")</dd>";
  out += "<dt>Date</dt><dd class=\"event-date\">" +
         html_escape(format_fr_event_time(event.integer(Field::starts_at).value_or(0), ends.value_or(0))) + "</dd>";
  out += "<dt>Centre organisateur</dt><dd class=\"event-host\">" + html_escape(host_name) + "</dd>";
  out += "<dt>Lieu</dt><dd class=\"event-place\">" + (place.empty() ? std::string("—") : html_escape(place)) +
         "</dd></dl>\n</header>\n";
}

void table_start(std::string& out) {
  out +=
      "<table class=\"sheet\">\n<colgroup><col class=\"col-n\"><col class=\"col-last\"><col class=\"col-first\">"
      "<col class=\"col-role\"><col class=\"col-present\"><col class=\"col-sign\"></colgroup>\n"
      "<thead><tr><th scope=\"col\">N°</th><th scope=\"col\">Nom</th><th scope=\"col\">Prénom</th>"
      "<th scope=\"col\">Rôle</th><th scope=\"col\">Présent</th><th scope=\"col\">Signature</th></tr></thead>\n"
      "<tbody>\n";
}

}  // namespace

std::string_view attendance_sheet_css() {
  return kCss;
}

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

bool sheet_before(const Record& a, const Record& b) {
  const std::string al = text_of(a, Field::last_name), bl = text_of(b, Field::last_name);
  const std::string af = text_of(a, Field::first_name), bf = text_of(b, Field::first_name);
  return std::forward_as_tuple(fold_text(al), fold_text(af), al, af, a.id) <
         std::forward_as_tuple(fold_text(bl), fold_text(bf), bl, bf, b.id);
}

std::string format_fr_event_time(int64_t starts_ms, int64_t ends_ms) {
  const Civil start = paris_civil(starts_ms);
  std::string out = fr_date(start) + ", " + fr_time(start);
  if (ends_ms <= 0) return out;
  const Civil end = paris_civil(ends_ms);
  out += " – ";
  if (std::tie(end.year, end.month, end.day) != std::tie(start.year, start.month, start.day))
    out += fr_date(end) + ", ";
  return out + fr_time(end);
}

std::string_view role_label_fr(std::string_view role) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kLabels = {{
      {"habitant", "Habitant·e"},
      {"benevole", "Bénévole"},
      {"partenaire", "Partenaire"},
      {"salarie", "Salarié·e"},
      {"administrateur", "Administrateur·rice"},
      {"institutionnel", "Institutionnel·le"},
  }};
  for (const auto& [value, label] : kLabels)
    if (value == role) return label;
  return role;
}

std::string_view kind_label_fr(std::string_view kind) {
  if (kind == "temps-fort") return "Temps fort";
  if (kind == "atelier") return "Atelier";
  if (kind == "reunion") return "Réunion";
  return kind;
}

// A registration on the waiting list (seat rules, common/core/seats.h).
static bool waiting(const Record& r) {
  const seats::Reg g = seats::reg_of(r);
  return g.seat == seats::kWaiting || (g.seat == seats::kConfirmed && !g.seat_here);
}

std::string render_attendance_sheet(const Record& event, std::string_view host_name,
                                    std::span<const Record> registrations, std::string_view emblem_svg) {
  // One line per person: a person registered twice (the same person_id)
  // signs once, present if either registration says so.
  std::vector<const Record*> lines;
  std::map<std::string, size_t> line_of;  // person -> index in lines
  for (const auto& r : registrations) {
    if (r.deleted()) continue;
    auto [it, fresh] = line_of.emplace(person_of(r), lines.size());
    if (fresh)
      lines.push_back(&r);
    else if ((r.flag(Field::attended) && !lines[it->second]->flag(Field::attended)) ||
             (waiting(*lines[it->second]) && !waiting(r) &&
              r.flag(Field::attended) == lines[it->second]->flag(Field::attended)))
      lines[it->second] = &r;
  }
  const size_t waiting_lines =
      static_cast<size_t>(std::count_if(lines.begin(), lines.end(), [](const Record* r) { return waiting(*r); }));
  std::sort(lines.begin(), lines.end(), [](const Record* a, const Record* b) { return sheet_before(*a, *b); });
  const size_t present = static_cast<size_t>(
      std::count_if(lines.begin(), lines.end(), [](const Record* r) { return r->flag(Field::attended); }));
  const size_t pages = std::max<size_t>(1, (lines.size() + kSheetRowsPerPage - 1) / kSheetRowsPerPage);

  std::string out;
  out.reserve(4096 + lines.size() * 300 + pages * (emblem_svg.size() + 1500));
  out +=
      "<!DOCTYPE html>\n<html lang=\"fr\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<link rel=\"icon\" href=\"data:,\">\n<title>Feuille d'émargement — ";
  out += html_escape(text_of(event, Field::title));
  out += "</title>\n<style>";
  out += kCss;
  out += "</style>\n<script src=\"";
  out += kSheetScriptPath;
  out +=
      "\" defer></script>\n</head>\n<body>\n<div class=\"toolbar no-print\"><button type=\"button\" "
      "id=\"print\" data-testid=\"sheet-print\">Imprimer</button></div>\n";
  for (size_t page = 0; page < pages; ++page) {
    out += "<section class=\"sheet-page\">\n";
    page_header(out, event, host_name, emblem_svg, page + 1, pages);
    table_start(out);
    const size_t first = page * kSheetRowsPerPage, last = std::min(lines.size(), first + kSheetRowsPerPage);
    if (lines.empty())
      out += "<tr><td class=\"empty\" colspan=\"6\">Aucune inscription pour cet événement.</td></tr>\n";
    for (size_t i = first; i < last; ++i) {
      const Record& r = *lines[i];
      out += "<tr class=\"line\"><td class=\"num\">" + std::to_string(i + 1) + "</td>";
      cell(out, text_of(r, Field::last_name));
      if (waiting(r)) {
        // On the waiting list (docs/design.md 9.3): the line says so, so
        // reception knows before the person signs.
        out += "<td>" + html_escape(text_of(r, Field::first_name)) +
               " <span class=\"waiting\">(liste d'attente)</span></td>";
      } else {
        cell(out, text_of(r, Field::first_name));
      }
      cell(out, role_label_fr(text_of(r, Field::role)));
      out += r.flag(Field::attended) ? "<td class=\"present\">oui</td>" : "<td class=\"present\">non</td>";
      out += "<td class=\"signature\"></td></tr>\n";
    }
    out += "</tbody>\n</table>\n";
    if (page + 1 == pages)
      out += "<p class=\"totals\">Inscrits : <strong class=\"total-registered\">" + std::to_string(lines.size()) +
             "</strong> · Présents : <strong class=\"total-present\">" + std::to_string(present) + "</strong>" +
             (waiting_lines ? " · dont en liste d'attente : <strong class=\"total-waiting\">" +
                                  std::to_string(waiting_lines) + "</strong>"
                            : std::string()) +
             "</p>\n";
    out += "<footer class=\"sheet-foot\"><p class=\"feder\">";
    out += html_escape(kFederSentence);
    out += "</p></footer>\n</section>\n";
  }
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace terril
