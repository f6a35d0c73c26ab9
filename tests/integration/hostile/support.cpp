#include "tests/integration/hostile/support.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <array>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/core/ids.h"
#include "common/net/ws_client.h"
#include "common/ops/tls.h"
#include "common/wire/wire.h"

extern char** environ;

namespace terril::hostile {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
constexpr auto tuple_awaitable = asio::as_tuple(asio::use_awaitable);

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// --- Processes ---------------------------------------------------------------

namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

void kill_and_reap(pid_t pid, double grace_s) {
  if (pid <= 0) return;
  ::kill(pid, SIGTERM);
  auto t0 = Clock::now();
  while (seconds_since(t0) < grace_s) {
    int st = 0;
    if (::waitpid(pid, &st, WNOHANG) == pid) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
}

}  // namespace

CliResult run_command(const std::vector<std::string>& argv, const std::string& stdin_text, double timeout_s) {
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) || ::pipe2(out, O_CLOEXEC) || ::pipe2(err, O_CLOEXEC))
    throw std::runtime_error("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  pid_t pid = -1;
  auto args = c_argv(argv);
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  CliResult r;
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    ::close(err[0]);
    r.err = "cannot run " + argv[0] + ": " + std::strerror(rc);
    return r;
  }
  if (!stdin_text.empty()) {
    ssize_t w = ::write(in[1], stdin_text.data(), stdin_text.size());
    (void)w;
  }
  ::close(in[1]);
  auto t0 = Clock::now();
  std::array<pollfd, 2> pf{{{out[0], POLLIN, 0}, {err[0], POLLIN, 0}}};
  int open = 2;
  char buf[4096];
  while (open > 0 && seconds_since(t0) < timeout_s) {
    if (::poll(pf.data(), 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(pf[i].fd, buf, sizeof buf);
      if (n <= 0) {
        ::close(pf[i].fd);
        pf[i].fd = -1;
        --open;
      } else {
        (i == 0 ? r.out : r.err).append(buf, static_cast<size_t>(n));
      }
    }
  }
  for (auto& p : pf)
    if (p.fd >= 0) ::close(p.fd);
  if (open > 0) {
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    r.exit_code = -1;
    return r;
  }
  int st = 0;
  ::waitpid(pid, &st, 0);
  r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  return r;
}

std::string hub_binary() {
  if (const char* b = std::getenv("TERRIL_BUILD"); b && *b) return std::string(b) + "/hub/terril-hub";
#ifdef TERRIL_HUB_BIN
  return TERRIL_HUB_BIN;
#else
  return "build/hub/terril-hub";
#endif
}

HubProcess::HubProcess() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "terril-hostile-XXXXXX").string();
  if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  dir_ = root_ + "/hub";
  auto init = run_command({hub_binary(), "init", "--data-dir", dir_, "--config", "/dev/null", "--password-stdin"},
                          "admin-hub-2026-secret\n");
  if (init.exit_code != 0) throw std::runtime_error("terril-hub init failed: " + init.out + init.err);
  std::istringstream lines(init.out);
  for (std::string l; std::getline(lines, l);)
    if (l.find("fingerprint") != std::string::npos) fingerprint_ = l.substr(l.find_last_of(' ') + 1);
  if (fingerprint_.empty()) throw std::runtime_error("no fingerprint in init output: " + init.out);

  int out[2];
  if (::pipe2(out, O_CLOEXEC)) throw std::runtime_error("pipe failed");
  std::string log = root_ + "/hub.log";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  // The M2 burst writes 10,000 notes for one centre: above the default daily quota.
  std::vector<std::string> argv = {hub_binary(),
                                   "serve",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--data-dir",
                                   dir_,
                                   "--config",
                                   "/dev/null",
                                   "--log-level",
                                   "debug",
                                   "--daily-notes-per-centre",
                                   "1000000"};
  auto args = c_argv(argv);
  int rc = posix_spawn(&pid_, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  std::string got;
  auto t0 = Clock::now();
  char c;
  while (seconds_since(t0) < 20) {
    pollfd p{out[0], POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    if (::read(out[0], &c, 1) != 1) break;
    if (c != '\n') {
      got += c;
      continue;
    }
    if (got.rfind("listening ", 0) == 0) {
      port_ = static_cast<uint16_t>(std::stoi(got.substr(got.rfind(':') + 1)));
      break;
    }
    got.clear();
  }
  ::close(out[0]);
  if (!port_) {
    std::string tail = log_tail();
    kill_and_reap(pid_, 2);
    pid_ = -1;
    throw std::runtime_error("terril-hub serve did not print its port; log:\n" + tail);
  }
}

HubProcess::~HubProcess() {
  kill_and_reap(pid_, 10);
  if (!std::getenv("TERRIL_KEEP")) {
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  } else {
    std::fprintf(stderr, "kept %s\n", root_.c_str());
  }
}

std::string HubProcess::url() const {
  return "wss://127.0.0.1:" + std::to_string(port_);
}
std::string HubProcess::db_path() const {
  return dir_ + "/hub.db";
}

bool HubProcess::alive() const {
  if (pid_ <= 0) return false;
  int st = 0;
  return ::waitpid(pid_, &st, WNOHANG) == 0;
}

std::string HubProcess::log_tail(size_t bytes) const {
  std::ifstream in(root_ + "/hub.log", std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

CliResult HubProcess::cli(std::vector<std::string> args) const {
  args.insert(args.begin(), hub_binary());
  for (const char* a : {"--data-dir", dir_.c_str(), "--config", "/dev/null"}) args.emplace_back(a);
  return run_command(args);
}

std::string HubProcess::add_node(const std::string& node_id, const std::string& centre) const {
  auto r = cli({"node", "add", node_id, "--centre", centre, "--json"});
  if (r.exit_code != 0) throw std::runtime_error("node add " + node_id + " failed: " + r.out + r.err);
  return nlohmann::json::parse(r.out).at("code").get<std::string>();
}

// --- SQLite ------------------------------------------------------------------

int64_t sql_int(const std::string& db_path, const std::string& sql, const std::vector<std::string>& args) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string e = db ? sqlite3_errmsg(db) : "open failed";
    sqlite3_close(db);
    throw std::runtime_error(db_path + ": " + e);
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string e = sqlite3_errmsg(db);
    sqlite3_close(db);
    throw std::runtime_error(sql + ": " + e);
  }
  for (size_t i = 0; i < args.size(); ++i)
    sqlite3_bind_text(st, static_cast<int>(i + 1), args[i].c_str(), -1, SQLITE_TRANSIENT);
  int rc = sqlite3_step(st);
  int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  std::string e = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? "" : sqlite3_errmsg(db);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (!e.empty()) throw std::runtime_error(sql + ": " + e);
  return v;
}

// --- Io ------------------------------------------------------------------------

struct Io::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread{[this] { io.run(); }};
};

Io::Io() : impl_(std::make_unique<Impl>()) {}
Io::~Io() {
  impl_->work.reset();
  impl_->io.stop();
  impl_->thread.join();
}
asio::io_context& Io::context() {
  return impl_->io;
}
void Io::post(std::function<void()> fn) {
  asio::post(impl_->io, std::move(fn));
}
bool Io::run(std::function<void()> fn, double timeout_s) {
  auto done = std::make_shared<std::promise<void>>();
  auto fut = done->get_future();
  asio::post(impl_->io, [fn = std::move(fn), done] {
    fn();
    done->set_value();
  });
  return fut.wait_for(std::chrono::duration<double>(timeout_s)) == std::future_status::ready;
}

// --- ScriptedPeer ----------------------------------------------------------------

void ScriptedPeer::on_open(Link& link) {
  link_ = &link;
}

void ScriptedPeer::on_message(std::string_view bytes) {
  v1::Frame f;
  if (!f.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    std::lock_guard lk(mu_);
    ++undecodable_;
    cv_.notify_all();
    return;
  }
  std::vector<std::string> replies;
  if (f.msg_case() == v1::Frame::kChallenge) {
    std::lock_guard lk(mu_);
    nonce_ = f.challenge().nonce();
    if (script_.hello) {
      std::string proof = script_.proof ? *script_.proof : proof_for(script_.hello->secret, nonce_);
      hello_ = hello_frame(script_.hello->node_id, proof, script_.protocol_version, script_.hub_cursor,
                           script_.software_version);
      replies.push_back(hello_);
      for (const auto& x : script_.after_hello) replies.push_back(x);
    }
  } else if (f.msg_case() == v1::Frame::kChanges) {
    std::lock_guard lk(mu_);
    changes_received_ += static_cast<uint64_t>(f.changes().changes_size());
    if (script_.ack_changes) replies.push_back(ack_frame(f.changes().last_seq()));
  }
  if (link_)
    for (auto& r : replies) link_->send(std::move(r));
  std::lock_guard lk(mu_);
  frames_.push_back(std::move(f));
  cv_.notify_all();
}

void ScriptedPeer::on_closed(std::string_view why) {
  link_ = nullptr;
  std::lock_guard lk(mu_);
  closed_ = true;
  why_ = why;
  cv_.notify_all();
}

void ScriptedPeer::send(std::string frame) {
  io_.post([self = shared_from_this(), frame = std::move(frame)]() mutable {
    if (self->link_) self->link_->send(std::move(frame));
  });
}

void ScriptedPeer::close() {
  io_.post([self = shared_from_this()] {
    if (self->link_) self->link_->close();
  });
}

bool ScriptedPeer::wait(const std::function<bool()>& pred, double timeout_s) {
  auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  while (true) {
    if (pred()) return true;
    std::unique_lock lk(mu_);
    if (Clock::now() >= deadline) return false;
    cv_.wait_for(lk, std::chrono::milliseconds(20));
  }
}

bool ScriptedPeer::wait_closed(double timeout_s) {
  return wait([this] { return closed(); }, timeout_s);
}
bool ScriptedPeer::closed() {
  std::lock_guard lk(mu_);
  return closed_;
}
std::string ScriptedPeer::close_reason() {
  std::lock_guard lk(mu_);
  return why_;
}
std::vector<v1::Frame> ScriptedPeer::frames() {
  std::lock_guard lk(mu_);
  return frames_;
}
std::optional<v1::Frame> ScriptedPeer::first_of(v1::Frame::MsgCase kind) {
  std::lock_guard lk(mu_);
  for (const auto& f : frames_)
    if (f.msg_case() == kind) return f;
  return std::nullopt;
}
std::optional<v1::Frame> ScriptedPeer::wait_frame(v1::Frame::MsgCase kind, double timeout_s) {
  std::optional<v1::Frame> got;
  wait([&] { return (got = first_of(kind)).has_value(); }, timeout_s);
  return got;
}
uint64_t ScriptedPeer::acked() {
  std::lock_guard lk(mu_);
  uint64_t m = 0;
  for (const auto& f : frames_)
    if (f.msg_case() == v1::Frame::kAck) m = std::max<uint64_t>(m, f.ack().seq());
  return m;
}
std::vector<v1::Ack> ScriptedPeer::acks() {
  std::lock_guard lk(mu_);
  std::vector<v1::Ack> out;
  for (const auto& f : frames_)
    if (f.msg_case() == v1::Frame::kAck) out.push_back(f.ack());
  return out;
}
std::string ScriptedPeer::nonce() {
  std::lock_guard lk(mu_);
  return nonce_;
}
std::string ScriptedPeer::sent_hello() {
  std::lock_guard lk(mu_);
  return hello_;
}
int ScriptedPeer::undecodable() {
  std::lock_guard lk(mu_);
  return undecodable_;
}
uint64_t ScriptedPeer::changes_received() {
  std::lock_guard lk(mu_);
  return changes_received_;
}

std::shared_ptr<ScriptedPeer> connect_peer(Io& io, const std::string& url, const std::string& pin, Script script,
                                           const std::string& query, std::string* error, double timeout_s) {
  auto peer = std::make_shared<ScriptedPeer>(io, std::move(script));
  auto done = std::make_shared<std::promise<Status>>();
  auto fut = done->get_future();
  ClientOptions co;
  co.url = url;
  co.pin = pin;
  co.query = query;
  co.connect_timeout_s = static_cast<int>(timeout_s);
  io.post([&io, co, peer, done] {
    connect_ws(io.context(), co, peer, [done](Status s, const std::string&) { done->set_value(s); });
  });
  if (fut.wait_for(std::chrono::duration<double>(timeout_s + 2)) != std::future_status::ready) {
    if (error) *error = "connect timed out";
    return nullptr;
  }
  Status s = fut.get();
  if (!s) {
    if (error) *error = s.message();
    return nullptr;
  }
  return peer;
}

std::optional<Creds> enrol(Io& io, const HubProcess& hub, const std::string& code, std::string* error,
                           v1::ErrorCode* err_code) {
  Script sc;
  sc.ack_changes = false;
  auto p = connect_peer(io, hub.url(), hub.fingerprint(), sc, "enrol=1", error);
  if (!p) return std::nullopt;
  p->send(enrol_frame(code));
  p->wait([&] { return !p->frames().empty() || p->closed(); }, 10);
  auto frames = p->frames();
  p->close();
  if (frames.empty()) {
    if (error) *error = "no answer to Enrol";
    return std::nullopt;
  }
  if (frames[0].msg_case() == v1::Frame::kError) {
    if (error) *error = frames[0].error().message();
    if (err_code) *err_code = frames[0].error().code();
    return std::nullopt;
  }
  if (frames[0].msg_case() != v1::Frame::kEnrolled) {
    if (error) *error = "unexpected answer to Enrol";
    return std::nullopt;
  }
  const auto& e = frames[0].enrolled();
  return Creds{e.node_id(), e.node_secret(), e.centre_id()};
}

// --- Frames ------------------------------------------------------------------------

std::string hello_frame(const std::string& node_id, const std::string& proof, uint32_t version, uint64_t hub_cursor,
                        const std::string& software_version) {
  v1::Frame f;
  auto* h = f.mutable_hello();
  h->set_node_id(node_id);
  h->set_proof(proof);
  h->set_protocol_version(version);
  h->set_software_version(software_version);
  h->set_hub_cursor(hub_cursor);
  return wire::encode_frame(f);
}

std::string changes_frame(const std::vector<Change>& changes, uint64_t last_seq) {
  v1::Frame f;
  auto* ch = f.mutable_changes();
  for (const auto& c : changes) wire::to_wire(c, *ch->add_changes());
  ch->set_last_seq(last_seq);
  return wire::encode_frame(f);
}

std::string ack_frame(uint64_t seq) {
  v1::Frame f;
  f.mutable_ack()->set_seq(seq);
  return wire::encode_frame(f);
}

std::string enrol_frame(const std::string& code) {
  v1::Frame f;
  f.mutable_enrol()->set_code(code);
  f.mutable_enrol()->set_software_version("hostile-test");
  return wire::encode_frame(f);
}

std::string proof_for(const std::string& secret, const std::string& nonce) {
  return hmac_sha256(secret, nonce);
}

std::string new_uuid() {
  auto b = random_bytes(16);
  std::array<uint8_t, 16> a{};
  std::memcpy(a.data(), b->data(), 16);
  return uuid_v4(a);
}

Change note_change(const std::string& origin, uint64_t origin_seq, const std::string& centre,
                   const std::string& title) {
  int64_t now =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  Change c;
  c.origin = origin;
  c.origin_seq = origin_seq;
  c.hlc = static_cast<uint64_t>(now) << 16;
  c.entity = Entity::prototype_note;
  c.record_id = new_uuid();
  c.centre_id = centre;
  c.op = Op::upsert;
  c.fields = {
      {Field::created_at, Value{now}}, {Field::title, Value{title}}, {Field::status, Value{std::string("idee")}}};
  return c;
}

// --- Raw clients ---------------------------------------------------------------------

namespace {

std::shared_ptr<ssl::context> raw_tls_context() {
  static auto ctx = [] {
    auto c = std::make_shared<ssl::context>(ssl::context::tls_client);
    c->set_verify_mode(ssl::verify_none);  // loopback, below the protocol: the pin is not the point here
    return c;
  }();
  return ctx;
}

tcp::endpoint loopback(uint16_t port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

HttpReply parse_reply(const std::string& raw) {
  HttpReply r;
  auto end = raw.find("\r\n\r\n");
  r.head = raw.substr(0, end);
  if (end != std::string::npos) r.body = raw.substr(end + 4);
  if (raw.rfind("HTTP/1.", 0) == 0 && raw.size() > 12) r.status = std::atoi(raw.c_str() + 9);
  return r;
}

// Head and Content-Length body received.
bool reply_complete(const std::string& raw) {
  auto end = raw.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  std::string head = raw.substr(0, end);
  for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto cl = head.find("\r\ncontent-length:");
  if (cl == std::string::npos) return false;
  return raw.size() - end - 4 >= std::strtoull(head.c_str() + cl + 17, nullptr, 10);
}

}  // namespace

HttpReply https_request(uint16_t port, const std::string& raw, double timeout_s) {
  std::string got, err, write_err;
  bool handshook = false;
  asio::io_context io;
  auto s = std::make_shared<ssl::stream<tcp::socket>>(io, *raw_tls_context());
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        auto [ec] = co_await s->next_layer().async_connect(loopback(port), tuple_awaitable);
        if (ec) {
          err = "connect: " + ec.message();
          co_return;
        }
        std::tie(ec) = co_await s->async_handshake(ssl::stream_base::client, tuple_awaitable);
        if (ec) {
          err = "tls: " + ec.message();
          co_return;
        }
        handshook = true;
        asio::co_spawn(
            io,
            [&]() -> awaitable<void> {
              auto [wec, n] = co_await asio::async_write(*s, asio::buffer(raw), tuple_awaitable);
              if (wec) write_err = "write after " + std::to_string(n) + " bytes: " + wec.message();
            },
            asio::detached);
        std::array<char, 8192> buf;
        while (true) {
          auto [rec, n] = co_await s->async_read_some(asio::buffer(buf), tuple_awaitable);
          got.append(buf.data(), n);
          if (reply_complete(got)) break;  // the server may linger: do not wait for its close
          if (rec) {
            if (rec != asio::error::eof && rec != ssl::error::stream_truncated) err = "read: " + rec.message();
            break;
          }
        }
      },
      asio::detached);
  io.run_for(std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::duration<double>(timeout_s)));
  bool timed_out = !io.stopped();
  boost::system::error_code ignored;
  s->lowest_layer().close(ignored);  // let the coroutines end before the locals they use
  io.restart();
  io.run_for(std::chrono::milliseconds(200));
  HttpReply r = parse_reply(got);
  if (timed_out && err.empty()) err = "timed out";
  if (err.empty() && !handshook) err = "no TLS handshake";
  r.error = err + (write_err.empty() ? "" : (err.empty() ? "" : "; ") + write_err);
  return r;
}

HttpReply https_get(uint16_t port, const std::string& target, double timeout_s) {
  return https_request(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", timeout_s);
}

struct SlowClient::State {
  std::mutex mu;
  std::optional<double> closed_after;
  size_t sent = 0;
  std::string received;
  bool upgraded = false;
  bool stop = false;
  Clock::time_point t0 = Clock::now();
  std::shared_ptr<ssl::stream<tcp::socket>> stream;
};

namespace {

std::string masked_binary_frame(const std::string& payload) {
  std::string f;
  f += static_cast<char>(0x82);  // FIN, binary
  if (payload.size() < 126) {
    f += static_cast<char>(0x80 | payload.size());
  } else {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>((payload.size() >> 8) & 0xff);
    f += static_cast<char>(payload.size() & 0xff);
  }
  const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  for (unsigned char m : mask) f += static_cast<char>(m);
  for (size_t i = 0; i < payload.size(); ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

awaitable<void> slow_reader(std::shared_ptr<SlowClient::State> st) {
  std::array<char, 4096> buf;
  while (true) {
    auto [ec, n] = co_await st->stream->async_read_some(asio::buffer(buf), tuple_awaitable);
    std::lock_guard lk(st->mu);
    if (st->upgraded) st->received.append(buf.data(), n);
    if (ec) {
      if (!st->closed_after) st->closed_after = seconds_since(st->t0);
      co_return;
    }
  }
}

awaitable<void> slow_main(std::shared_ptr<SlowClient::State> st, uint16_t port, std::string payload, double interval_s,
                          bool ws) {
  auto ex = co_await asio::this_coro::executor;
  auto mark_closed = [&] {
    std::lock_guard lk(st->mu);
    if (!st->closed_after) st->closed_after = seconds_since(st->t0);
  };
  auto [ec] = co_await st->stream->next_layer().async_connect(loopback(port), tuple_awaitable);
  if (!ec) std::tie(ec) = co_await st->stream->async_handshake(ssl::stream_base::client, tuple_awaitable);
  if (ec) {
    mark_closed();
    co_return;
  }
  {
    std::lock_guard lk(st->mu);
    st->t0 = Clock::now();
  }
  if (ws) {
    std::string req =
        "GET /v1/sync HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    auto [wec, wn] = co_await asio::async_write(*st->stream, asio::buffer(req), tuple_awaitable);
    (void)wn;
    std::string head;
    std::array<char, 1024> buf;
    while (!wec && head.find("\r\n\r\n") == std::string::npos) {
      auto [rec, n] = co_await st->stream->async_read_some(asio::buffer(buf), tuple_awaitable);
      head.append(buf.data(), n);
      if (rec) {
        wec = rec;
        break;
      }
    }
    if (wec || head.rfind("HTTP/1.1 101", 0) != 0) {
      mark_closed();
      co_return;
    }
    std::lock_guard lk(st->mu);
    st->upgraded = true;
    st->received = head.substr(head.find("\r\n\r\n") + 4);
    payload = masked_binary_frame(payload);
  }
  asio::co_spawn(ex, slow_reader(st), asio::detached);
  asio::steady_timer timer(ex);
  for (char c : payload) {
    {
      std::lock_guard lk(st->mu);
      if (st->closed_after || st->stop) co_return;
    }
    auto [wec, n] = co_await asio::async_write(*st->stream, asio::buffer(&c, 1), tuple_awaitable);
    if (wec) {
      mark_closed();
      co_return;
    }
    {
      std::lock_guard lk(st->mu);
      st->sent += n;
    }
    timer.expires_after(std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(interval_s)));
    co_await timer.async_wait(tuple_awaitable);
  }
}

}  // namespace

std::shared_ptr<SlowClient> SlowClient::start(Io& io, uint16_t port, std::string payload, double interval_s,
                                              bool ws_upgrade) {
  auto c = std::make_shared<SlowClient>();
  c->st = std::make_shared<State>();
  c->st->stream = std::make_shared<ssl::stream<tcp::socket>>(io.context(), *raw_tls_context());
  asio::co_spawn(io.context(), slow_main(c->st, port, std::move(payload), interval_s, ws_upgrade), asio::detached);
  return c;
}

std::optional<double> SlowClient::closed_after() {
  std::lock_guard lk(st->mu);
  return st->closed_after;
}
size_t SlowClient::bytes_sent() {
  std::lock_guard lk(st->mu);
  return st->sent;
}
std::string SlowClient::received() {
  std::lock_guard lk(st->mu);
  return st->received;
}
bool SlowClient::upgraded() {
  std::lock_guard lk(st->mu);
  return st->upgraded;
}
void SlowClient::stop() {
  std::lock_guard lk(st->mu);
  st->stop = true;
}

HalfOpen::HalfOpen(uint16_t port, int n) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) break;
    // From 127.0.1.x, 25 per address: under the hub's per-address cap (32),
    // so these are shed by their timeouts, and the test's own requests from
    // 127.0.0.1 are never refused by that cap.
    sockaddr_in from{};
    from.sin_family = AF_INET;
    from.sin_addr.s_addr = htonl((127u << 24) | (1u << 8) | static_cast<uint32_t>(1 + i / 25));
    ::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      break;
    }
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    fds_.push_back(fd);
    closed_.push_back(false);
  }
}

HalfOpen::~HalfOpen() {
  for (int fd : fds_) ::close(fd);
}

int HalfOpen::closed_by_server() {
  int n = 0;
  char c;
  for (size_t i = 0; i < fds_.size(); ++i) {
    if (!closed_[i]) {
      ssize_t r = ::recv(fds_[i], &c, 1, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) closed_[i] = true;
    }
    n += closed_[i] ? 1 : 0;
  }
  return n;
}

std::vector<v1::Frame> parse_ws_frames(const std::string& raw) {
  std::vector<v1::Frame> out;
  size_t i = 0;
  while (i + 2 <= raw.size()) {
    unsigned op = static_cast<unsigned char>(raw[i]) & 0x0f;
    uint64_t len = static_cast<unsigned char>(raw[i + 1]) & 0x7f;
    size_t h = 2;
    if (len == 126) {
      if (i + 4 > raw.size()) break;
      len = (static_cast<unsigned char>(raw[i + 2]) << 8) | static_cast<unsigned char>(raw[i + 3]);
      h = 4;
    } else if (len == 127) {
      break;
    }
    if (i + h + len > raw.size()) break;
    if (op == 2) {
      v1::Frame f;
      if (f.ParseFromArray(raw.data() + i + h, static_cast<int>(len))) out.push_back(std::move(f));
    }
    i += h + len;
  }
  return out;
}

}  // namespace terril::hostile
