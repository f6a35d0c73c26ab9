// The attendance sheet's HTML (common/core/attendance_sheet): escaping, the
// order of names, chunks of 25 lines, totals, the FEDER sentence on every
// page, deleted and erased registrations left out, French dates.
#include "common/core/attendance_sheet.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "common/core/brand.h"
#include "common/core/ids.h"

namespace terril {
namespace {

constexpr std::string_view kEmblem = "<svg class=\"test-emblem\"></svg>";

void set(Record& r, Field f, Value v) {
  r.fields[f] = FieldState{std::move(v), Stamp{1, "hub"}};
}

Record event_record() {
  Record e;
  e.entity = Entity::event;
  e.id = "0e000000-0000-4000-8000-000000000001";
  e.centre_id = "lens";
  set(e, Field::title, std::string("Atelier « Internet » & smartphones"));
  set(e, Field::kind, std::string("atelier"));
  set(e, Field::starts_at, *parse_iso8601("2026-03-14T13:00:00Z"));
  set(e, Field::ends_at, *parse_iso8601("2026-03-14T16:00:00Z"));
  set(e, Field::place, std::string("Salle <Germinal>"));
  return e;
}

Record registration(int n, const std::string& last, const std::string& first, bool attended = false,
                    const std::string& role = "habitant") {
  Record r;
  r.entity = Entity::registration;
  char id[40];
  std::snprintf(id, sizeof id, "0a000000-0000-4000-8000-%012d", n);
  r.id = id;
  r.centre_id = "lens";
  set(r, Field::last_name, last);
  set(r, Field::first_name, first);
  set(r, Field::role, role);
  set(r, Field::attended, attended);
  return r;
}

size_t count(const std::string& haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + needle.size())) ++n;
  return n;
}

std::vector<Record> people(int n, int present) {
  std::vector<Record> out;
  for (int i = 0; i < n; ++i) {
    char last[16];
    std::snprintf(last, sizeof last, "Nom%03d", i);
    out.push_back(registration(i, last, "Prénom", i < present));
  }
  return out;
}

TEST_CASE("sheet: every value from a record is escaped", "[sheet]") {
  std::vector<Record> regs = {registration(1, "<script>alert(1)</script>", "Zo\"é & 'Lou'")};
  std::string html = render_attendance_sheet(event_record(), "Centre <Lens> & co", regs, kEmblem);
  CHECK(html.find("<script>alert") == std::string::npos);
  CHECK(html.find("&lt;script&gt;alert(1)&lt;/script&gt;") != std::string::npos);
  CHECK(html.find("Zo&quot;é &amp; &#39;Lou&#39;") != std::string::npos);
  CHECK(html.find("Centre &lt;Lens&gt; &amp; co") != std::string::npos);
  CHECK(html.find("Salle &lt;Germinal&gt;") != std::string::npos);
  CHECK(html.find("Atelier « Internet » &amp; smartphones (Atelier)") != std::string::npos);
  CHECK(html_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
}

TEST_CASE("sheet: names sorted by last name then first name, accents and case ignored", "[sheet]") {
  // The order folds names as reception's search does (people_test has the table).

  std::vector<Record> regs = {registration(1, "Martin", "Paul"),  registration(2, "Lefèvre", "Zoé"),
                              registration(3, "lefevre", "Adam"), registration(4, "École", "Inès"),
                              registration(5, "Dupont", "Marc"),  registration(6, "Åberg", "Lena"),
                              registration(7, "LEFEBVRE", "Léa")};
  std::string html = render_attendance_sheet(event_record(), "Lens", regs, kEmblem);
  const std::vector<std::string> expected = {"Åberg", "Dupont", "École", "LEFEBVRE", "lefevre", "Lefèvre", "Martin"};
  size_t at = 0;
  for (size_t i = 0; i < expected.size(); ++i) {
    INFO(expected[i]);
    size_t pos = html.find("<td class=\"num\">" + std::to_string(i + 1) + "</td><td><span class=\"c\">" + expected[i] +
                           "</span>");
    REQUIRE(pos != std::string::npos);
    CHECK(pos > at);
    at = pos;
  }
}

TEST_CASE("sheet: 25 lines per page, the header row and the FEDER sentence on each", "[sheet]") {
  struct Case {
    int registrations, pages;
  };
  for (Case c : {Case{0, 1}, Case{1, 1}, Case{25, 1}, Case{26, 2}, Case{50, 2}, Case{51, 3}}) {
    INFO(c.registrations << " registrations");
    std::string html = render_attendance_sheet(event_record(), "Lens", people(c.registrations, 3), kEmblem);
    CHECK(count(html, "<section class=\"sheet-page\">") == size_t(c.pages));
    CHECK(count(html, "<table class=\"sheet\">") == size_t(c.pages));
    CHECK(count(html, "<th scope=\"col\">Signature</th>") == size_t(c.pages));
    CHECK(count(html, kEmblem) == size_t(c.pages));
    CHECK(count(html, html_escape(kFederSentence)) == size_t(c.pages));
    CHECK(count(html, kOperationName) >= size_t(c.pages));
    CHECK(count(html, "<tr class=\"line\">") == size_t(c.registrations));
    CHECK(count(html, "<td class=\"signature\"></td>") == size_t(c.registrations));
    CHECK(count(html, "Page " + std::to_string(c.pages) + " / " + std::to_string(c.pages)) == 1);
    // every page holds at most 25 lines
    size_t from = 0;
    for (int p = 0; p < c.pages; ++p) {
      size_t begin = html.find("<section class=\"sheet-page\">", from);
      size_t end = html.find("</section>", begin);
      std::string page = html.substr(begin, end - begin);
      CHECK(count(page, "<tr class=\"line\">") <= kSheetRowsPerPage);
      from = end;
    }
  }
  std::string two = render_attendance_sheet(event_record(), "Lens", people(26, 3), kEmblem);
  size_t second = two.find("<section class=\"sheet-page\">", 1 + two.find("<section class=\"sheet-page\">"));
  CHECK(two.find("<td class=\"num\">25</td>") < second);
  CHECK(two.find("<td class=\"num\">26</td>") > second);
  CHECK(render_attendance_sheet(event_record(), "Lens", {}, kEmblem).find("Aucune inscription") != std::string::npos);
}

TEST_CASE("sheet: totals of registered and present people after the last line", "[sheet]") {
  std::string html = render_attendance_sheet(event_record(), "Lens", people(26, 3), kEmblem);
  CHECK(count(html, "class=\"totals\"") == 1);
  CHECK(html.find("Inscrits : <strong class=\"total-registered\">26</strong>") != std::string::npos);
  CHECK(html.find("Présents : <strong class=\"total-present\">3</strong>") != std::string::npos);
  CHECK(html.find("class=\"totals\"") > html.find("<td class=\"num\">26</td>"));
  CHECK(count(html, "<td class=\"present\">oui</td>") == 3);
  CHECK(count(html, "<td class=\"present\">non</td>") == 23);
}

TEST_CASE("sheet: people on the waiting list are marked, and counted", "[sheet]") {
  std::vector<Record> regs = people(4, 0);
  set(regs[0], Field::seat, std::string("confirmee"));
  set(regs[1], Field::seat, std::string("attente"));
  set(regs[2], Field::seat, std::string("attente"));
  // Registered twice, confirmed once: one line, not waiting.
  Record twice = registration(9, "Nom002", "Prénom");
  set(twice, Field::seat, std::string("confirmee"));
  set(regs[2], Field::person_id, std::string("0b000000-0000-4000-8000-000000000001"));
  set(twice, Field::person_id, std::string("0b000000-0000-4000-8000-000000000001"));
  regs.push_back(twice);
  std::string html = render_attendance_sheet(event_record(), "Lens", regs, kEmblem);
  CHECK(count(html, "<span class=\"waiting\">(liste d'attente)</span>") == 1);
  CHECK(html.find("Prénom <span class=\"waiting\">") > html.find("Nom001"));
  CHECK(html.find("dont en liste d'attente : <strong class=\"total-waiting\">1</strong>") != std::string::npos);
  CHECK(html.find("Inscrits : <strong class=\"total-registered\">4</strong>") != std::string::npos);
  // No waiting list, no mention.
  CHECK(render_attendance_sheet(event_record(), "Lens", people(3, 1), kEmblem).find("liste d'attente") ==
        std::string::npos);
}

TEST_CASE("sheet: deleted and erased registrations are not listed", "[sheet]") {
  std::vector<Record> regs = {registration(1, "Present", "Anne", true), registration(2, "Deleted", "Bob", true),
                              registration(3, "Erased", "Carl", true)};
  set(regs[1], Field::deleted, true);
  regs[2].erased = true;
  std::string html = render_attendance_sheet(event_record(), "Lens", regs, kEmblem);
  CHECK(html.find("Present") != std::string::npos);
  CHECK(html.find("Deleted") == std::string::npos);
  CHECK(html.find("Erased") == std::string::npos);
  CHECK(html.find("total-registered\">1<") != std::string::npos);
  CHECK(html.find("total-present\">1<") != std::string::npos);
}

TEST_CASE("sheet: the event, its host, French labels and Paris times", "[sheet]") {
  std::vector<Record> regs = {registration(1, "Durand", "Ali", true, "benevole")};
  std::string html = render_attendance_sheet(event_record(), "Centre social de Lens", regs, kEmblem);
  CHECK(html.find("samedi 14 mars 2026, 14 h 00 – 17 h 00") != std::string::npos);
  CHECK(html.find("Centre social de Lens") != std::string::npos);
  CHECK(html.find("<td><span class=\"c\">Bénévole</span></td>") != std::string::npos);
  CHECK(html.find(html_escape(kFederCaption)) != std::string::npos);
  // the one <style> element is attendance_sheet_css() exactly (the CSP hashes it)
  CHECK(html.find("<style>" + std::string(attendance_sheet_css()) + "</style>") != std::string::npos);
  CHECK(count(html, "<style") == 1);
  CHECK(count(html, "<script") == 1);
  CHECK(html.find("<script src=\"/assets/sheet.js\" defer></script>") != std::string::npos);

  CHECK(format_fr_event_time(*parse_iso8601("2026-07-01T08:00:00Z"), 0) == "mercredi 1er juillet 2026, 10 h 00");
  CHECK(format_fr_event_time(*parse_iso8601("2026-10-24T20:30:00Z"), *parse_iso8601("2026-10-25T09:05:00Z")) ==
        "samedi 24 octobre 2026, 22 h 30 – dimanche 25 octobre 2026, 10 h 05");
  CHECK(role_label_fr("institutionnel") == "Institutionnel·le");
  CHECK(kind_label_fr("temps-fort") == "Temps fort");
  CHECK(kind_label_fr("reunion") == "Réunion");
}

}  // namespace
}  // namespace terril

namespace terril {

TEST_CASE("sheet: one line per person, present if any of their registrations is", "[sheet]") {
  std::vector<terril::Record> regs = {registration(1, "Lefèvre", "Martine"),
                                      registration(2, "Lefèvre", "Martine", true), registration(3, "Dupont", "Marc")};
  const std::string person = "0b000000-0000-4000-8000-000000000001";
  set(regs[0], terril::Field::person_id, person);
  set(regs[1], terril::Field::person_id, person);
  std::string html = render_attendance_sheet(event_record(), "Lens", regs, kEmblem);
  CHECK(count(html, "<span class=\"c\">Lefèvre</span>") == 1);
  CHECK(count(html, "<span class=\"c\">Dupont</span>") == 1);
  CHECK(html.find("<td class=\"num\">3</td>") == std::string::npos);
}

}  // namespace terril
