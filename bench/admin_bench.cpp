// The hub admin's dashboard API and exports at the operation's scale.
//
//   ./admin_bench [REGISTRATIONS=100000] [DIR]
//
// Fills a fresh hub store with REGISTRATIONS registrations spread over the 19
// centres (written as the sync writes them: Store::apply_from_node, one batch
// of 500 per node at a time), 10 events per centre and a few prototype notes,
// then times the main dashboard calls through AdminApi::handle (median of 5
// runs) and a full CSV export streamed by export_records (as `terril-hub
// export` does), printing RSS before, during and after the export: it must
// not grow with the row count. Last, the dashboard's HTTP export, whose body
// is one string today (see hub/admin.cpp export_http), for comparison.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <streambuf>
#include <string>
#include <vector>

#include "common/core/hlc.h"
#include "common/core/ids.h"
#include "common/net/auth.h"
#include "common/store/store.h"
#include "hub/admin.h"
#include "hub/centres_seed.h"
#include "common/store/hub_registry.h"
#include "hub/sync_hub.h"

using namespace terril;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int64_t kNow = 1795168800000;  // 2026-11-20T10:00:00Z
constexpr int64_t kDay = 24LL * 3600 * 1000;
constexpr size_t kBatch = 500;  // changes per apply, as a sync batch
constexpr int kEventsPerCentre = 10;
constexpr int kRuns = 5;

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

// Current resident set, from /proc/self/status (kB).
long vm_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// Peak resident set of the process so far (kB).
long max_rss_kb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

// An output that counts and discards bytes, sampling VmRSS every 4 MiB: what
// the export costs in memory while it runs.
class CountingBuf : public std::streambuf {
 public:
  CountingBuf() { setp(buf_, buf_ + sizeof buf_); }
  uint64_t bytes() const { return total_ + static_cast<uint64_t>(pptr() - pbase()); }
  long max_sampled_rss_kb = 0;
  std::vector<std::pair<uint64_t, long>> samples;  // bytes so far, VmRSS

 protected:
  int_type overflow(int_type ch) override {
    flush_buf();
    if (ch != traits_type::eof()) {
      *pptr() = static_cast<char>(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }
  int sync() override {
    flush_buf();
    return 0;
  }

 private:
  void flush_buf() {
    total_ += static_cast<uint64_t>(pptr() - pbase());
    setp(buf_, buf_ + sizeof buf_);
    if (total_ >= next_sample_) {
      long rss = vm_rss_kb();
      max_sampled_rss_kb = std::max(max_sampled_rss_kb, rss);
      samples.emplace_back(total_, rss);
      next_sample_ += 4 << 20;
    }
  }
  char buf_[64 * 1024];
  uint64_t total_ = 0;
  uint64_t next_sample_ = 4 << 20;
};

}  // namespace

int main(int argc, char** argv) {
  const size_t n_regs = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100000;
  std::string dir = argc > 2 ? argv[2] : "";
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/terril-admin-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) return 1;
    dir = tmpl;
  }
  std::printf("admin_bench: %zu registrations, store in %s\n", n_regs, dir.c_str());

  StoreOptions so;
  so.origin = "hub";
  so.hub = true;
  auto opened = Store::open(dir + "/hub.db", so);
  if (!opened) {
    std::fprintf(stderr, "open: %s\n", opened.status().message().c_str());
    return 1;
  }
  Store& store = **opened;
  (void)store.set_meta("hub_id", "hub-bench");
  auto centres = parse_centres(centres_csv());
  if (!centres || !store.seed_centres(*centres, kNow - 90 * kDay)) return 1;
  Registry registry(store);
  SyncHubOptions ho;
  ho.hub_id = "hub-bench";
  ho.software_version = "bench";
  ho.now_ms = [] { return kNow; };
  ho.random_bytes = [](size_t n) { return std::string(n, '\x42'); };
  SyncHub hub(store, registry, ho);

  std::vector<std::string> centre_ids;
  for (const auto& c : *centres) centre_ids.push_back(c.record_id);
  for (size_t i = 0; i < centre_ids.size(); ++i)
    if (i % 6 != 5) (void)registry.add(centre_ids[i] + "-1", centre_ids[i], kNow - 60 * kDay, "bench");

  // --- Fill ------------------------------------------------------------------
  std::mt19937_64 rng(42);
  uint64_t id_counter = 0;
  auto next_id = [&] {
    std::array<uint8_t, 16> r{};
    uint64_t a = rng(), b = ++id_counter;
    for (int i = 0; i < 8; ++i) {
      r[i] = static_cast<uint8_t>(a >> (8 * i));
      r[15 - i] = static_cast<uint8_t>(b >> (8 * i));
    }
    return uuid_v4(r);
  };
  std::map<std::string, std::vector<Change>> pending;  // per node
  std::map<std::string, uint64_t> seq;
  Judge allow = [](const Change&, const Record*, const std::string&) { return Status::ok(); };
  uint64_t applied = 0;
  auto flush = [&](const std::string& node) {
    auto& v = pending[node];
    if (v.empty()) return;
    auto rep = store.apply_from_node(node, v, allow, kNow);
    if (!rep) {
      std::fprintf(stderr, "apply: %s\n", rep.status().message().c_str());
      std::exit(1);
    }
    applied += rep->applied;
    v.clear();
  };
  auto add = [&](const std::string& centre, Entity e, const std::string& id, std::vector<FieldValue> fields,
                 int64_t at) {
    std::string node = "node-" + centre;
    Change c;
    c.origin = node;
    c.origin_seq = ++seq[node];
    c.hlc = hlc_make(static_cast<uint64_t>(at), c.origin_seq & 0xffff);
    c.entity = e;
    c.record_id = id;
    c.centre_id = centre;
    c.fields = std::move(fields);
    std::sort(c.fields.begin(), c.fields.end(), [](auto& a, auto& b) { return a.field < b.field; });
    pending[node].push_back(std::move(c));
    if (pending[node].size() >= kBatch) flush(node);
  };

  auto t_fill = Clock::now();
  std::vector<std::string> events;
  for (const auto& centre : centre_ids) {
    for (int k = 0; k < kEventsPerCentre; ++k) {
      std::string id = next_id();
      events.push_back(id);
      int64_t starts = kNow + (static_cast<int64_t>(k) - 5) * 7 * kDay;
      add(centre, Entity::event, id,
          {{Field::created_at, kNow - 80 * kDay},
           {Field::title, std::string(k == 0 ? "Temps fort " : "Atelier ") + std::to_string(k) + " " + centre},
           {Field::kind, std::string(k == 0 ? "temps-fort" : "atelier")},
           {Field::starts_at, starts},
           {Field::capacity, int64_t{k == 0 ? 1500 : 600}}},
          kNow - 80 * kDay);
    }
    for (int k = 0; k < 3; ++k)
      add(centre, Entity::prototype_note, next_id(),
          {{Field::created_at, kNow - 50 * kDay},
           {Field::title, "Prototype " + std::to_string(k)},
           {Field::status, std::string(kNoteStatuses[(k + centre.size()) % kNoteStatuses.size()])},
           {Field::tags, std::string("numerique,seniors")}},
          kNow - 50 * kDay);
  }
  static const char* first[] = {"Zoé", "Paul", "Inès", "Louis", "Élodie", "Karim", "Léa", "Hugo"};
  static const char* last[] = {"Lefebvre", "Martin", "Benali", "Leroy", "Dupont", "Moreau", "Petit", "Kowalski"};
  for (size_t i = 0; i < n_regs; ++i) {
    const std::string& centre = centre_ids[i % centre_ids.size()];
    int64_t at = kNow - 60 * kDay + static_cast<int64_t>(rng() % (60 * kDay));
    std::vector<FieldValue> f = {{Field::created_at, at},
                                 {Field::event_id, events[rng() % events.size()]},
                                 {Field::first_name, std::string(first[rng() % 8])},
                                 {Field::last_name, std::string(last[rng() % 8]) + " " + std::to_string(i)},
                                 {Field::phone, std::string("03 27 00 00 00")},
                                 {Field::role, std::string(kRoles[rng() % kRoles.size()])},
                                 {Field::consent_at, at}};
    if (rng() % 3 == 0) f.push_back({Field::attended, true});
    if (rng() % 4 == 0) f.push_back({Field::email, "personne" + std::to_string(i) + "@example.org"});
    add(centre, Entity::registration, next_id(), std::move(f), at);
  }
  for (const auto& c : centre_ids) flush("node-" + c);
  double fill_ms = ms_since(t_fill);
  auto st = store.stats();
  std::printf("fill: %llu changes applied in %.0f ms (%.0f changes/s); db %.1f MiB\n",
              static_cast<unsigned long long>(applied), fill_ms, applied / (fill_ms / 1000.0),
              st ? st->db_bytes / 1048576.0 : 0.0);
  (void)store.checkpoint();

  // --- Dashboard calls -------------------------------------------------------
  auto hash = hash_password("bench-password", fast_pwhash_limits());
  if (!hash || !write_password_file(dir + "/admin.password", *hash)) return 1;
  AdminApi api(store, registry, hub, AdminApi::Options{dir + "/admin.password", true, "bench", [] { return kNow; }});
  auto request = [&](const std::string& method, const std::string& target, const std::string& body,
                     const std::string& cookie) {
    HttpRequest req;
    req.method = method;
    req.target = target;
    fill_path_and_query(req);
    req.headers["host"] = "127.0.0.1:8443";
    req.remote_addr = "127.0.0.1";
    if (!body.empty()) {
      req.body = body;
      req.headers["content-type"] = "application/json";
    }
    if (!cookie.empty()) req.headers["cookie"] = cookie;
    return api.handle(req);
  };
  HttpResponse login = request("POST", "/api/v1/login", R"({"password":"bench-password"})", "");
  const std::string* set = login.header("Set-Cookie");
  if (login.status != 200 || !set) return 1;
  std::string cookie = set->substr(0, set->find(';'));

  const std::string denain = "denain-tonini";
  const std::vector<std::pair<std::string, std::string>> calls = {
      {"centres page: centres", "/api/v1/centres?limit=1000"},
      {"centres page: nodes", "/api/v1/nodes"},
      {"status", "/api/v1/status"},
      {"registrations p1, centre", "/api/v1/registrations?centre_id=" + denain + "&limit=100"},
      {"registrations p1, agglo+role", "/api/v1/registrations?agglomeration=lens-lievin&role=habitant&limit=100"},
      {"registrations p1, search", "/api/v1/registrations?q=dupont&limit=100"},
      {"events (190, counts)", "/api/v1/events?limit=1000"},
      {"reports/roles", "/api/v1/reports/roles"},
      {"reports/attendance", "/api/v1/reports/attendance"},
      {"reports/prototypes", "/api/v1/reports/prototypes"},
  };
  std::printf("\n%-32s %10s %10s %10s\n", "dashboard call", "median ms", "min ms", "bytes");
  for (const auto& [name, target] : calls) {
    std::vector<double> t;
    size_t bytes = 0;
    for (int r = 0; r < kRuns; ++r) {
      auto t0 = Clock::now();
      HttpResponse res = request("GET", target, "", cookie);
      t.push_back(ms_since(t0));
      if (res.status != 200) {
        std::fprintf(stderr, "%s: HTTP %d %s\n", target.c_str(), res.status, res.body.c_str());
        return 1;
      }
      bytes = res.body.size();
    }
    std::sort(t.begin(), t.end());
    std::printf("%-32s %10.1f %10.1f %10zu\n", name.c_str(), t[t.size() / 2], t.front(), bytes);
  }

  // --- Full CSV export, streamed --------------------------------------------
  std::printf("\nfull CSV export of registrations (export_records, streamed):\n");
  long rss_before = vm_rss_kb(), peak_before = max_rss_kb();
  CountingBuf buf;
  std::ostream out(&buf);
  uint64_t rows = 0;
  auto t0 = Clock::now();
  Status s = export_records(store, registry, Entity::registration, "csv", ExportFilters{}, "bench", kNow, out);
  out.flush();
  double export_ms = ms_since(t0);
  if (!s) {
    std::fprintf(stderr, "export: %s\n", s.message().c_str());
    return 1;
  }
  rows = n_regs;
  long rss_after = vm_rss_kb(), peak_after = max_rss_kb();
  std::printf("  %llu rows, %.1f MiB in %.0f ms: %.0f rows/s, %.1f MiB/s\n", static_cast<unsigned long long>(rows),
              buf.bytes() / 1048576.0, export_ms, rows / (export_ms / 1000.0),
              buf.bytes() / 1048576.0 / (export_ms / 1000.0));
  std::printf("  VmRSS before %ld kB, max sampled during %ld kB, after %ld kB\n", rss_before, buf.max_sampled_rss_kb,
              rss_after);
  std::printf("  peak RSS (getrusage) before %ld kB, after %ld kB (grew %ld kB)\n", peak_before, peak_after,
              peak_after - peak_before);
  std::printf("  VmRSS along the export (MiB written -> kB):");
  for (size_t i = 0; i < buf.samples.size(); i += std::max<size_t>(1, buf.samples.size() / 6))
    std::printf(" %.0f->%ld", buf.samples[i].first / 1048576.0, buf.samples[i].second);
  std::printf("\n");

  // --- The dashboard's HTTP export (body built in memory) --------------------
  t0 = Clock::now();
  HttpResponse res = request("GET", "/api/v1/export?entity=registrations&format=csv", "", cookie);
  double http_ms = ms_since(t0);
  std::printf(
      "\nHTTP GET /api/v1/export (one string body): %d, %.1f MiB in %.0f ms (%.0f rows/s); "
      "VmRSS now %ld kB, peak %ld kB\n",
      res.status, res.body.size() / 1048576.0, http_ms, rows / (http_ms / 1000.0), vm_rss_kb(), max_rss_kb());

  if (own_dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  return 0;
}
