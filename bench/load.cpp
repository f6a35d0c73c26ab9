// load_gen: N simulated nodes on one real terril-hub over TLS on loopback,
// each pushing one change per second; prints ack latency, errors, hub CPU
// and peak RSS. Issue 6, "Load". Targets: zero errors, p99 <= 100 ms, hub
// RSS <= 256 MiB.
//
//   load_gen [--connections 2000] [--seconds 30] [--hub PATH] [--catch-up] [--keep]
//
// The hub's data folder is made under $TMPDIR (default /tmp): TMPDIR=/dev/shm
// puts it on tmpfs, where fsync is free, to separate disk from CPU limits.
//
// Setup, the fastest honest way: `terril-hub init`, then, before `serve`,
// this program opens the hub's store with the hub's own code and
//   - adds one "neighbour" centre per simulated node (Store::seed_centres,
//     hub-origin writes, one transaction), so each node is its centre's only
//     box as in the field, and its registrations route to itself alone;
//   - registers and enrols each node with the hub's own Registry
//     (Registry::add then Registry::enrol: what `terril-hub node add` and the
//     Enrol frame run), with synchronous=OFF on this setup connection only.
// The hub then starts and every node does the real handshake over TLS
// (Challenge, HMAC Hello, Welcome) with the hub's certificate pinned.
//
// Each node claims the hub cursor the hub had at start (it is "in sync"), so
// the run measures steady state; --catch-up makes every node start from 0
// and pull the whole history first (slow: N x N centres).
//
// A change is one new registration of the node's own centre for an event
// the hub does not know (so no host centre): ~150 bytes, like the field.
// Latency: from handing the Changes frame to the link to reading its Ack.
// Hub CPU from /proc/PID/stat (utime + stime) over the push phase; peak RSS
// is VmHWM from /proc/PID/status.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/core/ids.h"
#include "common/net/ws_client.h"
#include "common/store/store.h"
#include "common/store/testing.h"
#include "common/ops/tls.h"
#include "common/wire/wire.h"
#include "common/store/hub_registry.h"
#include "terril/v1/sync.pb.h"

extern char** environ;

namespace {

using namespace terril;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "load_gen: %s\n", msg.c_str());
  std::exit(1);
}

struct Options {
  int connections = 2000;
  int seconds = 30;
  std::string hub_bin;
  bool catch_up = false;
  bool keep = false;
  int connect_parallel = 64;  // handshakes in flight at once during the ramp
};

// --- The hub process -------------------------------------------------------

pid_t spawn(const std::vector<std::string>& argv, int stdout_fd, const std::string& stderr_path,
            const std::string& stdin_path = "/dev/null") {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
  if (stdout_fd >= 0) posix_spawn_file_actions_adddup2(&fa, stdout_fd, 1);
  posix_spawn_file_actions_addopen(&fa, 2, stderr_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) die("cannot run " + argv[0] + ": " + std::strerror(rc));
  return pid;
}

struct ProcStats {
  double cpu_s = 0;
  long hwm_kib = 0, rss_kib = 0;
  int threads = 0;
};

double own_cpu_s() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string loadavg() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

ProcStats proc_stats(pid_t pid) {
  ProcStats p;
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(st)), {});
  auto rp = s.rfind(')');
  if (rp != std::string::npos) {
    std::istringstream in(s.substr(rp + 2));
    std::vector<std::string> f;
    for (std::string x; in >> x;) f.push_back(x);
    // fields after ')': state(0) ... utime(11) stime(12)
    if (f.size() > 12) p.cpu_s = (std::stod(f[11]) + std::stod(f[12])) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) p.hwm_kib = std::stol(line.substr(6));
    if (line.rfind("VmRSS:", 0) == 0) p.rss_kib = std::stol(line.substr(6));
    if (line.rfind("Threads:", 0) == 0) p.threads = std::stoi(line.substr(8));
  }
  return p;
}

// --- Setup through the hub's own code ----------------------------------------

struct NodeCreds {
  std::string node_id, centre_id, secret;
};

std::vector<NodeCreds> bulk_enrol(const std::string& db_path, int n) {
  StoreOptions so;
  so.origin = "hub";
  so.hub = true;
  auto st = Store::open(db_path, so);
  if (!st) die("open " + db_path + ": " + st.status().message());
  Store& store = **st;
  sqlite3_exec(store::testing::raw_handle(store), "PRAGMA synchronous=OFF", nullptr, nullptr, nullptr);  // setup only
  std::vector<LocalWrite> centres;
  std::vector<NodeCreds> out;
  char id[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(id, sizeof id, "load-centre-%04d", i);
    LocalWrite w;
    w.entity = Entity::centre;
    w.record_id = id;
    w.centre_id = id;
    w.fields = {{Field::name, Value{std::string("Centre voisin ") + std::to_string(i)}},
                {Field::postcode, Value{std::string("59300")}},
                {Field::town, Value{std::string("Valenciennes")}},
                {Field::agglomeration, Value{std::string("valenciennes-metropole")}}};
    centres.push_back(std::move(w));
  }
  if (Status s = store.seed_centres(centres, wall_ms()); !s) die("seed centres: " + s.message());
  Registry reg(store);
  for (int i = 0; i < n; ++i) {
    char node[32];
    std::snprintf(node, sizeof node, "load-node-%04d", i);
    auto code = reg.add(node, centres[static_cast<size_t>(i)].record_id, wall_ms(), "load_gen");
    if (!code) die(std::string("node add ") + node + ": " + code.status().message());
    auto en = reg.enrol(code->code, wall_ms());
    if (!en) die(std::string("enrol ") + node + ": " + en.status().message());
    out.push_back({en->node_id, en->centre_id, en->secret});
  }
  sqlite3_exec(store::testing::raw_handle(store), "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr);
  if (Status s = store.checkpoint(); !s) die("checkpoint: " + s.message());
  return out;
}

uint64_t hub_seq(const std::string& db_path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* q = nullptr;
  uint64_t v = 0;
  if (sqlite3_prepare_v2(db, "SELECT coalesce(max(seq), 0) FROM change_log", -1, &q, nullptr) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    v = static_cast<uint64_t>(sqlite3_column_int64(q, 0));
  sqlite3_finalize(q);
  sqlite3_close(db);
  return v;
}

// --- Simulated nodes --------------------------------------------------------------

struct Totals {
  std::vector<double> latency_ms;
  uint64_t pushed = 0, acked = 0, rejected = 0, error_frames = 0, unexpected_closes = 0, connect_failures = 0;
  uint64_t welcomed = 0, changes_in = 0;
  std::map<std::string, uint64_t> errors;  // what, count
  bool measuring = false;
  bool stopping = false;
};

class SimNode : public Peer {
 public:
  SimNode(NodeCreds c, uint64_t hub_cursor, Totals& t) : creds_(std::move(c)), hub_cursor_(hub_cursor), t_(t) {}

  void on_open(Link& link) override { link_ = &link; }

  void on_message(std::string_view bytes) override {
    v1::Frame f;
    if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      ++t_.errors["undecodable frame from hub"];
      return;
    }
    switch (f.msg_case()) {
      case v1::Frame::kChallenge: {
        v1::Frame h;
        auto* x = h.mutable_hello();
        x->set_node_id(creds_.node_id);
        x->set_proof(hmac_sha256(creds_.secret, f.challenge().nonce()));
        x->set_protocol_version(wire::kProtocolVersion);
        x->set_software_version("load_gen");
        x->set_hub_cursor(hub_cursor_);
        link_->send(wire::encode_frame(h));
        break;
      }
      case v1::Frame::kWelcome:
        next_seq_ = f.welcome().node_cursor() + 1;
        streaming_ = true;
        ++t_.welcomed;
        break;
      case v1::Frame::kChanges: {
        t_.changes_in += static_cast<uint64_t>(f.changes().changes_size());
        v1::Frame a;
        a.mutable_ack()->set_seq(f.changes().last_seq());
        link_->send(wire::encode_frame(a));
        break;
      }
      case v1::Frame::kAck: {
        auto now = Clock::now();
        t_.rejected += static_cast<uint64_t>(f.ack().rejections_size());
        if (f.ack().rejections_size()) ++t_.errors["rejection: " + f.ack().rejections(0).message()];
        while (!inflight_.empty() && inflight_.front().first <= f.ack().seq()) {
          if (inflight_.front().second.time_since_epoch().count() && t_.measuring)
            t_.latency_ms.push_back(std::chrono::duration<double, std::milli>(now - inflight_.front().second).count());
          ++t_.acked;
          inflight_.erase(inflight_.begin());
        }
        break;
      }
      case v1::Frame::kError:
        ++t_.error_frames;
        ++t_.errors["Error " + v1::ErrorCode_Name(f.error().code()) + ": " + f.error().message()];
        break;
      default:
        ++t_.errors["unexpected frame"];
    }
  }

  void on_closed(std::string_view why) override {
    link_ = nullptr;
    streaming_ = false;
    if (!t_.stopping) {
      ++t_.unexpected_closes;
      ++t_.errors["link closed: " + std::string(why)];
    }
  }

  // One new registration of this node's centre.
  void push() {
    if (!streaming_ || !link_) return;
    if (inflight_.size() >= wire::kWindow) {
      ++t_.errors["window full (hub slower than 1 change/s for this node)"];
      return;
    }
    int64_t now = wall_ms();
    Change c;
    c.origin = creds_.node_id;
    c.origin_seq = next_seq_++;
    c.hlc = static_cast<uint64_t>(now) << 16;
    c.entity = Entity::registration;
    std::array<uint8_t, 16> r{};
    for (auto& b : r) b = static_cast<uint8_t>(rng_());
    c.record_id = uuid_v4(r);
    for (auto& b : r) b = static_cast<uint8_t>(rng_());
    c.centre_id = creds_.centre_id;
    c.op = Op::upsert;
    c.fields = {{Field::created_at, Value{now}},
                {Field::phone, Value{std::string("06 12 34 56 78")}},
                {Field::event_id, Value{uuid_v4(r)}},
                {Field::first_name, Value{std::string("Camille")}},
                {Field::last_name, Value{"Charge" + std::to_string(c.origin_seq)}},
                {Field::role, Value{std::string("habitant")}},
                {Field::consent_at, Value{now}}};
    v1::Frame f;
    wire::to_wire(c, *f.mutable_changes()->add_changes());
    f.mutable_changes()->set_last_seq(c.origin_seq);
    link_->send(wire::encode_frame(f));
    inflight_.emplace_back(c.origin_seq, Clock::now());
    ++t_.pushed;
  }

  bool streaming() const { return streaming_; }
  size_t inflight() const { return inflight_.size(); }
  void close() {
    if (link_) link_->close();
  }

 private:
  NodeCreds creds_;
  uint64_t hub_cursor_;
  Totals& t_;
  Link* link_ = nullptr;
  bool streaming_ = false;
  uint64_t next_seq_ = 1;
  std::vector<std::pair<uint64_t, Clock::time_point>> inflight_;
  std::mt19937_64 rng_{(uint64_t{std::random_device{}()} << 32) ^ std::random_device{}()};
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return v[k];
}

// Runs the io_context until pred() or the deadline; returns pred().
template <class Pred>
bool run_until(asio::io_context& io, Pred pred, double seconds) {
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  while (!pred() && Clock::now() < end) io.run_for(std::chrono::milliseconds(20));
  return pred();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::string exe_dir = std::filesystem::path(argv[0]).parent_path().string();
  o.hub_bin = (std::filesystem::path(exe_dir) / ".." / "hub" / "terril-hub").string();
  if (const char* b = std::getenv("TERRIL_BUILD"); b && *b) o.hub_bin = std::string(b) + "/hub/terril-hub";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--connections")
      o.connections = std::stoi(next());
    else if (a == "--seconds")
      o.seconds = std::stoi(next());
    else if (a == "--hub")
      o.hub_bin = next();
    else if (a == "--catch-up")
      o.catch_up = true;
    else if (a == "--keep")
      o.keep = true;
    else if (a == "--help" || a == "-h") {
      std::puts("load_gen [--connections N=2000] [--seconds S=30] [--hub PATH] [--catch-up] [--keep]");
      return 0;
    } else
      die("unknown argument " + a);
  }
  std::signal(SIGPIPE, SIG_IGN);

  // File descriptors: one per simulated node here, one per node in the hub, plus slack.
  rlimit rl{};
  getrlimit(RLIMIT_NOFILE, &rl);
  rlim_t need = static_cast<rlim_t>(o.connections) + 256;
  if (rl.rlim_cur < need) {
    rl.rlim_cur = std::min(rl.rlim_max, need);
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < need)
    die("ulimit -n is " + std::to_string(rl.rlim_cur) + ", need " + std::to_string(need) + " (raise the hard limit)");

  std::string tmpl = (std::filesystem::temp_directory_path() / "terril-load-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) die("mkdtemp failed");
  std::string root = tmpl, dir = root + "/hub", log = root + "/hub.log";
  std::printf("load_gen: %d connections, %d s, hub %s, data %s\n", o.connections, o.seconds, o.hub_bin.c_str(),
              root.c_str());

  // 1. init (password from a file on stdin).
  {
    std::string pw = root + "/pw";
    std::ofstream(pw) << "load-gen-admin-password\n";
    int out[2];
    if (pipe(out)) die("pipe");
    pid_t p =
        spawn({o.hub_bin, "init", "--data-dir", dir, "--config", "/dev/null", "--password-stdin"}, out[1], log, pw);
    close(out[1]);
    std::string text;
    char buf[512];
    for (ssize_t n; (n = read(out[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
    close(out[0]);
    int st = 0;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("terril-hub init failed: " + text);
  }
  std::string db = dir + "/hub.db";
  auto fp = cert_fingerprint_pem(dir + "/tls/hub-cert.pem");
  if (!fp) die("hub certificate: " + fp.status().message());

  // 2. Bulk setup with the hub's own store and registry code.
  auto t_setup = Clock::now();
  std::vector<NodeCreds> nodes = bulk_enrol(db, o.connections);
  double setup_s = std::chrono::duration<double>(Clock::now() - t_setup).count();
  uint64_t cursor = o.catch_up ? 0 : hub_seq(db);
  std::printf("setup: %d centres + nodes added and enrolled in %.1f s (hub seq %llu)\n", o.connections, setup_s,
              static_cast<unsigned long long>(cursor));

  // 3. serve.
  int out[2];
  if (pipe(out)) die("pipe");
  pid_t hub = spawn({o.hub_bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dir, "--config", "/dev/null",
                     "--log-level", "warn"},
                    out[1], log);
  close(out[1]);
  std::string line;
  int port = 0;
  for (char c; read(out[0], &c, 1) == 1;) {
    if (c != '\n') {
      line += c;
      continue;
    }
    if (line.rfind("listening ", 0) == 0) {
      port = std::stoi(line.substr(line.rfind(':') + 1));
      break;
    }
    line.clear();
  }
  close(out[0]);
  if (!port) die("hub did not start; see " + log);
  ProcStats idle = proc_stats(hub);

  // 4. Connect every node (bounded parallel ramp).
  asio::io_context io(1);
  Totals t;
  std::vector<std::shared_ptr<SimNode>> sims;
  std::vector<std::function<void()>> cancels;
  size_t next = 0;
  int in_flight = 0;
  auto t_ramp = Clock::now();
  std::function<void()> connect_more = [&] {
    while (in_flight < o.connect_parallel && next < nodes.size()) {
      auto sim = std::make_shared<SimNode>(nodes[next++], cursor, t);
      sims.push_back(sim);
      ++in_flight;
      ClientOptions co;
      co.url = "wss://127.0.0.1:" + std::to_string(port);
      co.pin = *fp;
      co.connect_timeout_s = 30;
      cancels.push_back(connect_ws(io, co, sim, [&](Status s, const std::string&) {
        --in_flight;
        if (!s) {
          ++t.connect_failures;
          ++t.errors["connect: " + s.message()];
        }
        asio::post(io, connect_more);
      }));
    }
  };
  asio::post(io, connect_more);
  bool all_in = run_until(
      io, [&] { return next == nodes.size() && in_flight == 0 && t.welcomed + t.connect_failures >= nodes.size(); },
      300);
  double ramp_s = std::chrono::duration<double>(Clock::now() - t_ramp).count();
  ProcStats after_ramp = proc_stats(hub);
  std::printf("ramp: %llu/%zu welcomed in %.1f s%s; hub RSS %.1f MiB, %d threads\n",
              static_cast<unsigned long long>(t.welcomed), nodes.size(), ramp_s, all_in ? "" : " (TIMED OUT)",
              static_cast<double>(after_ramp.rss_kib) / 1024.0, after_ramp.threads);

  // 5. Push: each node one change per second, spread evenly over the second.
  constexpr int kSlots = 100;  // a 10 ms tick serves 1/100 of the nodes
  asio::steady_timer tick(io);
  int slot = 0;
  bool pushing = true;
  std::function<void()> on_tick = [&] {
    if (!pushing) return;
    for (size_t i = static_cast<size_t>(slot); i < sims.size(); i += kSlots) sims[i]->push();
    slot = (slot + 1) % kSlots;
    tick.expires_at(tick.expiry() + std::chrono::milliseconds(10));
    tick.async_wait([&](boost::system::error_code ec) {
      if (!ec) on_tick();
    });
  };
  ProcStats before = proc_stats(hub);
  double gen_cpu0 = own_cpu_s();
  auto t_push = Clock::now();
  t.measuring = true;
  tick.expires_after(std::chrono::milliseconds(10));
  tick.async_wait([&](boost::system::error_code ec) {
    if (!ec) on_tick();
  });
  run_until(
      io, [] { return false; }, o.seconds);
  pushing = false;
  tick.cancel();
  double push_s = std::chrono::duration<double>(Clock::now() - t_push).count();
  ProcStats after = proc_stats(hub);
  double gen_cpu = own_cpu_s() - gen_cpu0;
  std::string load_after = loadavg();
  // Drain: everything pushed gets its ack (bounded).
  bool drained = run_until(
      io, [&] { return t.acked >= t.pushed; }, 30);
  uint64_t unacked = t.pushed - std::min(t.pushed, t.acked);

  // The hub's own counters: how many batches each transaction carried.
  double commits = 0, batches = 0;
  {
    std::string cmd = "curl -sk --max-time 5 https://127.0.0.1:" + std::to_string(port) + "/metrics";
    if (FILE* f = popen(cmd.c_str(), "r")) {
      char line[512];
      while (std::fgets(line, sizeof line, f)) {
        std::string l(line);
        auto value = [&](const char* name, double& out) {
          if (l.rfind(name, 0) == 0 && l.size() > std::strlen(name) && l[std::strlen(name)] == ' ')
            out = std::stod(l.substr(std::strlen(name) + 1));
        };
        value("terril_hub_group_commits_total", commits);
        value("terril_hub_grouped_batches_total", batches);
      }
      pclose(f);
    }
  }

  t.stopping = true;
  for (auto& s : sims) s->close();
  run_until(
      io, [] { return false; }, 2);
  ProcStats end = proc_stats(hub);
  kill(hub, SIGTERM);
  int st = 0;
  waitpid(hub, &st, 0);
  uint64_t stored = 0;
  {
    sqlite3* h = nullptr;
    sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* q = nullptr;
    if (sqlite3_prepare_v2(h, "SELECT count(*) FROM registrations", -1, &q, nullptr) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
      stored = static_cast<uint64_t>(sqlite3_column_int64(q, 0));
    sqlite3_finalize(q);
    sqlite3_close(h);
  }

  std::vector<double> lat = t.latency_ms;
  double p50 = percentile(lat, 0.50), p90 = percentile(lat, 0.90), p99 = percentile(lat, 0.99),
         pmax = lat.empty() ? 0 : *std::max_element(lat.begin(), lat.end());
  uint64_t errors = t.connect_failures + t.error_frames + t.unexpected_closes + t.rejected + unacked;
  for (const auto& [what, n] : t.errors)
    if (what.rfind("window full", 0) == 0) errors += n;
  double cpu = after.cpu_s - before.cpu_s;
  std::printf("\n== load_gen: %zu simulated nodes, one change/s each, %.0f s ==\n", sims.size(), push_s);
  std::printf("connections welcomed   %llu / %zu (ramp %.1f s)\n", static_cast<unsigned long long>(t.welcomed),
              sims.size(), ramp_s);
  std::printf("changes pushed         %llu (%.0f/s), acked %llu, stored %llu%s\n",
              static_cast<unsigned long long>(t.pushed), static_cast<double>(t.pushed) / push_s,
              static_cast<unsigned long long>(t.acked), static_cast<unsigned long long>(stored),
              drained ? "" : " (drain TIMED OUT)");
  std::printf("ack latency ms         p50 %.1f  p90 %.1f  p99 %.1f  max %.1f  (%zu samples)\n", p50, p90, p99, pmax,
              lat.size());
  std::printf("errors                 %llu\n", static_cast<unsigned long long>(errors));
  for (const auto& [what, n] : t.errors) std::printf("  %6llu  %s\n", static_cast<unsigned long long>(n), what.c_str());
  std::printf("hub CPU                %.1f s over %.0f s = %.0f%% of one core (idle before ramp %.1f s)\n", cpu, push_s,
              100.0 * cpu / push_s, idle.cpu_s);
  std::printf("load_gen CPU           %.1f s (%.0f%% of one core); machine load average %s (%ld cores)\n", gen_cpu,
              100.0 * gen_cpu / push_s, load_after.c_str(), sysconf(_SC_NPROCESSORS_ONLN));
  std::printf("hub group commits       %.0f transactions for %.0f batches (%.1f batches per fsync)\n", commits, batches,
              commits > 0 ? batches / commits : 0.0);
  std::printf("hub RSS                peak (VmHWM) %.1f MiB, at end %.1f MiB, after ramp %.1f MiB\n",
              static_cast<double>(end.hwm_kib) / 1024.0, static_cast<double>(end.rss_kib) / 1024.0,
              static_cast<double>(after_ramp.rss_kib) / 1024.0);
  std::printf("targets                errors 0: %s   p99 <= 100 ms: %s   RSS <= 256 MiB: %s\n",
              errors == 0 ? "yes" : "NO", p99 <= 100 ? "yes" : "NO", end.hwm_kib <= 256 * 1024 ? "yes" : "NO");
  std::printf(
      "LOAD {\"connections\":%zu,\"seconds\":%.0f,\"pushed\":%llu,\"acked\":%llu,\"p50_ms\":%.1f,"
      "\"p99_ms\":%.1f,\"errors\":%llu,\"hub_cpu_pct\":%.0f,\"gen_cpu_pct\":%.0f,\"hub_peak_rss_mib\":%.1f,"
      "\"loadavg\":\"%s\"}\n",
      sims.size(), push_s, static_cast<unsigned long long>(t.pushed), static_cast<unsigned long long>(t.acked), p50,
      p99, static_cast<unsigned long long>(errors), 100.0 * cpu / push_s, 100.0 * gen_cpu / push_s,
      static_cast<double>(end.hwm_kib) / 1024.0, load_after.c_str());
  if (!o.keep) {
    std::error_code ec;
    std::filesystem::remove_all(root, ec);
  } else {
    std::printf("kept %s\n", root.c_str());
  }
  return errors == 0 ? 0 : 3;
}
