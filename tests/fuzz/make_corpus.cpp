// Writes the seed corpora of the fuzz targets: valid frames and change sequences that reach
// deep into the decoders and the merge. Run from the repository root after a change to the
// proto or the model, and commit the files:
//   ninja -C build-fuzz fuzz_make_corpus && build-fuzz/tests/fuzz/fuzz_make_corpus tests/fuzz/corpus
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "common/core/hlc.h"
#include "common/core/validate.h"
#include "common/wire/frames.h"
#include "common/wire/wire.h"
#include "terril/v1/sync.pb.h"

using namespace terril;
using namespace std::string_literals;

namespace {

constexpr int64_t kT = 1795946400000;  // 2026-11-29T10:00:00Z
const std::string kReg = "0f8fad5b-d9cb-469f-a165-70867728950e";
const std::string kReg2 = "7d444840-9dc0-41d6-9c1a-2b7f2d3d8b1e";
const std::string kEvent = "6f1c2a3b-0000-4000-8000-000000000001";
const std::string kNote = "a3bb189e-8bf9-4888-9912-ace4e6543002";

Change make(std::string origin, uint64_t seq, uint64_t ms, Entity e, std::string id, Op op,
            std::vector<FieldValue> fields, std::string centre = "valenciennes-dutemple") {
  Change c;
  c.origin = std::move(origin);
  c.origin_seq = seq;
  c.hlc = hlc_make(ms, seq % 3);
  c.entity = e;
  c.record_id = std::move(id);
  c.centre_id = e == Entity::centre ? c.record_id : std::move(centre);
  c.op = op;
  c.fields = std::move(fields);
  if (Status s = validate_change(c); !s) {
    std::cerr << "invalid seed change: " << s.to_string() << "\n";
    std::exit(1);
  }
  return c;
}

std::vector<Change> all_kinds() {
  return {
      make("node-a", 1, kT, Entity::registration, kReg, Op::upsert,
           {{Field::created_at, kT},
            {Field::phone, "06 12 34 56 78"s},
            {Field::event_id, kEvent},
            {Field::first_name, "Éloïse"s},
            {Field::last_name, "Martin"s},
            {Field::email, "eloise@example.fr"s},
            {Field::role, "habitant"s},
            {Field::consent_at, kT}}),
      make("node-b", 7, kT + 5, Entity::registration, kReg, Op::upsert,
           {{Field::email, Value{}}, {Field::attended, true}, {Field::notes, "vient à deux"s}}),
      make("node-a", 2, kT + 9, Entity::registration, kReg2, Op::del, {}),
      make("hub", 3, kT + 12, Entity::registration, kReg, Op::erase, {}),
      make("node-a", 4, kT, Entity::event, kEvent, Op::upsert,
           {{Field::title, "Temps fort"s},
            {Field::description, Value{}},
            {Field::kind, "temps-fort"s},
            {Field::starts_at, kT + 86400000},
            {Field::ends_at, kT + 90000000},
            {Field::capacity, int64_t{120}}}),
      make("hub", 5, kT + 1, Entity::centre, "valenciennes-dutemple", Op::upsert,
           {{Field::name, "Centre social Dutemple"s},
            {Field::postcode, "59300"s},
            {Field::phone, "0327464664"s},
            {Field::agglomeration, "valenciennes-metropole"s}}),
      make("node-c", 6, kT + 2, Entity::prototype_note, kNote, Op::upsert,
           {{Field::deleted, false},
            {Field::title, "Borne d'accueil"s},
            {Field::status, "en-test"s},
            {Field::tags, "borne,numerique"s},
            {Field::evaluation, "Testée par 12 habitants."s}}),
  };
}

// Conflicts on one record: equal hlcs from different origins, older and newer writes, a delete.
std::vector<Change> conflicts() {
  return {
      make("node-a", 1, kT, Entity::registration, kReg, Op::upsert, {{Field::first_name, "Ana"s}}),
      make("node-b", 1, kT, Entity::registration, kReg, Op::upsert, {{Field::first_name, "Anna"s}}),
      make("hub", 1, kT, Entity::registration, kReg, Op::upsert,
           {{Field::first_name, "Anne"s}, {Field::attended, false}}),
      make("node-a", 2, kT - 100, Entity::registration, kReg, Op::upsert, {{Field::attended, true}}),
      make("node-b", 2, kT + 100, Entity::registration, kReg, Op::del, {}),
      make("node-c", 1, kT + 200, Entity::registration, kReg, Op::upsert, {{Field::deleted, false}}, "denain"),
  };
}

void write(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << bytes;
  std::cout << path.string() << " (" << bytes.size() << " bytes)\n";
}

std::string frame(const v1::Frame& f) {
  return wire::encode_frame(f);
}

std::string changes_frame(const std::vector<Change>& cs, uint64_t last_seq) {
  v1::Frame f;
  for (const auto& c : cs) wire::to_wire(c, *f.mutable_changes()->add_changes());
  f.mutable_changes()->set_last_seq(last_seq);
  return frame(f);
}

// The fuzz_change_merge format: [u16 little-endian length][encoded change], repeated.
std::string sequence(const std::vector<Change>& cs) {
  std::string out;
  for (const auto& c : cs) {
    std::string b = wire::encode_change(c);
    out += static_cast<char>(b.size() & 0xFF);
    out += static_cast<char>(b.size() >> 8);
    out += b;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: fuzz_make_corpus CORPUS_DIR\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  const auto ff = dir / "fuzz_frame";
  write(ff / "changes_all_kinds", changes_frame(all_kinds(), 7));
  write(ff / "changes_conflicts", changes_frame(conflicts(), 12));
  write(ff / "changes_empty", changes_frame({}, 0));
  {
    v1::Frame f;
    f.mutable_challenge()->set_nonce(std::string(32, '\x5a'));
    f.mutable_challenge()->set_hub_id("hub-bassin-minier");
    f.mutable_challenge()->add_protocol_versions(1);
    write(ff / "challenge", frame(f));
  }
  {
    v1::Frame f;
    auto* h = f.mutable_hello();
    h->set_node_id("valenciennes-dutemple-1");
    h->set_proof(std::string(32, '\x11'));
    h->set_protocol_version(1);
    h->set_software_version("0.1.0");
    h->set_hub_cursor(42);
    write(ff / "hello", frame(f));
  }
  {
    v1::Frame f;
    auto* w = f.mutable_welcome();
    w->set_hub_time_ms(kT);
    w->set_node_cursor(17);
    w->set_centre_id("valenciennes-dutemple");
    w->set_window(wire::kWindow);
    w->set_hub_seq(99);
    write(ff / "welcome", frame(f));
  }
  {
    v1::Frame f;
    auto* a = f.mutable_ack();
    a->set_seq(12);
    auto* r = a->add_rejections();
    r->set_origin_seq(11);
    r->set_code(v1::ERROR_CODE_FORBIDDEN_CHANGE);
    r->set_message("Modification refusée : cette fiche appartient à un autre centre.");
    r->set_field("attended");
    write(ff / "ack", frame(f));
  }
  {
    v1::Frame f;
    f.mutable_error()->set_code(v1::ERROR_CODE_UNSUPPORTED_VERSION);
    f.mutable_error()->set_message("unsupported protocol version 2");
    f.mutable_error()->add_protocol_versions(1);
    write(ff / "error", frame(f));
  }
  {
    v1::Frame f;
    f.mutable_enrol()->set_code("K7QF-2MZP");
    f.mutable_enrol()->set_software_version("0.1.0");
    write(ff / "enrol", frame(f));
  }
  {
    v1::Frame f;
    auto* e = f.mutable_enrolled();
    e->set_node_id("valenciennes-dutemple-1");
    e->set_node_secret(std::string(32, '\x22'));
    e->set_centre_id("valenciennes-dutemple");
    e->set_hub_id("hub-bassin-minier");
    e->set_hub_time_ms(kT);
    write(ff / "enrolled", frame(f));
  }
  {
    // Anti-entropy (issue 12): a check, a reply with every part, a repair with a whole record.
    Record r;
    r.entity = Entity::registration;
    r.id = "3f2b8c1e-5d4a-4b6f-9e8d-7c6b5a4f3e2d";
    r.centre_id = "valenciennes-dutemple";
    r.fields[Field::first_name] = FieldState{std::string("Zoé"), Stamp{hlc_make(kT, 1), "valenciennes-dutemple-1"}};
    r.fields[Field::attended] = FieldState{true, Stamp{hlc_make(kT, 8), "hub"}};
    const RangeDigest all{{Entity::registration, "", ""}, 3, 0x1234567890abcdefull};
    const RangeDigest owner{{Entity::registration, "valenciennes-dutemple", ""}, 3, 0x1234567890abcdefull};
    const RangeDigest pre{{Entity::registration, "valenciennes-dutemple", "3f"}, 1, 42};
    write(ff / "digest_check", wire::encode_frame(wire::Frame(wire::DigestCheck{5, {all, owner}})));
    write(ff / "digest_reply",
          wire::encode_frame(wire::Frame(wire::DigestReply{5, {all}, {owner}, {{pre, {{r.id, 42}}}}, {pre}})));
    write(ff / "repair", wire::encode_frame(wire::Frame(wire::Repair{
                             5, {r}, {{Entity::event, r.id}}, {{Entity::centre, "marly-florales"}}, true})));
  }

  const auto fm = dir / "fuzz_change_merge";
  write(fm / "all_kinds", sequence(all_kinds()));
  write(fm / "conflicts", sequence(conflicts()));
  auto erase_last = conflicts();
  erase_last.push_back(make("node-a", 3, kT + 50, Entity::registration, kReg, Op::erase, {}));
  write(fm / "conflicts_then_erase", sequence(erase_last));
  auto dup = all_kinds();
  dup.push_back(dup.front());
  write(fm / "duplicates", sequence(dup));
  return 0;
}
