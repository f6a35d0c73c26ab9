// Plain frames <-> terril.v1.Frame, and the one validating frame decoder
// (frames.h); wire.h's protobuf-level decode_frame runs the same checks.
#include "common/wire/frames.h"

#include <type_traits>

#include "common/core/ids.h"
#include "common/core/record_codec.h"
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

// Record ids travel as in Change: a centre's slug, otherwise 16 UUID bytes.
std::string id_to_wire(Entity e, const std::string& id) {
  if (e != Entity::centre)
    if (auto b = uuid_to_bytes(id)) return *b;
  return id;
}

Result<RecordRef> ref_from(uint32_t entity, const std::string& id) {
  if (!valid_entity(entity)) return malformed("unknown entity");
  RecordRef r{static_cast<Entity>(entity), {}};
  if (r.entity == Entity::centre) {
    if (!valid_slug(id)) return malformed("bad centre id");
    r.id = id;
  } else if (auto t = uuid_from_bytes(id)) {
    r.id = *t;
  } else {
    return malformed("record id is not 16 bytes");
  }
  return r;
}

Result<RangeDigest> range_from(const v1::RangeDigest& d) {
  if (!valid_entity(static_cast<uint32_t>(d.entity()))) return malformed("unknown entity in range");
  if (d.owner().size() > 64 || d.prefix().size() > 40) return malformed("range key too long");
  if (d.owner().empty() && !d.prefix().empty()) return malformed("prefix without owner");
  return RangeDigest{{static_cast<Entity>(d.entity()), d.owner(), d.prefix()}, d.count(), d.hash()};
}

void range_to(const RangeDigest& d, v1::RangeDigest& out) {
  out.set_entity(static_cast<v1::Entity>(d.key.entity));
  out.set_owner(d.key.owner);
  out.set_prefix(d.key.prefix);
  out.set_count(d.count);
  out.set_hash(d.hash);
}

template <typename Repeated>
Status ranges_from(const Repeated& in, std::vector<RangeDigest>& out) {
  out.reserve(static_cast<size_t>(in.size()));
  for (const auto& d : in) {
    auto r = range_from(d);
    if (!r) return r.status();
    out.push_back(std::move(*r));
  }
  return Status::ok();
}

Result<Record> record_from(const v1::RecordState& w) {
  auto ref = ref_from(static_cast<uint32_t>(w.entity()), w.record_id());
  if (!ref) return ref.status();
  Record r;
  r.entity = ref->entity;
  r.id = std::move(ref->id);
  r.centre_id = w.centre_id();
  if (Status s = decode_state(w.state(), r); !s) return malformed("record state does not decode");
  if (Status s = validate_record(r); !s) return Status(Code::invalid, "invalid record: " + s.message(), s.field());
  return r;
}

Result<Frame> repair_from(const v1::Repair& w) {
  if (static_cast<size_t>(w.records_size()) > kMaxRepairRecords) return malformed("too many records");
  if (static_cast<size_t>(w.want_size() + w.purge_size()) > kMaxRefs) return malformed("too many refs");
  Repair out;
  out.round = w.round();
  out.last = w.last();
  for (const auto& x : w.records()) {
    auto r = record_from(x);
    if (!r) return r.status();
    out.records.push_back(std::move(*r));
  }
  for (auto [in, dst] : {std::pair{&w.want(), &out.want}, std::pair{&w.purge(), &out.purge}})
    for (const auto& x : *in) {
      auto r = ref_from(static_cast<uint32_t>(x.entity()), x.record_id());
      if (!r) return r.status();
      dst->push_back(std::move(*r));
    }
  return Frame(std::move(out));
}

Result<Frame> digest_reply_from(const v1::DigestReply& w) {
  size_t n_leaves = 0;
  for (const auto& l : w.leaves()) n_leaves += static_cast<size_t>(l.leaves_size());
  if (static_cast<size_t>(w.split_size() + w.children_size() + w.leaves_size() + w.again_size()) > kMaxRanges)
    return malformed("too many ranges");
  if (n_leaves > kMaxLeaves) return malformed("too many leaves");
  DigestReply out;
  out.round = w.round();
  if (Status s = ranges_from(w.split(), out.split); !s) return s;
  if (Status s = ranges_from(w.children(), out.children); !s) return s;
  if (Status s = ranges_from(w.again(), out.again); !s) return s;
  for (const auto& l : w.leaves()) {
    auto range = range_from(l.range());
    if (!range) return range.status();
    RangeLeaves rl{std::move(*range), {}};
    for (const auto& x : l.leaves()) {
      auto ref = ref_from(static_cast<uint32_t>(rl.range.key.entity), x.record_id());
      if (!ref) return ref.status();
      rl.leaves.push_back({std::move(ref->id), x.hash()});
    }
    out.leaves.push_back(std::move(rl));
  }
  return Frame(std::move(out));
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
      return Frame(
          Hello{h.node_id(), h.proof(), h.protocol_version(), h.software_version(), h.hub_cursor(), h.node_acked()});
    }
    case v1::Frame::kWelcome: {
      const auto& w = f.welcome();
      return Frame(Welcome{w.hub_time_ms(), w.node_cursor(), w.centre_id(), w.window(), w.hub_seq(),
                           w.node_cursor_hlc(), w.hub_rewound()});
    }
    case v1::Frame::kChanges: {
      const auto& ch = f.changes();
      if (static_cast<size_t>(ch.changes_size()) > kMaxBatchChanges) return malformed("batch too large");
      Changes out;
      out.last_seq = ch.last_seq();
      out.changes.reserve(static_cast<size_t>(ch.changes_size()));
      // Each change is checked by the store that applies it (validate_change),
      // and refused alone: one bad change never fails the frame.
      for (const auto& w : ch.changes()) out.changes.push_back(from_wire_lenient(w));
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
    case v1::Frame::kDigestCheck: {
      const auto& d = f.digest_check();
      if (static_cast<size_t>(d.ranges_size()) > kMaxRanges) return malformed("too many ranges");
      DigestCheck out;
      out.round = d.round();
      if (Status s = ranges_from(d.ranges(), out.ranges); !s) return s;
      return Frame(std::move(out));
    }
    case v1::Frame::kDigestReply:
      return digest_reply_from(f.digest_reply());
    case v1::Frame::kRepair:
      return repair_from(f.repair());
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
          h->set_node_acked(m.node_acked);
        } else if constexpr (std::is_same_v<T, Welcome>) {
          auto* w = f.mutable_welcome();
          w->set_hub_time_ms(m.hub_time_ms);
          w->set_node_cursor(m.node_cursor);
          w->set_centre_id(m.centre_id);
          w->set_window(m.window);
          w->set_hub_seq(m.hub_seq);
          w->set_node_cursor_hlc(m.node_cursor_hlc);
          w->set_hub_rewound(m.hub_rewound);
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
        } else if constexpr (std::is_same_v<T, DigestCheck>) {
          auto* d = f.mutable_digest_check();
          d->set_round(m.round);
          for (const auto& r : m.ranges) range_to(r, *d->add_ranges());
        } else if constexpr (std::is_same_v<T, DigestReply>) {
          auto* d = f.mutable_digest_reply();
          d->set_round(m.round);
          for (const auto& r : m.split) range_to(r, *d->add_split());
          for (const auto& r : m.children) range_to(r, *d->add_children());
          for (const auto& r : m.again) range_to(r, *d->add_again());
          for (const auto& l : m.leaves) {
            auto* x = d->add_leaves();
            range_to(l.range, *x->mutable_range());
            for (const auto& leaf : l.leaves) {
              auto* y = x->add_leaves();
              y->set_record_id(id_to_wire(l.range.key.entity, leaf.id));
              y->set_hash(leaf.hash);
            }
          }
        } else if constexpr (std::is_same_v<T, Repair>) {
          auto* r = f.mutable_repair();
          r->set_round(m.round);
          r->set_last(m.last);
          std::string state;
          for (const auto& rec : m.records) {
            auto* x = r->add_records();
            x->set_entity(static_cast<v1::Entity>(rec.entity));
            x->set_record_id(id_to_wire(rec.entity, rec.id));
            x->set_centre_id(rec.centre_id);
            encode_state(rec, state);
            x->set_state(state);
          }
          for (auto [src, add] :
               {std::pair{&m.want, &v1::Repair::add_want}, std::pair{&m.purge, &v1::Repair::add_purge}})
            for (const auto& ref : *src) {
              auto* x = (r->*add)();
              x->set_entity(static_cast<v1::Entity>(ref.entity));
              x->set_record_id(id_to_wire(ref.entity, ref.id));
            }
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
  static constexpr const char* kNames[] = {"Challenge", "Hello",    "Welcome",     "Changes",     "Ack",   "Error",
                                           "Enrol",     "Enrolled", "DigestCheck", "DigestReply", "Repair"};
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
