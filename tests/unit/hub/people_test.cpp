// The hub's people routes: the review queue of possible duplicates (side by
// side, why they match, decisions remembered), the indicators in distinct
// people with the admin's answers applied (JSON and CSV), and the activity
// report counted the same way.
#include "common/core/csv.h"
#include "tests/unit/hub/admin_fixture.h"

namespace terril {
namespace {

using namespace test_hub;
using nlohmann::json;
using test::Reply;

// A registration from a node, with a person and the funders' fields.
std::string person_reg(Fixture& f, const std::string& node, const std::string& centre, const std::string& event,
                       const std::string& person, const std::string& first, const std::string& last,
                       const std::string& phone, const std::string& role, const std::string& qpv,
                       const std::string& genre, bool attended = false) {
  std::string id = f.next_id();
  std::vector<FieldValue> fields = {{Field::created_at, kNow - kDay},
                                    {Field::event_id, event},
                                    {Field::first_name, first},
                                    {Field::last_name, last},
                                    {Field::phone, phone},
                                    {Field::role, role},
                                    {Field::consent_at, kNow - kDay},
                                    {Field::person_id, person},
                                    {Field::qpv, qpv},
                                    {Field::genre, genre}};
  if (attended) fields.push_back({Field::attended, true});
  f.from_node(node, centre, Entity::registration, id, std::move(fields));
  return id;
}

}  // namespace

TEST_CASE("hub people: duplicates side by side, decisions, indicators in distinct people", "[admin][people]") {
  Fixture f;
  f.login();
  const std::string ev1 = f.node_event("node-denain", kDenain, "Atelier", kNow + kDay, std::nullopt);
  const std::string ev2 = f.node_event("node-maz", kMazingarbe, "Temps fort", kNow + 2 * kDay, std::nullopt);
  const std::string martine_d = f.next_id(), martine_m = f.next_id(), paul = f.next_id(), luc = f.next_id();
  // Martine: twice at Denain (one person), once at Mazingarbe (another person_id).
  person_reg(f, "node-denain", kDenain, ev1, martine_d, "Martine", "Lefèvre", "06 12 34 56 78", "habitant", "oui",
             "femme", true);
  person_reg(f, "node-denain", kDenain, ev2, martine_d, "Martine", "Lefèvre", "06 12 34 56 78", "habitant", "inconnu",
             "femme");
  person_reg(f, "node-maz", kMazingarbe, ev2, martine_m, "MARTINE", "LEFEVRE", "+33 6 12 34 56 78", "benevole",
             "inconnu", "non-renseigne", true);
  person_reg(f, "node-denain", kDenain, ev1, paul, "Paul", "Durand", "06 00 00 00 01", "habitant", "non", "homme");
  // Luc at Mazingarbe shares nothing with anyone.
  person_reg(f, "node-maz", kMazingarbe, ev2, luc, "Luc", "Martin", "07 00 00 00 02", "salarie", "non", "homme");

  Reply q = f.call("GET", "/api/v1/duplicates");
  REQUIRE(q.status == 200);
  REQUIRE(q.body["items"].size() == 1);
  json pair = q.body["items"][0];
  CHECK(pair["status"] == "open");
  CHECK(pair["rules"] == json({"nom-prenom", "telephone"}));
  CHECK(pair["reasons"] == json({"même nom et prénom", "même téléphone"}));
  const json& denain_side = pair["a"]["centre_id"] == kDenain ? pair["a"] : pair["b"];
  const json& maz_side = pair["a"]["centre_id"] == kDenain ? pair["b"] : pair["a"];
  CHECK(denain_side["person_id"] == martine_d);
  CHECK(denain_side["registrations"].size() == 2);
  CHECK(maz_side["last_name"] == "LEFEVRE");
  CHECK(maz_side["centre_name"] != kMazingarbe);  // the centre's name, not its id
  CHECK_FALSE(maz_side["centre_name"].get<std::string>().empty());

  Reply before = f.call("GET", "/api/v1/reports/indicators");
  REQUIRE(before.status == 200);
  CHECK(before.body["persons"] == 4);  // Martine twice (two centres), Paul, Luc
  CHECK(before.body["registrations"] == 5);
  CHECK(before.body["by"]["role"]["habitant"] == 2);  // Martine (Denain) and Paul
  CHECK(before.body["by"]["role"]["benevole"] == 1);
  CHECK(before.body["by"]["qpv"]["oui"] == 1);      // Martine at Denain said oui once: hers
  CHECK(before.body["by"]["qpv"]["inconnu"] == 1);  // Martine at Mazingarbe
  CHECK(before.body["by"]["genre"]["femme"] == 1);
  CHECK(before.body["by"]["genre"]["non-renseigne"] == 1);
  CHECK(before.body["by"]["genre"]["autre"] == 0);   // every value present
  CHECK(before.body["by"]["kind"]["atelier"] == 4);  // node_event makes ateliers
  CHECK(before.body["by"]["kind"]["temps-fort"] == 0);
  CHECK(before.body["by"]["centre"][kDenain] == 2);
  CHECK(before.body["attended"]["persons"] == 2);

  // « Même personne »: one person across the two centres.
  Reply same =
      f.call("POST", "/api/v1/duplicates/" + std::to_string(pair["id"].get<int64_t>()), json{{"decision", "same"}});
  REQUIRE(same.status == 200);
  CHECK(same.body["status"] == "same");
  CHECK(same.body["decided_by"] == "admin@192.0.2.10");
  Reply after = f.call("GET", "/api/v1/reports/indicators");
  CHECK(after.body["persons"] == 3);
  CHECK(after.body["registrations"] == 5);
  CHECK(after.body["by"]["role"]["habitant"] == 2);
  CHECK(after.body["by"]["role"]["benevole"] == 1);  // she counts in each role she had
  CHECK(after.body["by"]["qpv"]["oui"] == 1);        // her informative answer wins
  CHECK(after.body["by"]["qpv"]["inconnu"] == 0);
  CHECK(after.body["by"]["genre"]["femme"] == 1);
  CHECK(after.body["by"]["agglomeration"]["porte-du-hainaut"] == 2);
  CHECK(after.body["by"]["agglomeration"]["lens-lievin"] == 2);
  CHECK(after.body["attended"]["persons"] == 1);
  CHECK(f.call("GET", "/api/v1/duplicates").body["items"].empty());
  CHECK(f.call("GET", "/api/v1/duplicates?status=same").body["items"].size() == 1);
  CHECK(f.call("GET", "/api/v1/duplicates?status=all").body["items"].size() == 1);
  CHECK(f.call("GET", "/api/v1/duplicates?status=maybe").status == 400);

  // The activity report counts people the same way.
  Reply roles = f.call("GET", "/api/v1/reports/roles");
  REQUIRE(roles.status == 200);
  CHECK(roles.body["total"]["total"] == 5);
  CHECK(roles.body["total"]["persons"]["total"] == 3);
  CHECK(roles.body["total"]["persons"]["counts"]["habitant"] == 2);
  for (const auto& c : roles.body["centres"])
    if (c["centre_id"] == kDenain) {
      CHECK(c["total"] == 3);
      CHECK(c["persons"]["total"] == 2);
    }

  // A period: only the events that start in it.
  Reply period = f.call("GET", "/api/v1/reports/indicators?from=" + format_iso8601(kNow + kDay + 1000));
  CHECK(period.body["registrations"] == 3);  // the temps fort's
  CHECK(period.body["persons"] == 2);        // Martine (one person now) and Luc
  CHECK(f.call("GET", "/api/v1/reports/indicators?from=hier").status == 400);

  // CSV for French Excel: BOM, ';', the FEDER sentence, labels in French.
  Reply csv = f.call("GET", "/api/v1/reports/indicators?format=csv");
  REQUIRE(csv.status == 200);
  const std::string text = csv.raw.body;
  CHECK(text.rfind("\xEF\xBB\xBF", 0) == 0);
  auto rows = parse_csv(std::string_view(text).substr(3), ';');
  REQUIRE(rows);
  bool saw_people = false, saw_feder = false, saw_qpv = false;
  for (const auto& r : *rows) {
    if (r.size() == 3 && r[0] == "Total" && r[1] == "Personnes distinctes") saw_people = r[2] == "3";
    if (r.size() == 3 && r[0] == "Quartier prioritaire (QPV)" && r[1] == "Habite un QPV") saw_qpv = r[2] == "1";
    if (!r.empty() && r[0] == kFeder) saw_feder = true;
  }
  CHECK(saw_people);
  CHECK(saw_qpv);
  CHECK(saw_feder);

  // « Personnes différentes » is remembered; undo brings the pair back.
  const std::string pid = std::to_string(pair["id"].get<int64_t>());
  REQUIRE(f.call("POST", "/api/v1/duplicates/" + pid, json{{"decision", "different"}}).status == 200);
  CHECK(f.call("GET", "/api/v1/reports/indicators").body["persons"] == 4);
  person_reg(f, "node-maz", kMazingarbe, ev1, martine_m, "Martine", "Lefèvre", "0612345678", "benevole", "inconnu",
             "femme");
  CHECK(f.call("GET", "/api/v1/duplicates").body["items"].empty());
  CHECK(f.call("POST", "/api/v1/duplicates/" + pid, json{{"decision", "peut-être"}}).status == 400);
  CHECK(f.call("POST", "/api/v1/duplicates/" + pid, json::object()).status == 400);
  CHECK(f.call("POST", "/api/v1/duplicates/99999", json{{"decision", "same"}}).status == 404);
  CHECK(f.call("GET", "/api/v1/duplicates/" + pid).status == 405);
  // The answers are in the audit log, without names.
  Reply log = f.call("GET", "/api/v1/admin-log");
  CHECK(log.raw.body.find("duplicate-same") != std::string::npos);
  CHECK(log.raw.body.find("duplicate-different") != std::string::npos);
  CHECK(log.raw.body.find("Lef") == std::string::npos);
}

}  // namespace terril
