// The shared API layer (common/net/api_support, record_request, prometheus):
// the Status -> HTTP table, the filter date rule (Paris days, DST edges),
// query parsing and paging, body errors, and the RecordPolicy cases of the
// request -> LocalWrite pipeline against a real Store in a temporary folder.
#include "common/net/api_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <set>

#include "common/core/ids.h"
#include "common/net/prometheus.h"
#include "common/net/record_request.h"
#include "common/store/store.h"
#include "tests/support/clock.h"
#include "tests/support/http.h"
#include "tests/support/temp_dir.h"

namespace terril {
namespace {

using nlohmann::json;

int64_t at(const char* iso) {
  auto ms = parse_iso8601(iso);
  REQUIRE(ms);
  return *ms;
}

HttpRequest request(const std::string& method, const std::string& target, const std::optional<json>& body) {
  auto req = test::make_request(method, target, body, "", "localhost", "127.0.0.1");
  REQUIRE(req);
  return *req;
}

HttpRequest with_query(const std::string& target) {
  return request("GET", target, std::nullopt);
}

TEST_CASE("status_response: one table from Status to HTTP, French messages naming the daemon", "[api_support]") {
  struct Case {
    Code code;
    int http;
    const char* body_code;
  };
  const Case cases[] = {
      {Code::not_found, 404, "not_found"}, {Code::forbidden, 403, "forbidden"},     {Code::conflict, 409, "conflict"},
      {Code::full, 507, "disk_full"},      {Code::unavailable, 503, "unavailable"}, {Code::io, 500, "internal"},
      {Code::internal, 500, "internal"},
  };
  for (const auto& c : cases) {
    INFO(code_name(c.code));
    auto r = test::to_reply(status_response(Status(c.code, "english", "field_x", "Message."), "du poste"));
    CHECK(r.status == c.http);
    CHECK(r.body["code"] == c.body_code);
    CHECK(r.body["message"].is_string());
  }
  auto invalid = test::to_reply(
      status_response(Status(Code::invalid, "too_long: first_name", "first_name", "Trop long."), "du hub"));
  CHECK(invalid.status == 400);
  CHECK(invalid.body["code"] == "too_long");
  CHECK(invalid.body["field"] == "first_name");
  CHECK(invalid.body["message"] == "Trop long.");
  // `who` is the only textual difference.
  auto full_node = test::to_reply(status_response(Status(Code::full, "disk"), "du poste"));
  auto full_hub = test::to_reply(status_response(Status(Code::full, "disk"), "du hub"));
  CHECK(full_node.body["message"].get<std::string>().rfind("Le disque du poste est plein", 0) == 0);
  CHECK(full_hub.body["message"].get<std::string>().rfind("Le disque du hub est plein", 0) == 0);
  auto internal = test::to_reply(status_response(Status(Code::internal, "bug"), "du hub"));
  CHECK(internal.body["message"].get<std::string>().rfind("Erreur du hub : rien n'a été enregistré", 0) == 0);
}

TEST_CASE("filter dates: ISO 8601, or a Paris day; to= includes the whole day", "[api_support]") {
  // Full timestamps pass as they are, for from and to alike.
  CHECK(parse_filter_date("2026-11-29T10:00:00Z", false) == at("2026-11-29T10:00:00Z"));
  CHECK(parse_filter_date("2026-11-29T10:00:00Z", true) == at("2026-11-29T10:00:00Z"));
  CHECK(parse_filter_date("2026-11-29T10:00:00+01:00", false) == at("2026-11-29T09:00:00Z"));
  // Winter (UTC+1).
  CHECK(parse_filter_date("2026-11-29", false) == at("2026-11-28T23:00:00Z"));
  CHECK(parse_filter_date("2026-11-29", true) == at("2026-11-29T23:00:00Z"));
  // Summer (UTC+2).
  CHECK(parse_filter_date("2026-07-14", false) == at("2026-07-13T22:00:00Z"));
  CHECK(parse_filter_date("2026-07-14", true) == at("2026-07-14T22:00:00Z"));
  // Spring forward, 29 March 2026: a 23-hour day.
  CHECK(parse_filter_date("2026-03-29", false) == at("2026-03-28T23:00:00Z"));
  CHECK(parse_filter_date("2026-03-29", true) == at("2026-03-29T22:00:00Z"));
  // Fall back, 25 October 2026: a 25-hour day.
  CHECK(parse_filter_date("2026-10-25", false) == at("2026-10-24T22:00:00Z"));
  CHECK(parse_filter_date("2026-10-25", true) == at("2026-10-25T23:00:00Z"));
  // The last day of a year rolls into the next.
  CHECK(parse_filter_date("2026-12-31", true) == at("2026-12-31T23:00:00Z"));
  for (const char* bad : {"demain", "2026-13-01", "2026-1-1", "", "2026-02-30", "29/11/2026"}) {
    INFO(bad);
    CHECK_FALSE(parse_filter_date(bad, false));
  }
}

TEST_CASE("parse_list_query: filters, limits, booleans, empty values", "[api_support]") {
  ListQuery q;
  REQUIRE_FALSE(parse_list_query(Entity::registration,
                                 with_query("/x?q=lef&attended=oui&role=&from=2026-11-29&to=&limit=5&after=abc"
                                            "&include_deleted=1&centre_id=lens"),
                                 q));
  CHECK(q.search == "lef");
  CHECK(q.limit == 5);
  CHECK(q.after == "abc");
  CHECK(q.include_deleted);
  CHECK(q.from_ms == at("2026-11-28T23:00:00Z"));
  CHECK(q.to_ms == 0);  // empty: any
  using Filters = std::vector<std::pair<std::string, std::string>>;
  CHECK(q.filters == Filters{{"attended", "true"}, {"centre_id", "lens"}});  // role= empty: any

  struct Bad {
    Entity e;
    const char* target;
    const char* code;
    const char* field;
  };
  const Bad bad[] = {
      {Entity::event, "/x?limit=0", "out_of_range", "limit"},
      {Entity::event, "/x?limit=1001", "out_of_range", "limit"},
      {Entity::event, "/x?limit=abc", "out_of_range", "limit"},
      {Entity::event, "/x?role=habitant", "unknown_filter", "role"},
      {Entity::event, "/x?from=demain", "bad_format", "from"},
      {Entity::registration, "/x?attended=peut-etre", "bad_format", "attended"},
      {Entity::registration, "/x?include_deleted=maybe", "bad_format", "include_deleted"},
      {Entity::centre, "/x?centre_id=lens", "unknown_filter", "centre_id"},
  };
  for (const auto& b : bad) {
    INFO(b.target);
    ListQuery q2;
    auto refused = parse_list_query(b.e, with_query(b.target), q2);
    REQUIRE(refused);
    auto r = test::to_reply(*refused);
    CHECK(r.status == 400);
    CHECK(r.body["code"] == b.code);
    CHECK(r.body["field"] == b.field);
  }
  CHECK(parse_limit("1000", 1000) == 1000u);
  CHECK_FALSE(parse_limit("-1", 1000));
  CHECK(parse_bool_param("non") == false);
  CHECK_FALSE(parse_bool_param("vrai"));
}

TEST_CASE("paging, times and paths", "[api_support]") {
  CHECK(page_json(json::array(), "") == json{{"items", json::array()}, {"next", nullptr}});
  CHECK(page_json(json::array({1}), "c") == json{{"items", {1}}, {"next", "c"}});
  CHECK(time_or_null(0).is_null());
  CHECK(time_or_null(at("2026-11-29T10:00:00Z")) == "2026-11-29T10:00:00.000Z");
  using Segs = std::vector<std::string_view>;
  CHECK(split_path("") == Segs{});
  CHECK(split_path("events") == Segs{"events"});
  CHECK(split_path("registrations/abc/erase") == Segs{"registrations", "abc", "erase"});
  CHECK(split_path("events/") == Segs{"events"});  // a trailing slash names the collection
}

TEST_CASE("body errors: not an object, and a form's every error", "[api_support]") {
  for (const char* body : {"", "[1]", "\"x\"", "{", "42"}) {
    INFO(body);
    HttpRequest req;
    req.body = body;
    auto b = body_object(req);
    REQUIRE_FALSE(b);
    auto r = test::to_reply(status_response(b.status(), "du poste"));
    CHECK(r.status == 400);
    CHECK(r.body["code"] == "bad_json");
  }
  auto r = test::to_reply(invalid_response(
      {field_error("required", "phone", "Téléphone ?"), field_error("bad_format", "email", "Adresse ?")}));
  CHECK(r.status == 400);
  CHECK(r.body["code"] == "required");
  CHECK(r.body["field"] == "phone");
  REQUIRE(r.body["errors"].size() == 2);
  CHECK(r.body["errors"][1]["field"] == "email");
}

TEST_CASE("prometheus text: heads, samples, escaped labels", "[api_support]") {
  std::string o;
  prom_metric(o, "terril_x", "gauge", "An x.", 3);
  prom_sample(o, "terril_y", "node=\"" + prom_label("a\"b\\c\nd") + "\"", "1");
  CHECK(o == "# HELP terril_x An x.\n# TYPE terril_x gauge\nterril_x 3\nterril_y{node=\"a\\\"b\\\\c\\nd\"} 1\n");
  CHECK(prom_number(0.5) == "0.5");
  CHECK(prom_response("").content_type.rfind("text/plain; version=0.0.4", 0) == 0);
}

// --- record_request ----------------------------------------------------------

constexpr const char* kEventId = "0e000000-0000-4000-8000-000000000001";

struct Records {
  test::TempDir dir{"terril-api-support"};
  std::unique_ptr<Store> store;

  Records() {
    StoreOptions o;
    o.origin = "hub";
    o.hub = true;
    auto s = Store::open(dir.file("hub.db"), o);
    REQUIRE(s);
    store = std::move(s.value());
    LocalWrite c{Entity::centre,
                 "lens",
                 "lens",
                 Op::upsert,
                 {{Field::name, std::string("Lens")}, {Field::agglomeration, std::string("lens-lievin")}}};
    REQUIRE(store->write(c, test::kNow));
    LocalWrite e{Entity::event,
                 kEventId,
                 "lens",
                 Op::upsert,
                 {{Field::title, std::string("Atelier")},
                  {Field::kind, std::string("atelier")},
                  {Field::starts_at, test::kNow + test::kDayMs}}};
    REQUIRE(store->write(e, test::kNow));
  }

  static RecordPolicy node_policy() {
    RecordPolicy p;
    p.owner = RecordPolicy::Owner::own_centre;
    p.own_centre = "lens";
    p.who = "du poste";
    p.stamped_by_fr = "le poste";
    p.now_ms = test::kNow;
    p.min_plausible_ms = 946684800000LL;
    p.random16 = [] { return std::array<uint8_t, 16>{}; };
    return p;
  }
  static RecordPolicy hub_policy() {
    RecordPolicy p = node_policy();
    p.owner = RecordPolicy::Owner::from_body;
    p.own_centre.clear();
    p.who = "du hub";
    p.stamped_by_fr = "le hub";
    p.min_plausible_ms = 0;
    p.computed_key = [](Entity e, std::string_view k) { return e == Entity::event && k == "attended"; };
    return p;
  }

  PreparedWrite create(Entity e, const json& body, const RecordPolicy& p) {
    return prepare_create(*store, spec(e), request("POST", "/x", body), p);
  }
};

json registration(json extra = json::object()) {
  json b = {{"event_id", kEventId},      {"first_name", "Zoé"}, {"last_name", "Lefebvre"},
            {"phone", "03 21 00 00 00"}, {"role", "habitant"},  {"consent", true}};
  b.update(extra);
  return b;
}

std::multiset<std::string> error_fields(const PreparedWrite& p) {
  REQUIRE(p.answer);
  auto r = test::to_reply(*p.answer);
  std::multiset<std::string> out;
  for (const auto& e : r.body["errors"]) out.insert(e["field"].is_null() ? "" : e["field"].get<std::string>());
  return out;
}

TEST_CASE("record_request: a node's record is its centre's; another centre is refused", "[api_support]") {
  Records f;
  PreparedWrite ok = f.create(Entity::registration, registration(), Records::node_policy());
  REQUIRE_FALSE(ok.answer);
  CHECK(ok.write.centre_id == "lens");
  CHECK(ok.write.record_id == uuid_v4(std::array<uint8_t, 16>{}));  // the policy's random source
  CHECK(ok.write.op == Op::upsert);
  bool consent_stamped = false;
  for (const auto& fv : ok.write.fields)
    if (fv.field == Field::consent_at) consent_stamped = std::get<int64_t>(fv.value) == test::kNow;
  CHECK(consent_stamped);

  PreparedWrite other = f.create(Entity::registration, registration({{"centre_id", "denain"}}), Records::node_policy());
  REQUIRE(other.answer);
  CHECK(other.answer->status == 403);
}

TEST_CASE("record_request: the hub's owner comes from the body and must be a live centre", "[api_support]") {
  Records f;
  auto p = Records::hub_policy();
  CHECK(error_fields(f.create(Entity::registration, registration(), p)) == std::multiset<std::string>{"centre_id"});
  PreparedWrite unknown = f.create(Entity::registration, registration({{"centre_id", "nulle-part"}}), p);
  REQUIRE(unknown.answer);
  CHECK(test::to_reply(*unknown.answer).body["code"] == "unknown_centre");
  PreparedWrite ok = f.create(Entity::registration, registration({{"centre_id", "lens"}}), p);
  REQUIRE_FALSE(ok.answer);
  CHECK(ok.write.centre_id == "lens");
  // A new centre is its own centre, its slug in "id".
  PreparedWrite centre =
      f.create(Entity::centre, json{{"id", "douai-gayant"}, {"name", "Douai"}, {"agglomeration", "lens-lievin"}}, p);
  REQUIRE_FALSE(centre.answer);
  CHECK(centre.write.record_id == "douai-gayant");
  CHECK(centre.write.centre_id == "douai-gayant");
}

TEST_CASE("record_request: a field given with a bad value is reported once, never as missing", "[api_support]") {
  Records f;
  for (const auto& p : {Records::node_policy(), Records::hub_policy()}) {
    INFO(p.who);
    json body = registration({{"first_name", 42}, {"centre_id", "lens"}});
    body.erase("phone");
    PreparedWrite r = f.create(Entity::registration, body, p);
    CHECK(error_fields(r) == std::multiset<std::string>{"first_name", "phone"});
    CHECK(test::to_reply(*r.answer).body["errors"][0]["code"] == "wrong_type");
  }
}

TEST_CASE("record_request: computed keys are ignored per policy; clock, exists, read-only", "[api_support]") {
  Records f;
  json ev = {{"centre_id", "lens"}, {"title", "Réunion"}, {"kind", "reunion"}, {"starts_at", "2026-12-01T10:00:00Z"},
             {"attended", 3},       {"registered", 3}};
  CHECK_FALSE(f.create(Entity::event, ev, Records::hub_policy()).answer);
  // The node's events carry no "attended": it is an unknown field there.
  CHECK(error_fields(f.create(Entity::event, ev, Records::node_policy())) == std::multiset<std::string>{"attended"});

  auto early = Records::node_policy();
  early.now_ms = 1000;  // 1970: the node never learned the hub's time
  PreparedWrite clock = f.create(Entity::registration, registration(), early);
  REQUIRE(clock.answer);
  CHECK(clock.answer->status == 503);
  CHECK(test::to_reply(*clock.answer).body["code"] == "clock");

  PreparedWrite taken = f.create(
      Entity::event, json{{"id", kEventId}, {"title", "X"}, {"kind", "atelier"}, {"starts_at", "2026-12-01T10:00:00Z"}},
      Records::node_policy());
  REQUIRE(taken.answer);
  CHECK(taken.answer->status == 409);

  PreparedWrite stamped =
      f.create(Entity::registration, registration({{"created_at", "2026-01-01T00:00:00Z"}}), Records::node_policy());
  REQUIRE(stamped.answer);
  auto r = test::to_reply(*stamped.answer);
  CHECK(r.body["field"] == "created_at");
  CHECK(r.body["message"] == "La date de création est fixée par le poste.");
}

TEST_CASE("record_request: an update writes only what changes, and refuses read-only keys", "[api_support]") {
  Records f;
  auto existing = f.store->get(Entity::event, kEventId);
  REQUIRE(existing);
  REQUIRE(existing->has_value());
  auto update = [&](const json& body) {
    return prepare_update(*f.store, spec(Entity::event), kEventId, request("PATCH", "/x", body), Records::hub_policy());
  };
  PreparedWrite same = update(json{{"title", "Atelier"}, {"attended", 0}});
  REQUIRE_FALSE(same.answer);
  CHECK(same.write.fields.empty());
  PreparedWrite changed = update(json{{"title", "Atelier numérique"}, {"kind", "atelier"}});
  REQUIRE_FALSE(changed.answer);
  REQUIRE(changed.write.fields.size() == 1);
  CHECK(changed.write.fields[0].field == Field::title);
  CHECK(error_fields(update(json{{"id", "autre"}, {"centre_id", "denain"}})) ==
        std::multiset<std::string>{"centre_id", "id"});
  PreparedWrite backwards = update(json{{"ends_at", "2000-01-01T00:00:00Z"}});
  REQUIRE(backwards.answer);
  CHECK(test::to_reply(*backwards.answer).body["field"] == "ends_at");
}

TEST_CASE("record_request: delete and erase find the record, erase needs a confirmation", "[api_support]") {
  Records f;
  PreparedWrite del = prepare_delete(*f.store, spec(Entity::event), kEventId, "du hub");
  REQUIRE_FALSE(del.answer);
  CHECK(del.write.op == Op::del);
  CHECK(del.write.centre_id == "lens");
  REQUIRE(del.existing);
  CHECK(del.existing->id == kEventId);
  PreparedWrite absent =
      prepare_delete(*f.store, spec(Entity::event), "0e000000-0000-4000-8000-0000000000ff", "du hub");
  REQUIRE(absent.answer);
  CHECK(absent.answer->status == 404);

  PreparedWrite unconfirmed =
      prepare_erase(*f.store, kEventId, request("POST", "/x", json{{"confirm", false}}), "du hub", "Confirmez.");
  REQUIRE(unconfirmed.answer);
  auto r = test::to_reply(*unconfirmed.answer);
  CHECK(r.body["code"] == "confirm_required");
  CHECK(r.body["message"] == "Confirmez.");
  PreparedWrite missing = prepare_erase(*f.store, "0e000000-0000-4000-8000-0000000000ff",
                                        request("POST", "/x", json{{"confirm", true}}), "du hub", "Confirmez.");
  REQUIRE(missing.answer);
  CHECK(missing.answer->status == 404);
}

}  // namespace
}  // namespace terril
