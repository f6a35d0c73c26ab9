// The node's people routes: search as reception types (accents, case,
// phone digits), one click registers a known person again (person_id kept),
// a person's page, and the erasure of a person.
#include "tests/unit/node/api_fixture.h"

namespace terril {
namespace {

using namespace test_node;
using nlohmann::json;
using test::Reply;

TEST_CASE("people: a new registration is a new person; search finds her; picking her keeps the person",
          "[api][people]") {
  Fixture f;
  f.login();
  json ev1 = f.create("events", f.event_body("Atelier tablette"));
  json ev2 = f.create("events", f.event_body("Temps fort", std::nullopt, "temps-fort"));
  json body = f.registration_body(ev1["id"], "Martine", "Lefèvre");
  body["phone"] = "06 12 34 56 78";
  body["commune"] = "Lens";
  body["qpv"] = "oui";
  body["genre"] = "femme";
  json first = f.create("registrations", body);
  REQUIRE(valid_uuid(first["person_id"].get<std::string>()));
  CHECK(first["person_id"] != first["id"]);
  CHECK(first["qpv"] == "oui");
  CHECK(first["commune"] == "Lens");
  // Defaults when not given.
  json other = f.create("registrations", f.registration_body(ev1["id"], "Marc", "Lefort"));
  CHECK(other["qpv"] == "inconnu");
  CHECK(other["genre"] == "non-renseigne");
  CHECK(other["person_id"] != first["person_id"]);

  Reply found = f.call("GET", "/api/v1/people?q=lefevre");
  REQUIRE(found.status == 200);
  REQUIRE(found.body["items"].size() == 1);
  json p = found.body["items"][0];
  CHECK(p["person_id"] == first["person_id"]);
  CHECK(p["last_name"] == "Lefèvre");
  CHECK(p["phone"] == "06 12 34 56 78");
  CHECK(p["role"] == "habitant");
  CHECK(p["qpv"] == "oui");
  CHECK(p["registrations"] == 1);
  CHECK(p["last_event"]["title"] == "Atelier tablette");
  CHECK(f.call("GET", "/api/v1/people?q=LEF").body["items"].size() == 2);
  CHECK(f.call("GET", "/api/v1/people?q=06%2012%2034").body["items"].size() == 1);
  CHECK(f.call("GET", "/api/v1/people?q=%2B33%206%2012").body["items"].size() == 1);
  CHECK(f.call("GET", "/api/v1/people?q=").body["items"].empty());
  CHECK(f.call("GET", "/api/v1/people?q=zzz").body["items"].empty());
  CHECK(f.call("GET", "/api/v1/people?q=lef&limit=1").body["items"].size() == 1);
  CHECK(f.call("GET", "/api/v1/people?q=lef&limit=0").status == 400);
  CHECK(f.call("GET", "/api/v1/people?nope=1").status == 400);

  // One click: the form is filled from the person, the new registration keeps her person_id.
  json again = f.registration_body(ev2["id"], "Martine", "Lefèvre");
  again["person_id"] = p["person_id"];
  json second = f.create("registrations", again);
  CHECK(second["person_id"] == first["person_id"]);
  p = f.call("GET", "/api/v1/people?q=martine").body["items"][0];
  CHECK(p["registrations"] == 2);
  // A person_id that is no UUID is refused.
  json bad = f.registration_body(ev2["id"]);
  bad["person_id"] = "martine";
  CHECK(f.call("POST", "/api/v1/registrations", bad).status == 400);
  json bad_qpv = f.registration_body(ev2["id"]);
  bad_qpv["qpv"] = "peut-etre";
  Reply refused = f.call("POST", "/api/v1/registrations", bad_qpv);
  CHECK(refused.status == 400);
  CHECK(refused.body["field"] == "qpv");

  // The person's page: both registrations, newest first, with their events; attendance.
  REQUIRE(f.call("PATCH", "/api/v1/registrations/" + first["id"].get<std::string>(), json{{"attended", true}}).status ==
          200);
  Reply page = f.call("GET", "/api/v1/people/" + first["person_id"].get<std::string>());
  REQUIRE(page.status == 200);
  REQUIRE(page.body["registrations"].size() == 2);
  CHECK(page.body["attended"] == 1);
  CHECK(page.body["first_name"] == "Martine");
  std::set<std::string> titles;
  for (const auto& r : page.body["registrations"]) titles.insert(r["event"]["title"].get<std::string>());
  CHECK(titles == std::set<std::string>{"Atelier tablette", "Temps fort"});
  CHECK(f.call("GET", "/api/v1/people/0e000000-0000-4000-8000-000000000009").status == 404);
  CHECK(f.call("GET", "/api/v1/people/not-a-uuid").status == 404);

  // Lists are sorted for people: by last name, then first name; by date when asked.
  Reply by_name = f.call("GET", "/api/v1/registrations");
  REQUIRE(by_name.body["items"].size() == 3);
  CHECK(by_name.body["items"][0]["last_name"] == "Lefèvre");
  CHECK(by_name.body["items"][2]["last_name"] == "Lefort");
  CHECK(f.call("GET", "/api/v1/registrations?sort=date").status == 200);
  CHECK(f.call("GET", "/api/v1/registrations?sort=id").status == 400);

  // Erasing the person erases both registrations, after confirmation.
  const std::string erase = "/api/v1/people/" + first["person_id"].get<std::string>() + "/erase";
  Reply unconfirmed = f.call("POST", erase, json::object());
  CHECK(unconfirmed.status == 400);
  CHECK(unconfirmed.body["code"] == "confirm_required");
  Reply erased = f.call("POST", erase, json{{"confirm", true}});
  REQUIRE(erased.status == 200);
  CHECK(erased.body["erased"] == 2);
  CHECK(f.call("GET", "/api/v1/people?q=lefevre").body["items"].empty());
  CHECK(f.call("GET", "/api/v1/registrations/" + first["id"].get<std::string>()).status == 404);
  CHECK(f.call("GET", "/api/v1/registrations/" + second["id"].get<std::string>()).status == 404);
  CHECK(f.call("POST", erase, json{{"confirm", true}}).status == 404);
}

}  // namespace
}  // namespace terril
