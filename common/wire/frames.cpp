// Plain frames <-> terril.v1.Frame, and the one validating frame decoder
// (frames.h); wire.h's protobuf-level decode_frame runs the same checks.
#include "common/wire/frames.h"

#include <type_traits>

#include "common/core/validate.h"
#include "common/wire/change_codec.h"
#include "common/wire/wire.h"
#include "terril/v1/sync.pb.h"

namespace terril::wire {

namespace {

template <typename T>
std::vector<uint32_t> versions_of(const T& repeated) {
  return std::vector<uint32_t>(repeated.begin(), repeated.end());
}

Status parse(std::string_view bytes, v1::Frame& out) {
  if (bytes.size() > kMaxFrameBytes) return frame_too_large(bytes.size(), kMaxFrameBytes);
  if (!out.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return malformed("does not parse");
  return Status::ok();
}

// Every check of the decoder lives here, applied while converting.
Result<Frame> from_proto(const v1::Frame& f) {
  switch (f.msg_case()) {
    case v1::Frame::MSG_NOT_SET:
      return malformed("empty frame");
    case v1::Frame::kChallenge: {
      const auto& c = f.challenge();
      if (c.nonce().size() != 32) return malformed("nonce is not 32 bytes");
      return Frame(Challenge{c.nonce(), c.hub_id(), versions_of(c.protocol_versions())});
    }
    case v1::Frame::kHello: {
      const auto& h = f.hello();
      if (h.node_id().empty() || h.node_id().size() > kMaxOriginLen) return malformed("bad node id");
      if (h.proof().size() != 32) return malformed("proof is not 32 bytes");
      return Frame(Hello{h.node_id(), h.proof(), h.protocol_version(), h.software_version(), h.hub_cursor()});
    }
    case v1::Frame::kWelcome: {
      const auto& w = f.welcome();
      return Frame(Welcome{w.hub_time_ms(), w.node_cursor(), w.centre_id(), w.window(), w.hub_seq()});
    }
    case v1::Frame::kChanges: {
      const auto& ch = f.changes();
      if (static_cast<size_t>(ch.changes_size()) > kMaxBatchChanges) return malformed("batch too large");
      Changes out;
      out.last_seq = ch.last_seq();
      out.changes.reserve(static_cast<size_t>(ch.changes_size()));
      for (const auto& w : ch.changes()) {
        auto c = from_wire(w);
        if (!c) return Status(Code::invalid, "invalid change: " + c.status().message(), c.status().field());
        out.changes.push_back(std::move(*c));
      }
      return Frame(std::move(out));
    }
    case v1::Frame::kAck: {
      const auto& a = f.ack();
      Ack out;
      out.seq = a.seq();
      out.rejections.reserve(static_cast<size_t>(a.rejections_size()));
      for (const auto& r : a.rejections())
        out.rejections.push_back({r.origin_seq(), static_cast<ErrorCode>(r.code()), r.message(), r.field()});
      return Frame(std::move(out));
    }
    case v1::Frame::kError: {
      const auto& e = f.error();
      return Frame(Error{static_cast<ErrorCode>(e.code()), e.message(), versions_of(e.protocol_versions())});
    }
    case v1::Frame::kEnrol:
      return Frame(Enrol{f.enrol().code(), f.enrol().software_version()});
    case v1::Frame::kEnrolled: {
      const auto& e = f.enrolled();
      return Frame(Enrolled{e.node_id(), e.node_secret(), e.centre_id(), e.hub_id(), e.hub_time_ms()});
    }
  }
  return malformed("unknown message");  // a newer peer's message
}

void to_proto(const Frame& frame, v1::Frame& f) {
  std::visit(
      [&f](const auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, Challenge>) {
          auto* c = f.mutable_challenge();
          c->set_nonce(m.nonce);
          c->set_hub_id(m.hub_id);
          for (auto v : m.protocol_versions) c->add_protocol_versions(v);
        } else if constexpr (std::is_same_v<T, Hello>) {
          auto* h = f.mutable_hello();
          h->set_node_id(m.node_id);
          h->set_proof(m.proof);
          h->set_protocol_version(m.protocol_version);
          h->set_software_version(m.software_version);
          h->set_hub_cursor(m.hub_cursor);
        } else if constexpr (std::is_same_v<T, Welcome>) {
          auto* w = f.mutable_welcome();
          w->set_hub_time_ms(m.hub_time_ms);
          w->set_node_cursor(m.node_cursor);
          w->set_centre_id(m.centre_id);
          w->set_window(m.window);
          w->set_hub_seq(m.hub_seq);
        } else if constexpr (std::is_same_v<T, Changes>) {
          auto* ch = f.mutable_changes();
          ch->mutable_changes()->Reserve(static_cast<int>(m.changes.size()));
          for (const auto& c : m.changes) to_wire(c, *ch->add_changes());
          ch->set_last_seq(m.last_seq);
        } else if constexpr (std::is_same_v<T, Ack>) {
          auto* a = f.mutable_ack();
          a->set_seq(m.seq);
          for (const auto& r : m.rejections) {
            auto* x = a->add_rejections();
            x->set_origin_seq(r.origin_seq);
            x->set_code(static_cast<v1::ErrorCode>(r.code));
            x->set_message(r.message);
            x->set_field(r.field);
          }
        } else if constexpr (std::is_same_v<T, Error>) {
          auto* e = f.mutable_error();
          e->set_code(static_cast<v1::ErrorCode>(m.code));
          e->set_message(m.message);
          for (auto v : m.protocol_versions) e->add_protocol_versions(v);
        } else if constexpr (std::is_same_v<T, Enrol>) {
          f.mutable_enrol()->set_code(m.code);
          f.mutable_enrol()->set_software_version(m.software_version);
        } else {
          static_assert(std::is_same_v<T, Enrolled>);
          auto* e = f.mutable_enrolled();
          e->set_node_id(m.node_id);
          e->set_node_secret(m.node_secret);
          e->set_centre_id(m.centre_id);
          e->set_hub_id(m.hub_id);
          e->set_hub_time_ms(m.hub_time_ms);
        }
      },
      frame);
}

}  // namespace

const char* frame_name(const Frame& f) {
  static constexpr const char* kNames[] = {"Challenge", "Hello", "Welcome", "Changes",
                                           "Ack",       "Error", "Enrol",   "Enrolled"};
  static_assert(std::size(kNames) == std::variant_size_v<Frame>);
  return kNames[f.index()];
}

bool window_consistent(const std::deque<uint64_t>& inflight, uint64_t acked, uint64_t sent) {
  if (acked > sent || inflight.size() > kWindow) return false;
  uint64_t prev = acked;
  for (uint64_t seq : inflight) {
    if (seq <= prev || seq > sent) return false;
    prev = seq;
  }
  return inflight.empty() ? acked == sent : inflight.back() == sent;
}

Error error_frame(ErrorCode code, std::string message) {
  Error e{code, std::move(message), {}};
  if (code == ErrorCode::unsupported_version) e.protocol_versions.push_back(kProtocolVersion);
  return e;
}

Result<Frame> decode_frame(std::string_view bytes) {
  v1::Frame f;
  if (Status s = parse(bytes, f); !s) return s;
  return from_proto(f);
}

std::string encode_frame(const Frame& frame) {
  v1::Frame f;
  to_proto(frame, f);
  return f.SerializeAsString();
}

Status decode_frame(std::string_view bytes, v1::Frame& out) {
  if (Status s = parse(bytes, out); !s) return s;
  if (auto r = from_proto(out); !r) return r.status();
  return Status::ok();
}

std::string encode_frame(const v1::Frame& f) {
  return f.SerializeAsString();
}

}  // namespace terril::wire
