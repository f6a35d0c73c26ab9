// The node's seat routes (common/net/seats_api.h): what reception sees
// before and after a registration, the host's moves, and what the API
// refuses. Requests are values over a real Store.
#include "tests/unit/node/api_fixture.h"

namespace terril {
namespace {

using namespace test_node;
using nlohmann::json;
using test::Reply;

TEST_CASE("seats api: a registration is confirmed while seats are free here, then waits", "[api][seats]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body("Temps fort", 2, "temps-fort"));
  const std::string id = ev["id"];
  REQUIRE(ev["seats"].is_object());
  CHECK(ev["seats"]["here"]["free"] == 2);
  CHECK(ev["places_left"] == 2);
  CHECK(ev["allotments"] == json::object());

  json a = f.create("registrations", f.registration_body(id, "Zoé", "Lefebvre"));
  CHECK(a["seat"] == "confirmee");
  CHECK(a["seat_by"] == "lens");
  CHECK(a["seat_at"].is_string());
  f.create("registrations", f.registration_body(id, "Marc", "Lefort"));
  json c = f.create("registrations", f.registration_body(id, "Inès", "Benali"));
  CHECK(c["seat"] == "attente");
  CHECK(c["seat_by"].is_null());

  Reply seats = f.call("GET", "/api/v1/events/" + id + "/seats");
  REQUIRE(seats.status == 200);
  CHECK(seats.body["confirmed"] == 2);
  CHECK(seats.body["waiting"] == 1);
  CHECK(seats.body["free"] == 0);
  CHECK(seats.body["here"]["waiting"] == 1);
  CHECK(seats.body["holders"][0]["host"] == true);

  // A deletion confirms the waiting one in the same request.
  REQUIRE(f.call("DELETE", "/api/v1/registrations/" + a["id"].get<std::string>()).status == 200);
  Reply now = f.call("GET", "/api/v1/registrations/" + c["id"].get<std::string>());
  CHECK(now.body["seat"] == "confirmee");

  // Seats are never set by hand, nor moved through the record.
  Reply by_hand = f.call("PATCH", "/api/v1/registrations/" + c["id"].get<std::string>(), json{{"seat", "attente"}});
  CHECK(by_hand.status == 400);
  CHECK(by_hand.body["code"] == "read_only");
  Reply allot = f.call("PATCH", "/api/v1/events/" + id, json{{"allotments", {{"denain", 1}}}});
  CHECK(allot.status == 400);
  CHECK(allot.body["field"] == "allotments");
  // Sent back as read, the seat fields are no change.
  json back = now.body;
  back["notes"] = "rappeler la veille";
  CHECK(f.call("PATCH", "/api/v1/registrations/" + c["id"].get<std::string>(), back).status == 200);

  // The capacity cannot go below what is confirmed.
  Reply low = f.call("PATCH", "/api/v1/events/" + id, json{{"capacity", 1}});
  CHECK(low.status == 400);
  CHECK(low.body["field"] == "capacity");
  CHECK(low.body["message"].get<std::string>().find("ne peut pas descendre sous 2") != std::string::npos);
}

TEST_CASE("seats api: the host gives and asks back seats; errors are French and name the field", "[api][seats]") {
  Fixture f;
  f.login();
  json ev = f.create("events", f.event_body("Temps fort", 5, "temps-fort"));
  const std::string path = "/api/v1/events/" + ev["id"].get<std::string>() + "/seats";
  Reply give = f.call("POST", path, json{{"centre_id", "denain"}, {"give", 3}});
  INFO(give.body.dump());
  REQUIRE(give.status == 200);
  CHECK(give.body["event"]["allotments"] == json{{"denain", 3}});
  CHECK(give.body["seats"]["here"]["seats"] == 2);
  Reply more = f.call("POST", path, json{{"centre_id", "denain"}, {"give", 3}});
  CHECK(more.status == 400);
  CHECK(more.body["message"].get<std::string>().find("Il ne reste que 2 places libres ici") != std::string::npos);
  Reply back = f.call("POST", path, json{{"centre_id", "denain"}, {"take_back", 2}});
  REQUIRE(back.status == 200);
  CHECK(back.body["event"]["seat_reclaims"] == json{{"denain", 2}});
  bool denain_seen = false;
  for (const auto& h : back.body["seats"]["holders"])
    if (h["centre_id"] == "denain") {
      denain_seen = true;
      CHECK(h["seats"] == 3);  // a request: Denain's box returns them
      CHECK(h["pending_reclaim"] == 2);
    }
  CHECK(denain_seen);
  Reply cancel = f.call("POST", path, json{{"centre_id", "denain"}, {"cancel", true}});
  REQUIRE(cancel.status == 200);
  CHECK(cancel.body["event"]["seat_reclaims"] == json::object());

  CHECK(f.call("POST", path, json{{"centre_id", "lens"}, {"give", 1}}).body["field"] == "centre_id");
  CHECK(f.call("POST", path, json{{"centre_id", "nulle-part"}, {"give", 1}}).status == 400);
  CHECK(f.call("POST", path, json{{"centre_id", "denain"}, {"give", 0}}).body["field"] == "seats");
  CHECK(f.call("POST", path, json{{"centre_id", "denain"}}).status == 400);
  CHECK(f.call("POST", path, json{{"centre_id", "denain"}, {"give", 1}, {"colour", "blue"}}).body["code"] ==
        "unknown_field");
  CHECK(f.call("GET", "/api/v1/events/00000000-0000-4000-8000-00000000dead/seats").status == 404);
  CHECK(f.call("DELETE", path).status == 405);

  // An event without a limit: no seat to move.
  json free_ev = f.create("events", f.event_body("Atelier sans limite"));
  Reply unlimited = f.call("POST", "/api/v1/events/" + free_ev["id"].get<std::string>() + "/seats",
                           json{{"centre_id", "denain"}, {"give", 1}});
  CHECK(unlimited.status == 400);
  CHECK(free_ev["seats"]["limited"] == false);
}

}  // namespace
}  // namespace terril
