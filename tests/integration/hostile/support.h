// Test support for hostile-peer tests against a REAL terril-hub process:
// spawning the hub and its CLI, enrolling nodes over the wire, scripted
// protocol peers over real TLS (connect_ws), raw TLS/TCP clients that
// misbehave below the protocol (slow, half-open, oversized), and read-only
// look-ups in hub.db.
//
// Threading: one Io runs an io_context on its own thread. ScriptedPeer
// callbacks run there; every public method of the classes below is safe to
// call from the test thread. Every wait takes a timeout in seconds and
// returns false (never blocks forever) when it passes.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/core/model.h"
#include "common/net/link.h"
#include "terril/v1/sync.pb.h"

namespace boost::asio {
class io_context;
}

namespace terril::hostile {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t);

// --- The hub process -------------------------------------------------------

struct CliResult {
  int exit_code = -1;  // -1: did not finish in time (killed)
  std::string out, err;
};

// Runs `argv` with `stdin_text` on its standard input; bounded by timeout_s.
CliResult run_command(const std::vector<std::string>& argv, const std::string& stdin_text = "", double timeout_s = 60);

// terril-hub from $TERRIL_BUILD/hub/terril-hub, else the build's own.
std::string hub_binary();

// A hub in a fresh temporary folder: `init --password-stdin`, then
// `serve --listen 127.0.0.1:0` with real TLS. The destructor stops it
// (SIGTERM, then SIGKILL) and removes the folder unless TERRIL_KEEP is set.
class HubProcess {
 public:
  HubProcess();  // throws std::runtime_error when init or serve fails
  ~HubProcess();
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::string& fingerprint() const { return fingerprint_; }
  const std::string& dir() const { return dir_; }
  std::string url() const;      // wss://127.0.0.1:PORT
  std::string db_path() const;  // hub.db
  bool alive() const;
  std::string log_tail(size_t bytes = 4000) const;

  // `terril-hub ARGS --data-dir DIR --config /dev/null`.
  CliResult cli(std::vector<std::string> args) const;
  // `node add NODE --centre CENTRE --json` -> the one-time code. Throws on failure.
  std::string add_node(const std::string& node_id, const std::string& centre) const;

 private:
  std::string root_, dir_, fingerprint_;
  uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// --- Read-only look-ups in an SQLite file -----------------------------------

// The first column of the first row of `sql` (bound with text `args`), as an
// integer; 0 when no row. Throws on SQLite errors.
int64_t sql_int(const std::string& db_path, const std::string& sql, const std::vector<std::string>& args = {});

// --- The event loop ----------------------------------------------------------

class Io {
 public:
  Io();
  ~Io();
  boost::asio::io_context& context();
  // Runs `fn` on the io thread and waits for it (at most timeout_s).
  bool run(std::function<void()> fn, double timeout_s = 10);
  void post(std::function<void()> fn);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// --- Scripted protocol peers over real WebSocket + TLS ---------------------

struct Creds {
  std::string node_id;
  std::string secret;  // 32 raw bytes
  std::string centre_id;
};

// What a ScriptedPeer does by itself, on the io thread.
struct Script {
  std::optional<Creds> hello;  // answer the Challenge with a Hello for these credentials
  uint32_t protocol_version = 1;
  std::optional<std::string> proof;  // send this proof instead of HMAC(secret, nonce)
  uint64_t hub_cursor = 0;
  std::vector<std::string> after_hello;           // frames pipelined right behind the Hello
  bool ack_changes = true;                        // answer each Changes from the hub with its Ack
  std::string software_version = "hostile-test";  // what the Hello says this node runs
};

class ScriptedPeer : public Peer, public std::enable_shared_from_this<ScriptedPeer> {
 public:
  ScriptedPeer(Io& io, Script script) : io_(io), script_(std::move(script)) {}

  // Peer (io thread).
  void on_open(Link& link) override;
  void on_message(std::string_view bytes) override;
  void on_closed(std::string_view why) override;

  // Test thread.
  void send(std::string frame);
  void close();
  bool wait(const std::function<bool()>& pred, double timeout_s);
  bool wait_closed(double timeout_s);
  bool closed();
  std::string close_reason();
  std::vector<v1::Frame> frames();
  std::optional<v1::Frame> first_of(v1::Frame::MsgCase kind);
  std::optional<v1::Frame> wait_frame(v1::Frame::MsgCase kind, double timeout_s);
  // Greatest Ack.seq received so far (0 if none).
  uint64_t acked();
  // Every Ack received, in order.
  std::vector<v1::Ack> acks();
  // The Challenge nonce and the Hello this peer sent, if any.
  std::string nonce();
  std::string sent_hello();
  // Frames the hub sent that did not decode (should stay 0).
  int undecodable();
  uint64_t changes_received();

 private:
  Io& io_;
  Script script_;
  Link* link_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<v1::Frame> frames_;
  bool closed_ = false;
  std::string why_;
  std::string nonce_, hello_;
  int undecodable_ = 0;
  uint64_t changes_received_ = 0;
};

// connect_ws to the hub with its fingerprint pinned; waits for the WebSocket
// to open. Null (with *error set) when it does not within timeout_s.
std::shared_ptr<ScriptedPeer> connect_peer(Io& io, const std::string& url, const std::string& pin, Script script,
                                           const std::string& query = "", std::string* error = nullptr,
                                           double timeout_s = 10);

// A real enrolment exchange on a `?enrol=1` socket. nullopt with *error on a
// refusal (the hub's Error code in *code).
std::optional<Creds> enrol(Io& io, const HubProcess& hub, const std::string& code, std::string* error = nullptr,
                           v1::ErrorCode* err_code = nullptr);

// --- Frames ------------------------------------------------------------------

std::string hello_frame(const std::string& node_id, const std::string& proof, uint32_t version, uint64_t hub_cursor,
                        const std::string& software_version = "hostile-test");
std::string changes_frame(const std::vector<Change>& changes, uint64_t last_seq);
std::string ack_frame(uint64_t seq);
std::string enrol_frame(const std::string& code);
std::string proof_for(const std::string& secret, const std::string& nonce);
// A new prototype note (fresh UUID, hlc = now) from `origin` for `centre`.
Change note_change(const std::string& origin, uint64_t origin_seq, const std::string& centre, const std::string& title);
std::string new_uuid();

// --- Raw clients below the protocol -----------------------------------------

struct HttpReply {
  int status = 0;  // 0: no answer (connection closed or timed out)
  std::string head, body;
  std::string error;
};

// One HTTPS request (`raw` is the whole request text, with Connection:
// close); reads the answer until the server closes. Writes and reads at the
// same time, so a server answering before the body is all sent is seen.
HttpReply https_request(uint16_t port, const std::string& raw, double timeout_s = 10);
// A GET with Connection: close.
HttpReply https_get(uint16_t port, const std::string& target, double timeout_s = 10);

// A client that completes TLS, then writes `payload` one byte every
// `interval_s`, and records when the server closes the connection. Runs on
// the Io's thread.
class SlowClient {
 public:
  // `ws_upgrade`: first send a full WebSocket upgrade request for /v1/sync
  // (fast), wait for 101, then trickle `payload` as one masked binary frame.
  static std::shared_ptr<SlowClient> start(Io& io, uint16_t port, std::string payload, double interval_s,
                                           bool ws_upgrade);
  // Seconds from the end of the TLS handshake to the server's close; nullopt while open.
  std::optional<double> closed_after();
  size_t bytes_sent();
  // Bytes the server sent after the upgrade (raw WebSocket frames).
  std::string received();
  bool upgraded();
  void stop();

  struct State;
  std::shared_ptr<State> st;
};

// `n` plain TCP connections that connect and then send nothing.
class HalfOpen {
 public:
  HalfOpen(uint16_t port, int n);
  ~HalfOpen();
  int opened() const { return static_cast<int>(fds_.size()); }
  // How many the server has closed (EOF or reset seen), without blocking.
  int closed_by_server();

 private:
  std::vector<int> fds_;
  std::vector<bool> closed_;
};

// Decodes the server's unmasked, uncompressed WebSocket binary frames in `raw`.
std::vector<v1::Frame> parse_ws_frames(const std::string& raw);

}  // namespace terril::hostile
