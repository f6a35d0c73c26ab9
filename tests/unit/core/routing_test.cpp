// Routing and permissions (common/core/routing.h), as docs/design.md "Routing and permissions" states.
#include "common/core/routing.h"

#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace terril {
namespace {

using namespace std::string_literals;

TEST_CASE("route sends shared entities to everyone and registrations to owner and host only", "[routing]") {
  struct Case {
    const char* name;
    Entity entity;
    std::string owner, host;
    std::vector<std::string> in, out;
  };
  const std::vector<Case> cases = {
      {"centre", Entity::centre, "arc-en-ciel", "", {"arc-en-ciel", "marly", "denain"}, {}},
      {"event", Entity::event, "arc-en-ciel", "", {"arc-en-ciel", "marly", "denain"}, {}},
      {"prototype note", Entity::prototype_note, "marly", "", {"arc-en-ciel", "marly", "denain"}, {}},
      {"registration at another centre's event",
       Entity::registration,
       "arc-en-ciel",
       "marly",
       {"arc-en-ciel", "marly"},
       {"denain", "", "arc-en-ciel-2"}},
      {"registration at its own centre's event",
       Entity::registration,
       "arc-en-ciel",
       "arc-en-ciel",
       {"arc-en-ciel"},
       {"marly", "denain", ""}},
      {"registration for an unknown event", Entity::registration, "arc-en-ciel", "", {"arc-en-ciel"}, {"marly", ""}},
  };
  for (const auto& c : cases) {
    INFO(c.name);
    Audience a = route(c.entity, c.owner, c.host);
    CHECK(a.everyone == (c.entity != Entity::registration));
    for (const auto& centre : c.in) CHECK(a.includes(centre));
    for (const auto& centre : c.out) CHECK_FALSE(a.includes(centre));
  }
  Audience same = route(Entity::registration, "arc-en-ciel", "arc-en-ciel");
  CHECK(same.host_centre.empty());  // no duplicate target
}

constexpr const char* kReg = "0f8fad5b-d9cb-469f-a165-70867728950e";
constexpr const char* kEvent = "6f1c2a3b-0000-4000-8000-000000000001";

Record registration_of(std::string centre) {
  Record r;
  r.entity = Entity::registration;
  r.id = kReg;
  r.centre_id = std::move(centre);
  r.fields[Field::event_id] = FieldState{std::string(kEvent), Stamp{1, "node-a"}};
  r.fields[Field::first_name] = FieldState{"Ana"s, Stamp{1, "node-a"}};
  return r;
}

Change change(Entity e, std::string origin, std::string centre, Op op, std::vector<FieldValue> fields) {
  Change c;
  c.origin = std::move(origin);
  c.origin_seq = 1;
  c.hlc = 1 << 16;
  c.entity = e;
  c.record_id = e == Entity::centre ? centre : kReg;
  c.centre_id = std::move(centre);
  c.op = op;
  c.fields = std::move(fields);
  return c;
}

TEST_CASE("check_node_change allows own-centre changes and the host's check-in only", "[routing]") {
  // node-a belongs to centre "arc", node-b to centre "marly" which hosts the event.
  const Record at_arc = registration_of("arc");
  const Record at_marly = registration_of("marly");
  const std::vector<FieldValue> attended = {{Field::attended, true}};
  const std::vector<FieldValue> name = {{Field::first_name, "Bob"s}};
  const std::vector<FieldValue> attended_and_notes = {{Field::attended, true}, {Field::notes, "x"s}};
  // A whole registration, as a node's form creates it (validate_new_record).
  const std::vector<FieldValue> created = {
      {Field::event_id, std::string(kEvent)}, {Field::first_name, "Ana"s}, {Field::last_name, "Lefèvre"s},
      {Field::phone, "0327000000"s},          {Field::role, "habitant"s},  {Field::consent_at, int64_t{1}}};
  const std::vector<FieldValue> event = {
      {Field::title, "T"s}, {Field::kind, "atelier"s}, {Field::starts_at, int64_t{1}}};
  const Record centre_arc = [] {
    Record r;
    r.entity = Entity::centre;
    r.id = r.centre_id = "arc";
    return r;
  }();

  struct Case {
    const char* name;
    PermissionContext ctx;
    Change change;
    bool allowed;
  };
  const Record* none = nullptr;
  const std::vector<Case> cases = {
      // Own centre.
      {"own centre creates a registration",
       {"node-a", "arc", none, "marly"},
       change(Entity::registration, "node-a", "arc", Op::upsert, created),
       true},
      {"own centre updates its registration",
       {"node-a", "arc", &at_arc, "marly"},
       change(Entity::registration, "node-a", "arc", Op::upsert, name),
       true},
      {"own centre deletes its registration",
       {"node-a", "arc", &at_arc, "marly"},
       change(Entity::registration, "node-a", "arc", Op::del, {}),
       true},
      {"own centre erases its registration",
       {"node-a", "arc", &at_arc, "marly"},
       change(Entity::registration, "node-a", "arc", Op::erase, {}),
       true},
      {"own centre checks in at its own event",
       {"node-a", "arc", &at_arc, "arc"},
       change(Entity::registration, "node-a", "arc", Op::upsert, attended),
       true},
      {"own centre creates an event",
       {"node-a", "arc", none, ""},
       change(Entity::event, "node-a", "arc", Op::upsert, event),
       true},
      {"own centre edits its centre record",
       {"node-a", "arc", &centre_arc, ""},
       change(Entity::centre, "node-a", "arc", Op::upsert, {{Field::phone, "0327000000"s}}),
       true},
      // L9: as strict as the APIs.
      {"L9: own centre creates a registration without names, phone or consent",
       {"node-a", "arc", none, "marly"},
       change(Entity::registration, "node-a", "arc", Op::upsert, {{Field::event_id, std::string(kEvent)}}),
       false},
      {"L9: own centre creates an event without a start",
       {"node-a", "arc", none, ""},
       change(Entity::event, "node-a", "arc", Op::upsert, {{Field::title, "T"s}}),
       false},
      {"L9: own centre deletes its centre record",
       {"node-a", "arc", &centre_arc, ""},
       change(Entity::centre, "node-a", "arc", Op::del, {}),
       false},
      // Another centre.
      {"creates a registration for another centre",
       {"node-a", "arc", none, "marly"},
       change(Entity::registration, "node-a", "marly", Op::upsert, created),
       false},
      {"updates another centre's registration",
       {"node-b", "marly", &at_arc, "denain"},
       change(Entity::registration, "node-b", "arc", Op::upsert, name),
       false},
      {"creates another centre's note",
       {"node-a", "arc", none, ""},
       change(Entity::prototype_note, "node-a", "marly", Op::upsert, {{Field::title, "T"s}}),
       false},
      {"creates another centre",
       {"node-a", "arc", none, ""},
       change(Entity::centre, "node-a", "denain", Op::upsert, {{Field::name, "D"s}}),
       false},
      {"non-host checks in another centre's registration",
       {"node-b", "marly", &at_arc, "denain"},
       change(Entity::registration, "node-b", "arc", Op::upsert, attended),
       false},
      {"check-in when the host is unknown",
       {"node-b", "marly", &at_arc, ""},
       change(Entity::registration, "node-b", "arc", Op::upsert, attended),
       false},
      // Forged origins.
      {"forged origin for own centre",
       {"node-a", "arc", none, "marly"},
       change(Entity::registration, "node-z", "arc", Op::upsert, created),
       false},
      {"claims to be the hub",
       {"node-a", "arc", &at_arc, "marly"},
       change(Entity::registration, "hub", "arc", Op::upsert, name),
       false},
      {"host forging the owner's origin",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-a", "arc", Op::upsert, attended),
       false},
      // The host centre's exception.
      {"host checks in another centre's registration",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-b", "arc", Op::upsert, attended),
       true},
      {"host clears a check-in",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-b", "arc", Op::upsert, {{Field::attended, Value{}}}),
       true},
      {"host creates a registration for the owner",
       {"node-b", "marly", none, "marly"},
       change(Entity::registration, "node-b", "arc", Op::upsert, attended),
       false},
      {"host deletes another centre's registration",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-b", "arc", Op::del, {}),
       false},
      {"host erases another centre's registration",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-b", "arc", Op::erase, {}),
       false},
      {"host changes attended and notes together",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-b", "arc", Op::upsert, attended_and_notes),
       false},
      {"host changes the name",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-b", "arc", Op::upsert, name),
       false},
      {"host changes attended of an event record",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::event, "node-b", "arc", Op::upsert, attended),
       false},
      // Claims of another owner than the existing record's.
      {"owner claims its registration for the host",
       {"node-a", "arc", &at_arc, "marly"},
       change(Entity::registration, "node-a", "marly", Op::upsert, name),
       false},
      {"host claims the registration as its own",
       {"node-b", "marly", &at_arc, "marly"},
       change(Entity::registration, "node-b", "marly", Op::upsert, attended),
       false},
      {"node takes over another centre's record",
       {"node-b", "marly", &at_arc, "denain"},
       change(Entity::registration, "node-b", "marly", Op::upsert, name),
       false},
      {"owner changes a record now claimed by another",
       {"node-b", "marly", &at_marly, "marly"},
       change(Entity::registration, "node-b", "arc", Op::upsert, name),
       false},
  };
  for (const auto& c : cases) {
    Status s = check_node_change(c.ctx, c.change);
    INFO(c.name << ": " << s.to_string());
    CHECK(s.is_ok() == c.allowed);
    if (!c.allowed) {
      // L9's missing fields are invalid (a per-change INVALID_CHANGE), the rest forbidden.
      const bool incomplete = std::string(c.name).find("without") != std::string::npos;
      CHECK(s.code() == (incomplete ? Code::invalid : Code::forbidden));
      CHECK(s.message_fr().rfind("Modification refusée", 0) == 0);
    }
  }
}

// The seat fields (seats::check_seat_fields through check_node_change): the
// owner puts its registration on the waiting list or confirms it from its own
// seat; the host confirms another centre's registration from its own seat only.
TEST_CASE("check_node_change lets owner and host set the seat only from their own seats", "[routing][seats]") {
  // node-a belongs to centre "arc" (the owner), node-b to "marly" (the host), node-c to "denain".
  const Record at_arc = registration_of("arc");
  auto seat = [](Value s, std::optional<Value> by = std::nullopt) {
    std::vector<FieldValue> f = {{Field::seat, std::move(s)}};
    if (by) f.push_back({Field::seat_by, std::move(*by)});
    return f;
  };
  const std::vector<FieldValue> created = {{Field::event_id, std::string(kEvent)},
                                           {Field::first_name, "Ana"s},
                                           {Field::last_name, "Lefèvre"s},
                                           {Field::phone, "0327000000"s},
                                           {Field::role, "habitant"s},
                                           {Field::consent_at, int64_t{1}},
                                           {Field::seat, "confirmee"s},
                                           {Field::seat_by, "arc"s}};
  std::vector<FieldValue> created_by_host = created;
  created_by_host.back().value = "marly"s;
  const PermissionContext host{"node-b", "marly", &at_arc, "marly"};
  const PermissionContext owner{"node-a", "arc", &at_arc, "marly"};
  const PermissionContext third{"node-c", "denain", &at_arc, "marly"};
  struct Case {
    const char* name;
    PermissionContext ctx;
    std::string origin;
    std::vector<FieldValue> fields;
    bool allowed;
    bool seat_rule;  // refused by the seat rules (else by the host's field list or ownership)
  };
  const std::vector<Case> cases = {
      {"host confirms from its own seat", host, "node-b", seat("confirmee"s, "marly"s), true, false},
      {"host confirms and checks in together",
       host,
       "node-b",
       {{Field::attended, true}, {Field::seat, "confirmee"s}, {Field::seat_by, "marly"s}},
       true,
       false},
      {"host confirms from another centre's seat", host, "node-b", seat("confirmee"s, "denain"s), false, true},
      {"host confirms from the owner's seat", host, "node-b", seat("confirmee"s, "arc"s), false, true},
      {"host confirms with no seat_by", host, "node-b", seat("confirmee"s), false, true},
      {"host puts it on the waiting list", host, "node-b", seat("attente"s, ""s), false, true},
      {"host clears the seat", host, "node-b", seat(Value{}, Value{}), false, true},
      {"host sets seat_by alone", host, "node-b", {{Field::seat_by, "marly"s}}, false, true},
      {"host changes seat and notes together",
       host,
       "node-b",
       {{Field::notes, "x"s}, {Field::seat, "confirmee"s}, {Field::seat_by, "marly"s}},
       false,
       false},
      {"owner puts it on the waiting list", owner, "node-a", seat("attente"s, ""s), true, false},
      {"owner puts it on the waiting list, seat_by absent", owner, "node-a", seat("attente"s), true, false},
      {"owner confirms from its own seat", owner, "node-a", seat("confirmee"s, "arc"s), true, false},
      {"owner confirms from the host's seat", owner, "node-a", seat("confirmee"s, "marly"s), false, true},
      {"owner waits with a seat_by", owner, "node-a", seat("attente"s, "arc"s), false, true},
      {"owner sets an unknown seat", owner, "node-a", seat("oui"s, ""s), false, true},
      {"owner clears the seat (event without a limit)", owner, "node-a", seat(Value{}, Value{}), true, false},
      {"owner creates it confirmed from its own seat",
       {"node-a", "arc", nullptr, "marly"},
       "node-a",
       created,
       true,
       false},
      {"owner creates it confirmed from the host's seat",
       {"node-a", "arc", nullptr, "marly"},
       "node-a",
       created_by_host,
       false,
       true},
      {"a third centre confirms from its own seat", third, "node-c", seat("confirmee"s, "denain"s), false, false},
  };
  for (const auto& c : cases) {
    Status s = check_node_change(c.ctx, change(Entity::registration, c.origin, "arc", Op::upsert, c.fields));
    INFO(c.name << ": " << s.to_string() << " / " << s.message_fr());
    CHECK(s.is_ok() == c.allowed);
    if (c.allowed) continue;
    CHECK(s.code() == Code::forbidden);
    if (c.seat_rule)
      CHECK(s.message_fr().rfind("Place refusée", 0) == 0);
    else
      CHECK(s.message_fr().rfind("Modification refusée", 0) == 0);
  }
}

}  // namespace
}  // namespace terril
