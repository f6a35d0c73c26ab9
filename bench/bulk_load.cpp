// Prepares benchmark data in a node's data folder, as if staff had written it
// offline: N registrations for an event (or, with --update, sets `attended` on
// the first N live ones). Uses the node's own store and origin, so the
// changes are real local writes; only durability is relaxed to load fast.
//
//   bulk_load DATA_DIR EVENT_ID N CENTRE_ID [--update]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>

#include "common/core/ids.h"
#include "node/credentials.h"
#include "common/store/store.h"

using namespace terril;

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: bulk_load DATA_DIR EVENT_ID N CENTRE_ID [--update]\n");
    return 2;
  }
  std::string dir = argv[1], event = argv[2], centre = argv[4];
  size_t n = std::stoul(argv[3]);
  bool update = argc > 5 && std::strcmp(argv[5], "--update") == 0;
  auto creds = load_credentials(dir);
  if (!creds || !*creds) {
    std::fprintf(stderr, "bulk_load: %s is not an enrolled node\n", dir.c_str());
    return 1;
  }
  StoreOptions o;
  o.origin = (*creds)->node_id;
  o.durable = false;
  auto st = Store::open(dir + "/node.db", o);
  if (!st) {
    std::fprintf(stderr, "bulk_load: %s\n", st.status().message().c_str());
    return 1;
  }
  auto now = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::mt19937_64 rng(42);
  static const char* first[] = {"Camille", "Léa", "Nathan", "Inès", "Lucas", "Chloé", "Yanis", "Manon"};
  static const char* last[] = {"Dupont", "Lefebvre", "Martin", "Bernard", "Petit", "Durand", "Leroy", "Moreau"};
  static const char* roles[] = {"habitant", "benevole", "partenaire", "salarie", "administrateur", "institutionnel"};
  if (update) {
    ListQuery q;
    q.limit = 1000;
    size_t done = 0;
    while (done < n) {
      auto page = (*st)->list(Entity::registration, q);
      if (!page || page->items.empty()) break;
      for (const auto& r : page->items) {
        if (done >= n) break;
        LocalWrite w{Entity::registration, r.id, r.centre_id, Op::upsert, {{Field::attended, true}}};
        if (auto c = (*st)->write(w, now()); !c) {
          std::fprintf(stderr, "bulk_load: %s\n", c.status().message().c_str());
          return 1;
        }
        ++done;
      }
      if (page->next.empty()) break;
      q.after = page->next;
    }
    std::printf("updated %zu registrations\n", done);
    return 0;
  }
  for (size_t i = 0; i < n; ++i) {
    std::array<uint8_t, 16> rnd{};
    for (auto& b : rnd) b = static_cast<uint8_t>(rng());
    char phone[32];
    std::snprintf(phone, sizeof phone, "06 %02d %02d %02d %02d", int(rng() % 100), int(rng() % 100), int(rng() % 100),
                  int(rng() % 100));
    int64_t t = now();
    LocalWrite w{Entity::registration,
                 uuid_v4(rnd),
                 centre,
                 Op::upsert,
                 {{Field::event_id, event},
                  {Field::first_name, std::string(first[rng() % 8])},
                  {Field::last_name, std::string(last[rng() % 8])},
                  {Field::phone, std::string(phone)},
                  {Field::role, std::string(roles[rng() % 6])},
                  {Field::consent_at, t}}};
    if (auto c = (*st)->write(w, t); !c) {
      std::fprintf(stderr, "bulk_load: %s\n", c.status().message().c_str());
      return 1;
    }
  }
  if (Status s = (*st)->checkpoint(); !s) std::fprintf(stderr, "bulk_load: checkpoint: %s\n", s.message().c_str());
  std::printf("wrote %zu registrations\n", n);
  return 0;
}
